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

.PHONY: help system-packages venv sanity units lint integration docs build test demo clean \
	testbed-up testbed-status testbed-down

help:
	@echo "make demo         set up everything and run playbooks/demo.yml against the local testbed"
	@echo "make test         lint, sanity, units, integration (what CI runs)"
	@echo "make venv|sanity|units|lint|integration|docs|build|clean"
	@echo "make testbed-up|testbed-status|testbed-down"

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

integration: venv
	$(IN_STAGE) $(BIN)/python -m pytest -p no:cacheprovider tests/integration

docs: venv
	rm -rf docs/build && mkdir -p -m 0755 docs/build/rst
	$(IN_STAGE) $(BIN)/antsibull-docs sphinx-init --use-current --squash-hierarchy --lenient --fail-on-error \
	  --dest-dir $(CURDIR)/docs/build/rst ghost.infra
	# Offline build: no intersphinx inventories to fetch.
	echo 'intersphinx_mapping = {}' >> docs/build/rst/conf.py
	$(BIN)/python -m pip install -q -r docs/build/rst/requirements.txt
	$(IN_STAGE) sh -c 'cd $(CURDIR)/docs/build/rst && ./build.sh'
	mv docs/build/rst/build/html docs/build/html
	@echo "docs: docs/build/html/index.html"

build: venv
	$(IN_STAGE) $(BIN)/ansible-galaxy collection build --force --output-path $(CURDIR)/build
	@echo "built build/ghost-infra-$(VERSION).tar.gz"

test: lint sanity units integration

# The local testbed of real backends (tests/testbed, a package run from tests/): daemons built
# into $$GHOST_CACHE, state and .testbed/env.sh in the checkout.
testbed-up: system-packages venv
	cd tests && $(BIN)/python -m testbed up

testbed-status: venv
	cd tests && $(BIN)/python -m testbed status

testbed-down: venv
	cd tests && $(BIN)/python -m testbed down

demo: testbed-up
	$(IN_STAGE) bash -c 'source $(CURDIR)/.testbed/env.sh && ansible-playbook -i inventories/local playbooks/demo.yml'

clean:
	rm -rf build docs/build
