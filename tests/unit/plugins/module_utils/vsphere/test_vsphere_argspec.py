# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml
from ansible.module_utils.basic import env_fallback

from ansible_collections.ghost.infra.plugins.doc_fragments.vsphere import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import argspec

KEYS = ("type", "default", "required", "choices", "elements", "no_log")


def test_fragment_matches_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert list(doc) == list(argspec.VSPHERE_CONNECTION_SPEC)
    for name, option in argspec.VSPHERE_CONNECTION_SPEC.items():
        documented = {key: doc[name].get(key) for key in KEYS if key != "no_log"}
        assert documented == {key: option.get(key) for key in KEYS if key != "no_log"}, name
        assert doc[name]["description"], name


def test_every_option_documents_its_environment_variable():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    for name, variables in argspec.ENV_FALLBACKS.items():
        assert "E(%s)" % variables[0] in " ".join(doc[name]["description"]), name


def test_awx_variables_and_no_log_password():
    spec = argspec.vsphere_argument_spec()
    assert {name: opt["fallback"][1] for name, opt in spec.items()} == {
        "hostname": ["VMWARE_HOST"], "username": ["VMWARE_USER"], "password": ["VMWARE_PASSWORD"],
        "port": ["VMWARE_PORT"], "validate_certs": ["VMWARE_VALIDATE_CERTS"]}
    assert all(opt["fallback"][0] is env_fallback for opt in spec.values())
    assert spec["password"]["no_log"] is True
    assert spec["port"]["default"] == 443
    assert spec["validate_certs"]["default"] is True


def test_argument_spec_is_a_copy():
    spec = argspec.vsphere_argument_spec()
    spec["port"]["default"] = 1
    spec["hostname"]["fallback"][1].append("OTHER")
    assert argspec.VSPHERE_CONNECTION_SPEC["port"]["default"] == 443
    assert argspec.VSPHERE_CONNECTION_SPEC["hostname"]["fallback"][1] == ["VMWARE_HOST"]
