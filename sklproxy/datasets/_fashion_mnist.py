"""Fashion-MNIST loader: IDX parsing, local lookup, optional verified download."""

from __future__ import annotations

import gzip
import hashlib
import os
import urllib.request
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import Bunch

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_SUPERCLASSES",
    "FASHION_MNIST_SUPERCLASS_NAMES",
    "fashion_mnist_superclasses",
    "load_fashion_mnist",
]

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

FASHION_MNIST_SUPERCLASS_NAMES = ("tops", "trouser", "dress", "footwear", "bag")

# fine label -> coarse label (B1 coarse-to-fine protocol, BENCHMARKS.md):
# tops = {T-shirt, Pullover, Coat, Shirt}, footwear = {Sandal, Sneaker, Ankle boot}.
FASHION_MNIST_SUPERCLASSES = np.array([0, 1, 0, 2, 0, 3, 0, 3, 4, 3], dtype=np.int64)
FASHION_MNIST_SUPERCLASSES.setflags(write=False)

ENV_VAR = "SKLPROXY_DATA"
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian `dataset-fashion-mnist`
USER_DIR = Path("~/sklproxy_data/fashion-mnist")  # download target without data_home
BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_N_SAMPLES = {"train": 60000, "test": 10000}

# MD5 of the upstream ``.gz`` files as published by Zalando (and torchvision).
# Checked on download. Repackaged copies (Debian recompresses them) differ here.
_GZ_MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
# SHA256 of the decompressed IDX payloads: identical for the upstream and the
# Debian files, so it identifies the data whatever the gzip wrapper.
_RAW_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

_DESCR = """\
Fashion-MNIST
=============

Zalando article images (Xiao, Rasul and Vollgraf, 2017, arXiv:1708.07747):
60,000 training and 10,000 test images, 28x28 grey levels (uint8, 0..255),
10 balanced classes:

0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
7 Sneaker, 8 Bag, 9 Ankle boot.

Coarse super-classes (``FASHION_MNIST_SUPERCLASSES``): 0 tops (T-shirt,
Pullover, Coat, Shirt), 1 trouser, 2 dress, 3 footwear (Sandal, Sneaker,
Ankle boot), 4 bag.

License: MIT, Zalando SE. https://github.com/zalandoresearch/fashion-mnist
"""

# IDX type byte -> big-endian numpy dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ---------------------------------------------------------------------------
# IDX parsing
# ---------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """Whole file content, decompressed when the name ends in ``.gz``."""
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise ValueError(
            f"{path} is not a valid gzip file ({exc}); the file is corrupt or "
            "truncated: delete it and reinstall or re-download it."
        ) from exc


def _parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse an IDX buffer into a native-endian, writable array.

    Layout: two zero bytes, a type byte, the number of dimensions ``d``, then
    ``d`` big-endian uint32 sizes, then the row-major payload.
    """
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name} is not an IDX file: bad magic number {raw[:4].hex() or 'empty'!r} "
            "(expected 0x0000 followed by a type byte and a rank byte)."
        )
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX type byte 0x{type_code:02x}.")
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ValueError(f"{name}: truncated IDX header (rank {ndim}, {len(raw)} bytes).")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"{name}: IDX header announces shape {shape} ({expected} payload bytes) "
            f"but the file holds {len(raw) - header}; the file is corrupt or truncated."
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))  # copy: native order, writable


def _read_idx(path: Path) -> np.ndarray:
    return _parse_idx(_read_bytes(path), name=str(path))


# ---------------------------------------------------------------------------
# Locating and downloading files
# ---------------------------------------------------------------------------


def _file_in(folder: Path, name: str) -> Path | None:
    """The ``.gz`` file, or its decompressed twin, inside ``folder``."""
    for candidate in (folder / name, folder / name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def _search_dirs(data_home: str | os.PathLike | None) -> list[Path]:
    if data_home is not None:
        return [Path(data_home).expanduser()]
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env).expanduser()
        return [root, root / "fashion-mnist"]
    return [SYSTEM_DIR, USER_DIR.expanduser()]


def _download_dir(data_home: str | os.PathLike | None) -> Path:
    if data_home is not None:
        return Path(data_home).expanduser()
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else USER_DIR.expanduser()


def _md5_sha256(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()


def _download(name: str, folder: Path, timeout: float = 60.0) -> Path:
    """Fetch ``BASE_URL + name`` into ``folder``, verifying both checksums.

    The bytes go to a temporary file that is renamed only after the MD5 of the
    archive and the SHA256 of its decompressed content have matched.
    """
    url = BASE_URL + name
    with urllib.request.urlopen(url, timeout=timeout) as response:
        data = response.read()
    md5, _ = _md5_sha256(data)
    if md5 != _GZ_MD5[name]:
        raise OSError(
            f"checksum mismatch for {url}: md5 {md5}, expected {_GZ_MD5[name]}. "
            "The download is corrupt or the upstream file changed; nothing was saved."
        )
    try:
        raw_sha256 = hashlib.sha256(gzip.decompress(data)).hexdigest()
    except (OSError, EOFError, zlib.error) as exc:
        raise OSError(f"{url} passed its md5 check but does not decompress: {exc}") from exc
    if raw_sha256 != _RAW_SHA256[name]:
        raise OSError(
            f"checksum mismatch for the content of {url}: sha256 {raw_sha256}, "
            f"expected {_RAW_SHA256[name]}; nothing was saved."
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    tmp = folder / (name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def _locate(subset: str, data_home, download: bool) -> dict[str, Path]:
    """Paths of the files ``subset`` needs, downloading them if allowed."""
    splits = ["train", "test"] if subset == "all" else [subset]
    names = [name for split in splits for name in _FILES[split]]
    dirs = _search_dirs(data_home)
    for folder in dirs:
        found = {name: _file_in(folder, name) for name in names}
        if all(found.values()):
            return found
    if download:
        folder = _download_dir(data_home)
        return {name: _file_in(folder, name) or _download(name, folder) for name in names}
    raise FileNotFoundError(
        f"Fashion-MNIST files {names} not found in {[str(d) for d in dirs]}. "
        "Install them with `apt-get install dataset-fashion-mnist`, point the "
        f"environment variable {ENV_VAR} (or data_home=) at a folder holding "
        "the four IDX .gz files, or pass download=True to fetch them from "
        f"{BASE_URL} with checksum verification."
    )


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _load_split(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _read_idx(images_path), _read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(
            f"{images_path}: expected uint8 images of shape (n, 28, 28), "
            f"got {images.dtype} {images.shape}; is this the right file?"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{labels_path}: expected a 1-d uint8 label file, got {labels.dtype} {labels.shape}."
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"mismatched files: {images_path} holds {images.shape[0]} images but "
            f"{labels_path} holds {labels.shape[0]} labels."
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: label {labels.max()} outside 0..9.")
    return images, labels.astype(np.int64)


def load_fashion_mnist(
    *,
    data_home: str | os.PathLike | None = None,
    subset: str = "train",
    return_X_y: bool = False,
    download: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the Fashion-MNIST images (28x28 grey, 10 classes).

    The four IDX files (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
    ``t10k-labels-idx1-ubyte.gz``; decompressed copies without ``.gz`` are
    accepted too) are looked for in, in this order:

    1. ``data_home`` if given (and only there);
    2. otherwise the folder named by the environment variable
       ``SKLPROXY_DATA``, or its ``fashion-mnist`` subfolder;
    3. otherwise ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package
       ``dataset-fashion-mnist``), then ``~/sklproxy_data/fashion-mnist``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the four files. Also where ``download=True`` saves
        them; without it downloads go to ``$SKLPROXY_DATA`` if set, else to
        ``~/sklproxy_data/fashion-mnist``.
    subset : {"train", "test", "all"}, default="train"
        ``"train"``: the 60,000 training images; ``"test"``: the 10,000 test
        images; ``"all"``: both, training images first.
    return_X_y : bool, default=False
        If True return ``(data, target)`` instead of a Bunch.
    download : bool, default=False
        If the files are not found, fetch the missing ones from the upstream
        URLs (``http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/``).
        Each download is checked against the published MD5 of the archive and
        the SHA256 of its content and is only saved if both match.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : ndarray of shape (n_samples, 28, 28), dtype uint8
            The images, grey levels 0..255 (0 is background).
        images : ndarray of shape (n_samples, 28, 28), dtype uint8
            The same array as ``data`` (for ``load_digits`` compatibility).
        target : ndarray of shape (n_samples,), dtype int64
            Class labels 0..9.
        target_names : ndarray of shape (10,), dtype str
            Class names.
        DESCR : str
            Description of the dataset.
        filenames : list of str
            The files read.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If the files are missing and ``download`` is False.
    ValueError
        If a file is not a valid IDX file or the image and label files do not
        match.
    OSError
        If a download fails or its checksum does not match.

    See Also
    --------
    fashion_mnist_superclasses : Map the 10 classes to 5 super-classes.
    make_colour_biased : Colour-biased RGB variants of the images.

    Notes
    -----
    ``as_frame`` is not offered: a pandas frame does not fit 3-d images.
    Checksums are only verified on download; local files are checked for a
    valid IDX header and consistent sizes.

    Examples
    --------
    >>> from sklproxy.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y.dtype  # doctest: +SKIP
    ((10000, 28, 28), dtype('uint8'), dtype('int64'))
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset={subset!r} is not supported; use 'train', 'test' or 'all'.")
    paths = _locate(subset, data_home, download)
    splits = ["train", "test"] if subset == "all" else [subset]
    parts = [_load_split(*(paths[name] for name in _FILES[split])) for split in splits]
    if len(parts) == 1:
        images, target = parts[0]
    else:
        images = np.concatenate([p[0] for p in parts])
        target = np.concatenate([p[1] for p in parts])
    if return_X_y:
        return images, target
    return Bunch(
        data=images,
        images=images,
        target=target,
        target_names=np.array(FASHION_MNIST_CLASSES),
        DESCR=_DESCR,
        filenames=[str(p) for p in paths.values()],
    )


def fashion_mnist_superclasses(y: ArrayLike) -> np.ndarray:
    """Map fine Fashion-MNIST labels (0..9) to the 5 coarse super-classes.

    The B1 coarse-to-fine protocol: 0 tops (T-shirt/top, Pullover, Coat,
    Shirt), 1 trouser, 2 dress, 3 footwear (Sandal, Sneaker, Ankle boot),
    4 bag. Names are in ``FASHION_MNIST_SUPERCLASS_NAMES``; the lookup table
    is ``FASHION_MNIST_SUPERCLASSES``.

    Parameters
    ----------
    y : array-like of int
        Fine labels in 0..9, any shape.

    Returns
    -------
    coarse : ndarray of int64, same shape as ``y``

    Examples
    --------
    >>> from sklproxy.datasets import fashion_mnist_superclasses
    >>> fashion_mnist_superclasses([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).tolist()
    [0, 1, 0, 2, 0, 3, 0, 3, 4, 3]
    """
    y = np.asarray(y)
    if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9):
        raise ValueError(
            f"y must hold integer Fashion-MNIST labels in 0..9; got dtype {y.dtype} "
            f"with values in [{y.min()}, {y.max()}]."
        )
    return FASHION_MNIST_SUPERCLASSES[y.astype(np.int64)]
