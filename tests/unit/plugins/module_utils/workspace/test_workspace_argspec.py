# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""WORKSPACE_CONNECTION_SPEC is kubernetes.core's without basic auth, and its fragment says the same."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.doc_fragments.workspace_connection import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._k8s.argspec import K8S_CONNECTION_SPEC
from ansible_collections.ghost.infra.plugins.module_utils._workspace import argspec

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
    compare(argspec.WORKSPACE_CONNECTION_SPEC, yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])


def test_kubernetes_core_options_without_basic_auth():
    assert set(K8S_CONNECTION_SPEC) - set(argspec.WORKSPACE_CONNECTION_SPEC) == {"username", "password"}
    spec = argspec.workspace_argument_spec()
    spec["api_key"]["no_log"] = False
    assert K8S_CONNECTION_SPEC["api_key"]["no_log"] is True
