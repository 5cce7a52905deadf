# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""K8S_CONNECTION_SPEC is kubernetes.core's, and its k8s_auth_options doc fragment says the same thing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.module_utils._k8s import argspec
from ansible_collections.kubernetes.core.plugins.doc_fragments.k8s_auth_options import ModuleDocFragment
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

KEYS = ("type", "elements", "default", "choices", "required")


def test_argument_spec_is_a_copy_of_kubernetes_core():
    spec = argspec.k8s_argument_spec()
    assert spec == AUTH_ARG_SPEC
    spec["api_key"]["no_log"] = False
    assert AUTH_ARG_SPEC["api_key"]["no_log"] is True
    assert spec is not AUTH_ARG_SPEC


def test_fragment_matches_argspec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(doc) == sorted(argspec.K8S_CONNECTION_SPEC)
    for name, option in argspec.K8S_CONNECTION_SPEC.items():
        # AnsibleModule's default type is str; the fragment spells it out.
        wanted = {key: option.get(key) for key in KEYS}
        wanted["type"] = wanted["type"] or "str"
        assert {key: doc[name].get(key) for key in KEYS} == wanted, name
