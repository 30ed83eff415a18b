"""
Hashing and retrieval in code order
===================================

:class:`~sklproxy.hashing.DDTLHasher` turns each image into a short binary
code: class bits (the predicted class in binary) followed by the decisions
of a learned binary tree, root first. Codes are searched in *code order*
(the database item whose code shares the longest prefix with the query
comes first), which keeps the class first and the tree's coarse-to-fine
splits after it. This example hashes scikit-learn's digits, shows codes
sorted in that order, and draws queries with their nearest neighbours.
"""

# %%
# Fit a hasher on digit images
# ----------------------------
# 3-D input ``(n, H, W)`` is read as grey images, so a small CNN is chosen.
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklproxy.hashing import DDTLHasher

X, y = load_digits(return_X_y=True)
X = (X / 16.0).reshape(-1, 8, 8)
X_db, X_query, y_db, y_query = train_test_split(X, y, test_size=300, stratify=y, random_state=0)

hasher = DDTLHasher(n_path_bits=6, beta=0.3, max_epochs=15, batch_size=64, lr=3e-3, width=16,
                    device="cpu", random_state=0)
hasher.fit(X_db, y_db)
codes_db = hasher.transform(X_db)
print(f"{hasher.n_bits_} bits = {hasher.n_class_bits_} class bits + "
      f"{hasher.n_path_bits} path bits; codes are {codes_db.dtype} 0/1")

# %%
# Codes in code order
# -------------------
# Sorting the codes lexicographically groups the classes, then the leaves of
# the tree within each class.
order = np.lexsort(codes_db.T[::-1])
for i in order[:: len(order) // 8][:8]:
    bits = "".join(map(str, codes_db[i]))
    print(f"label {y_db[i]}  code {bits[:hasher.n_class_bits_]} | {bits[hasher.n_class_bits_:]}")

# %%
# Retrieval quality
# -----------------
# mAP@100 of the held-out queries against the database, in code order and
# with plain Hamming ranking; entropy and unique codes measure how much of
# the hash space the database codes use.
from sklproxy.metrics import hash_entropy, mean_average_precision, unique_code_ratio

codes_query = hasher.transform(X_query)
for ranking in ("code", "hamming"):
    m = mean_average_precision(codes_query, codes_db, y_query, y_db, k=100, ranking=ranking)
    print(f"mAP@100 ({ranking} ranking): {m:.3f}")
print(f"entropy {hash_entropy(codes_db):.2f} bits, "
      f"{100 * unique_code_ratio(codes_db):.1f} % unique codes")

# %%
# Queries and their neighbours
# ----------------------------
# :class:`~sklproxy.displays.RetrievalDisplay` hashes both sets, searches the
# database with :class:`~sklproxy.neighbors.HammingIndex` in code order, and
# frames each neighbour green (same label as the query) or red.
from sklproxy.displays import RetrievalDisplay

disp = RetrievalDisplay.from_estimator(hasher, X_query[:6], X_db, y_query=y_query[:6], y_db=y_db,
                                       n_neighbors=8, ranking="code")
print(f"share of neighbours with the query's label: {disp.hits_.mean():.2f}")
