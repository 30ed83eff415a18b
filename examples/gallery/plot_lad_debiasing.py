"""
LAD: images before and after debiasing
======================================

When every training image's colour agrees with its label, a classifier
learns the colour. :class:`~sklproxy.debias.LADDebiaser` fits a per-pixel
VQ-VAE, finds the codes that occur in the images of one class only (the
background colours) and swaps them, over the whole image, for the matching
codes of a randomly drawn class; the digit's own codes, shared by every
class, stay. This example colours the background of the digits by class
(100 % bias), shows images before and after with the gate figures, and
compares classifiers on a test set whose colours are independent of the
digit: trained on the raw images, on one debiased copy
(``make_pipeline(LADDebiaser(), classifier)``) and on debiased images drawn
anew for every batch (:class:`~sklproxy.debias.LADClassifier`).

The images are 8x8 and the fits short; the CPU reference figures (digits at
28x28, three seeds) are on the benchmarks page.
"""

# %%
# Colour-biased digits
# --------------------
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklproxy.datasets import make_colour_biased

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X.reshape(-1, 8, 8), y, test_size=500,
                                                    stratify=y, random_state=0)
Xb_train, colour = make_colour_biased(X_train, y_train, kind="background", random_state=0)
Xb_test, _ = make_colour_biased(X_test, y_test, kind="background", test_mode="independent",
                                random_state=1)
print(Xb_train.shape, f"colour = label for {(colour == y_train).mean():.0%} of training images")

# %%
# Fit the debiaser and look at its output
# ---------------------------------------
# The gate panel: how well the colour alone predicts the class before and
# after (it should fall to chance, 0.1), the accuracy of the simple latent
# classifier ``f`` before and after, and the share of latent codes changed.
from sklproxy.debias import LADDebiaser
from sklproxy.displays import DebiasingDisplay

lad = LADDebiaser(max_epochs=10, device="cpu", random_state=0).fit(Xb_train, y_train)
print(f"{lad.spurious_codes_.sum()} spurious codes in {len(lad.groups_)} groups")
print({k: round(v, 3) for k, v in lad.diagnostics_.items()})
DebiasingDisplay.from_estimator(lad, Xb_train, y=y_train, n_images=8)

# %%
# Does a classifier trained on the output ignore the colour?
# ----------------------------------------------------------
# The same small LeNet, scored on digits whose background colour is random.
from sklearn.base import clone

from sklproxy.classification import ImageClassifier
from sklproxy.debias import LADClassifier

clf = ImageClassifier(backbone="lenet", width=8, max_epochs=10, batch_size=64, augment=None,
                      device="cpu", random_state=0)
vanilla = clone(clf).fit(Xb_train, y_train)
once = clone(clf).fit(lad.transform(Xb_train), y_train)
per_batch = LADClassifier(lad, clone(clf)).fit(Xb_train, y_train)
print("independent-colour test accuracy:")
print(f"  trained on the biased images            {vanilla.score(Xb_test, y_test):.3f}")
print(f"  one debiased copy (pipeline)            {once.score(lad.transform(Xb_test), y_test):.3f}")
print(f"  debiased anew every batch (LADClassifier) {per_batch.score(Xb_test, y_test):.3f}")
