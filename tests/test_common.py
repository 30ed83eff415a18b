"""scikit-learn's estimator checks on every public estimator, with small settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklproxy.classification import ImageClassifier
from sklproxy.cluster import DHOGClusterer
from sklproxy.debias import LADDebiaser, LatentClassifierOptions, VQVAEOptions
from sklproxy.hashing import CrPCA, DDTLHasher

SMALL = dict(max_epochs=2, batch_size=32, width=16, device="cpu", random_state=0)

ESTIMATORS = [
    DDTLHasher(n_path_bits=3, **SMALL),
    CrPCA(n_path_bits=3, random_state=0),
    # 20 epochs of one batch: enough for check_clustering's ARI threshold on its blobs
    DHOGClusterer(n_clusters=3, n_heads=2, n_repeats=2, **{**SMALL, "max_epochs": 20, "batch_size": 64}),
    LADDebiaser(vqvae=VQVAEOptions(n_codes=8, code_dim=4, width=8), max_epochs=2,
                latent_classifier=LatentClassifierOptions(max_epochs=2), batch_size=32,
                device="cpu", random_state=0),
    # vectors: the "auto" backbone is the MLP (backbone_ == "mlp")
    ImageClassifier(width=16, max_epochs=5, batch_size=32, lr=1e-2, device="cpu", random_state=0),
]

# Checks expected to fail, each with its reason: none.
EXPECTED_FAILED = {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}))
def test_sklearn_compatible(estimator, check):
    check(estimator)
