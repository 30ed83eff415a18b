"""B5: retrieval speed on CPU.

* ``map``: time of ``sklproxy.metrics.mean_average_precision`` at k=1000 for
  10k queries against 60k database codes, at 16 and 64 bits, under both
  rankings (``code``: XOR order; ``hamming``), on realistic DDTL-like codes
  (10 classes; 4 class bits then tree-path bits correlated with the label)
  and on uniformly random codes. Median of repeats.
* ``qps``: queries per second of ``HammingIndex(ranking="hamming").kneighbors``
  against ``faiss.IndexBinaryFlat.search`` on the same codes, same run, same
  thread count, k=100 and k=1000, with a check that both return identical
  indices (faiss also breaks ties by index).
* ``scale``: code-order top-k (k = 10 and 100) on 1M and 10M uniformly random
  codes of 64 and 128 bits, the database memory-mapped (``storage_dir``)
  and grown by ``HammingIndex.add`` in 1M-code steps (so it is searched as
  several sorted segments), per query: batched (1000 queries, one thread)
  and one query per call. Side by side in the same run: a plain NumPy scan
  in code order (XOR of every code, partial sort; the reference the results
  must equal) and faiss ``IndexBinaryFlat`` (a Hamming scan: the cost of
  touching every code, not the same ranking).

Jobs: (``codes``, section, seed). Writes ``results/b5_retrieval.{json,md}``
(``--quick``: small sizes, seconds: ``b5_retrieval_quick.*``). ``--part
scale`` reruns one section; the others come from their part files or, when
there are none, from the last JSON.
"""
