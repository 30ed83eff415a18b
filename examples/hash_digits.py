"""Main job on the embedded default data: DDTL hashing of scikit-learn's digits.

Fits a DDTLHasher (4 class bits + 8 tree bits), the same with the per-class
split-balance term (gamma=3) and the supervised-only ablation (beta=0) on
1200 digits, then reports retrieval mAP of the 597
held-out digits against the training codes (code-order and Hamming ranking)
and the spread of the training codes. Runs in well under 2 minutes on a
2-core CPU.

    python examples/hash_digits.py
"""

import time

from sklearn.datasets import load_digits

from sklproxy.hashing import DDTLHasher
from sklproxy.metrics import (
    hash_entropy,
    mean_average_precision,
    mean_collisions,
    unique_code_ratio,
)


def main() -> None:
    X, y = load_digits(return_X_y=True)
    X = X.reshape(-1, 8, 8).astype("float32")  # images: the CNN backbone is chosen
    X_train, y_train, X_test, y_test = X[:1200], y[:1200], X[1200:], y[1200:]
    print(f"{'model':<26}{'acc':>7}{'mAP@100':>9}{'(hamming)':>11}{'entropy':>9}"
          f"{'unique':>8}{'collide':>9}{'fit s':>7}")
    models = [("DDTL (beta=0.3)", 0.3, 0.0), ("DDTL + balance (gamma=3)", 0.3, 3.0),
              ("supervised only", 0.0, 0.0)]
    for name, beta, gamma in models:
        hasher = DDTLHasher(n_path_bits=8, beta=beta, gamma=gamma, max_epochs=30, batch_size=64,
                            lr=3e-3, width=16, device="cpu", random_state=0)
        start = time.perf_counter()
        hasher.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        db, queries = hasher.transform(X_train), hasher.transform(X_test)
        acc = (hasher.predict(X_test) == y_test).mean()
        m_code = mean_average_precision(queries, db, y_test, y_train, k=100, ranking="code")
        m_ham = mean_average_precision(queries, db, y_test, y_train, k=100, ranking="hamming")
        print(f"{name:<26}{acc:>7.3f}{m_code:>9.3f}{m_ham:>11.3f}"
              f"{hash_entropy(db):>9.2f}{100 * unique_code_ratio(db):>7.1f}%"
              f"{mean_collisions(db):>9.1f}{seconds:>7.1f}")
    print(f"codes: {hasher.n_bits_} bits = {hasher.n_class_bits_} class bits + "
          f"{hasher.n_path_bits} path bits; entropy in bits over {len(db)} training codes")


if __name__ == "__main__":
    main()
