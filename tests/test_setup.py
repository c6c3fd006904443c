"""The kit's set-up files agree with each other."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT

yaml = pytest.importorskip("yaml")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


#: pip name → conda-forge name, where they differ (matplotlib-base: matplotlib without a GUI toolkit).
CONDA_FORGE_NAMES = {"matplotlib": "matplotlib-base", "playwright": "playwright-python"}
RUNTIME = {"numpy", "matplotlib", "tqdm"}
PARTICIPANT_TOOLS = {"pytest", "hypothesis", "watchfiles"}  # make check, make watch


def _requirements(requirements) -> dict[str, str]:
    """name → version bound, names normalized ('Jupyter_Lab>=4' → {'jupyter-lab': '>=4'})."""
    found = {}
    for requirement in requirements:
        name, bound = re.match(r"\s*([\w.-]+)(?:\[[^]]*\])?\s*([^;#]*)", requirement).groups()
        found[name.lower().replace("_", "-")] = bound.strip()
    return found


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _conda(file: str) -> dict[str, str]:
    env = yaml.safe_load((ROOT / file).read_text())
    assert env["channels"] == ["conda-forge"], f"{file}: conda-forge only, found {env['channels']}"
    assert all(isinstance(d, str) for d in env["dependencies"]), f"{file}: conda packages only (no pip section)"
    return _requirements(env["dependencies"])


def test_runtime_dependencies_are_what_the_kit_imports():
    project = _project()["project"]
    runtime = _requirements(project["dependencies"])
    assert set(runtime) == RUNTIME, f"pyproject.toml: the runtime should be {sorted(RUNTIME)}, found {sorted(runtime)}"
    assert runtime["matplotlib"] == ">=3.9", "matplotlib before 3.9 does not work with numpy 2"
    assert set(_requirements(project["optional-dependencies"]["lab"])) == {"jupyterlab"}


def test_license_is_an_spdx_expression_that_the_build_backend_supports():
    """A TOML table for project.license is deprecated by setuptools (a warning at every install)."""
    project = _project()
    assert project["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n"), "LICENSE: the MIT text"
    setuptools = _requirements(project["build-system"]["requires"])["setuptools"]
    assert tuple(map(int, setuptools.removeprefix(">=").split("."))) >= (77,), (
        f"setuptools{setuptools} in build-system: SPDX license strings need setuptools>=77")


def test_conda_environments_name_the_same_dependencies_as_pyproject():
    """environment.yml: what participants (and Binder) need; environment-test.yml: the other test tools."""
    project = _project()["project"]
    extras = project["optional-dependencies"]
    wanted = {CONDA_FORGE_NAMES.get(name, name): bound
              for group in (project["dependencies"], extras["lab"], extras["check"], extras["test"])
              for name, bound in _requirements(group).items() if name != project["name"]}
    participants, tools = _conda("environment.yml"), _conda("environment-test.yml")
    participants.pop("python")
    both = participants | tools
    assert both == wanted, (
        f"the conda files list {both}, pyproject.toml {wanted} (conda-forge names: {CONDA_FORGE_NAMES}): "
        f"missing {sorted(set(wanted) - set(both))}, extra {sorted(set(both) - set(wanted))}, "
        f"other bounds {sorted(n for n in both if n in wanted and both[n] != wanted[n])}"
    )
    needed = {CONDA_FORGE_NAMES.get(name, name) for name in RUNTIME | PARTICIPANT_TOOLS | {"jupyterlab"}}
    assert set(participants) == needed, f"environment.yml should hold {sorted(needed)}, found {sorted(participants)}"


#: make's lock around the install runs the install in a make of its own, to which -W (what if pyproject.toml
#: changed) is not passed down: a test that reads the install's commands asks for the install itself.
THE_INSTALL_ITSELF = ("INSTALLING=1",)


def test_make_installs_the_lab_and_test_extras():
    done = _make("-n", "-W", "pyproject.toml", "venv", *THE_INSTALL_ITSELF)
    assert '-e ".[lab,test]"' in done.stdout, done.stdout


def test_a_handout_installs_only_the_lab_and_check_extras(tmp_path):
    """A participant downloaded the test suite's browser driver and benchmark tools too (playwright alone is
    165 MB installed), times 30 on the venue's network."""
    extras = _project()["project"]["optional-dependencies"]
    assert set(_requirements(extras["check"])) == PARTICIPANT_TOOLS, extras["check"]
    assert set(_requirements(extras["test"])) >= {"nn-workshop-kit"} and "lab,check" in extras["test"][0], extras["test"]
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    import subprocess

    done = subprocess.run(["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "venv"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert '-e ".[lab,check]"' in done.stdout, done.stdout + done.stderr


def _make(*args: str):
    import subprocess

    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True)


def test_make_stops_with_one_line_when_python_is_too_old():
    done = _make("check-python", "MIN_PYTHON=3.99")
    assert done.returncode != 0
    assert re.search(r"^Python 3\.99 or newer is needed, found 3\.\d+\.\d+", done.stderr, re.MULTILINE), done.stderr


FAKE_VENV_PYTHON = """#!/bin/sh
echo "venv python $*" >> "$MAKE_LOG"
if [ "$1 $2 $3" = "-m pip install" ] && [ -n "$FAKE_PIP_SECONDS" ]; then sleep "$FAKE_PIP_SECONDS"; fi
if [ "$1 $2" = "-m pip" ] && [ ! -e "$(dirname "$0")/../pip-works" ]; then echo "No module named pip" >&2; exit 1; fi
"""
#: Makes a venv (a fake one, whose python logs what it is asked) and runs the version check for real.
FAKE_PYTHON = """#!/bin/sh
echo "python $*" >> "$MAKE_LOG"
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$FAKE_VENV_PYTHON" "$3/bin/python" && touch "$3/pip-works"; exit; fi
exec python3 "$@"
"""


@pytest.fixture
def kit_with_fake_pythons(tmp_path):
    """A folder with the kit's Makefile and pyproject.toml, and fake Pythons that log what make runs."""
    for name in ("Makefile", "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    for name, script in (("fake-venv-python", FAKE_VENV_PYTHON), ("fake-python", FAKE_PYTHON)):
        (tmp_path / name).write_text(script)
        (tmp_path / name).chmod(0o755)

    def make(*args: str):
        import os
        import subprocess

        env = {**os.environ, "MAKE_LOG": str(tmp_path / "log"), "FAKE_VENV_PYTHON": str(tmp_path / "fake-venv-python")}
        done = subprocess.run(["make", "--no-print-directory", *args], cwd=tmp_path, capture_output=True, text=True,
                              env=env)
        log = (tmp_path / "log").read_text() if (tmp_path / "log").exists() else ""
        return done, log

    return tmp_path, make


def test_a_venv_once_made_needs_no_python_of_the_right_version(kit_with_fake_pythons):
    """Made with `make lab PYTHON=python3.11` where python3 is 3.9, the venv served no other command: each one
    checked python3 again and stopped."""
    folder, make = kit_with_fake_pythons
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").write_bytes((folder / "fake-venv-python").read_bytes())
    (folder / ".venv" / "bin" / "python").chmod(0o755)
    (folder / ".venv" / "pip-works").touch()
    done, log = make("venv", "MIN_PYTHON=3.99")
    assert done.returncode == 0 and "or newer is needed" not in done.stderr, done.stderr
    assert "venv python -m pip install" in log and "python -m venv" not in log, log


def test_a_venv_without_pip_is_made_again(kit_with_fake_pythons):
    """`python3 -m venv` without Debian's python3-venv leaves a venv without pip: every command said
    'No module named pip', even after the package was installed."""
    folder, make = kit_with_fake_pythons
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").write_bytes((folder / "fake-venv-python").read_bytes())
    (folder / ".venv" / "bin" / "python").chmod(0o755)
    done, log = make("venv", f"PYTHON={folder / 'fake-python'}")
    assert done.returncode == 0, done.stderr
    assert "python -m venv .venv" in log and (folder / ".venv" / "pip-works").exists(), log
    assert log.rstrip().endswith('venv python -m pip install --disable-pip-version-check -e .[lab,check]'), log


def test_a_new_venv_needs_a_python_of_the_right_version(kit_with_fake_pythons):
    folder, make = kit_with_fake_pythons
    done, log = make("venv", "MIN_PYTHON=3.99", f"PYTHON={folder / 'fake-python'}")
    assert done.returncode != 0 and "Python 3.99 or newer is needed" in done.stderr, done.stderr
    assert "-m venv" not in log and not (folder / ".venv").exists(), log


def test_python_given_once_the_venv_is_installed_gets_a_note_when_its_version_differs(kit_with_fake_pythons):
    """`make check PYTHON=python3.13` ran on the venv's 3.11 without a word: an organizer trying several
    Pythons took it for a pass on 3.13."""
    folder, make = kit_with_fake_pythons
    (folder / ".venv" / "bin").mkdir(parents=True)
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (folder / ".venv" / ".installed-stamp").touch()
    other = folder / "python3.99"
    other.write_text("#!/bin/sh\necho 3.99\n")
    other.chmod(0o755)
    venv_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    done, _ = make("-n", "venv", f"PYTHON={other}")
    assert done.returncode == 0, done.stderr
    assert f"note: .venv is installed already, with Python {venv_version}, and keeps it: PYTHON={other} (Python " \
           "3.99) is used only when .venv is made; to switch, run make clean-venv" in done.stdout, done.stdout
    for quiet in ([f"PYTHON={sys.executable}"], [f"PYTHON={other}", "clean-venv"], []):
        done, _ = make("-n", "venv", *quiet)
        assert "note:" not in done.stdout, (quiet, done.stdout)


def _text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.skipif(shutil.which("flock") is None, reason="the install lock uses flock (util-linux)")
def test_two_makes_at_once_on_a_fresh_copy_install_once(kit_with_fake_pythons):
    """make lab in one terminal and make check in another before the first install ended: both installed into
    the same .venv, and one ended in a pip traceback."""
    folder, _ = kit_with_fake_pythons
    env = {**os.environ, "MAKE_LOG": str(folder / "log"), "FAKE_VENV_PYTHON": str(folder / "fake-venv-python"),
           "FAKE_PIP_SECONDS": "2"}
    command = ["make", "--no-print-directory", "venv", f"PYTHON={folder / 'fake-python'}"]
    first = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = time.monotonic()
    while "-m venv .venv" not in _text_of(folder / "log"):  # the first runs the install under the lock from then on
        assert first.poll() is None and time.monotonic() - started < 30, first.communicate()[0] if first.poll() else ""
        time.sleep(0.05)
    second = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [process.communicate(timeout=60)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    log = (folder / "log").read_text()
    assert log.count("-m venv .venv") == 1 and log.count("pip install --disable-pip-version-check -e") == 1, log
    assert "Another make is installing .venv; waiting for it to finish..." in outputs[1], outputs


def test_an_installed_venv_is_not_reinstalled():
    """The stamp is newer than pyproject.toml (make test just used it): nothing to install."""
    done = _make("-n", "venv")
    assert done.returncode == 0, done.stderr
    assert "pip install" not in done.stdout, f"make would reinstall the venv:\n{done.stdout}"


# --- README: the PowerShell lines run what the Makefile runs -------------------------------------
#: Lines make runs that have no PowerShell counterpart: the repair of a venv without pip, the Python
#: version check and the stamp.
MAKE_ONLY = (re.compile(r"^\.venv/bin/python -m pip --version >/dev/null 2>&1 \|\| rm -rf \.venv$"),
             re.compile(r"^python3 -c 'import sys; need"), re.compile(r"^touch \.venv/\.installed-stamp$"))


def _powershell_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Windows without make", 1)[1]
    return re.search(r"```\n(.*?)```", section, re.S).group(1)


def _posix(command: str) -> str:
    """A PowerShell command line as the POSIX shell line make would run."""
    command = re.sub(r"^py -3 ", "python3 ", command)
    command = command.replace("$PWD\\", f"{ROOT}/").replace('"$PWD"', f'"{ROOT}"')
    command = command.replace(".venv\\Scripts\\python", ".venv/bin/python")
    return re.sub(r"(?<=\w)\\(?=\w)", "/", command)  # tools\check.py → tools/check.py


def powershell_commands() -> dict[str, list[tuple[dict, list[str]]]]:
    """make target → the (environment, argv) of each README PowerShell line marked '# = make <target>'."""
    lines = _powershell_block().replace("`\n", " ").splitlines()
    env: dict[str, str] = {}
    found: dict[str, list] = {}
    for line in lines:
        if line.startswith("$env:"):
            env = dict(re.findall(r'\$env:(\w+)="([^"]*)"', _posix(line)))
        elif line.startswith("Remove-Item Env:"):
            env = {}
        else:
            command, target = re.fullmatch(r"(.*?)\s+# = make (\w+)", line).groups()
            found.setdefault(target, []).append((dict(env), shlex.split(_posix(command))))
    return found


def make_commands(target: str) -> list[tuple[dict, list[str]]]:
    """The (environment, argv) of each line ``make -n <target>`` prints (the venv re-made for venv)."""
    args = ["-W", "pyproject.toml", *THE_INSTALL_ITSELF] if target == "venv" else ["-o", ".venv/.installed-stamp"]
    done = _make("-n", *args, target, "PYTEST_ARGS=")  # not the arguments of the make test running this test
    assert done.returncode == 0, done.stderr
    commands = []
    for line in done.stdout.replace("\\\n", " ").splitlines():
        line = re.sub(r'^test -x "\.venv/bin/python" \|\| ', "", line)
        if any(pattern.search(line) for pattern in MAKE_ONLY):
            continue
        words = shlex.split(line)
        env = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
        words = [word for word in words[len(env):] if word != "--allow-root"]  # root only: not on Windows
        commands.append((env, words))
    return commands


def test_readme_powershell_lines_run_what_the_makefile_runs():
    """Every `make` command the README translates for Windows: the same commands, arguments and environment."""
    translated = powershell_commands()
    assert set(translated) == {"venv", "lab", "test", "check"}, f"README PowerShell lines cover {sorted(translated)}"
    for target, commands in translated.items():
        assert commands == make_commands(target), (
            f"README, Windows without make: the lines for `make {target}` run\n  {commands}\n"
            f"but `make -n {target}` runs\n  {make_commands(target)}\nmake them agree (edit the README or the Makefile)")


# --- switches: FORCE=1, QUICK=1 ------------------------------------------------------------------
def _dry_run(target: str, *assignments: str, env: dict[str, str] | None = None):
    import os
    import subprocess

    environment = {name: value for name, value in os.environ.items() if name not in ("FORCE", "QUICK")}
    return subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed-stamp", target, *assignments],
                          cwd=ROOT, capture_output=True, text=True, env={**environment, **(env or {})})


@pytest.mark.parametrize(("target", "switch", "option"), [("sync", "FORCE", "--force"), ("bench", "QUICK", "--quick")])
def test_a_switch_is_on_only_for_1_on_makes_command_line(target, switch, option):
    if not (ROOT / "solutions" / "bench").is_dir():
        pytest.skip("a handout has neither benchmarks nor a reference to sync from")
    on = _dry_run(target, f"{switch}=1")
    assert on.returncode == 0 and option in on.stdout, on.stdout + on.stderr
    for off in (_dry_run(target), _dry_run(target, f"{switch}="), _dry_run(target, f"{switch}=0"),
                _dry_run(target, env={switch: "1"})):
        assert off.returncode == 0, off.stderr
        assert option not in off.stdout, f"make {target} {off.args[5:]} (environment {switch}) runs {option}:\n{off.stdout}"


@pytest.mark.parametrize(("target", "switch"), [("sync", "FORCE"), ("bench", "QUICK")])
def test_any_other_value_of_a_switch_is_an_error_naming_the_accepted_values(target, switch):
    if not (ROOT / "solutions" / "bench").is_dir():
        pytest.skip("a handout has neither benchmarks nor a reference to sync from")
    done = _dry_run(target, f"{switch}=yes")
    assert done.returncode != 0 and done.stdout == "", done.stdout
    assert f"{switch}=yes" in done.stderr and f"{switch}=1" in done.stderr and f"{switch}=0" in done.stderr, done.stderr


def test_make_data_requires_a_given_mnist_dir_and_tolerates_a_missing_default():
    default = _dry_run("data")
    assert default.returncode == 0 and '--from-if-present "../shared/data/mnist"' in default.stdout, default.stdout
    given = _dry_run("data", "MNIST_DIR=/media/usb/mnist")
    assert given.returncode == 0 and '--from "/media/usb/mnist"' in given.stdout, given.stdout
    given = _dry_run("data", env={"MNIST_DIR": "/media/usb/mnist"})
    assert given.returncode == 0 and '--from "/media/usb/mnist"' in given.stdout, given.stdout


def _help(folder) -> dict[str, str]:
    import subprocess

    done = subprocess.run(["make", "--no-print-directory", "help"], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = [line.split(None, 2) for line in done.stdout.splitlines() if line.startswith("  make ")]
    names = [words[1] for words in lines]
    assert len(names) == len(set(names)), f"a command listed twice:\n{done.stdout}"
    return {words[1]: words[2] for words in lines}


ORGANIZER_COMMANDS = ("sync", "handout", "bench", "figures", "data")


@pytest.mark.skipif(not (ROOT / "solutions").is_dir(), reason="a handout has no solutions/")
def test_make_help_marks_the_organizers_commands(tmp_path):
    listed = _help(ROOT)
    for name in ORGANIZER_COMMANDS:
        assert "organizers" in listed[name], f"make {name}: {listed[name]}"
    assert "organizers" not in listed["check"] + listed["lab"] + listed["test"]
    assert not any("[" in text for text in listed.values()), listed


def test_make_help_lists_every_command_the_readme_names():
    named = set(re.findall(r"(?:`|^|= )make ([a-z][a-z-]*)", (ROOT / "README.md").read_text(encoding="utf-8"), re.M))
    assert {"lab", "test", "venv"} <= named, named
    missing = named - set(_help(ROOT))
    assert not missing, f"the README names make {', make '.join(sorted(missing))}, which make help does not list"


def test_make_help_in_a_handout_lists_only_what_works_there(tmp_path):
    (tmp_path / "Makefile").write_bytes((ROOT / "Makefile").read_bytes())  # a kit without solutions/
    listed = _help(tmp_path)
    for name in ("sync", "handout", "bench", "figures", "train"):
        assert name not in listed, f"make {name} needs solutions/, yet make help lists it in a handout: {listed[name]}"
    assert "progress" in listed["test"] and "whole test suite" not in listed["test"], listed["test"]
    assert {"lab", "check", "hint", "watch", "data"} <= set(listed), listed


@pytest.mark.parametrize("target", ["train", "bench", "sync", "figures"])
def test_a_full_kit_command_in_a_handout_says_why_and_fails(tmp_path, target):
    """In a handout make train and make bench exited 0: a script of an organizer's could not tell that nothing
    was done. make sync and make figures first installed .venv (a minute of downloads), then refused."""
    (tmp_path / "Makefile").write_bytes((ROOT / "Makefile").read_bytes())  # a kit without solutions/
    done = subprocess.run(["make", "-s", "-C", str(tmp_path), target], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done.stdout + done.stderr
    assert "solutions/" in done.stderr and "handout" in done.stderr, done.stdout + done.stderr
    assert "pip" not in done.stdout + done.stderr and not (tmp_path / ".venv").exists(), done.stdout + done.stderr


def test_developing_names_only_functions_that_exist():
    developing = (ROOT / "DEVELOPING.md").read_text(encoding="utf-8")
    for module, name in set(re.findall(r"`(check|taskreport|watch|sync|hints)\.(\w+)", developing)):
        source = (ROOT / "tools" / f"{module}.py").read_text(encoding="utf-8")
        assert re.search(rf"^(def|class) {name}\b|^{name}\s*[:=]", source, re.M), (
            f"DEVELOPING.md names {module}.{name}, which tools/{module}.py does not define")
