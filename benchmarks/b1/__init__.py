"""B1: DDTL hashing on Fashion-MNIST.

Headline (``python -m benchmarks.b1``, meant for one GPU): DDTL (4 class bits
+ 12 path bits) on the 60k training images at its defaults and with the
published loss (``splits="learned"``, ``tau=1``), the supervised-only fit
(``beta=0``: an untrained tree) and the class-only codes of its classifier
(the thesis's supervised-only ablation), the unsupervised mode (``alpha=0``,
16 path bits), CrPCA (the same trained classifier + repeated PCA on pixels),
ITQ and LSH on pixels; mAP@1000/@5000 of the 10k test queries against the
training codes in code order and Hamming order, test accuracy, and entropy,
unique codes and mean collisions of the training codes, each beside the
random reference (:func:`sklproxy.metrics.hash_spread`). Also coarse-to-fine
(fit on 5 super-classes, classify the 10 fine classes by the majority fine
label of the nearest training code) and hash retention under brightness
jitter and occlusion. ``--quick``: the same pipeline on 4000/1000 images, a
small ConvNet, 6 epochs (CPU, minutes).

CPU reference (``--cpu``): a stratified Fashion-MNIST subset of 1500
training images per class (15,000; drawn with seed 0) against the 10k test
images, 4 + 12 bits, the MLP backbone, 10 epochs at batch 256, seeds 0, 1, 2.
Per seed: DDTL at its defaults, its class-only codes and CrPCA on its
classifier (part ``defaults``); the published loss and the same network with
median splits (part ``published``); the supervised-only fit (part ``beta0``);
every row with its hash retention under colour jitter, occlusion and pixel
noise of three strengths (:func:`sklproxy.metrics.hash_retention_curves`).
Part ``coarse``: the same rows refitted on the 5 super-classes, their codes
read with the fine labels (:func:`sklproxy.metrics.coarse_to_fine_accuracy`,
10-NN in code order and leaf majority per prefix), beside a pixel 10-NN inside
each test image's true super-class.

Results: ``results/b1_hashing.*`` (headline), ``b1_hashing_quick.*``,
``b1_hashing_cpu.*`` and ``docs/b1_level_bits_cpu.png``.
"""
