# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/resources.py: what the host can hold, with the numbers in the messages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.resources import GIB, MIB, check_resources

HOST = {"uri": "qemu:///system", "cpus": 4, "memory_total": 16 * GIB, "memory_free": 2 * GIB,
        "memory_cache": GIB, "pool_available": 10 * GIB}


def need(**over):
    base = {"memory": 0, "vcpus": 0, "disk": 0, "pool": "ghost"}
    base.update(over)
    return base


def test_nothing_needed_is_fine():
    assert check_resources(need(), HOST) == ([], [])


def test_memory_counts_free_memory_and_page_cache():
    assert check_resources(need(memory=3 * GIB), HOST) == ([], [])
    errors, warnings = check_resources(need(memory=3 * GIB + MIB), HOST)
    assert warnings == []
    assert errors == ["not enough memory on qemu:///system: 3073 MiB requested, 3072 MiB available "
                      "(2048 MiB free + 1024 MiB page cache, of 16384 MiB); lower memory_mb or free "
                      "memory on the host"]


@pytest.mark.parametrize("strict", [False, True])
def test_memory_is_refused_strict_or_not(strict):
    errors, _warnings = check_resources(need(memory=64 * GIB), HOST, strict=strict)
    assert len(errors) == 1 and "65536 MiB requested" in errors[0]


def test_vcpus_above_the_host_warn_and_fail_when_strict():
    assert check_resources(need(vcpus=4), HOST) == ([], [])
    errors, warnings = check_resources(need(vcpus=6), HOST)
    assert errors == [] and warnings == [
        "6 vCPUs requested, the host qemu:///system has 4 CPUs, which the vCPUs would share"]
    errors, warnings = check_resources(need(vcpus=6), HOST, strict=True)
    assert warnings == [] and errors == [
        "6 vCPUs requested, the host qemu:///system has 4 CPUs, which the vCPUs would share "
        "(strict_resources is true)"]


def test_disk_virtual_size_against_the_pool():
    assert check_resources(need(disk=10 * GIB), HOST) == ([], [])
    errors, warnings = check_resources(need(disk=20 * GIB + GIB // 2), HOST)
    assert errors == [] and warnings == [
        "the disks need 20.5 GiB of virtual size, storage pool 'ghost' has 10 GiB free, so the guest "
        "can fill the pool before its disk is full"]
    errors, warnings = check_resources(need(disk=20 * GIB), HOST, strict=True)
    assert warnings == [] and len(errors) == 1 and errors[0].endswith("(strict_resources is true)")


def test_all_findings_at_once():
    errors, warnings = check_resources(need(memory=8 * GIB, vcpus=8, disk=11 * GIB), HOST, strict=True)
    assert [e.split(" ")[0] for e in errors] == ["not", "8", "the"] and warnings == []


def test_unknown_pool_space_and_cpu_count_are_not_checked():
    host = dict(HOST, pool_available=None, cpus=None)
    assert check_resources(need(vcpus=64, disk=GIB * 1024), host, strict=True) == ([], [])
