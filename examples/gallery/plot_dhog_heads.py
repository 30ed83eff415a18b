"""
DHOG heads from shallow to deep
===============================

:class:`~sklproxy.cluster.DHOGClusterer` trains several clustering heads;
each maximises the agreement of its clusters across augmentations of an
image (IIC's mutual information) while being pushed away from the solutions
of the earlier heads. The head used by ``predict`` is chosen without labels
(``best_head_``). Here we compare the heads' accuracy with the digit labels
and look at the clusters of the first and the last head.

The run is short (a few seconds of CPU, 12 epochs); the defaults
(``DHOGClusterer(n_clusters=10)``, about 2000 steps, 85 CPU seconds) reach
0.833 ± 0.026 held-out accuracy on these digits over 5 seeds, against 0.780
for k-means (the methods page has the figures).
"""

# %%
# Fit a small DHOG on digit images
# --------------------------------
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

from sklproxy.cluster import DHOGClusterer, HeadOptions
from sklproxy.metrics import cluster_accuracy

X, y = load_digits(return_X_y=True)
images = (X / 16.0).reshape(-1, 8, 8)
dhog = DHOGClusterer(n_clusters=10, n_heads=4, n_repeats=2, heads=HeadOptions(n_overcluster=30),
                     backbone="convnet",
                     width=16, max_epochs=12, batch_size=128, lr=2e-3, device="cpu",
                     random_state=0).fit(images)
print(f"selected head: {dhog.best_head_}, accuracy {cluster_accuracy(y, dhog.labels_):.3f}")
kmeans = KMeans(n_clusters=10, n_init=4, random_state=0).fit(X)
print(f"k-means on pixels: {cluster_accuracy(y, kmeans.labels_):.3f}")

# %%
# Accuracy of every head
# ----------------------
# Bars: accuracy under the best matching of clusters to digits (labels are
# used only here, for evaluation). Line: the unsupervised selection score
# (agreement between two augmentations, weighted by how evenly the clusters
# are used); the selected head is outlined.
from sklproxy.displays import HeadAccuracyDisplay

HeadAccuracyDisplay.from_estimator(dhog, images, y)

# %%
# The clusters of the first head
# ------------------------------
from sklproxy.displays import ClusterGridDisplay

ClusterGridDisplay.from_estimator(dhog, images, head=0, n_images=10)

# %%
# The clusters of the last head
# -----------------------------
ClusterGridDisplay.from_estimator(dhog, images, head=dhog.n_heads - 1, n_images=10)
