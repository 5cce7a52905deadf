# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.names import default_restore_name, validate_name

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize("name", ["a", "cp", "cp-snap", "vm-01", "0abc", "a" * 63])
def test_valid_names_pass(name):
    assert validate_name(name, "name") == name


@pytest.mark.parametrize("name, why", [
    ("", "non-empty"),
    (None, "non-empty"),
    ("a" * 64, "64 characters long"),
    ("CP", "DNS-1123"),
    ("-cp", "DNS-1123"),
    ("cp-", "DNS-1123"),
    ("cp.snap", "DNS-1123"),
    ("cp_snap", "DNS-1123"),
    ("cp snap", "DNS-1123"),
])
def test_invalid_names_name_the_option(name, why):
    with pytest.raises(GhostError) as err:
        validate_name(name, "snapshot_name")
    assert err.value.option == "snapshot_name"
    assert why in str(err.value)
    assert str(err.value).startswith("snapshot_name: ")


def test_default_restore_name_is_readable_when_short():
    assert default_restore_name("cp", "cp-snap") == "cp-cp-snap"


def test_default_restore_name_at_exactly_63_is_kept():
    vm, snap = "v" * 31, "s" * 31
    assert default_restore_name(vm, snap) == "%s-%s" % (vm, snap)


@pytest.mark.parametrize("vm, snap", [
    ("v" * 63, "s" * 63),
    ("vm-" * 20 + "x", "golden-snapshot-of-the-control-plane"),
    ("a" * 40, "-".join(["b"] * 20)),   # truncation lands on a '-'
])
def test_long_default_restore_names_fit_and_are_valid(vm, snap):
    name = default_restore_name(vm, snap)
    assert len(name) <= 63
    assert LABEL.match(name)
    assert validate_name(name, "name") == name
    assert default_restore_name(vm, snap) == name  # stable


def test_long_default_restore_names_differ_when_only_the_tail_differs():
    vm = "control-plane-" * 4
    vm = vm.rstrip("-")
    one = default_restore_name(vm, "golden-snapshot-one")
    two = default_restore_name(vm, "golden-snapshot-two")
    assert one != two
    assert one[:40] == two[:40]


def test_long_default_restore_name_separates_vm_and_snapshot():
    # Same joined text, different split: the hash must tell them apart.
    left = default_restore_name("a" * 40 + "-b", "c" * 30)
    right = default_restore_name("a" * 40, "b-" + "c" * 30)
    assert left != right
