"""MNIST loading (nn/data.py): IDX parsing, verified downloads, cache, offline sample, batches.

Downloads go to a real HTTP server on 127.0.0.1 started here; nothing reaches further.
Every cache lives in tmp_path.
"""

from __future__ import annotations

import functools
import gc
import gzip
import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, load_tools_module

from nn import data as mnist

NAMES = tuple(mnist.SHA256)
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file: magic 00 00 type ndim, the sizes as big-endian uint32, the elements."""
    header = bytes([0, 0, type_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.astype(">u1").tobytes()


def tiny_mnist(seed: int = 0) -> dict[str, bytes]:
    """Four IDX files in MNIST's layout with two 28x28 images per split."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(4, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # the value range's ends
    return {
        "train-images-idx3-ubyte": idx_bytes(images[:2]),
        "train-labels-idx1-ubyte": idx_bytes(np.array([3, 7], dtype=np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(images[2:]),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array([0, 9], dtype=np.uint8)),
    }


TINY = tiny_mnist()
TINY_SHA256 = {name: hashlib.sha256(content).hexdigest() for name, content in TINY.items()}


def cache_files(folder: Path) -> list[str]:
    """Everything in the cache folder, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(autouse=True)
def no_mnist_environment(monkeypatch):
    """The tests choose their sources by argument; the developer's NN_MNIST* settings do not leak in."""
    monkeypatch.delenv(mnist.SOURCE_ENV, raising=False)
    monkeypatch.delenv(mnist.DIR_ENV, raising=False)


# ---------------------------------------------------------------- a mirror on 127.0.0.1


HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Welcome to Workshop Wi-Fi</title></head><body>Log in</body></html>\n"
SERVER_LIMIT = 5.0  # seconds: a trickling or endless answer stops by itself after this


class MirrorHandler(BaseHTTPRequestHandler):
    """Serves ``routes``: path → (status, body, how). how is "ok"; "truncate" (half the body, then
    hang up); "trickle" (one byte every 50 ms); "endless" (no Content-Length, zeros until SERVER_LIMIT);
    "html" (a captive portal's login page instead of the file)."""

    routes: dict[str, tuple[int, bytes, str]] = {}
    requests: list[str] = []

    def do_GET(self):
        self.requests.append(self.path)
        status, body, how = self.routes.get(self.path, (404, b"not found", "ok"))
        body = HTML_PAGE if how == "html" else body
        self.send_response(status)
        if how != "endless":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        try:
            if how == "trickle":
                self.stream(body[i:i + 1] for i in range(len(body)))
            elif how == "endless":
                self.stream(iter(lambda: bytes(1 << 16), None))
            else:
                self.wfile.write(body[: len(body) // 2] if how == "truncate" else body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def stream(self, chunks):
        stop = time.monotonic() + SERVER_LIMIT
        for chunk in chunks:
            if time.monotonic() > stop:
                return
            self.wfile.write(chunk)
            self.wfile.flush()
            if len(chunk) == 1:
                time.sleep(0.05)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 in a thread. ``server.mirror(name, files, how)`` adds a mirror."""
    handler = type("Handler", (MirrorHandler,), {"routes": {}, "requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def mirror(name: str, files: dict[str, bytes] | None = None, how: str = "ok", status: int = 200) -> str:
        for file, content in (files or {}).items():
            handler.routes[f"/{name}/{file}.gz"] = (status, gzip.compress(content, mtime=0), how)
        return f"http://127.0.0.1:{httpd.server_port}/{name}/"

    httpd.mirror = mirror
    httpd.requests = handler.requests
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def silent_server():
    """Accepts connections (the kernel's backlog) and never answers a request."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/silent/"
    sock.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: the connection is refused at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/down/"


def sample_warning(caught) -> str:
    """The one SampleDataWarning among the warnings pytest.warns recorded (a ResourceWarning of a socket
    that an earlier test left to the garbage collector may be recorded too)."""
    messages = [str(w.message) for w in caught if issubclass(w.category, mnist.SampleDataWarning)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    return messages[0]


@pytest.fixture
def fast_limits(monkeypatch):
    """A download must keep 1,000 bytes/s over 0.5 s windows; a file may have 100,000 bytes."""
    monkeypatch.setattr(mnist, "RATE_WINDOW", 0.5, raising=False)
    monkeypatch.setattr(mnist, "MIN_RATE", 1_000, raising=False)
    monkeypatch.setattr(mnist, "MAX_BYTES", {name: 100_000 for name in NAMES}, raising=False)


def fetch(cache: Path, mirrors, **options):
    options.setdefault("timeout", 2.0)
    return mnist.fetch_mnist(cache, None, mirrors, progress=False, checksums=TINY_SHA256, **options)


# ---------------------------------------------------------------- IDX parser


def test_parse_idx_reads_images_and_labels():
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    parsed = mnist.parse_idx(idx_bytes(images), ndim=3)
    assert parsed.shape == (2, 28, 28) and parsed.dtype == np.uint8
    np.testing.assert_array_equal(parsed, images)
    labels = mnist.parse_idx(idx_bytes(np.array([3, 7])), ndim=1)
    assert labels.tolist() == [3, 7]


@pytest.mark.parametrize("broken, expected_words", [
    (b"\x00\x00\x99\x03" + TINY["train-images-idx3-ubyte"][4:], ["magic number", "00009903"]),
    (b"\x1f\x8b\x08\x00" + TINY["train-images-idx3-ubyte"][4:], ["magic number"]),
    (TINY["train-images-idx3-ubyte"][:-5], ["truncated", f"{16 + 2 * 784 - 5} bytes", f"expected {16 + 2 * 784}"]),
    (TINY["train-images-idx3-ubyte"][:10], ["truncated header"]),
    (TINY["train-images-idx3-ubyte"] + b"\x00", ["trailing bytes"]),
    (TINY["train-labels-idx1-ubyte"], ["1 dimension(s), expected 3"]),
    (b"\x00\x00", ["too short"]),
])
def test_parse_idx_says_what_is_wrong(broken, expected_words):
    with pytest.raises(ValueError) as error:
        mnist.parse_idx(broken, "train-images-idx3-ubyte", ndim=3)
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message
    for words in expected_words:
        assert words in message, f"expected {words!r} in the error message, got: {message}"


def test_a_truncated_gzip_file_is_reported(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(TINY["train-labels-idx1-ubyte"])[:-8])
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz: not a complete gzip file"):
        mnist.read_bytes(path)


# ---------------------------------------------------------------- downloads


def test_download_verifies_caches_and_reuses_the_files(tmp_path, server):
    cache = tmp_path / "cache"
    files = fetch(cache, [server.mirror("good", TINY)])
    assert cache_files(cache) == sorted(f"{name}.gz" for name in NAMES)
    for name in NAMES:
        assert files[name].how.startswith("downloaded from http://127.0.0.1")
        assert files[name].data == TINY[name]
        assert gzip.decompress(files[name].path.read_bytes()) == TINY[name]
    asked = len(server.requests)
    again = fetch(cache, [server.mirror("good")])
    assert all(f.how == f"already in {cache}" for f in again.values())
    assert len(server.requests) == asked, "a verified cache must not be downloaded again"


def test_load_mnist_gives_float_images_and_int64_labels(tmp_path, server):
    mirror = server.mirror("good", TINY)
    (x_train, y_train), (x_test, y_test) = mnist.load_mnist(
        cache_dir=tmp_path, mirrors=[mirror], progress=False, checksums=TINY_SHA256)
    assert x_train.shape == (2, 784) and x_test.shape == (2, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    np.testing.assert_allclose(x_train[1] * 255, mnist.parse_idx(TINY["train-images-idx3-ubyte"])[1].ravel(), atol=1e-4)
    assert y_train.tolist() == [3, 7] and y_test.tolist() == [0, 9]
    (images, _), _ = mnist.load_mnist(False, cache_dir=tmp_path, mirrors=[mirror], checksums=TINY_SHA256)
    assert images.shape == (2, 28, 28)


def test_a_404_on_the_first_mirror_falls_through_to_the_second(tmp_path, server):
    files = fetch(tmp_path, [server.mirror("missing"), server.mirror("good", TINY)])
    assert all("/good/" in f.how for f in files.values())
    missing = [path for path in server.requests if path.startswith("/missing/")]
    assert len(missing) == len(NAMES), f"a 404 is final: one request per file, got {missing}"


def test_a_truncated_body_is_retried_once_then_reported_and_not_kept(tmp_path, server):
    with pytest.raises(mnist.MnistUnavailable, match="truncated download: received") as error:
        fetch(tmp_path, [server.mirror("short", TINY, how="truncate")])
    assert all(name in str(error.value) for name in NAMES), "every file is tried, and each failure is named"
    assert sorted(server.requests) == sorted(f"/short/{name}.gz" for name in NAMES for _ in range(2)), \
        "one try and one retry per mirror, for each file"
    assert cache_files(tmp_path) == []


def test_a_wrong_checksum_is_a_clear_error_and_not_kept(tmp_path, server):
    wrong = dict(tiny_mnist(seed=1))
    with pytest.raises(mnist.ChecksumError) as error:
        fetch(tmp_path, [server.mirror("wrong", wrong)])
    message = str(error.value)
    name = "train-images-idx3-ubyte"
    assert name in message and TINY_SHA256[name] in message, message
    assert hashlib.sha256(wrong[name]).hexdigest() in message, "the message names the actual checksum"
    kept = {file.removesuffix(".gz") for file in cache_files(tmp_path)}
    assert kept == {other for other in NAMES if wrong[other] == TINY[other]}, "only the files that are right are kept"


def test_a_mirror_that_never_answers_times_out(tmp_path, silent_server, server):
    start = time.perf_counter()
    with pytest.raises(mnist.MnistUnavailable, match="timed out"):
        fetch(tmp_path, [silent_server], timeout=0.5)
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"two attempts with a 0.5 s timeout took {elapsed:.1f} s"
    assert cache_files(tmp_path) == []


def test_an_unreachable_mirror_is_not_asked_again_for_the_next_files(tmp_path, closed_port_url, server):
    files = fetch(tmp_path, [closed_port_url, server.mirror("good", TINY)])
    assert all("/good/" in f.how for f in files.values())


def test_a_corrupt_cached_file_is_kept_aside_and_fetched_again(tmp_path, server):
    name = "train-labels-idx1-ubyte"
    damaged = gzip.compress(b"\x00\x00\x08\x01garbage")
    (tmp_path / f"{name}.gz").write_bytes(damaged)
    (tmp_path / f"{name}.gz.damaged").write_bytes(b"an older one")
    files = fetch(tmp_path, [server.mirror("good", TINY)])
    assert files[name].how.startswith("downloaded from")
    assert gzip.decompress((tmp_path / f"{name}.gz").read_bytes()) == TINY[name]
    assert (tmp_path / f"{name}.gz.damaged-2").read_bytes() == damaged, "a file someone put there is never deleted"
    assert (tmp_path / f"{name}.gz.damaged").read_bytes() == b"an older one"


def test_a_corrupt_cached_file_with_a_bad_mirror_ends_in_a_checksum_error(tmp_path, server):
    name = "train-images-idx3-ubyte"
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(tiny_mnist(seed=1)[name]))
    with pytest.raises(mnist.ChecksumError, match=f"{name}.*expected {TINY_SHA256[name]}"):
        fetch(tmp_path, [server.mirror("wrong", tiny_mnist(seed=1))])
    assert f"{name}.gz.damaged" in cache_files(tmp_path) and f"{name}.gz" not in cache_files(tmp_path)


def test_files_are_copied_from_a_local_folder_gz_or_not(tmp_path, monkeypatch, server):
    usb = tmp_path / "usb"
    usb.mkdir()
    for name, content in TINY.items():
        (usb / name).write_bytes(content)  # uncompressed
    monkeypatch.setenv(mnist.DIR_ENV, str(usb))
    files = mnist.fetch_mnist(tmp_path / "cache", mirrors=[server.mirror("unused")], checksums=TINY_SHA256)
    assert all(f.how == f"copied from {usb}" for f in files.values())
    assert cache_files(tmp_path / "cache") == sorted(NAMES)
    assert server.requests == []


def test_one_bad_file_in_a_local_folder_stops_no_other_and_is_named(tmp_path, closed_port_url):
    """A USB stick with one truncated file: the three good ones were not copied, and the others not reported."""
    usb = tmp_path / "usb"
    usb.mkdir()
    for name, content in TINY.items():
        (usb / f"{name}.gz").write_bytes(gzip.compress(content))
    bad = "train-images-idx3-ubyte"
    (usb / f"{bad}.gz").write_bytes((usb / f"{bad}.gz").read_bytes()[:40])
    with pytest.raises(mnist.ChecksumError) as error:
        mnist.fetch_mnist(tmp_path / "cache", usb, [closed_port_url], timeout=1, progress=False, checksums=TINY_SHA256)
    assert str(error.value).startswith(f"{bad}: no source delivered the official file:\n  {usb / bad}.gz: "), \
        str(error.value)
    assert cache_files(tmp_path / "cache") == sorted(f"{name}.gz" for name in NAMES if name != bad)


@pytest.mark.parametrize("mirror", ["http://mirror.invalid/mnist/", "mirror.invalid/mnist", "ftp://mirror.invalid/"])
def test_only_https_mirrors_are_accepted(tmp_path, mirror):
    with pytest.raises(mnist.MirrorNotAllowed, match=rf"the mirror '{re.escape(mirror)}' is not an https:// URL"):
        fetch(tmp_path, [mirror])


def test_make_data_with_an_http_mirror_says_so_in_one_message_and_load_mnist_falls_back_to_the_sample(
        tmp_path, monkeypatch, capsys):
    """A room's mirror over plain http (python -m http.server on a laptop) ended make data in a traceback, and
    load_mnist in auto mode with a ValueError instead of the sample."""
    monkeypatch.setenv(mnist.MIRRORS_ENV, "http://192.0.2.2:8765/mnist/")
    fetch_data = load_tools_module("fetch_data")
    assert fetch_data.main(["--cache", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("make data failed: the mirror 'http://192.0.2.2:8765/mnist/' is not an https:// URL"), err
    assert "Traceback" not in err and "make data MNIST_DIR=" in err, err
    monkeypatch.setenv(mnist.SOURCE_ENV, "auto")
    with pytest.warns(mnist.SampleDataWarning) as caught:
        (x_train, _), _ = mnist.load_mnist(cache_dir=tmp_path / "cache", progress=False)
    assert len(x_train) == 10_000 and "is not an https:// URL" in sample_warning(caught), sample_warning(caught)


# ---------------------------------------------------------------- the offline sample


def test_all_mirrors_down_gives_the_sample_with_one_warning(tmp_path, server, closed_port_url):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (x_train, y_train), (x_test, y_test) = mnist.load_mnist(
            cache_dir=tmp_path, mirrors=[server.mirror("missing"), closed_port_url], progress=False, timeout=1)
    messages = [str(w.message) for w in caught]
    assert len(caught) == 1 and caught[0].category is mnist.SampleDataWarning, messages
    assert "offline sample" in messages[0] and "make data" in messages[0] and "10,000 train + 2,000 test" in messages[0]
    assert "\n" not in messages[0]
    assert "train-images-idx3-ubyte: no source delivered" in messages[0] and "; and 3 more files)" in messages[0] \
        and "t10k" not in messages[0], "the first file's sources, and a count of the others: the warning stays short"
    assert x_train.shape == (10_000, 784) and x_test.shape == (2_000, 784)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert cache_files(tmp_path) == []


def test_nn_mnist_sample_uses_the_sample_without_any_request(tmp_path, monkeypatch, server):
    monkeypatch.setenv(mnist.SOURCE_ENV, "sample")
    with pytest.warns(mnist.SampleDataWarning, match="NN_MNIST=sample"):
        (x_train, _), _ = mnist.load_mnist(False, cache_dir=tmp_path, mirrors=[server.mirror("good", TINY)])
    assert x_train.shape == (10_000, 28, 28)
    assert server.requests == [] and cache_files(tmp_path) == []


def test_labels_have_the_platform_index_type(tmp_path, server, monkeypatch):
    """In the browser (32-bit WebAssembly) np.intp is int32 and np.bincount refuses int64 labels."""
    monkeypatch.setattr(np, "intp", np.int32)  # the index type of a 32-bit platform
    mirror = server.mirror("good", TINY)
    (_, y_train), (_, y_test) = mnist.load_mnist(cache_dir=tmp_path, mirrors=[mirror], progress=False,
                                                 checksums=TINY_SHA256)
    (_, y_sample), _ = mnist.load_sample()
    assert y_train.dtype == y_test.dtype == y_sample.dtype == np.int32, (y_train.dtype, y_sample.dtype)


def test_in_the_browser_auto_takes_the_cache_or_the_sample_without_any_request(tmp_path, monkeypatch, server):
    """Pyodide (sys.platform 'emscripten') has no sockets: no download is tried, not even a bar is drawn."""
    monkeypatch.setattr(mnist.sys, "platform", "emscripten")
    mirror = server.mirror("good", TINY)
    with pytest.warns(mnist.SampleDataWarning, match="offline sample"):
        (x_train, _), _ = mnist.load_mnist(cache_dir=tmp_path, mirrors=[mirror], checksums=TINY_SHA256)
    assert x_train.shape == (10_000, 784) and server.requests == [] and cache_files(tmp_path) == []
    fetch(tmp_path, [mirror])  # the files in the cache: taken from there
    server.requests.clear()
    (x_train, _), _ = mnist.load_mnist(cache_dir=tmp_path, mirrors=[mirror], checksums=TINY_SHA256)
    assert x_train.shape == (2, 784) and server.requests == []


def test_nn_mnist_full_never_falls_back_to_the_sample(tmp_path, monkeypatch, closed_port_url):
    monkeypatch.setenv(mnist.SOURCE_ENV, "full")
    with pytest.raises(mnist.MnistUnavailable, match="cannot connect"):
        mnist.load_mnist(cache_dir=tmp_path, mirrors=[closed_port_url], progress=False)
    monkeypatch.setenv(mnist.SOURCE_ENV, "fast")
    with pytest.raises(ValueError, match="expected 'auto', 'sample' or 'full'"):
        mnist.load_mnist(cache_dir=tmp_path, mirrors=[closed_port_url])


def test_the_committed_sample_is_small_stratified_and_pickle_free():
    path = ROOT / "data" / "mnist-sample.npz"
    assert path.stat().st_size <= 3_000_000
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    readme = (ROOT / "README.md").read_text()
    assert digest in readme and f"{path.stat().st_size:,} bytes" in readme, (
        f"README.md must give the sample's SHA-256 {digest} and size {path.stat().st_size:,} bytes")
    with np.load(path, allow_pickle=False) as sample:
        assert sample["x_train"].shape == (10_000, 28, 28) and sample["x_test"].shape == (2_000, 28, 28)
        assert sample["x_train"].dtype == np.uint8
        train_counts, test_counts = np.bincount(sample["y_train"]), np.bincount(sample["y_test"])
    expected_train = np.array(MNIST_TRAIN_COUNTS) * 10_000 / 60_000
    expected_test = np.array(MNIST_TEST_COUNTS) * 2_000 / 10_000
    assert np.all(np.abs(train_counts - expected_train) < 1), f"per digit {train_counts}, expected about {expected_train.round(1)}"
    assert np.all(np.abs(test_counts - expected_test) < 1), f"per digit {test_counts}, expected about {expected_test.round(1)}"


# ---------------------------------------------------------------- the real files


def test_full_mnist_from_a_local_folder(tmp_path, shared_mnist):
    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = mnist.load_mnist(mnist_dir=shared_mnist, cache_dir=tmp_path, mirrors=())
    copy_and_load = time.perf_counter() - start
    assert x_train.shape == (60_000, 784) and x_test.shape == (10_000, 784)
    assert x_train.dtype == x_test.dtype == np.float32 and y_train.dtype == y_test.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == MNIST_TEST_COUNTS
    for name, expected in mnist.SHA256.items():
        assert hashlib.sha256(mnist.read_bytes(tmp_path / f"{name}.gz")).hexdigest() == expected
    start = time.perf_counter()
    mnist.load_mnist(cache_dir=tmp_path, mirrors=())
    from_cache = time.perf_counter() - start
    assert from_cache < 5, f"loading the cached set took {from_cache:.1f} s (copy + load: {copy_and_load:.1f} s)"


def test_the_sample_is_what_make_sample_makes_from_the_official_files(shared_mnist):
    make_sample = load_tools_module("make_sample")
    made = make_sample.make_sample(shared_mnist)
    with np.load(ROOT / "data" / "mnist-sample.npz", allow_pickle=False) as committed:
        assert sorted(committed.files) == sorted(made)
        for key in made:
            np.testing.assert_array_equal(committed[key], made[key], err_msg=f"{key} differs: run tools/make_sample.py")
    full = make_sample.read_official(shared_mnist, "train-labels-idx1-ubyte", ndim=1)
    np.testing.assert_array_equal(full[made["train_index"]], made["y_train"])


# ---------------------------------------------------------------- batches


def test_batches_visit_every_row_once_and_the_last_batch_may_be_smaller():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    got = list(mnist.batches(X, y, 4, rng=0))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    assert sorted(np.concatenate([yb for _, yb in got]).tolist()) == list(range(10))
    for xb, yb in got:
        np.testing.assert_array_equal(xb, X[yb])  # rows and labels stay paired
    assert [yb.tolist() for _, yb in mnist.batches(X, y, 4, rng=0)] == [yb.tolist() for _, yb in got], "same seed, same order"
    assert [len(yb) for _, yb in mnist.batches(X, y, 4, drop_last=True)] == [4, 4]
    assert [yb.tolist() for _, yb in mnist.batches(X, y, 5, shuffle=False)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_batches_shuffle_differently_each_pass_with_one_generator():
    rng = np.random.default_rng(0)
    first = [yb.tolist() for _, yb in mnist.batches(np.zeros((50, 1)), np.arange(50), 50, rng=rng)]
    second = [yb.tolist() for _, yb in mnist.batches(np.zeros((50, 1)), np.arange(50), 50, rng=rng)]
    assert first != second and sorted(first[0]) == sorted(second[0]) == list(range(50))


@pytest.mark.parametrize("X, y, batch_size, options, error, words", [
    (np.zeros((5, 2)), np.zeros(4), 2, {}, ValueError, "X has 5 rows"),
    (np.zeros((5, 2)), np.zeros(5), 0, {}, ValueError, "positive integer, got 0"),
    (np.zeros((5, 2)), np.zeros(5), -3, {}, ValueError, "positive integer, got -3"),
    (np.zeros((5, 2)), np.zeros(5), 2.5, {}, ValueError, "positive integer, got 2.5"),
    (np.zeros((5, 2)), np.zeros(5), True, {}, ValueError, "positive integer, got True"),
    (np.float32(1), np.zeros(5), 2, {}, ValueError, "first axis"),
    (np.zeros((5, 2)), np.zeros(5), 2, {"rng": "seed"}, TypeError, "rng must be"),
])
def test_batches_reject_bad_arguments_at_the_call(X, y, batch_size, options, error, words):
    with pytest.raises(error, match=words):
        mnist.batches(X, y, batch_size, **options)  # no next(): the error comes at the call


# ---------------------------------------------------------------- bounded in time and space


def test_a_trickling_mirror_is_abandoned_for_the_next_one(tmp_path, server, fast_limits):
    start = time.perf_counter()
    files = fetch(tmp_path, [server.mirror("trickle", TINY, how="trickle"), server.mirror("good", TINY)])
    elapsed = time.perf_counter() - start
    assert all("/good/" in f.how for f in files.values())
    trickled = [path for path in server.requests if path.startswith("/trickle/")]
    assert trickled == ["/trickle/train-images-idx3-ubyte.gz"], f"a too slow mirror is asked once, got {trickled}"
    assert elapsed < 3, f"a mirror below the minimum rate over a 0.5 s window was abandoned only after {elapsed:.1f} s"
    assert cache_files(tmp_path) == sorted(f"{name}.gz" for name in NAMES)


def test_a_trickling_mirror_is_reported_as_too_slow(tmp_path, server, fast_limits):
    with pytest.raises(mnist.MnistUnavailable, match="too slow"):
        fetch(tmp_path, [server.mirror("trickle", TINY, how="trickle")])
    assert cache_files(tmp_path) == []


def test_the_default_limits_abandon_a_stalled_mirror_within_about_a_minute():
    assert mnist.RATE_WINDOW + mnist.TIMEOUT <= 60 and mnist.MIN_RATE >= 1_000
    for name, size in mnist.SIZES.items():
        assert size < mnist.MAX_BYTES[name] <= 2 * size + 1_000_000


def test_an_endless_answer_stops_at_the_size_cap_and_is_dropped(tmp_path, server, fast_limits):
    start = time.perf_counter()
    with pytest.raises(mnist.MnistUnavailable, match="more than the file can be") as error:
        fetch(tmp_path, [server.mirror("endless", TINY, how="endless")])
    assert time.perf_counter() - start < 3
    assert "100,000 bytes" in str(error.value)
    assert cache_files(tmp_path) == [], "the .part file of an abandoned download must be deleted"


def test_an_announced_size_beyond_the_cap_is_refused_before_downloading(tmp_path, server, monkeypatch):
    monkeypatch.setattr(mnist, "MAX_BYTES", {name: 100 for name in NAMES})
    with pytest.raises(mnist.MnistUnavailable, match=r"announces [\d,]+ bytes, more than the file can be \(100\)"):
        fetch(tmp_path, [server.mirror("big", TINY)])


def test_a_captive_portal_is_a_failing_mirror_and_the_next_one_is_tried(tmp_path, server):
    files = fetch(tmp_path, [server.mirror("portal", TINY, how="html"), server.mirror("good", TINY)])
    assert all("/good/" in f.how for f in files.values())


def test_a_captive_portal_in_auto_mode_ends_at_the_sample_saying_what_each_mirror_returned(tmp_path, server,
                                                                                            closed_port_url):
    portal = server.mirror("portal", TINY, how="html")
    with pytest.warns(mnist.SampleDataWarning) as caught:
        (x_train, _), _ = mnist.load_mnist(cache_dir=tmp_path, mirrors=[portal, closed_port_url], progress=False)
    message = sample_warning(caught)
    assert x_train.shape == (10_000, 784)
    assert f"{portal}train-images-idx3-ubyte.gz: an HTML page" in message, message
    assert f"{closed_port_url}train-images-idx3-ubyte.gz: cannot connect" in message, message
    assert cache_files(tmp_path) == []


def test_a_captive_portal_with_nn_mnist_full_is_an_error_naming_the_html(tmp_path, server):
    with pytest.raises(mnist.ChecksumError, match="an HTML page"):
        mnist.load_mnist(source="full", cache_dir=tmp_path, mirrors=[server.mirror("portal", TINY, how="html")],
                         progress=False, checksums=TINY_SHA256)


def test_a_broken_gzip_from_a_mirror_is_that_mirror_failing(tmp_path, server):
    name = "train-labels-idx1-ubyte"
    server.mirror("good", TINY)
    broken = server.mirror("broken")
    server.RequestHandlerClass.routes[f"/broken/{name}.gz"] = (200, gzip.compress(TINY[name])[:-8], "ok")
    files = fetch(tmp_path, [broken, server.mirror("good")])
    assert "/good/" in files[name].how
    assert server.requests.count(f"/broken/{name}.gz") == 1, "wrong contents: asking again gives the same"


# ---------------------------------------------------------------- the cache folder


def test_stale_part_files_of_killed_downloads_are_removed_on_the_next_load(tmp_path, server):
    stale = tmp_path / ".train-images-idx3-ubyte.gz.k1ll3d.part"
    fresh = tmp_path / ".t10k-images-idx3-ubyte.gz.4l1v3.part"
    other = tmp_path / "notes.part"
    for path in (stale, fresh, other):
        path.write_bytes(b"\x1f\x8b half a download")
    old = time.time() - mnist.STALE_PART_AGE - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    fetch(tmp_path, [server.mirror("good", TINY)])
    left = cache_files(tmp_path)
    assert stale.name not in left, "a .part file untouched for longer than STALE_PART_AGE is a killed download's"
    assert fresh.name in left, "a fresh .part file may belong to a download running in another kernel"
    assert other.name in left, "only the loader's own hidden temporary files are removed"


def test_a_cache_that_cannot_be_created_is_named_and_auto_mode_uses_the_sample(tmp_path, server):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cache = blocker / "mnist"
    with pytest.raises(mnist.CacheUnwritable, match=f"cannot write to the MNIST cache folder {cache}"):
        fetch(cache, [server.mirror("good", TINY)])
    assert server.requests == [], "nothing is downloaded into a folder that cannot be written"
    with pytest.warns(mnist.SampleDataWarning, match=f"cannot write to the MNIST cache folder {cache}"):
        (x_train, _), _ = mnist.load_mnist(cache_dir=cache, mirrors=[server.mirror("good")], progress=False)
    assert x_train.shape == (10_000, 784)


def test_a_corrupt_cached_file_that_cannot_be_moved_aside_names_the_folder(tmp_path, server, monkeypatch):
    name = "train-labels-idx1-ubyte"
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(b"garbage"))
    real_rename = Path.rename

    def read_only_rename(path, target):
        if path.parent == tmp_path:
            raise PermissionError(13, "Permission denied", str(path))
        return real_rename(path, target)

    monkeypatch.setattr(Path, "rename", read_only_rename)
    with pytest.raises(mnist.CacheUnwritable, match=f"cannot write to the MNIST cache folder {tmp_path}: Permission denied"):
        fetch(tmp_path, [server.mirror("good", TINY)])


FULL_DISK_SCRIPT = """
import resource, signal, sys, warnings
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write beyond the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
from nn import data as mnist
checksums = dict(zip(mnist.SHA256, sys.argv[3:]))
try:
    mnist.fetch_mnist(sys.argv[1], mirrors=[sys.argv[2]], progress=False, checksums=checksums)
except mnist.CacheUnwritable as error:
    print("CacheUnwritable:", error)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    mnist.load_mnist(cache_dir=sys.argv[1], mirrors=[sys.argv[2]], progress=False, checksums=checksums)
print("warning:", caught[0].message)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE (POSIX)")
def test_a_full_disk_is_named_as_the_cache_folder_not_the_mirror(tmp_path, server, impl_root):
    mirror = server.mirror("good", TINY)
    result = subprocess.run([sys.executable, "-c", FULL_DISK_SCRIPT, str(tmp_path), mirror, *TINY_SHA256.values()],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(impl_root), "NN_MNIST": "auto"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"CacheUnwritable: cannot write to the MNIST cache folder {tmp_path}: File too large"), lines
    assert "cannot write to the MNIST cache folder" in lines[1] and "offline sample" in lines[1], lines
    assert "127.0.0.1" not in lines[0], "the mirror is not to blame for a full disk"
    assert [name for name in cache_files(tmp_path) if name.endswith(".part")] == []


def test_make_data_into_a_folder_that_cannot_be_written_prints_one_line(tmp_path, server, monkeypatch, capsys):
    blocker = tmp_path / "read-only"
    blocker.write_text("")
    monkeypatch.setenv(mnist.MIRRORS_ENV, server.mirror("good", TINY))
    fetch_data = load_tools_module("fetch_data")
    assert fetch_data.main(["--cache", str(blocker / "mnist")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot write to the MNIST cache folder {blocker / 'mnist'}" in err, err
    assert "--cache" in err and "cache_dir=" not in err, "the advice names make data's own option"


# ---------------------------------------------------------------- NN_MNIST_MIRRORS and optional pieces


def test_nn_mnist_mirrors_replaces_the_default_mirrors(tmp_path, server, monkeypatch):
    monkeypatch.setenv(mnist.MIRRORS_ENV, f"{server.mirror('missing')}, {server.mirror('good', TINY)}")
    (x_train, y_train), _ = mnist.load_mnist(cache_dir=tmp_path, progress=False, checksums=TINY_SHA256)
    assert y_train.tolist() == [3, 7]
    assert server.requests[0] == "/missing/train-images-idx3-ubyte.gz", "the mirrors are tried in the order given"


def test_make_data_honours_nn_mnist_mirrors(tmp_path, server, monkeypatch, capsys):
    mirror = server.mirror("organizer", {name: b"not the official file" for name in NAMES})
    monkeypatch.setenv(mnist.MIRRORS_ENV, mirror)
    fetch_data = load_tools_module("fetch_data")
    assert fetch_data.main(["--cache", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{mirror}train-images-idx3-ubyte.gz" in err, err
    assert server.requests, "make data must ask the mirror of NN_MNIST_MIRRORS"


def test_a_missing_tqdm_does_not_stop_a_download(tmp_path, server, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `import tqdm` now raises ImportError
    (x_train, _), _ = mnist.load_mnist(cache_dir=tmp_path, mirrors=[server.mirror("good", TINY)], progress=True,
                                       checksums=TINY_SHA256)
    assert x_train.shape == (2, 784)


# ---------------------------------------------------------------- what to do when no source works
WAYS_OUT = (*NAMES, "make data MNIST_DIR=", "NN_MNIST_DIR", "NN_MNIST_MIRRORS", "NN_MNIST=sample")


def test_make_data_with_a_folder_given_that_does_not_exist_is_an_error_and_downloads_nothing(
        tmp_path, server, monkeypatch, capsys):
    monkeypatch.setenv(mnist.MIRRORS_ENV, server.mirror("good", TINY))
    fetch_data = load_tools_module("fetch_data")
    missing = tmp_path / "nonexist"
    assert fetch_data.main(["--from", str(missing), "--cache", str(tmp_path / "cache")]) == 1
    err = capsys.readouterr().err
    assert f"no folder {missing}" in err and "MNIST_DIR" in err and all(name in err for name in NAMES), err
    assert server.requests == [] and not (tmp_path / "cache").exists()


def test_make_data_with_the_default_folder_missing_downloads_and_says_so(tmp_path, server, monkeypatch, capsys):
    monkeypatch.setenv(mnist.MIRRORS_ENV, server.mirror("good", TINY))
    fetch_data = load_tools_module("fetch_data")
    monkeypatch.setattr(fetch_data, "fetch_mnist", functools.partial(mnist.fetch_mnist, checksums=TINY_SHA256))
    missing = tmp_path / "shared" / "mnist"
    assert fetch_data.main(["--from-if-present", str(missing), "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    assert f"no folder {missing}" in out and "downloading" in out, out


def test_when_no_source_works_make_data_lists_every_way_out(tmp_path, closed_port_url, monkeypatch, capsys):
    monkeypatch.setenv(mnist.MIRRORS_ENV, closed_port_url)
    fetch_data = load_tools_module("fetch_data")
    assert fetch_data.main(["--cache", str(tmp_path / "cache"), "--timeout", "1"]) == 1
    err = capsys.readouterr().err
    assert "cannot connect" in err and all(way in err for way in WAYS_OUT), err


def test_nn_mnist_full_without_any_source_lists_every_way_out(tmp_path, monkeypatch, closed_port_url):
    monkeypatch.setenv(mnist.SOURCE_ENV, "full")
    with pytest.raises(mnist.MnistUnavailable) as caught:
        mnist.load_mnist(cache_dir=tmp_path, mirrors=[closed_port_url], progress=False, timeout=1)
    message = str(caught.value)
    assert "cannot connect" in message and all(way in message for way in WAYS_OUT), message


def test_the_sample_warning_names_a_way_to_the_full_set_that_works_offline(tmp_path, closed_port_url):
    with pytest.warns(mnist.SampleDataWarning) as caught:
        mnist.load_mnist(cache_dir=tmp_path, mirrors=[closed_port_url], progress=False, timeout=1)
    message = sample_warning(caught)
    assert "make data MNIST_DIR=" in message and "\n" not in message, message



def test_a_damaged_cached_file_is_replaced_and_that_is_said(tmp_path, server):
    name = "train-labels-idx1-ubyte"
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01garbage"))
    files = fetch(tmp_path, [server.mirror("good", TINY)])
    assert "damaged" in files[name].how and "downloaded from" in files[name].how, files[name].how
    assert f"kept as {name}.gz.damaged" in files[name].how, files[name].how
    assert "damaged" not in files["t10k-labels-idx1-ubyte"].how


def test_a_mirror_that_answers_with_an_error_leaves_no_connection_open(tmp_path, server):
    """The answers of failed mirrors are kept for the message; their connections are closed at once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        fetch(tmp_path, [server.mirror("missing"), server.mirror("good", TINY)])
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, unclosed
