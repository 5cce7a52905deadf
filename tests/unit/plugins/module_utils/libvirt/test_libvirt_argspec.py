# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""LIBVIRT_CONNECTION_SPEC and the ghost.infra.libvirt doc fragment say the same thing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.doc_fragments.libvirt import ModuleDocFragment
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import argspec

KEYS = ("type", "elements", "default", "choices", "required")


def test_fragment_matches_argspec():
    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    assert sorted(doc) == sorted(argspec.LIBVIRT_CONNECTION_SPEC)
    for name, option in argspec.LIBVIRT_CONNECTION_SPEC.items():
        assert {key: doc[name].get(key) for key in KEYS} == {key: option.get(key) for key in KEYS}, name


def test_uri_falls_back_to_libvirt_default_uri():
    fallback = argspec.LIBVIRT_CONNECTION_SPEC["uri"]["fallback"]
    assert fallback[1] == ["LIBVIRT_DEFAULT_URI"]
    assert "LIBVIRT_DEFAULT_URI" in yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["uri"]["description"][2]


def test_argument_spec_is_a_copy():
    copy = argspec.libvirt_argument_spec()
    copy["uri"]["default"] = "test:///default"
    assert argspec.LIBVIRT_CONNECTION_SPEC["uri"]["default"] == "qemu:///system"
