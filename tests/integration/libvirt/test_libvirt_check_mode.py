# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check mode of ghost.infra.libvirt_domain changes nothing on the real libvirtd.

libvirtd reports every storage pool start, stop and refresh and every domain lifecycle and
metadata change as an event; check-mode runs must cause none. The base images are files libvirt
does not list yet: one copied into the pool's directory after its last refresh, one in a
directory no pool covers. A real run looks at them through a pool refresh or a temporary pool;
check mode must not (it warns instead). On a running domain, check mode must not touch the
metadata the module keeps in the running definition.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import shutil

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import NS

NAME = "ghost-it-check"
POOL = "ghost-it-check-pool"

pytestmark = pytest.mark.timeout(900)


def copy_image(source, dest):
    shutil.copyfile(source, dest)
    os.chmod(dest, 0o644)


def listed(conn, path):
    try:
        conn.storageVolLookupByPath(path)
    except Exception:  # pylint: disable=broad-except
        return False
    return True


def test_check_mode_changes_nothing(testbed, libvirt_domain, libvirt_events, tmp_path):
    import libvirt  # pylint: disable=import-outside-toplevel

    uri = testbed["LIBVIRT_DEFAULT_URI"]
    # A pool of its own: other tests refresh the testbed's pool at any time, and the events
    # of those refreshes look the same as ours.
    pool_dir = tmp_path / "pool"
    pool_dir.mkdir()
    in_pool_dir = str(pool_dir / (NAME + "-fresh.qcow2"))
    outside = tmp_path / "images"
    outside.mkdir()
    in_no_pool = str(outside / (NAME + "-base.qcow2"))
    args = {"name": NAME, "pool": POOL, "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"],
            "memory_mb": 64, "cloud_init": {"hostname": "check"}}
    conn = libvirt.open(uri)
    libvirt_domain({"name": NAME, "state": "absent"})
    probe = "ghost-probe-%s" % hashlib.sha256(str(outside).encode("utf-8")).hexdigest()[:12]
    ours = (NAME, POOL, probe)
    pool = conn.storagePoolCreateXML("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>"
                                     % (POOL, pool_dir), 0)
    try:
        copy_image(testbed["GHOST_BASE_IMAGE"], in_pool_dir)
        copy_image(testbed["GHOST_BASE_IMAGE"], in_no_pool)
        assert not listed(conn, in_pool_dir) and not listed(conn, in_no_pool)
        pools_before = sorted(p for p in conn.listStoragePools() if p in ours)
        libvirt_events.take()

        checks = {base: libvirt_domain(dict(args, base_image=base), check_mode=True)
                  for base in (in_pool_dir, in_no_pool)}
        assert [e for e in libvirt_events.take() if e[1] in ours] == []
        assert sorted(p for p in conn.listStoragePools() if p in ours) == pools_before
        assert not listed(conn, in_pool_dir)
        for base, check in checks.items():
            assert check["changed"] is True and check["domain"]["uuid"] is None
            assert check["domain"]["disks"][0]["backing"] == base
            assert "base image %s is in no storage pool libvirt has listed" % base in check["_output"]

        # The real run looks the file up by refreshing the pool, and defines the domain: the
        # recorder sees both, so its silence above means something.
        created = libvirt_domain(dict(args, base_image=in_pool_dir, state="running"))
        assert created["changed"] is True
        seen = [e for e in libvirt_events.take() if e[1] in ours]
        assert ("pool refresh", POOL, ()) in seen
        assert ("domain", NAME, (libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED)) in seen

        # A change to the running domain: the module flags the running definition (metadata).
        libvirt_domain(dict(args, memory_mb=96))
        assert [e for e in libvirt_events.take() if e[1] in ours and e[0] == "domain metadata"] == [
            ("domain metadata", NAME, (libvirt.VIR_DOMAIN_METADATA_ELEMENT, NS))]
        dom = conn.lookupByName(NAME)
        live, persistent = dom.XMLDesc(0), dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)

        # Check mode with more changes, a forced restart, and back to the running definition's
        # values (which would clear the flag): nothing moves.
        for change in ({"memory_mb": 128, "vcpus": 2, "autostart": True, "disk_gb": 1,
                        "cloud_init": {"hostname": "other"}, "force": True},
                       {"memory_mb": 64},
                       {"state": "paused"},
                       {"state": "absent"}):
            check = libvirt_domain(dict(args, **change), check_mode=True)
            assert check["changed"] is True, change
        assert [e for e in libvirt_events.take() if e[1] in ours] == []
        assert dom.XMLDesc(0) == live and dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == persistent
        assert dom.isActive() and not dom.autostart()
    finally:
        libvirt_domain({"name": NAME, "state": "absent"}, check=False)
        try:
            if listed(conn, in_pool_dir):
                conn.storageVolLookupByPath(in_pool_dir).delete(0)
            elif os.path.exists(in_pool_dir):
                os.remove(in_pool_dir)
        finally:
            pool.destroy()
            conn.close()
