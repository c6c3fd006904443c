"""MNIST: the four official IDX files, verified, cached, with an offline sample.

``load_mnist()`` finds each file, in order, in

1. the cache ``data/mnist/`` (a file that fails its checksum is deleted and fetched again once),
2. a directory named by the ``mnist_dir`` argument or ``$NN_MNIST_DIR``
   (organizers pre-seed it, e.g. from a USB stick; .gz or uncompressed files),
3. an HTTPS download from ``MIRRORS``, one mirror after the other,

and if the full set cannot be had, falls back to the committed sample
``data/mnist-sample.npz`` with one warning. ``NN_MNIST=sample`` uses the sample
without touching the network; ``NN_MNIST=full`` never falls back to it.
``NN_MNIST_MIRRORS`` (URLs separated by spaces or commas) replaces the mirrors.

A download is bounded: a mirror slower than ``MIN_RATE`` over ``RATE_WINDOW``
seconds (or silent for ``TIMEOUT``) is abandoned for the next one, and no file may
grow beyond ``MAX_BYTES``. A mirror that answers with something else (a Wi-Fi
login page, an error page) counts as failing, like one that cannot be reached.

Every file is checked against the SHA-256 of its *uncompressed* bytes, and every
write goes to a temporary file first and is renamed into place only when verified,
so an interrupted download never leaves a partial file in the cache. No pickle:
the sample is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import itertools
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import numpy as np

# SHA-256 of the uncompressed official files (the gzip wrapping differs between mirrors).
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Tried in this order: a maintained mirror, the historic host, another maintained mirror.
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# Uncompressed sizes of the official files: no download may grow beyond them (plus MARGIN).
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}
MARGIN = 1_000_000  # bytes: room for a gzip header or an uncompressed copy served as .gz
MAX_BYTES: dict[str, int] = {name: size + MARGIN for name, size in SIZES.items()}

SOURCE_ENV = "NN_MNIST"  # auto (default) | sample | full
DIR_ENV = "NN_MNIST_DIR"
MIRRORS_ENV = "NN_MNIST_MIRRORS"
TIMEOUT = 15.0  # seconds, for the connection and for each read
ATTEMPTS_PER_MIRROR = 2  # one retry
MIN_RATE = 20_000  # bytes per second, on average over each RATE_WINDOW: slower mirrors are abandoned
RATE_WINDOW = 30.0  # seconds
# A download writes its .part file at least every TIMEOUT seconds (or gives up); one left
# untouched much longer belongs to a process that was killed (e.g. a restarted kernel).
STALE_PART_AGE = 4 * TIMEOUT
IMAGE_SIZE = 28


class SampleDataWarning(UserWarning):
    """The small offline sample is used instead of the full MNIST set."""


class MnistUnavailable(RuntimeError):
    """No source delivered a file (offline, all mirrors down)."""


class ChecksumError(ValueError):
    """A file arrived complete but its contents are not the official ones.

    ``description`` says what it is instead, without the file's name.
    """

    def __init__(self, message: str, description: str | None = None):
        super().__init__(message)
        self.description = description or message


class MirrorNotAllowed(MnistUnavailable):
    """A mirror URL that is not https:// (plain http:// only on this machine)."""


class CacheUnwritable(MnistUnavailable):
    """The cache folder cannot be written (read-only, no permission, disk full).

    ``folder`` and ``reason`` let a caller name its own way to choose another folder.
    """

    def __init__(self, folder: Path, reason: str):
        super().__init__(f"cannot write to the MNIST cache folder {folder}: {reason} (make it writable, "
                         "free some space, or pass cache_dir=... to load_mnist)")
        self.folder, self.reason = folder, reason


def ways_to_the_full_set() -> str:
    """What to do when no source delivers the full set (offline, mirrors down): every way out."""
    files = ", ".join(SHA256)
    return ("To get the full MNIST set without these sources:\n"
            f"  - put the four official files ({files}; .gz or uncompressed) in a folder and run "
            f"`make data MNIST_DIR=that/folder` (or set {DIR_ENV}=that/folder for load_mnist);\n"
            f"  - or set {MIRRORS_ENV} to a mirror you can reach (URLs separated by spaces, e.g. a local "
            "http://127.0.0.1:8000/mnist/);\n"
            f"  - or work with the offline sample, {SOURCE_ENV}=sample: what the notebooks fall back to "
            f"by themselves when {SOURCE_ENV} is auto (the default).")


class MirrorAbandoned(OSError):
    """A mirror sends too slowly, or more than the file can be: it is abandoned."""


@contextlib.contextmanager
def _writing_to(folder: Path) -> Iterator[None]:
    """Turn a file-system error while writing the cache into one that names the folder."""
    try:
        yield
    except OSError as error:
        raise CacheUnwritable(folder, error.strerror or str(error)) from None


def _kit_root() -> Path:
    """The kit's folder: the first ancestor of this file with data/mnist-sample.npz in it."""
    for folder in Path(__file__).resolve().parents:
        if (folder / "data" / "mnist-sample.npz").exists():
            return folder
    return Path.cwd()


DATA_DIR = _kit_root() / "data"
CACHE_DIR = DATA_DIR / "mnist"
SAMPLE_PATH = DATA_DIR / "mnist-sample.npz"


# ---------------------------------------------------------------- IDX format

# The third byte of an IDX file's magic number names the element type.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, name: str = "IDX data", ndim: int | None = None) -> np.ndarray:
    """Decode an IDX file: magic (0, 0, type, ndim), ndim big-endian uint32 sizes, the elements.

    Checks the magic number, the number of dimensions (when ``ndim`` is given)
    and that the data is exactly as long as the sizes say.
    """
    if len(data) < 4:
        raise ValueError(f"{name}: {len(data)} bytes is too short for an IDX file (it starts with a 4-byte magic number)")
    zero1, zero2, type_code, file_ndim = data[:4]
    if zero1 != 0 or zero2 != 0 or type_code not in IDX_DTYPES:
        raise ValueError(
            f"{name}: not an IDX file: magic number {data[:4].hex()}, expected 0000 then a type code "
            f"({', '.join(f'{code:02x}' for code in IDX_DTYPES)}) and the number of dimensions"
        )
    if ndim is not None and file_ndim != ndim:
        raise ValueError(f"{name}: the IDX header says {file_ndim} dimension(s), expected {ndim}")
    header_size = 4 + 4 * file_ndim
    if len(data) < header_size:
        raise ValueError(f"{name}: truncated header: {len(data)} bytes, expected at least {header_size}")
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">u4", count=file_ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected = header_size + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        problem = "truncated" if len(data) < expected else "trailing bytes"
        raise ValueError(f"{name}: {problem}: {len(data)} bytes, expected {expected} for shape {shape} of {dtype.name}")
    return np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)


def read_bytes(path: Path) -> bytes:
    """The uncompressed contents of ``path``: gunzipped when it starts like a gzip file (1f 8b)."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path.name}: not a complete gzip file ({error})") from None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- files and sources


def verify_file(path: Path, expected: str, name: str | None = None) -> bytes:
    """The uncompressed bytes of ``path``; ChecksumError when they are not the official ones."""
    try:
        data = read_bytes(path)
    except ValueError as error:
        raise ChecksumError(f"{error}: not the official file", "not a complete gzip file") from None
    actual = sha256(data)
    if actual != expected:
        description = f"{_what_it_is(data)}: the SHA-256 of the uncompressed bytes is {actual}, expected {expected}"
        raise ChecksumError(f"{name or path.name}: {description}", description)
    return data


def _what_it_is(data: bytes) -> str:
    """What a file that is not the official one looks like, for the error message."""
    start = data[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")) or b"<html" in start:
        return f"an HTML page of {len(data):,} bytes (a Wi-Fi login page or an error page?), not MNIST data"
    if data[:2] != b"\x00\x00" or len(data) < 4 or data[2] not in IDX_DTYPES:
        return f"not an IDX file ({len(data):,} bytes starting {data[:8].hex()})"
    return "wrong contents"


def _find(folder: Path, name: str) -> Path | None:
    """``folder/name.gz`` or the uncompressed ``folder/name``, whichever exists."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _install(fill, target: Path, expected: str) -> bytes:
    """Write ``target`` atomically: ``fill(write)`` calls ``write(chunk)`` to fill a temporary
    file beside it, which is verified and only then renamed into place. Nothing is left on
    failure. Returns the verified uncompressed bytes. CacheUnwritable when the folder cannot
    be written (read-only, full disk)."""
    folder = target.parent
    with _writing_to(folder):
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    temp = Path(temp_name)
    file = os.fdopen(handle, "wb")
    try:
        def write(chunk: bytes) -> None:
            with _writing_to(folder):
                file.write(chunk)

        fill(write)
        with _writing_to(folder):
            file.close()
        data = verify_file(temp, expected, target.name)
        with _writing_to(folder):
            temp.chmod(0o644)  # mkstemp makes it private; the cache is as readable as any file
            os.replace(temp, target)
    finally:
        with contextlib.suppress(OSError):
            file.close()  # already closed unless something failed
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    return data


def _move_aside(path: Path) -> Path:
    """Rename ``path`` to ``path.damaged`` (or ``.damaged-2``, … if taken) beside it; the new name."""
    for number in itertools.count(1):
        target = path.with_name(f"{path.name}.damaged" + (f"-{number}" if number > 1 else ""))
        if not target.exists():
            path.rename(target)
            return target


def _remove_stale_parts(folder: Path) -> None:
    """Delete the temporary files that killed downloads left in the cache (see STALE_PART_AGE)."""
    now = time.time()
    for part in folder.glob(".*.part"):
        with contextlib.suppress(OSError):  # gone meanwhile, or a read-only cache: not our problem here
            if now - part.stat().st_mtime > STALE_PART_AGE:
                part.unlink()


def _check_url(url: str) -> None:
    """HTTPS only; plain HTTP is allowed for a server on this machine (tests, a local mirror)."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")):
        raise MirrorNotAllowed(
            f"the mirror {url!r} is not an https:// URL: a mirror needs https:// (plain http:// only on this "
            f"machine, 127.0.0.1); check ${MIRRORS_ENV}. To share the files with a room, put them in a shared "
            f"folder or on a USB stick instead: make data MNIST_DIR=<that folder>")


def _download_to(url: str, write, timeout: float, progress: bool, max_bytes: int) -> None:
    """Stream ``url`` into ``write`` with a progress bar; raises when the body is short,
    longer than ``max_bytes``, or arrives slower than MIN_RATE (MirrorAbandoned)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length is not None else None
        if total is not None and total > max_bytes:
            raise MirrorAbandoned(f"the mirror announces {total:,} bytes, more than the file can be ({max_bytes:,})")
        received = 0
        window_start, window_received = time.monotonic(), 0
        with _progress_bar(total, url.rsplit("/", 1)[-1], progress) as update:
            while chunk := response.read1(1 << 16):  # read1: returns what has arrived, never waits for more
                received += len(chunk)
                if received > max_bytes:
                    raise MirrorAbandoned(f"sent more than {max_bytes:,} bytes, more than the file can be: abandoned")
                write(chunk)
                update(len(chunk))
                window_received += len(chunk)
                elapsed = time.monotonic() - window_start
                if elapsed >= RATE_WINDOW:
                    if window_received < MIN_RATE * elapsed:
                        raise MirrorAbandoned(f"too slow: {window_received / elapsed:,.0f} bytes/s over {elapsed:.0f} s, "
                                      f"less than {MIN_RATE:,}: abandoned")
                    window_start, window_received = time.monotonic(), 0
    if total is not None and received != total:
        raise OSError(f"truncated download: received {received} of {total} bytes")


@contextlib.contextmanager
def _progress_bar(total: int | None, name: str, progress: bool):
    """``update(n)`` for a tqdm text bar (tqdm.auto would need ipywidgets); no bar without tqdm."""
    try:
        from tqdm import tqdm
    except ImportError:
        progress = False
    if not progress:
        yield lambda n: None
        return
    with tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False) as bar:
        yield bar.update


def _is_final(error: Exception) -> bool:
    """Wrong contents, too slow or a 4xx answer: a retry of the same mirror would get the same."""
    return isinstance(error, (ChecksumError, MirrorAbandoned)) or (
        isinstance(error, urllib.error.HTTPError) and error.code < 500)


def _is_unreachable(error: Exception) -> bool:
    """No connection or no answer at all (as opposed to an HTTP error)."""
    timed_out = isinstance(error, TimeoutError)
    return timed_out or (isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError))


def _describe(error: BaseException) -> str:
    if isinstance(error, ChecksumError):
        return error.description
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    if isinstance(error, TimeoutError):
        return "no answer (timed out)"
    return str(error)


def _from_mirrors(name: str, target: Path, expected: str, mirrors: Sequence[str], timeout: float, progress: bool,
                  failures: list[tuple[str, Exception]], unreachable: set[str]) -> tuple[str, bytes] | None:
    """Download ``name``.gz from the first mirror that delivers it intact: (URL, verified bytes), or None.

    A mirror that cannot be reached twice in a row, or is too slow, joins ``unreachable``
    and is not asked again.
    """
    for mirror in mirrors:
        _check_url(mirror)
    max_bytes = MAX_BYTES.get(name, max(MAX_BYTES.values()))
    for mirror in mirrors:
        if mirror in unreachable:
            failures.append((mirror, MnistUnavailable("not asked: it did not answer for an earlier file")))
            continue
        url = mirror.rstrip("/") + f"/{name}.gz"
        for attempt in range(ATTEMPTS_PER_MIRROR):
            try:
                data = _install(lambda write: _download_to(url, write, timeout, progress, max_bytes), target, expected)
                return url, data
            except (OSError, ValueError, http.client.HTTPException) as error:
                if isinstance(error, urllib.error.HTTPError):
                    error.close()  # it holds the server's answer and its connection; the code and reason stay
                failures.append((url, error))
                if isinstance(error, MirrorAbandoned):
                    unreachable.add(mirror)
                if _is_final(error):
                    break  # the mirror answered: asking again gives the same answer
                if attempt + 1 == ATTEMPTS_PER_MIRROR and _is_unreachable(error):
                    unreachable.add(mirror)
            if attempt + 1 < ATTEMPTS_PER_MIRROR:
                time.sleep(0.2)
    return None


def _copy_from(source: Path):
    def copy(write) -> None:
        with open(source, "rb") as original:
            while chunk := original.read(1 << 20):
                write(chunk)
    return copy


class Fetched(NamedTuple):
    path: Path  # the verified file in the cache
    how: str  # where it came from, for humans
    data: bytes  # its uncompressed contents


def fetch_file(name: str, expected: str, cache_dir: Path, mnist_dir: Path | None = None,
               mirrors: Sequence[str] = MIRRORS, timeout: float = TIMEOUT, progress: bool = True,
               unreachable: set[str] | None = None) -> Fetched:
    """A verified copy of ``name`` in ``cache_dir``, where it came from, and its contents.

    Raises ChecksumError when a source delivered complete but wrong contents
    and no other source had the right ones, MnistUnavailable when no source delivered.
    """
    cached = _find(cache_dir, name)
    damage = ""  # what was wrong with a cached copy that had to make room
    if cached is not None:
        try:
            return Fetched(cached, f"already in {cache_dir}", verify_file(cached, expected))
        except ValueError as error:
            with _writing_to(cache_dir):
                kept = _move_aside(cached)  # someone may have put it there: fetch again, but delete nothing
            damage = f"{_describe(error)}; kept as {kept.name}"
    replaced = f" (replacing a damaged copy in the cache: {damage})" if damage else ""
    failures: list[tuple[str, Exception]] = []
    if mnist_dir is not None:
        found = _find(mnist_dir, name)
        if found is None:
            failures.append((str(mnist_dir), FileNotFoundError(
                f"no {name}.gz or {name} there" if mnist_dir.is_dir() else "no such folder")))
        else:
            try:
                data = _install(_copy_from(found), cache_dir / found.name, expected)
                return Fetched(cache_dir / found.name, f"copied from {mnist_dir}{replaced}", data)
            except (OSError, ValueError) as error:  # unreadable or wrong; CacheUnwritable is neither
                failures.append((str(found), error))
    unreachable = set() if unreachable is None else unreachable
    downloaded = _from_mirrors(name, cache_dir / f"{name}.gz", expected, mirrors, timeout, progress, failures, unreachable)
    if downloaded is not None:
        return Fetched(cache_dir / f"{name}.gz", f"downloaded from {downloaded[0]}{replaced}", downloaded[1])
    lines = [f"{where}: {_describe(error)}" for where, error in failures] or ["no directory and no mirrors to try"]
    lines = [f"{cached}: damaged ({damage})", *lines] if damage else lines
    lines = [line for k, line in enumerate(lines) if k == 0 or line != lines[k - 1]]  # a retry's repeat
    report = f"{name}: no source delivered the official file:\n  " + "\n  ".join(lines)
    if any(isinstance(error, ChecksumError) for _, error in failures):
        raise ChecksumError(report)
    raise MnistUnavailable(report)


def mirrors_from_environment() -> tuple[str, ...]:
    """The mirrors of ``$NN_MNIST_MIRRORS`` (separated by spaces or commas), else MIRRORS."""
    listed = os.environ.get(MIRRORS_ENV, "").replace(",", " ").split()
    return tuple(listed) or MIRRORS


def fetch_mnist(cache_dir: Path | str | None = None, mnist_dir: Path | str | None = None,
                mirrors: Sequence[str] | None = None, timeout: float = TIMEOUT, progress: bool = True,
                checksums: Mapping[str, str] = SHA256) -> dict[str, Fetched]:
    """Make sure every file of ``checksums`` is verified in ``cache_dir``; {name: Fetched}.

    ``cache_dir`` defaults to data/mnist, ``mnist_dir`` to ``$NN_MNIST_DIR`` (if set),
    ``mirrors`` to ``$NN_MNIST_MIRRORS`` (if set), else MIRRORS.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    mnist_dir = mnist_dir or os.environ.get(DIR_ENV) or None
    mnist_dir = Path(mnist_dir) if mnist_dir is not None else None
    mirrors = mirrors_from_environment() if mirrors is None else mirrors
    if cache_dir.is_dir():
        _remove_stale_parts(cache_dir)
    unreachable: set[str] = set()
    fetched, problems = {}, []
    for name, expected in checksums.items():  # every file, so that one bad file on a USB stick stops no other
        try:
            fetched[name] = fetch_file(name, expected, cache_dir, mnist_dir, mirrors, timeout, progress, unreachable)
        except (CacheUnwritable, MirrorNotAllowed):
            raise  # the same for every file: said once
        except (MnistUnavailable, ChecksumError) as error:
            problems.append(error)
    if problems:
        wrong = [error for error in problems if isinstance(error, ChecksumError)]
        error = (ChecksumError if wrong else MnistUnavailable)("\n".join(map(str, problems)))
        error.problems = problems  # one per file, for a caller that says less
        raise error
    return fetched


# ---------------------------------------------------------------- arrays


def _as_float_images(pixels: np.ndarray, flatten: bool) -> np.ndarray:
    """uint8 pixels (N, 28, 28) → float32 in [0, 1], (N, 784) when ``flatten``."""
    images = np.divide(pixels, np.float32(255), dtype=np.float32)
    return images.reshape(len(images), -1) if flatten else images


def _as_labels(labels: np.ndarray) -> np.ndarray:
    """Labels as the platform's index type (int64; int32 in the browser), so that
    ``np.bincount`` and indexing take them everywhere."""
    return labels.astype(np.intp)


def _split(files: Mapping[str, Fetched], prefix: str, flatten: bool) -> tuple[np.ndarray, np.ndarray]:
    images_path, _, images_data = files[f"{prefix}-images-idx3-ubyte"]
    labels_path, _, labels_data = files[f"{prefix}-labels-idx1-ubyte"]
    images = parse_idx(images_data, images_path.name, ndim=3)
    labels = parse_idx(labels_data, labels_path.name, ndim=1)
    if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or len(images) != len(labels):
        raise ValueError(f"{images_path.name} has shape {images.shape} and {labels_path.name} {labels.shape}; "
                         f"expected (N, {IMAGE_SIZE}, {IMAGE_SIZE}) images and N labels")
    return _as_float_images(images, flatten), _as_labels(labels)


def load_sample(flatten: bool = True, path: Path | str | None = None):
    """The committed offline sample, in the same form as ``load_mnist``."""
    path = Path(path) if path is not None else SAMPLE_PATH
    if not path.exists():
        raise FileNotFoundError(f"the offline MNIST sample is missing: {path} (it is part of the kit; `git checkout` restores it)")
    with np.load(path, allow_pickle=False) as sample:
        train = _as_float_images(sample["x_train"], flatten), _as_labels(sample["y_train"])
        test = _as_float_images(sample["x_test"], flatten), _as_labels(sample["y_test"])
    return train, test


def _use_sample(flatten: bool, sample_path: Path | str | None, reason: str):
    train, test = load_sample(flatten, sample_path)
    path = Path(sample_path) if sample_path is not None else SAMPLE_PATH
    warnings.warn(
        f"MNIST: using the offline sample ({len(train[0]):,} train + {len(test[0]):,} test images, "
        f"{path.stat().st_size / 1e6:.1f} MB) {reason}; for the full 60,000 + 10,000: `make data` (with a "
        "network), or `make data MNIST_DIR=<a folder with the four official files>`.",
        SampleDataWarning, stacklevel=3)
    return train, test


def load_mnist(flatten: bool = True, *, source: str | None = None, mnist_dir: Path | str | None = None,
               cache_dir: Path | str | None = None, mirrors: Sequence[str] | None = None, timeout: float = TIMEOUT,
               progress: bool = True, checksums: Mapping[str, str] = SHA256, sample_path: Path | str | None = None):
    """``(x_train, y_train), (x_test, y_test)``: images float32 in [0, 1], labels np.intp (int64).

    Images are (N, 784), or (N, 28, 28) with ``flatten=False``; N is 60,000 and
    10,000 for the full set. ``source`` (default ``$NN_MNIST``, else "auto"):
    "auto" tries cache → ``mnist_dir`` (default ``$NN_MNIST_DIR``) → mirrors (default
    ``$NN_MNIST_MIRRORS``, else MIRRORS) → sample, also when the cache cannot be written;
    "sample" takes the offline sample without any network access; "full" never
    falls back to the sample (it raises instead). In the browser (Pyodide, JupyterLite)
    nothing is downloaded: "auto" takes the cache, else the sample.
    """
    source = source or os.environ.get(SOURCE_ENV) or "auto"
    if source not in ("auto", "sample", "full"):
        raise ValueError(f"MNIST source {source!r} (argument or ${SOURCE_ENV}): expected 'auto', 'sample' or 'full'")
    if source == "sample":
        return _use_sample(flatten, sample_path, f"because {SOURCE_ENV}=sample or source='sample'")
    if sys.platform == "emscripten":  # the browser (Pyodide): no downloads, the cache or the sample
        mirrors = ()
    try:
        files = fetch_mnist(cache_dir, mnist_dir, mirrors, timeout, progress, checksums)
    except (MnistUnavailable, ChecksumError) as error:
        if source == "full":
            if isinstance(error, CacheUnwritable):
                raise  # its message says what to do
            raise type(error)(f"{error}\n{ways_to_the_full_set()}") from None
        problems = getattr(error, "problems", [error])
        first, *others = str(problems[0]).splitlines()
        reasons = " ".join([first, "; ".join(line.strip() for line in others)]).strip()
        if len(problems) > 1:
            reasons += f"; and {len(problems) - 1} more file{'s' * (len(problems) > 2)}"
        return _use_sample(flatten, sample_path, f"because the full set could not be fetched ({reasons})")
    return _split(files, "train", flatten), _split(files, "t10k", flatten)


def batches(X, y, batch_size: int, shuffle: bool = True, rng: np.random.Generator | int | None = None,
            drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Mini-batches ``(X[i], y[i])`` over the first axis, each index exactly once per pass.

    With ``shuffle`` the order is a random permutation from ``rng`` (a Generator or
    a seed; None draws a fresh seed). The last batch may be smaller, or is dropped
    with ``drop_last=True``. Bad arguments are reported at the call, not at the first batch.
    """
    X, y = np.asarray(X), np.asarray(y)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"X and y need a first axis to batch over, got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length: X has {len(X)} rows (shape {X.shape}), y has {len(y)} (shape {y.shape})")
    if rng is not None and (isinstance(rng, bool) or not isinstance(rng, (np.random.Generator, int, np.integer))):
        raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")
    order = np.random.default_rng(rng).permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    return ((X[order[start:start + batch_size]], y[order[start:start + batch_size]])
            for start in range(0, stop, batch_size))
