# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""POOL_COMMON_SPEC and the ghost.infra.cluster_pool doc fragment say the same thing; every pool
module takes the shared options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.doc_fragments.cluster_pool import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._pool import argspec

KEYS = ("type", "elements", "default", "choices", "required")
MODULES = ("cluster_pool", "cluster_pool_lease", "cluster_pool_info", "cluster_pool_maintain")


def test_fragment_matches_argspec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(doc) == sorted(argspec.POOL_COMMON_SPEC)
    for name, option in argspec.POOL_COMMON_SPEC.items():
        assert {key: doc[name].get(key) for key in KEYS} == {key: option.get(key) for key in KEYS}, name


def test_argument_spec_is_a_copy():
    copy = argspec.pool_argument_spec()
    copy["namespace"]["default"] = "elsewhere"
    assert argspec.POOL_COMMON_SPEC["namespace"]["default"] == "ghost-pools"


@pytest.mark.parametrize("name", MODULES)
def test_modules_share_the_options_and_document_theirs(name):
    module = importlib.import_module("ansible_collections.ghost.infra.plugins.modules.%s" % name)
    options = module.argument_spec()
    for key, value in argspec.POOL_COMMON_SPEC.items():
        assert options[key] == value
    documented = yaml.safe_load(module.DOCUMENTATION)
    assert "ghost.infra.cluster_pool" in documented["extends_documentation_fragment"]
    own = documented.get("options") or {}
    for key, option in own.items():
        assert {k: option.get(k) for k in KEYS} == {k: options[key].get(k) for k in KEYS}, (name, key)
    assert sorted(set(options) - set(argspec.POOL_COMMON_SPEC)) == sorted(own), name
