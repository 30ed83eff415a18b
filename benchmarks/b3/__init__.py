"""B3: LAD debiasing at 100 % colour bias, with gates, baselines and seeds.

Settings (``benchmarks/_data.py``, :func:`~benchmarks._data.biased_setting`):

* ``background``: digits28, background colour, ReBias protocol (binarised
  digit, every zero pixel coloured; ``make_colour_biased(protocol="rebias")``).
* ``foreground``: digits28, foreground colour, LfF protocol (colour std 0.005).
* ``fmnist``: a stratified 5000-image Fashion-MNIST subset (test 2000),
  background colour outside the garment's silhouette (ReBias colours; the
  binarisation of the ReBias code would erase the garments' texture, and
  garments hold exact-zero pixels inside, so the background is the dark
  region connected to the border).
* ``palette``: digits28, background colour (ReBias protocol) with a palette of
  ten random colours drawn per seed: a spurious signal nobody tuned for.
* ``pixel``: digits28 grey with the one-pixel code (pixel ``k`` of the first
  row lit for class ``k``), plus the gradient-ratio curve of a plain LeNet.

Rows per setting and seed, all with the same final classifier (a LeNet with
batch norm, :class:`~sklproxy.classification.ImageClassifier`
``backbone="lenet"``, mild geometric augmentation that fills with the edge
colour): ``vanilla`` (raw biased images), ``oracle`` (the same images with the
spurious signal drawn independently of the label: the ceiling), ``LAD`` (the
default: :class:`~sklproxy.debias.LADClassifier`, code substitution drawn
anew for every batch, test images through ``transform``), ``LAD pipeline``
(``make_pipeline(LADDebiaser(), classifier)``: one substituted copy),
``qe-walk`` (the thesis's Algorithm 1, literally: ``QEWalk``, re-quantised
state, raw ``alpha=0.1``; 20 steps for background, 7 for foreground) and
``walk`` (the accumulated walk, ``Walk(alpha=1)`` in code spacings). The walks
run on the same fitted VQ-VAE and ``f`` as LAD, so the rows differ only in
the debiasing step.

Gates (training images, colour-blind reference = the oracle classifier):
``fidelity`` (reference accuracy on VQ-VAE reconstructions / on originals),
``colour`` (:func:`sklproxy.metrics.colour_decodability` of the debiased
images; ``colour_floor`` is the same probe on the oracle's independently
coloured images: shape leaks into it a little), ``shape`` (reference accuracy
on the debiased images). Tests: ``independent`` (colour of a random class,
the public codes' unbiased set) and ``conditioned`` (grey; binarised for
ReBias), plus the minimum over single-colour test sets.

Jobs: (setting, ``rows``, seed). Writes ``results/b3_debias_cpu.{json,md}``
(``--cpu``, seeds 0-2), ``b3_debias_quick.*`` (``--quick``, seed 0) or
``b3_debias.*`` (the GPU headline), and the figures ``docs/b3_accuracy*.png``,
``docs/b3_gr_curve*.png``; ``--plots`` draws ``docs/b3_grid_<setting>.png``.
"""
