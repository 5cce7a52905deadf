# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CLOUD_INIT_SPEC and the ghost.infra.cloud_init doc fragment say the same thing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.doc_fragments.cloud_init import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import argspec

KEYS = ("type", "elements", "default", "choices", "required")


def test_fragment_matches_spec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert list(doc) == ["cloud_init"]
    assert {key: doc["cloud_init"].get(key) for key in KEYS} == {
        key: argspec.CLOUD_INIT_SPEC["cloud_init"].get(key) for key in KEYS}
    documented = doc["cloud_init"]["suboptions"]
    assert sorted(documented) == sorted(argspec.CLOUD_INIT_OPTIONS)
    for name, option in argspec.CLOUD_INIT_OPTIONS.items():
        assert {key: documented[name].get(key) for key in KEYS} == {
            key: option.get(key) for key in KEYS}, name
        assert documented[name]["description"], name


def test_secrets_are_no_log():
    assert argspec.CLOUD_INIT_OPTIONS["password_hash"]["no_log"] is True
    assert "not logged" in yaml.safe_load(ModuleDocFragment.DOCUMENTATION)[
        "options"]["cloud_init"]["suboptions"]["password_hash"]["description"][-1]


def test_argument_spec_is_a_copy():
    copy = argspec.cloud_init_argument_spec()
    copy["cloud_init"]["required"] = True
    copy["cloud_init"]["options"]["user"]["default"] = "x"
    assert "required" not in argspec.CLOUD_INIT_SPEC["cloud_init"]
    assert argspec.CLOUD_INIT_OPTIONS["user"]["default"] == "ubuntu"
