"""B4: training throughput of DDTLHasher.fit against two references.

(a) a minimal hand-written PyTorch loop training the same model with the same
loss, augmentation and precision, the data already on the device (the
practical limit); (b) the same model and loss trained by a plain skorch
``NeuralNet`` fed by its default CPU ``DataLoader`` in float32 (what a user
would write). Images per second, median of repeats (interleaved, so drift
hits every runner alike), ratios from one run. One job (setting ``fmnist``,
part ``throughput``): the three runners are timed side by side.

Writes ``results/b4_throughput.{json,md}`` (``--quick``: ``b4_throughput_quick.*``).
"""
