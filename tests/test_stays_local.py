"""Tests stay on this machine and out of the user's home folder (issue 14).

- Chromium resolves nothing but 127.0.0.1 and has its background services off; the
  browser test checks Chromium's net log (tests/test_browser.py), and here it runs once
  more inside a network namespace that has nothing but loopback, where the machine allows it.
- Tests that need the official MNIST files need all four and skip otherwise; no test can
  download from the default mirrors.
- The test run has a home folder of its own (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_support import CHROMIUM_ARGS, find_chromium, outside_connections
from conftest import ROOT, missing_mnist_files

from nn import data as mnist


# ---------------------------------------------------------------- Chromium


def test_chromium_resolves_no_name_but_loopback():
    rules = [arg for arg in CHROMIUM_ARGS if arg.startswith("--host-resolver-rules=")]
    assert rules == ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"], CHROMIUM_ARGS
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-domain-reliability", "--disable-breakpad"):
        assert flag in CHROMIUM_ARGS
    disabled = [arg for arg in CHROMIUM_ARGS if arg.startswith("--disable-features=")]
    assert len(disabled) == 1, "Chromium reads only the last --disable-features: give one list"
    assert "NetworkTimeServiceQuerying" in disabled[0] and "DnsOverHttps" in disabled[0]


def net_log(tmp_path: Path, *events: tuple[str, int, dict]) -> Path:
    """A Chromium net log with ``events`` (type name, source id, params)."""
    types = sorted({kind for kind, _, _ in events})
    log = {"constants": {"logEventTypes": {kind: number for number, kind in enumerate(types)}},
           "events": [{"type": types.index(kind), "source": {"id": source, "type": 0}, "params": params}
                      for kind, source, params in events]}
    path = tmp_path / "net-log.json"
    path.write_text(json.dumps(log))
    return path


def test_the_net_log_check_finds_dns_queries_and_outside_connections(tmp_path):
    path = net_log(tmp_path,
                   ("TCP_CONNECT_ATTEMPT", 1, {"address": "127.0.0.1:8888"}),
                   ("DNS_TRANSACTION", 2, {"hostname": "accounts.example.com"}),
                   ("TCP_CONNECT_ATTEMPT", 3, {"address": "203.0.113.7:443"}),
                   ("UDP_CONNECT", 4, {"address": "198.51.100.53:53"}),
                   ("UDP_BYTES_SENT", 4, {}),
                   ("UDP_CONNECT", 5, {"address": "[2001:db8::8888]:443"}))  # a route probe: no data sent
    assert outside_connections(path) == ["DNS query for accounts.example.com", "TCP connection to 203.0.113.7:443",
                                         "UDP data to 198.51.100.53:53"]


def test_the_net_log_check_accepts_loopback_only(tmp_path):
    path = net_log(tmp_path, ("TCP_CONNECT_ATTEMPT", 1, {"address": "127.0.0.1:8888"}),
                   ("UDP_CONNECT", 2, {"address": "127.0.0.1:5353"}), ("UDP_BYTES_SENT", 2, {}),
                   ("TCP_CONNECT", 3, {"remote_address": "[::1]:8888"}))
    assert outside_connections(path) == []


def loopback_only_namespace() -> list[str] | None:
    """The command prefix that runs a command with only loopback networking, or None where not allowed."""
    unshare, ip = shutil.which("unshare"), shutil.which("ip") or "/usr/sbin/ip"
    if unshare is None or not os.path.exists(ip):
        return None
    probe = subprocess.run([unshare, "-rn", ip, "link", "set", "lo", "up"], capture_output=True, timeout=30)
    return [unshare, "-rn", "sh", "-c", f'{ip} link set lo up && exec "$0" "$@"'] if probe.returncode == 0 else None


@pytest.mark.browser
def test_the_browser_test_runs_with_nothing_but_loopback():
    """The participant browser scenario in a network namespace with loopback only; its net-log check is on."""
    prefix = loopback_only_namespace()
    if prefix is None:
        pytest.skip("this machine allows no network namespace (unshare -rn); the net-log check still runs")
    if find_chromium() is None:
        pytest.skip("no Chromium")
    test = "tests/test_browser.py::test_participant_train_notebook_stops_at_the_first_todo[participant]"
    result = subprocess.run([*prefix, sys.executable, "-m", "pytest", test, "-p", "no:cacheprovider", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


# ---------------------------------------------------------------- MNIST


def test_a_test_with_part_of_the_official_files_is_skipped(tmp_path):
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"")
    assert missing_mnist_files(tmp_path) == ["train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"]
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte"):
        (tmp_path / name).write_bytes(b"")
    assert missing_mnist_files(tmp_path) == []


def test_no_test_can_download_from_the_default_mirrors():
    mirrors = mnist.mirrors_from_environment()
    assert mirrors != mnist.MIRRORS
    assert all(urlsplit(mirror).hostname == "127.0.0.1" for mirror in mirrors), mirrors


# ---------------------------------------------------------------- the home folder


def test_a_test_run_writes_nothing_into_the_home_folder(tmp_path):
    """IPython history and matplotlib's cache (from a notebook) go to the run's own temporary home."""
    home = tmp_path / "home"
    home.mkdir()
    notebook = sorted((ROOT / "solutions" / "notebooks").glob("*derivatives*.ipynb"))[0]
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("XDG_") and key not in ("IPYTHONDIR", "MPLCONFIGDIR", "npm_config_cache")}
    env.update(HOME=str(home), KIT_IMPL="solutions", PYTHONPATH=str(ROOT / "solutions"), NN_MNIST="sample")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_switch.py", str(notebook.relative_to(ROOT)), "--nbval",
         "--nbval-current-env", "--nbval-sanitize-with", "solutions/notebooks/nbval_sanitize.cfg",
         "-p", "no:cacheprovider", "-q"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    written = sorted(str(path.relative_to(home)) for path in home.rglob("*"))
    assert written == [], f"the test run wrote into the home folder: {written[:10]}"
