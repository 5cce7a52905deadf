# Developer workflow for the ghost.infra collection. Every target is idempotent.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)
export PATH := $(BIN):$(PATH)
export GHOST_TESTBED_DIR := $(CURDIR)/.testbed
# Each check runs in its own copy at build/stage.*/ansible_collections/ghost/infra.
IN_STAGE := VENV_DIR=$(CURDIR)/$(VENV) tools/in-stage

.PHONY: help system-packages venv sanity units lint integration docs build release test demo clean clean-all \
	testbed-snapshot testbed-up testbed-status testbed-down

help:
	@echo "make demo         set up everything and run playbooks/demo.yml against the local testbed"
	@echo "make test         lint, sanity, units, integration (what CI runs)"
	@echo "make venv|sanity|units|lint|integration|docs|build|clean"
	@echo "make release VERSION=x.y.z   changelog (antsibull-changelog) and tarball of a new version"
	@echo "make testbed-up|testbed-status|testbed-down"
	@echo "make bench        every benchmark side by side with its anchor: benchmarks/results/<date>.{json,md,png}"
	@echo "make clean-all    stop the testbed and remove its state (.testbed), the build cache"
	@echo "                  ($${GHOST_CACHE:-~/.cache/ghost-infra}: daemons, unpacked sshd/cloud-init, guest image),"
	@echo "                  build/, docs/build and the venv ($(VENV)); keeps Go's caches and system packages"

# Debian packages from bindep.txt (apt-get update only when something is missing).
system-packages:
	tools/install-system-packages

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt test-requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt -r test-requirements.txt
	touch $@

sanity: venv
	$(BIN)/python tools/ansible_test_pip_bootstrap.py
	$(IN_STAGE) $(BIN)/ansible-test sanity --venv --python 3.11 --color no

units: venv
	$(IN_STAGE) $(BIN)/python -m pytest -p no:cacheprovider tests/unit

lint: venv
	$(BIN)/ruff check plugins tests benchmarks tools
	$(IN_STAGE) sh -c '$(BIN)/ansible-lint --offline --profile production $$(ls -d roles playbooks 2>/dev/null)'
	$(IN_STAGE) sh -c '$(BIN)/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all .'

# Two lanes side by side, then the tests that stop shared daemons alone (tools/run-integration).
integration: venv
	VENV_DIR=$(CURDIR)/$(VENV) tools/run-integration

docs: venv
	rm -rf docs/build && mkdir -p -m 0755 docs/build/rst
	$(IN_STAGE) $(BIN)/antsibull-docs sphinx-init --use-current --squash-hierarchy --lenient --fail-on-error \
	  --dest-dir $(CURDIR)/docs/build/rst ghost.infra
	# Offline build: no intersphinx inventories to fetch, so references into Ansible's and other
	# collections' docs (common_return_values, kubernetes.core.k8s) cannot resolve here; every
	# other warning fails the build.
	printf 'intersphinx_mapping = {}\nsuppress_warnings = ["ref.ref"]\n' >> docs/build/rst/conf.py
	sed -i 's/^sphinx-build -M html rst build -c \.$$/sphinx-build -M html rst build -c . -W --keep-going/' docs/build/rst/build.sh
	grep -q -- '-W --keep-going' docs/build/rst/build.sh
	$(BIN)/python -m pip install -q -r docs/build/rst/requirements.txt
	$(IN_STAGE) sh -c 'cd $(CURDIR)/docs/build/rst && ./build.sh'
	mv docs/build/rst/build/html docs/build/html
	@echo "docs: docs/build/html/index.html"

build: venv
	$(IN_STAGE) $(BIN)/ansible-galaxy collection build --force --output-path $(CURDIR)/build
	@echo "built build/ghost-infra-$(VERSION).tar.gz"

test: lint sanity units docs integration

# make release VERSION=x.y.z: the version into galaxy.yml, the changelog fragments folded into
# changelogs/changelog.yaml and CHANGELOG.rst, then the tarball (commit and tag by hand).
release: venv
	@if [ "$(origin VERSION)" != "command line" ]; then echo "usage: make release VERSION=x.y.z" >&2; exit 2; fi
	@echo "$(VERSION)" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$$' || { echo "VERSION=$(VERSION): want x.y.z" >&2; exit 2; }
	sed -i 's/^version: .*/version: $(VERSION)/' galaxy.yml
	$(BIN)/antsibull-changelog lint
	$(BIN)/antsibull-changelog release --version $(VERSION)
	$(MAKE) build

# The local testbed of real backends (tests/testbed, a package run from tests/): daemons built
# into $$GHOST_CACHE, state and .testbed/env.sh in the checkout.
# Non-loopback listeners before anything is installed or started (tests/testbed/listeners.py,
# standard library only); kept until `testbed-down`, so a no-op while the testbed is up.
testbed-snapshot:
	if command -v $(PYTHON) >/dev/null; then cd tests && $(PYTHON) -m testbed.listeners snapshot; fi

testbed-up: testbed-snapshot system-packages venv
	cd tests && $(BIN)/python -m testbed up

testbed-status: venv
	cd tests && $(BIN)/python -m testbed status

testbed-down: venv
	cd tests && $(BIN)/python -m testbed down

# Not part of `make test`: timings are reported, never asserted. BENCH_ARGS=--quick for a short run.
bench: testbed-up
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	$(IN_STAGE) bash -c 'source $(CURDIR)/.testbed/env.sh && $(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)'

demo: testbed-up
	$(IN_STAGE) bash -c 'source $(CURDIR)/.testbed/env.sh && ansible-playbook -i inventories/local playbooks/demo.yml'

clean:
	rm -rf build docs/build

# Everything `make demo` left in the checkout and the cache; system packages stay installed.
clean-all: clean
	if [ -x $(BIN)/python ]; then cd tests && $(BIN)/python -m testbed down --purge; fi
	rm -rf "$${GHOST_CACHE:-$$HOME/.cache/ghost-infra}" $(GHOST_TESTBED_DIR) $(VENV)
