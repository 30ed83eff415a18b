"""
Exploring a dataset through the DDTL tree
=========================================

The path bits of a :class:`~sklproxy.hashing.DDTLHasher` code are the
decisions of a binary tree trained to split the items of each class by
features the label does not give. Looking at the images that reach each node
shows what the splits separate; counting the misclassified items per leaf
shows where the hard items gather.
"""

# %%
# Fit a hasher with the split-balance term
# ----------------------------------------
# ``SplitBalance(gamma=...)`` (experimental) asks each node to send half of
# each class's items to either side, so the tree spreads every class over its
# leaves.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklproxy.hashing import DDTLHasher, SplitBalance

X, y = load_digits(return_X_y=True)
X = (X / 16.0).reshape(-1, 8, 8)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=500, stratify=y,
                                                    random_state=0)
hasher = DDTLHasher(n_path_bits=4, beta=0.3, splits=SplitBalance(gamma=3.0), max_epochs=15,
                    batch_size=64, lr=3e-3, width=16, device="cpu",
                    random_state=0).fit(X_train, y_train)
print(f"test accuracy of the class bits: {(hasher.predict(X_test) == y_test).mean():.3f}")

# %%
# The images reaching each node, within one class
# -----------------------------------------------
# The tree is shared by all classes but trained within each class, so its
# splits are easiest to read on the items of one class. Row ``01`` holds the
# items that went left at the root and then right.
from sklproxy.displays import TreeNodeDisplay

threes = y_train == 3
disp = TreeNodeDisplay.from_estimator(hasher, X_train[threes], depth=2, n_images=8)
print(dict(zip(disp.nodes, disp.counts.tolist())))

# %%
# The same tree over all digits
# -----------------------------
# With labels, each node is captioned with its most common digit: here the
# first splits do not follow the classes (the class bits already hold them).
TreeNodeDisplay.from_estimator(hasher, X_train, y=y_train, depth=2, n_images=10)

# %%
# Error analysis per leaf
# -----------------------
# Misclassified held-out items per leaf (path cut after 3 levels), most
# populated leaves first.
from sklproxy.displays import LeafErrorDisplay

leaves = LeafErrorDisplay.from_estimator(hasher, X_test, y_test, depth=3, max_leaves=8)
worst = leaves.error_rate_.argmax()
print(f"leaf {leaves.leaves[worst]}: {leaves.n_errors[worst]} of {leaves.n_samples[worst]} "
      "items misclassified")
