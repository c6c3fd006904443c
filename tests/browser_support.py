"""JupyterLab and Chromium for the browser test (tests/test_browser.py).

``running_jupyterlab`` starts JupyterLab from the kit's venv on 127.0.0.1 with a
random port and token, isolated from the user's Jupyter settings, and always
stops it again together with every kernel it started. ``NotebookPage`` drives
one notebook in the JupyterLab UI through Playwright.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil

#: Flags a sandboxed, offline CI needs (Playwright adds --headless and a fresh temporary profile).
#: No test may reach beyond 127.0.0.1: every other host name resolves to nothing (no DNS query
#: is sent), and the background services that would call home are off.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-search-engine-choice-screen",
    "--metrics-recording-only",
    "--no-pings",
    "--no-default-browser-check",
    "--no-first-run",
    "--disable-quic",
    "--disable-features=" + ",".join((
        "DnsOverHttps", "NetworkTimeServiceQuerying", "OptimizationHints", "MediaRouter", "DialMediaRouteProvider",
        "Translate", "AutofillServerCommunication", "CertificateTransparencyComponentUpdater", "HttpsUpgrades",
        "InterestFeedContentSuggestions", "LensOverlay", "NtpModules")),
)
LOOPBACK = ("127.", "[::1]", "localhost")
#: Environment variables of the test's own process that must not reach JupyterLab or its kernels.
PRIVATE_ENV = ("PYTHONPATH", "KIT_IMPL", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
               "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "IPYTHONDIR", "MPLBACKEND", "PYTEST_CURRENT_TEST")
#: Turns off the "Would you like to receive official Jupyter news?" prompt (and its update check).
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
START_TIMEOUT = 60.0  # seconds until /api/status answers
STOP_GRACE = 10.0  # seconds JupyterLab gets to shut its kernels down before it is killed


def outside_connections(net_log: Path) -> list[str]:
    """Every attempt in a Chromium net log (``--log-net-log``) to reach beyond loopback.

    Counted: a DNS query sent, a TCP connection attempt to an outside address, and
    a UDP socket to an outside address that sent data. Not counted: a UDP
    ``connect()`` that sends nothing (Chromium's IPv6 reachability probe only asks
    the kernel for a route), and requests that failed before any socket was opened.
    """
    log = json.loads(net_log.read_text(encoding="utf-8", errors="replace") or "{}")
    names = {number: name for name, number in log.get("constants", {}).get("logEventTypes", {}).items()}
    udp_targets: dict[int, str] = {}
    udp_senders: set[int] = set()
    found = []
    for event in log.get("events", []):
        kind, params, source = names.get(event.get("type")), event.get("params") or {}, event["source"]["id"]
        if kind == "DNS_TRANSACTION" and "hostname" in params:
            found.append(f"DNS query for {params['hostname']}")
        address = str(params.get("address") or params.get("remote_address") or "")
        if not address or address.startswith(LOOPBACK):
            if kind == "UDP_BYTES_SENT":
                udp_senders.add(source)
            continue
        if kind in ("TCP_CONNECT_ATTEMPT", "TCP_CONNECT", "TRANSPORT_CONNECT_JOB_CONNECT_ATTEMPT"):
            found.append(f"TCP connection to {address}")
        elif kind == "UDP_CONNECT":
            udp_targets[source] = address
        elif kind == "UDP_BYTES_SENT":
            found.append(f"UDP data to {address}")
    found += [f"UDP data to {address}" for source, address in udp_targets.items() if source in udp_senders]
    return sorted(set(found))


def find_chromium() -> str | None:
    """The system Chromium (Debian's ``chromium`` package), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def cleared_copy(notebook: Path, target: Path) -> Path:
    """Copy ``notebook`` to ``target`` without any outputs or execution counts."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return target


@dataclass
class JupyterLab:
    url: str  # http://127.0.0.1:<port>
    token: str
    port: int
    log: Path

    def api(self, path: str, method: str = "GET", timeout: float = 10.0, body: dict | None = None):
        """Call the server's REST API (``path`` like '/api/status'); the decoded JSON, or None.

        With ``body`` the request is a POST of that JSON.
        """
        headers = {"Authorization": f"token {self.token}"}
        data = None
        if body is not None:
            method, data = "POST", json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.url}{path}", method=method, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def lab_url(self, notebook: str) -> str:
        """The URL that opens ``notebook`` (relative to the server's root) in JupyterLab."""
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"

    def saved_notebook(self, notebook: str) -> nbformat.NotebookNode:
        """The notebook as last saved to disk, read back through the contents API."""
        model = self.api(f"/api/contents/{notebook}?content=1&type=notebook")
        return nbformat.from_dict(model["content"])


def _write_config(home: Path) -> dict[str, str]:
    """Fresh Jupyter/IPython folders under ``home``; returns the variables that point at them."""
    folders = {name: home / name.lower() for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                                                     "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    labconfig = folders["JUPYTER_CONFIG_DIR"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    return {name: str(folder) for name, folder in folders.items()}


def lab_environment(home: Path, kernel_env: dict[str, str]) -> dict[str, str]:
    """JupyterLab's environment (its kernels inherit it): ours without PRIVATE_ENV, plus ``kernel_env``."""
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_ENV}
    env.update(_write_config(home))
    env.update(kernel_env)
    return env


def wait_until_ready(lab: JupyterLab, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode} before answering; "
                               f"its log:\n{lab.log.read_text()[-3000:]}")
        try:
            lab.api("/api/status", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not answer /api/status within {START_TIMEOUT:.0f} s; "
                       f"its log:\n{lab.log.read_text()[-3000:]}")


def stop_jupyterlab(lab: JupyterLab, process: subprocess.Popen) -> None:
    """Shut JupyterLab down with its kernels; kill whatever is left; check nothing survived.

    Kernels run in sessions of their own (jupyter_client starts them so), so
    killing the server's process group alone would orphan them: the
    descendants are recorded first and each one is stopped.
    """
    try:
        descendants = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    if process.poll() is None:
        try:
            lab.api("/api/shutdown", method="POST", timeout=5)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
    for child in descendants:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(descendants, timeout=5)
    for child in alive:
        child.kill()
    _, alive = psutil.wait_procs(alive, timeout=5)
    if alive:
        raise RuntimeError(f"processes of JupyterLab survived its shutdown: {alive}")
    deadline = time.monotonic() + 5
    while not port_is_free(lab.port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {lab.port} is still in use after JupyterLab stopped")
        time.sleep(0.1)


@contextmanager
def running_jupyterlab(root: Path, home: Path, kernel_env: dict[str, str]) -> Iterator[JupyterLab]:
    """JupyterLab serving ``root``, its settings under ``home``, ``kernel_env`` in its kernels' environment.

    Runs ``sys.executable -m jupyter lab`` (the kit's venv) on 127.0.0.1 with
    a random free port and token; stops it (and its kernels) on exit, also
    when the body raised.
    """
    port, token = free_port(), secrets.token_hex(16)
    lab = JupyterLab(url=f"http://127.0.0.1:{port}", token=token, port=port, log=home / "jupyterlab.log")
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    home.mkdir(parents=True, exist_ok=True)
    with open(lab.log, "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=lab_environment(home, kernel_env),
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_until_ready(lab, process)
        yield lab
    finally:
        stop_jupyterlab(lab, process)


class NotebookPage:
    """One notebook open in JupyterLab, driven the way a participant would."""

    INDICATOR = ".jp-Notebook-ExecutionIndicator"  # the kernel status circle in the notebook toolbar

    def __init__(self, page, lab: JupyterLab, notebook: str):
        self.page, self.lab, self.notebook = page, lab, notebook

    def open(self, timeout: float = 60.0) -> None:
        """Open the notebook and wait until its kernel (from the kernelspec metadata) is idle."""
        self.page.goto(self.lab.lab_url(self.notebook))
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
        self.wait_for_idle_kernel(timeout)
        # Record every change of the kernel status, so a short busy spell cannot be missed.
        self.page.evaluate("""(selector) => {
            const indicator = document.querySelector(selector);
            window.kernelStatuses = [indicator.getAttribute('data-status')];
            new MutationObserver(() => window.kernelStatuses.push(indicator.getAttribute('data-status')))
                .observe(indicator, {attributes: true, attributeFilter: ['data-status']});
        }""", self.INDICATOR)

    def kernel_states(self) -> list[str]:
        """The execution_state the server reports for the notebook's kernel(s)."""
        sessions = self.lab.api("/api/sessions")
        return [s["kernel"]["execution_state"] for s in sessions if s["path"] == self.notebook and s.get("kernel")]

    def wait_for_idle_kernel(self, timeout: float) -> None:
        """Until the server says the notebook's kernel is idle and the page's status bar says so too.

        (The toolbar indicator already says idle before the kernel has started.)
        """
        deadline = time.monotonic() + timeout
        while self.kernel_states() != ["idle"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the notebook's kernel is not idle after {timeout:.0f} s: {self.kernel_states()}")
            time.sleep(0.25)
        self.page.wait_for_function(
            "() => /\\|\\s*Idle/.test(document.querySelector('#jp-main-statusbar').innerText)",
            timeout=max(deadline - time.monotonic(), 1) * 1000)

    def menu(self, menu: str, item: str) -> None:
        self.page.get_by_role("menuitem", name=menu, exact=True).click()
        # The item's accessible name includes its shortcut ("Save Notebook Ctrl+S"): match the label.
        self.page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text(item, exact=True).click()

    def run_all(self, timeout: float) -> list[str]:
        """Run → Run All Cells, wait until the kernel went busy and is idle again; the statuses seen."""
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            """(selector) => window.kernelStatuses.includes('busy')
                && document.querySelector(selector).getAttribute('data-status') === 'idle'
                && ![...document.querySelectorAll('.jp-InputPrompt')].some(p => p.innerText.includes('*'))""",
            arg=self.INDICATOR, timeout=timeout * 1000, polling=250)
        self.wait_for_idle_kernel(10)
        return self.page.evaluate("window.kernelStatuses")

    def save(self) -> nbformat.NotebookNode:
        """File → Save Notebook; the saved notebook read back from the server."""
        self.menu("File", "Save Notebook")
        self.page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=15000)
        return self.lab.saved_notebook(self.notebook)

    def prompts(self) -> list[str]:
        """The input prompts of the code cells as shown, e.g. ['[1]:', '[2]:', '[ ]:']."""
        return [p.strip() for p in self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]

    def output_texts(self, mime_type: str) -> list[str]:
        """The text of every rendered output of ``mime_type`` (e.g. application/vnd.jupyter.stderr)."""
        return self.page.locator(f'.jp-OutputArea-output[data-mime-type="{mime_type}"]').all_inner_texts()

    def screenshot(self, path: Path) -> None:
        """The whole notebook in one PNG: the window is made as tall as the notebook first."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.page.locator("#jp-left-stack").is_visible():
            self.page.keyboard.press("Control+b")  # hide the file browser: more room for the notebook
        height = self.page.evaluate("""() => {
            const scroller = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');
            if (!scroller) return window.innerHeight;
            scroller.scrollTop = 0;
            return scroller.scrollHeight + (window.innerHeight - scroller.clientHeight);
        }""")
        width = self.page.viewport_size["width"]
        self.page.set_viewport_size({"width": width, "height": min(max(int(height), 600), 16000)})
        self.page.wait_for_timeout(1000)  # let JupyterLab lay the cells out again
        self.page.screenshot(path=str(path), full_page=True)

