# The workshop kit's commands. `make help` lists them.
# Everything runs from .venv, created on first use; no `activate` needed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Organizers and CI: where the four official MNIST files already are (see README).
MNIST_DIR ?= ../shared/data/mnist

.DEFAULT_GOAL := help
.PHONY: help lab test check train slides handout sync bench data figures clean-venv

help: ## list the commands
	@echo "Workshop kit commands (run from the kit's folder):"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 20

# The venv is (re)installed only when pyproject.toml changed since the last install.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 10) else "Python 3.10 or newer is needed, found " + sys.version.split()[0] + " ($(PYTHON)); run: make PYTHON=python3.11 ...")'
	@test -x "$(PY)" || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q --upgrade pip
	$(PY) -m pip install --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP) ## open JupyterLab on the kit (the notebooks are in notebooks/)
	$(PY) -m jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The reference is tested with KIT_IMPL=solutions; notebook kernels find it through PYTHONPATH.
REFERENCE_ENV := KIT_IMPL=solutions PYTHONPATH="$(CURDIR)/solutions"

test: $(STAMP) ## run the whole test suite (reference, participant version, notebooks, slides)
	$(REFERENCE_ENV) $(PY) -m pytest $(PYTEST_ARGS)

check: $(STAMP) ## show my progress: which tasks are done, and what to do next
	$(PY) tools/check.py $(TASKS)

clean-venv: ## delete .venv (the next command recreates it)
	rm -rf $(VENV)
