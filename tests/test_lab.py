"""`make lab` as a participant runs it: JupyterLab on the kit, kernels that import nn, act and loss.

Also: when the asked-for port is busy, JupyterLab takes another one and prints its URL.
"""

from __future__ import annotations

import re
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from browser_support import JupyterLab, lab_environment, stop_jupyterlab, wait_until_ready
from conftest import ROOT

jupyter_client = pytest.importorskip("jupyter_client")

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/lab\?token=")


def _wait_for_url(log: Path, process: subprocess.Popen, timeout: float = 60.0) -> int:
    """The port in the first URL JupyterLab prints to its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = URL.search(log.read_text(errors="replace"))
        if match:
            return int(match.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.25)
    raise AssertionError(f"make lab printed no URL within {timeout:.0f} s; its output:\n{log.read_text()[-3000:]}")


def _wait_for_ready(client, timeout: float = 120.0) -> None:
    """client.wait_for_ready, again while it takes a kernel that is still starting (its heartbeat
    not yet answering, on a busy machine) for a dead one."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.wait_for_ready(timeout=60)
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _run_in_kernel(lab: JupyterLab, runtime_dir: Path, code: str) -> str:
    """Start a kernel for a notebook in notebooks/ (as opening one does); return what ``code`` prints."""
    session = lab.api("/api/sessions", body={"path": "notebooks/probe.ipynb", "type": "notebook",
                                             "name": "probe.ipynb", "kernel": {"name": "python3"}})
    client = jupyter_client.BlockingKernelClient()
    client.load_connection_file(runtime_dir / f"kernel-{session['kernel']['id']}.json")
    client.start_channels(hb=False)  # a heartbeat late under load reads as a dead kernel; wait_for_ready still times out
    try:
        _wait_for_ready(client)
        printed: list[str] = []

        def keep(message):
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])
            elif message["msg_type"] == "error":
                printed.append("\n".join(message["content"]["traceback"]))

        client.execute_interactive(code, output_hook=keep, timeout=60)
        return "".join(printed)
    finally:
        client.stop_channels()


def _start_make_lab(folder: Path, tmp_path: Path, port: int, token: str, *make_options: str):
    """`make lab` in ``folder`` on 127.0.0.1 (``port`` or the next free one): (process, env, log)."""
    env = lab_environment(tmp_path, kernel_env={})
    log = tmp_path / "make-lab.log"
    args = (f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} "
            "--ServerApp.terminals_enabled=False --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate")
    with open(log, "wb") as out:
        process = subprocess.Popen(["make", "--no-print-directory", *make_options, "lab", f"LAB_ARGS={args}"],
                                   cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process, env, log


def test_make_lab_serves_the_kit_and_its_kernels_import_the_framework(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port, token = busy.getsockname()[1], secrets.token_hex(16)
    process, env, log = _start_make_lab(ROOT, tmp_path, busy_port, token)
    lab = None
    try:
        port = _wait_for_url(log, process)
        assert port != busy_port, "JupyterLab claims the busy port"
        assert f"{busy_port} is already in use" in log.read_text(), log.read_text()[-2000:]
        lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, port=port, log=log)
        # jupyter_server prints its URL before its event loop binds the port: wait until it answers.
        wait_until_ready(lab, process)
        listing = {item["name"] for item in lab.api("/api/contents/")["content"]}
        assert "notebooks" in listing, f"the contents API lists {sorted(listing)}, expected notebooks/ among them"
        printed = _run_in_kernel(lab, Path(env["JUPYTER_RUNTIME_DIR"]),
                                 "import os, nn, act, loss\nprint(os.getcwd())\nprint(nn.__file__)")
        cwd, nn_file = printed.strip().splitlines()[-2:]
        assert Path(cwd) == ROOT / "notebooks", printed
        assert Path(nn_file) == ROOT / "nn" / "__init__.py", f"the kernel imported nn from {nn_file}"
    finally:
        busy.close()
        if lab is None:
            lab = JupyterLab(url="http://127.0.0.1:1", token=token, port=busy_port, log=log)
        stop_jupyterlab(lab, process)


def test_make_lab_in_a_copied_kit_folder_imports_the_copys_framework(tmp_path):
    """A kit folder copied with its .venv (cp -a kit my-kit): the venv's editable install still points at
    the first folder, but the notebooks of the copy must run the copy's nn/, act/ and loss/."""
    copy = tmp_path / "my-kit"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(".venv", ".git", "test-artifacts", "mnist",
                                                                              ".pytest_cache", ".hypothesis"))
    (copy / ".venv").symlink_to(ROOT / ".venv")  # the same venv; -o below keeps make from reinstalling it
    token = secrets.token_hex(16)
    process, env, log = _start_make_lab(copy, tmp_path, 0, token, "-o", ".venv/.installed-stamp")
    lab = None
    try:
        port = _wait_for_url(log, process)
        lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, port=port, log=log)
        wait_until_ready(lab, process)
        printed = _run_in_kernel(lab, Path(env["JUPYTER_RUNTIME_DIR"]),
                                 "import nn, act, loss\nfor module in (nn, act, loss): print(module.__file__)")
        files = printed.strip().splitlines()[-3:]
        assert files == [str(copy / name / "__init__.py") for name in ("nn", "act", "loss")], (
            f"the copy's kernel imported {files}")
    finally:
        if lab is None:
            lab = JupyterLab(url="http://127.0.0.1:1", token=token, port=0, log=log)
        stop_jupyterlab(lab, process)
