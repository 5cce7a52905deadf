# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""REGISTRY_SPEC and the ghost.infra.registry doc fragment say the same thing, suboptions too."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.doc_fragments.registry import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._registry import argspec
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

KEYS = ("type", "elements", "default", "choices", "required", "aliases")


def compare(spec, doc, path=""):
    assert sorted(doc) == sorted(spec), path
    for name, option in spec.items():
        wanted = {key: option.get(key) for key in KEYS}
        wanted["type"] = wanted["type"] or "str"
        assert {key: doc[name].get(key) for key in KEYS} == wanted, path + name
        if option.get("options"):
            compare(option["options"], doc[name]["suboptions"], path + name + ".")


def test_fragment_matches_argspec():
    compare(argspec.REGISTRY_SPEC, yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])


def test_store_auth_is_kubernetes_core_auth_and_a_copy():
    spec = argspec.registry_argument_spec()
    assert spec["store_auth"]["options"] == AUTH_ARG_SPEC
    spec["store_auth"]["options"]["api_key"]["no_log"] = False
    assert AUTH_ARG_SPEC["api_key"]["no_log"] is True
