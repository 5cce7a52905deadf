# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt_domain refuses what the testbed's hypervisor cannot hold, and creates
nothing: no domain, no overlay, no NoCloud seed.

The numbers come from the real libvirtd (its host memory statistics, CPU count and the pool's
free space), so the requests are sized from them: twice the host's memory, one vCPU more than
it has, a disk larger than the pool's free space.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

NAME = "ghost-it-resources"

pytestmark = pytest.mark.timeout(900)


def leftovers(conn, pool_name):
    """What exists of the domain NAME: its definition and its volumes in the pool."""
    import libvirt  # pylint: disable=import-outside-toplevel

    found = []
    try:
        conn.lookupByName(NAME)
        found.append("domain")
    except libvirt.libvirtError:
        pass
    pool = conn.storagePoolLookupByName(pool_name)
    pool.refresh(0)
    found.extend(name for name in pool.listVolumes() if name.startswith(NAME))
    return found


@pytest.fixture
def conn(testbed):
    import libvirt  # pylint: disable=import-outside-toplevel

    connection = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    yield connection
    connection.close()


def test_memory_above_the_host_is_refused_and_nothing_is_created(testbed, libvirt_domain, conn):
    import libvirt  # pylint: disable=import-outside-toplevel

    pool = testbed["GHOST_LIBVIRT_POOL"]
    stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
    too_much = stats["total"] * 2 // 1024  # MiB
    args = {"name": NAME, "pool": pool, "base_image": testbed["GHOST_BASE_IMAGE"],
            "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": too_much,
            "cloud_init": {"hostname": "resources"}}
    libvirt_domain({"name": NAME, "state": "absent"})
    try:
        for check_mode in (True, False):
            result = libvirt_domain(args, check=False, check_mode=check_mode)
            assert result["failed"], result
            match = re.match(r"Failed to create domain '%s': not enough memory on %s: (\d+) MiB requested, "
                             r"(\d+) MiB available \((\d+) MiB free \+ (\d+) MiB page cache, of (\d+) MiB\); "
                             r"lower memory_mb or free memory on the host$"
                             % (NAME, re.escape(testbed["LIBVIRT_DEFAULT_URI"])), result["msg"])
            assert match, result["msg"]
            requested, available, free, cache, total = (int(g) for g in match.groups())
            assert requested == too_much
            assert available == free + cache or available == free + cache + 1  # rounding of MiB
            assert 0 < available < total == stats["total"] // 1024
            assert result["resources"]["needed"]["memory"] == too_much * 1024 * 1024
            assert leftovers(conn, pool) == []
    finally:
        libvirt_domain({"name": NAME, "state": "absent"}, check=False)


def test_vcpus_and_disk_above_the_host_warn_and_strict_refuses(testbed, libvirt_domain, conn):
    pool = testbed["GHOST_LIBVIRT_POOL"]
    cpus = conn.getInfo()[2]
    available = conn.storagePoolLookupByName(pool).info()[3]
    disk_gb = available // 1024 ** 3 + 10
    args = {"name": NAME, "pool": pool, "base_image": testbed["GHOST_BASE_IMAGE"], "state": "present",
            "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": 64, "vcpus": cpus + 1,
            "disk_gb": disk_gb, "cloud_init": {"hostname": "resources"}}
    libvirt_domain({"name": NAME, "state": "absent"})
    try:
        strict = libvirt_domain(dict(args, strict_resources=True), check=False)
        assert strict["failed"]
        assert strict["msg"].startswith("Failed to create domain '%s': %d vCPUs requested, the host %s has %d CPUs"
                                        % (NAME, cpus + 1, testbed["LIBVIRT_DEFAULT_URI"], cpus)), strict["msg"]
        assert "the disks need %d" % disk_gb in strict["msg"] and "storage pool '%s' has" % pool in strict["msg"]
        assert strict["msg"].count("(strict_resources is true)") == 2
        assert leftovers(conn, pool) == []

        created = libvirt_domain(args)
        assert created["changed"] is True
        assert created["domain"]["vcpus"] == cpus + 1
        warnings = [line for line in created["_output"].splitlines()
                    if "[WARNING]" in line and "inventory" not in line]
        assert len(warnings) == 2, created["_output"]
        assert "vCPUs requested" in warnings[0] and "the disks need" in warnings[1]
        again = libvirt_domain(args)
        assert again["changed"] is False and "requested" not in again["_output"]
        assert "the disks need" not in again["_output"]
    finally:
        libvirt_domain({"name": NAME, "state": "absent"}, check=False)
