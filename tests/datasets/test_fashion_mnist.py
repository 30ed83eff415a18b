"""Tests for sklproxy.datasets._fashion_mnist (IDX parsing, lookup, download)."""

import gzip
import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest

import sklproxy.datasets as ds
from sklproxy.datasets import _fashion_mnist as fm

FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def idx_bytes(arr, type_code=0x08):
    """Reference IDX writer, straight from the format description."""
    arr = np.asarray(arr)
    dims = b"".join(struct.pack(">I", s) for s in arr.shape)
    return bytes([0, 0, type_code, arr.ndim]) + dims + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_fake(folder, n_train=7, n_test=5, seed=0, gz=True):
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte"
            raw = idx_bytes(arr)
            if gz:
                (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (folder / name).write_bytes(raw)
        data[prefix] = (images, labels)
    return data


@pytest.fixture(autouse=True)
def no_default_dirs(monkeypatch, tmp_path):
    """Keep the real installation and $SKLPROXY_DATA out of the lookup."""
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "no-system")
    monkeypatch.setattr(fm, "USER_DIR", tmp_path / "no-user")


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize(
    "arr, code",
    [
        (np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08),
        (np.array([-3, 0, 7], dtype=np.int8), 0x09),
        (np.array([[-300, 2], [5, 70000 % 32768]], dtype=np.int16), 0x0B),
        (np.array([1, -2**31, 2**31 - 1], dtype=np.int32), 0x0C),
        (np.array([0.5, -1.25], dtype=np.float32), 0x0D),
        (np.array([[1e300]], dtype=np.float64), 0x0E),
    ],
)
def test_parse_idx_roundtrip(arr, code):
    out = fm._parse_idx(idx_bytes(arr, code))
    assert out.dtype == arr.dtype.newbyteorder("=")
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # writable copy


@pytest.mark.parametrize(
    "raw, match",
    [
        (b"", "bad magic"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"\x00", "bad magic"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "type byte"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 1), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 4) + b"\x00\x01", "corrupt or truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x00\x01", "corrupt or truncated"),
    ],
)
def test_parse_idx_rejects_bad_files(raw, match):
    with pytest.raises(ValueError, match=match):
        fm._parse_idx(raw)


def test_corrupt_gzip_is_reported(tmp_path):
    write_fake(tmp_path)
    path = tmp_path / FILES[0]
    path.write_bytes(path.read_bytes()[:50])  # truncated archive
    with pytest.raises(ValueError, match="corrupt or truncated"):
        ds.load_fashion_mnist(data_home=tmp_path)


# --------------------------------------------------------------------------- loader


@pytest.mark.parametrize("gz", [True, False])
def test_load_synthetic(tmp_path, gz):
    data = write_fake(tmp_path, gz=gz)
    bunch = ds.load_fashion_mnist(data_home=tmp_path)
    assert bunch.data.shape == (7, 28, 28) and bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    assert bunch.images is bunch.data
    np.testing.assert_array_equal(bunch.data, data["train"][0])
    np.testing.assert_array_equal(bunch.target, data["train"][1])
    assert list(bunch.target_names) == list(ds.FASHION_MNIST_CLASSES)
    assert "Fashion-MNIST" in bunch.DESCR and len(bunch.filenames) == 2

    X, y = ds.load_fashion_mnist(data_home=str(tmp_path), subset="test", return_X_y=True)
    np.testing.assert_array_equal(X, data["t10k"][0])
    X, y = ds.load_fashion_mnist(data_home=tmp_path, subset="all", return_X_y=True)
    assert X.shape == (12, 28, 28)
    np.testing.assert_array_equal(y, np.concatenate([data["train"][1], data["t10k"][1]]))


def test_env_var_and_subfolder(tmp_path, monkeypatch):
    write_fake(tmp_path / "root" / "fashion-mnist", n_train=3)
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path / "root"))
    assert ds.load_fashion_mnist().data.shape == (3, 28, 28)


def test_default_lookup_order(tmp_path, monkeypatch):
    write_fake(tmp_path / "user", n_train=2)
    monkeypatch.setattr(fm, "USER_DIR", tmp_path / "user")
    assert ds.load_fashion_mnist().data.shape == (2, 28, 28)
    write_fake(tmp_path / "system", n_train=4)
    monkeypatch.setattr(fm, "SYSTEM_DIR", tmp_path / "system")
    assert ds.load_fashion_mnist().data.shape == (4, 28, 28)  # system folder first


def test_missing_files_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        ds.load_fashion_mnist(data_home=tmp_path / "empty")
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "SKLPROXY_DATA" in msg and "download=True" in msg


def test_mismatched_files(tmp_path):
    write_fake(tmp_path)
    (tmp_path / FILES[1]).write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(ValueError, match="7 images but .* 3 labels"):
        ds.load_fashion_mnist(data_home=tmp_path)
    (tmp_path / FILES[0]).write_bytes(gzip.compress(idx_bytes(np.zeros((3, 8, 8), np.uint8))))
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        ds.load_fashion_mnist(data_home=tmp_path)


def test_bad_subset(tmp_path):
    with pytest.raises(ValueError, match="subset='val'"):
        ds.load_fashion_mnist(data_home=tmp_path, subset="val")


# --------------------------------------------------------------------------- download


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(monkeypatch, files):
    """Replace urllib's urlopen by one serving ``files`` (name -> bytes)."""
    requested = []

    def urlopen(url, timeout=None):
        assert url.startswith(fm.BASE_URL)
        requested.append(url)
        return FakeResponse(files[url[len(fm.BASE_URL):]])

    monkeypatch.setattr(fm.urllib.request, "urlopen", urlopen)
    return requested


def pin_checksums(monkeypatch, files, content=True):
    """Make the synthetic archives the "official" ones."""
    md5 = {name: hashlib.md5(data).hexdigest() for name, data in files.items()}
    monkeypatch.setattr(fm, "_GZ_MD5", md5)
    if content:
        sha = {name: hashlib.sha256(gzip.decompress(data)).hexdigest() for name, data in files.items()}
        monkeypatch.setattr(fm, "_RAW_SHA256", sha)


def test_download_verified(tmp_path, monkeypatch):
    src = tmp_path / "src"
    data = write_fake(src)
    files = {name: (src / name).read_bytes() for name in FILES}
    pin_checksums(monkeypatch, files)
    requested = serve(monkeypatch, files)
    dest = tmp_path / "dest"
    X, y = ds.load_fashion_mnist(data_home=dest, subset="test", download=True, return_X_y=True)
    np.testing.assert_array_equal(X, data["t10k"][0])
    assert sorted(p.name for p in dest.iterdir()) == sorted(FILES[2:])
    assert len(requested) == 2
    # second call finds the files and does not fetch again
    ds.load_fashion_mnist(data_home=dest, subset="test", download=True)
    assert len(requested) == 2


def test_download_default_target_is_env_var(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_fake(src)
    files = {name: (src / name).read_bytes() for name in FILES}
    pin_checksums(monkeypatch, files)
    serve(monkeypatch, files)
    monkeypatch.setenv(fm.ENV_VAR, str(tmp_path / "env"))
    ds.load_fashion_mnist(download=True)
    assert (tmp_path / "env" / FILES[0]).is_file()


def test_download_checksum_mismatch(tmp_path, monkeypatch):
    src = tmp_path / "src"
    write_fake(src)
    serve(monkeypatch, {name: (src / name).read_bytes() for name in FILES})
    dest = tmp_path / "dest"
    official = "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    with pytest.raises(OSError, match=f"checksum mismatch .* expected {official}"):
        ds.load_fashion_mnist(data_home=dest, download=True)
    assert not dest.exists() or not any(dest.iterdir())  # nothing saved


def test_download_content_checksum_mismatch(tmp_path, monkeypatch):
    """A file whose archive md5 matches but whose content does not is refused."""
    src = tmp_path / "src"
    write_fake(src)
    files = {name: (src / name).read_bytes() for name in FILES}
    pin_checksums(monkeypatch, files, content=False)
    serve(monkeypatch, files)
    with pytest.raises(OSError, match="content of .* sha256"):
        ds.load_fashion_mnist(data_home=tmp_path / "dest", download=True)


# --------------------------------------------------------------------------- constants


def test_superclasses():
    assert ds.FASHION_MNIST_SUPERCLASSES.tolist() == [0, 1, 0, 2, 0, 3, 0, 3, 4, 3]
    assert len(ds.FASHION_MNIST_SUPERCLASS_NAMES) == 5
    named = {
        ds.FASHION_MNIST_CLASSES[f]: ds.FASHION_MNIST_SUPERCLASS_NAMES[c]
        for f, c in enumerate(ds.FASHION_MNIST_SUPERCLASSES)
    }
    tops = {"T-shirt/top", "Pullover", "Coat", "Shirt"}
    assert {k for k, v in named.items() if v == "tops"} == tops
    assert {k for k, v in named.items() if v == "footwear"} == {"Sandal", "Sneaker", "Ankle boot"}
    y = np.array([[9, 8], [1, 3]])
    assert ds.fashion_mnist_superclasses(y).tolist() == [[3, 4], [1, 2]]
    with pytest.raises(ValueError, match="0..9"):
        ds.fashion_mnist_superclasses([10])
    with pytest.raises(ValueError):
        ds.FASHION_MNIST_SUPERCLASSES[0] = 1  # read-only


def test_all_is_sorted():
    assert ds.__all__ == sorted(ds.__all__)
    assert all(hasattr(ds, name) for name in ds.__all__)


# --------------------------------------------------------------------------- real data

REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
# MD5 of the decompressed IDX files (torchvision's ``raw_data`` list); the
# Debian archives are recompressed, so their .gz MD5s differ from upstream's.
RAW_MD5 = {
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}


@pytest.mark.skipif(
    not all((REAL_DIR / name).is_file() for name in FILES),
    reason="Debian package dataset-fashion-mnist not installed",
)
def test_real_installed_files():
    for name in FILES:
        raw = gzip.decompress((REAL_DIR / name).read_bytes())
        assert hashlib.sha256(raw).hexdigest() == fm._RAW_SHA256[name]
        assert hashlib.md5(raw).hexdigest() == RAW_MD5[name]
    X, y = ds.load_fashion_mnist(data_home=REAL_DIR, subset="train", return_X_y=True)
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    assert np.bincount(y).tolist() == [6000] * 10
    Xt, yt = ds.load_fashion_mnist(data_home=REAL_DIR, subset="test", return_X_y=True)
    assert Xt.shape == (10000, 28, 28) and np.bincount(yt).tolist() == [1000] * 10
