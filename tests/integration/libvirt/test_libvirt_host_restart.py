# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Domains of ghost.infra.libvirt_domain survive a host restart: with ``autostart: true`` they
come back running with the same definition, volumes and NoCloud seed, and the module's next run
changes nothing.

A host restart is simulated on the testbed's shared libvirtd, which other tests use at the same
moment, so the daemon is not restarted: every domain of the test is powered off as the host's
shutdown would (virDomainDestroy), the connection is closed and opened again, and the domains
libvirt reports as autostart are started as libvirtd's autostart does at boot. The domain
without autostart stays off, and the module's run with ``state: running`` starts it (a change)
while the autostarted ones are unchanged.

The domains boot the testbed's empty base image (no OS), so the test runs in seconds under KVM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import xml.etree.ElementTree as ET

import pytest

NAMES = ("ghost-it-boot-a", "ghost-it-boot-b", "ghost-it-boot-manual")

pytestmark = pytest.mark.timeout(900)


def snapshot(conn, name):
    """What must come back: the inactive definition, autostart, and every volume of the domain
    with its size, backing store and (for the seed) content digest."""
    import libvirt  # pylint: disable=import-outside-toplevel

    dom = conn.lookupByName(name)
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    volumes = {}
    for source in ET.fromstring(xml).findall("devices/disk/source"):
        path = source.get("file")
        vol = conn.storageVolLookupByPath(path)
        entry = {"capacity": vol.info()[1], "key": vol.key(), "backing": ET.fromstring(vol.XMLDesc(0)).findtext("backingStore/path")}
        if path.endswith(".iso"):
            with open(path, "rb") as handle:
                entry["sha256"] = hashlib.sha256(handle.read()).hexdigest()
        volumes[path] = entry
    return {"uuid": dom.UUIDString(), "xml": xml,
            "autostart": bool(dom.autostart()), "volumes": volumes}


def host_restart(testbed, names):
    """Power off the test's domains as a host shutdown does, reconnect, and start those marked
    autostart as libvirtd does when the host boots. Returns the new connection."""
    import libvirt  # pylint: disable=import-outside-toplevel

    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    for name in names:
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
    conn.close()
    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART | libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE):
        if dom.name() in names:
            dom.create()
    return conn


def test_autostart_domains_come_back_identical(testbed, libvirt_domain):
    base = {"pool": testbed["GHOST_LIBVIRT_POOL"], "base_image": testbed["GHOST_BASE_IMAGE"],
            "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": 64, "state": "running"}
    tasks = {name: dict(base, name=name, autostart=not name.endswith("manual"),
                        cloud_init={"hostname": name, "runcmd": ["echo %s" % name]})
             for name in NAMES}
    for name in NAMES:
        libvirt_domain({"name": name, "state": "absent"})
    conn = None
    try:
        for name in NAMES:
            created = libvirt_domain(tasks[name])
            assert created["changed"] is True and created["domain"]["state"] == "running"
            assert created["domain"]["autostart"] is tasks[name]["autostart"]
        import libvirt  # pylint: disable=import-outside-toplevel
        conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
        before = {name: snapshot(conn, name) for name in NAMES}
        assert all(len(b["volumes"]) == 2 for b in before.values()), before  # overlay and seed
        conn.close()

        conn = host_restart(testbed, NAMES)
        after = {name: snapshot(conn, name) for name in NAMES}
        assert after == before
        states = {name: bool(conn.lookupByName(name).isActive()) for name in NAMES}
        assert states == {"ghost-it-boot-a": True, "ghost-it-boot-b": True, "ghost-it-boot-manual": False}

        for name in NAMES:
            again = libvirt_domain(tasks[name])
            assert again["domain"]["state"] == "running"
            if name.endswith("manual"):
                assert again["changed"] is True and again["actions"] == ["start"]
            else:
                assert again["changed"] is False, again["actions"]
        assert {name: snapshot(conn, name) for name in NAMES} == before
    finally:
        if conn is not None:
            conn.close()
        for name in NAMES:
            libvirt_domain({"name": name, "state": "absent"}, check=False)
