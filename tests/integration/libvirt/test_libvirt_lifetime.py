# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Expiry of a libvirt domain on the testbed's libvirtd: ghost.infra.libvirt_domain writes it,
libvirtd keeps it (read back with libvirt-python, persistent and live definitions),
ghost.infra.libvirt_domain_info and the ghost.infra.libvirt inventory report it.

The domain has no disk, no NIC and no OS (SeaBIOS finds nothing to boot): it runs, so a new
TTL must reach its live definition without a restart (its libvirt ID stays the same).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from adhoc import run_module

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import NS

pytestmark = pytest.mark.timeout(300)


def _unwrap(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def stored(dom, live):
    """The attributes of the module's metadata element, as libvirtd returns it."""
    import libvirt  # pylint: disable=import-outside-toplevel
    flag = libvirt.VIR_DOMAIN_AFFECT_LIVE if live else libvirt.VIR_DOMAIN_AFFECT_CONFIG
    return dict(ET.fromstring(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NS, flag)).attrib)


def inventory(tmp_path, name):
    """The hostvars and groups of ``name`` in ansible-inventory --list of the libvirt plugin."""
    source = tmp_path / "lifetime.ghost.infra.libvirt.yml"
    source.write_text("plugin: ghost.infra.libvirt\nuris: [qemu:///system]\nnames: [%s]\n" % name)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_HOME=str(tmp_path / "home"))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(source),
                           "--list"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = json.loads(proc.stdout, object_hook=_unwrap)
    host = "localhost_" + name
    groups = {group for group, body in listed.items() if host in (body.get("hosts") or [])}
    return listed["_meta"]["hostvars"][host], groups


def info(tmp_path, name):
    found = run_module("libvirt_domain_info", {"name": name}, tmp_path=tmp_path)["domains"]
    assert [d["name"] for d in found] == [name]
    return found[0]


def test_ttl_is_stored_reported_renewed_without_a_restart(testbed, libvirt_domain, tmp_path):
    import libvirt  # pylint: disable=import-outside-toplevel

    name = "ghost-it-ttl-%s" % secrets.token_hex(3)
    args = {"name": name, "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"], "memory_mb": 64, "ttl": "1s"}
    conn = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    try:
        created = libvirt_domain(args)
        assert created["changed"] is True and created["domain"]["ttl"] == "1s"
        dom = conn.lookupByName(name)
        for live in (False, True):
            record = stored(dom, live)
            assert record["ttl"] == "1s" and record["expires-at"] == created["domain"]["expires_at"]
            assert record["renewed-at"] < record["expires-at"]
        running_id = dom.ID()
        assert running_id > 0

        time.sleep(2)
        seen = info(tmp_path, name)
        assert (seen["expired"], seen["expires_at"], seen["ttl"]) == (True, created["domain"]["expires_at"], "1s")
        hostvars, groups = inventory(tmp_path, name)
        assert hostvars["libvirt_expired"] is True and hostvars["libvirt_expires_at"] == seen["expires_at"]
        assert "expired" in groups

        again = libvirt_domain(args)
        assert again["changed"] is False and again["actions"] == []
        assert again["domain"]["expired"] is True

        # Check mode: reports the renewal, writes nothing.
        planned = libvirt_domain(dict(args, ttl="2h"), check_mode=True)
        assert planned["changed"] is True and planned["domain"]["expired"] is False
        assert stored(dom, live=False)["ttl"] == "1s"

        renewed = libvirt_domain(dict(args, ttl="1h"))
        assert renewed["changed"] is True
        assert renewed["actions"] == ["set expiry (ttl 1h, expires %s)" % renewed["domain"]["expires_at"]]
        assert renewed["domain"]["expired"] is False and renewed["domain"]["restart_required"] is False
        assert dom.ID() == running_id and dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING  # not restarted
        for live in (False, True):
            assert stored(dom, live)["ttl"] == "1h"
            assert stored(dom, live)["expires-at"] == renewed["domain"]["expires_at"]
        seen = info(tmp_path, name)
        assert (seen["expired"], seen["ttl"]) == (False, "1h")
        hostvars, groups = inventory(tmp_path, name)
        assert hostvars["libvirt_expired"] is False and hostvars["libvirt_ttl"] == "1h"
        assert "expired" not in groups
    finally:
        try:
            dom = conn.lookupByName(name)
        except libvirt.libvirtError:
            dom = None
        if dom is not None:
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        conn.close()
