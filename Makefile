# The workshop kit's commands. `make help` lists them.
# Everything runs from .venv, created on first use; no `activate` needed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Organizers and CI: where the four official MNIST files already are (see README).
MNIST_DIR ?= ../shared/data/mnist

# Switches such as FORCE=1: on only when given as 1 on make's command line; unset, empty or 0
# leave them off, anything else stops make. A variable of that name in the shell's environment
# is ignored (an exported FORCE must not replace anyone's files).
# $(call quoted,$(value TASKS)) is the value as one shell word, whatever it holds (quotes, ;, $, spaces;
# $(value) keeps make from expanding a $(...) in it first).
quoted = '$(subst ','\'',$(1))'
# $(call switch,FORCE) is 1 when FORCE=1 is on, else empty.
switch = $(if $(filter command line,$(origin $(1))),$(if $(filter-out 0 1,$($(1))),$(error $(1)=$($(1)) is not understood: $(1)=1 turns it on; $(1)=0 or nothing leaves it off),$(filter 1,$($(1)))))

.DEFAULT_GOAL := help
.PHONY: check-python help venv venv-installed lab test check watch hint train slides handout sync bench data figures clean-venv

# `## [full kit]` commands need solutions/, so a handout copy (without it) does not list them;
# `## [handout]` ones are a handout copy's own variants.
HELP_HIDE := $(if $(wildcard solutions/nn),[handout],[full kit])

help: ## list the commands
	@echo "Workshop kit commands (run from the kit's folder):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | grep -vF '## $(HELP_HIDE)' \
		| awk -F ':.*## ' '{ sub(/^\[[a-z ]+\] /, "", $$2); printf "  make %-12s %s\n", $$1, $$2 }'

MIN_PYTHON := 3.10

# One line when the Python is too old (the check itself runs on any Python 3).
CHECK_PYTHON = $(PYTHON) -c 'import sys; need = tuple(map(int, "$(MIN_PYTHON)".split("."))); sys.exit(0 if sys.version_info >= need else "Python $(MIN_PYTHON) or newer is needed, found " + sys.version.split()[0] + " ($(PYTHON)); install one and run e.g. make PYTHON=python3.11 lab")'

check-python:
	@$(CHECK_PYTHON)

# A handout copy (no solutions/) installs what make lab, check and watch need, not the test suite's browser
# and benchmark tools (about 170 MB less to download per participant).
comma := ,
EXTRAS := $(if $(wildcard solutions/nn),lab$(comma)test,lab$(comma)check)

# The venv is (re)installed only when pyproject.toml changed since the last install. $(PYTHON) is
# checked only when a venv is made: once made with `make lab PYTHON=python3.11`, other commands
# need no PYTHON=. A venv without a working pip is made again (`python3 -m venv` stops halfway,
# leaving one, where Debian's python3-venv package is missing).
# Two commands at once on a fresh copy (make lab, then make check in a second terminal): the second waits
# for the first one's install under a lock, then finds .venv installed (flock, where the system has it).
FLOCK := $(shell command -v flock 2>/dev/null)
INSTALL_LOCK := .venv-install.lock
ifeq ($(if $(INSTALLING),,$(FLOCK)),)
$(STAMP): pyproject.toml
	@$(PY) -m pip --version >/dev/null 2>&1 || rm -rf $(VENV)
	@test -x "$(PY)" || $(CHECK_PYTHON)
	@test -x "$(PY)" || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -e ".[$(EXTRAS)]"
	@touch $(STAMP)
else
$(STAMP): pyproject.toml
	@$(FLOCK) -n $(INSTALL_LOCK) true || echo "Another make is installing .venv; waiting for it to finish..."
	@$(FLOCK) $(INSTALL_LOCK) $(MAKE) --no-print-directory INSTALLING=1 venv-installed
endif

venv-installed: $(STAMP)  # (internal) the install under the lock; up to date if another make just did it
	@:

venv: $(STAMP) ## create .venv and install the kit into it (every command does that on first use)

# PYTHON= on the command line once .venv is installed changes nothing: say so, when its version differs.
PY_VERSION = import sys; print("%d.%d" % sys.version_info[:2])
ifeq ($(origin PYTHON)$(filter clean-venv,$(MAKECMDGOALS)),command line)
ifneq ($(wildcard $(STAMP)),)
VENV_VERSION := $(shell $(PY) -c '$(PY_VERSION)' 2>/dev/null)
GIVEN_VERSION := $(shell $(PYTHON) -c '$(PY_VERSION)' 2>/dev/null)
ifneq ($(VENV_VERSION),$(GIVEN_VERSION))
$(info note: .venv is installed already, with Python $(VENV_VERSION), and keeps it: PYTHON=$(PYTHON)$(if $(GIVEN_VERSION), (Python $(GIVEN_VERSION)),) is used only when .venv is made; to switch, run make clean-venv, then the command again with PYTHON=$(PYTHON))
endif
endif
endif

# PYTHONPATH: kernels import this folder's nn/, act/ and loss/, even when the venv's editable install points
# at another folder (a kit folder copied with its .venv).
lab: $(STAMP) ## open JupyterLab on the kit (the notebooks are in notebooks/)
	PYTHONPATH="$(CURDIR)" $(PY) -m jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The reference is tested with KIT_IMPL=solutions; notebook kernels find it through PYTHONPATH.
# NN_MNIST=sample: notebooks use the committed offline sample, identical on every machine.
REFERENCE_ENV := KIT_IMPL=solutions PYTHONPATH="$(CURDIR)/solutions" NN_MNIST=sample

ifneq ($(wildcard solutions/nn),)
test: $(STAMP) ## [full kit] run the whole test suite (reference, participant version, notebooks, slides)
	$(REFERENCE_ENV) $(PY) -m pytest tests solutions/notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with solutions/notebooks/nbval_sanitize.cfg $(PYTEST_ARGS)
else
test: export KIT_VIA_MAKE := 1
test: $(STAMP) ## [handout] show my progress (this copy has no solutions/, so no reference to test)
	@echo "This copy of the kit has no solutions/ folder, so there is no reference to test; your progress:"
	@$(PY) tools/check.py
endif

# Run by make (or from a notebook of make lab), the tools name make's commands in their messages
# (tools/commands.py); run by Python, their own.
check watch hint lab: export KIT_VIA_MAKE := 1

check: $(STAMP) ## show my progress: which tasks are done, and what to do next (TASKS="3.2 3.3": only those; TASK=3.2 too)
	@$(PY) tools/check.py $(if $(value TASKS),$(call quoted,$(value TASKS))) $(if $(value TASK),$(call quoted,$(value TASK)))

watch: $(STAMP) ## like make check, again every time you save in nn/ act/ loss/ notebooks/ (Ctrl-C stops)
	@$(PY) tools/watch.py

hint: $(STAMP) ## stuck? the next hint for the first task not done (TASK=3.2: that task; LEVEL=1|2|3: that level)
	@$(PY) tools/hints.py $(if $(value TASK),$(call quoted,$(value TASK))) $(if $(value LEVEL),--level=$(call quoted,$(value LEVEL)))

# A handout has no solutions/: make sync and make figures say so before they would install anything.
ifneq ($(wildcard solutions/nn),)
sync: $(STAMP) ## [full kit] organizers: regenerate the participant version (nn/ act/ loss/ notebooks/) from solutions/
	$(PY) tools/sync.py $(if $(call switch,FORCE),--force)
else
sync: # a handout copy has no reference to generate from
	@echo "make sync generates nn/, act/, loss/ and notebooks/ from the reference in solutions/, which this copy of the kit does not have (a handout copy); nothing to do here, and your files stay as they are." >&2; exit 1
endif

handout: $(STAMP) ## [full kit] organizers: copy the kit without solutions/ into DEST (make handout DEST=../kit-handout)
	@test -n $(call quoted,$(DEST)) || { echo "make handout needs a destination folder: make handout DEST=../kit-handout"; exit 2; }
	$(PY) tools/sync.py --handout $(call quoted,$(DEST))

clean-venv: ## delete .venv (the next command recreates it)
	rm -rf $(VENV)

# tools/train.py trains the reference, so a handout copy has no tools/train.py (tools/sync.py: FULL_KIT_ONLY).
ifneq ($(wildcard tools/train.py),)
train: $(STAMP) ## [full kit] train the reference MLP on MNIST in the terminal (TRAIN_ARGS="--model cnn": the CNN)
	$(PY) tools/train.py $(TRAIN_ARGS)
else
train: # a handout copy has no reference to train
	@echo "make train trains the reference framework in solutions/, which this copy of the kit does not have (a handout copy); train your own model in notebooks/train.ipynb (make lab) once make check says your tasks are done." >&2; exit 1
endif

# The benchmarks measure the reference, so they live with it (a handout has none).
ifneq ($(wildcard solutions/bench),)
bench: $(STAMP) ## [full kit] organizers: speed: MLP and CNN epochs vs NumPy and PyTorch, scalar engine, make check (QUICK=1: a first look)
	$(PY) solutions/bench/bench_mlp.py $(if $(call switch,QUICK),--quick)
	$(PY) solutions/bench/bench_cnn.py $(if $(call switch,QUICK),--quick)
	$(PY) solutions/bench/bench_scalar.py $(if $(call switch,QUICK),--quick)
	$(PY) solutions/bench/bench_check.py $(if $(call switch,QUICK),--quick)
else
bench: # a handout copy has no reference to measure
	@echo "make bench measures the reference in solutions/bench/, which this copy of the kit does not have (a handout copy)." >&2; exit 1
endif

# MNIST_DIR may name any local folder with the four official files (a USB stick). One given on the
# command line or in the environment must exist; the default above may be missing, and then the files
# are downloaded from $NN_MNIST_MIRRORS (a local mirror) if set, else the built-in mirrors.
data: $(STAMP) ## organizers: download and verify the full MNIST set into data/mnist, before the workshop
	$(PY) tools/fetch_data.py $(if $(MNIST_DIR),$(if $(filter file,$(origin MNIST_DIR)),--from-if-present,--from) "$(MNIST_DIR)")

# presenterm is a separate program (not a Python package): see README, "Presenting the slides".
slides: ## present slides.md in the terminal with presenterm (SLIDES_ARGS=--present, --export-pdf, ...)
	@command -v presenterm >/dev/null 2>&1 || { echo "make slides: presenterm is not installed; install it with 'cargo install --locked presenterm', 'brew install presenterm', your distribution's package or a release archive (README: Presenting the slides)" >&2; exit 127; }
	presenterm $(SLIDES_ARGS) slides.md

ifneq ($(wildcard solutions/nn),)
figures: $(STAMP) ## [full kit] organizers: redraw the figures of the slides and notebooks into img/ (tools/figures.py)
	$(PY) tools/figures.py img
else
figures: # a handout copy has no reference to draw with
	@echo "make figures draws figures with the reference framework in solutions/, which this copy of the kit does not have (a handout copy); the committed figures in img/ are complete." >&2; exit 1
endif
