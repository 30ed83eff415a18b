"""B2: unsupervised clustering with DHOGClusterer.

Fit on training images without labels; map clusters to classes with the
Hungarian method on the training set; report test accuracy, NMI and ARI of
the unsupervised head choice (``best_head_``) and of the best head posthoc
(best *training* accuracy under the mapping), the accuracy of every head,
every head's NMI with a nuisance signal (the background colour, where there
is one) and the train NMI between two views per head. ``alpha=0`` (IIC on
the same network, same seed) and k-means on pixels run side by side.

CPU reference (``--cpu``): paired seeds, estimator defaults
(``DHOGClusterer(n_clusters=10, random_state=s)`` and the same with
``alpha=0``), one thread per fit. Settings: ``digits-colour`` (8x8 digits,
background colour drawn independently of the digit, 1257/540 split, seeds
0-4), ``digits`` (plain 8x8 digits, same split, seeds 0-4), ``fmnist-10k``
(stratified 10k Fashion-MNIST training images and the 10k test images,
mean-pooled 2x2 to 14x14, seeds 0-2). Jobs: (setting, method, seed), methods
``dhog``, ``iic``, ``kmeans``. Writes ``results/b2_clustering_cpu.{json,md}``
and ``docs/b2_clustering_cpu_per_head.png`` (with ``--setting``:
``b2_clustering_cpu_<settings>.*``, so a partial rerun keeps the reference).

Headline (meant for one GPU): full Fashion-MNIST, ResNet-18 width 32 with the
thesis's 8 heads, 30 epochs; parts ``dhog``, ``iic``, ``kmeans``. Writes
``results/b2_clustering.{json,md}``. ``--quick``: the same pipeline on 3k
images, the ConvNet with 4 heads, 10 epochs (``b2_clustering_quick_cpu.*``).
"""
