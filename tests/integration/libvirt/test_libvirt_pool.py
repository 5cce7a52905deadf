# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt_pool against the testbed's libvirtd: dir pools in the test's temporary
directory, read back from libvirt and the file system. Logical pools are not created here (no
LVM device may be used on the testbed; their XML and build plan are unit-tested); what runs
here is that without LVM tools the module fails clearly and defines nothing. Every pool is named
ghost-it-pool-<random> and removed at the end.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets
import stat

import pytest
from adhoc import run_module

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def conn(testbed):
    import libvirt  # pylint: disable=import-outside-toplevel

    connection = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    yield connection
    connection.close()


@pytest.fixture
def pool_name(conn):
    import libvirt  # pylint: disable=import-outside-toplevel

    name = "ghost-it-pool-" + secrets.token_hex(3)
    yield name
    try:
        pool = conn.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        return
    if pool.isActive():
        pool.destroy()
    pool.undefine()


@pytest.fixture
def pool(testbed, tmp_path):
    def run(args, **kwargs):
        return run_module("libvirt_pool", args, tmp_path=tmp_path, **kwargs)
    return run


def defined(conn, name):
    return name in conn.listStoragePools() + conn.listDefinedStoragePools()


def add_volume(conn, pool_name, name):
    xml = ("<volume><name>%s</name><capacity unit='KiB'>64</capacity>"
           "<target><format type='raw'/></target></volume>" % name)
    conn.storagePoolLookupByName(pool_name).createXML(xml, 0)


def test_dir_pool_lifecycle(conn, pool_name, pool, tmp_path):
    path = str(tmp_path / "store" / "images")
    args = {"name": pool_name, "path": path}

    check = pool(args, check_mode=True, diff=True)
    assert check["changed"] is True and check["actions"][:3] == [
        "define", "build (create directory %s)" % path, "start"]
    assert not defined(conn, pool_name) and not os.path.exists(path)
    assert "+<pool type=\"dir\">" in check["_output"]

    created = pool(args)
    assert created["changed"] is True
    found = conn.storagePoolLookupByName(pool_name)
    assert found.isActive() and found.isPersistent() and found.autostart()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o711  # libvirt's build made it
    view = created["pool"]
    assert (view["type"], view["path"], view["volumes"], view["active"]) == ("dir", path, 0, True)
    assert view["capacity"] > 0 and 0 < view["available"] <= view["capacity"]
    assert view["uuid"] == found.UUIDString()

    again = pool(args)
    assert again["changed"] is False and again["actions"] == []

    refused = pool(dict(args, path=path + "-other"), check=False)
    assert refused["failed"] and refused["msg"].startswith("path: the pool has path %s" % path)

    # A pool holding a volume is not removed, and says what it holds.
    add_volume(conn, pool_name, "disk1.raw")
    kept = pool({"name": pool_name, "state": "absent"}, check=False)
    assert kept["failed"] and "it holds 1 volume(s) (disk1.raw)" in kept["msg"]
    assert "delete_volumes=true" in kept["msg"] and kept["volumes"] == ["disk1.raw"]
    assert found.isActive() and os.path.exists(os.path.join(path, "disk1.raw"))
    assert pool(args)["pool"]["volumes"] == 1

    removed = pool({"name": pool_name, "state": "absent", "delete_volumes": True}, diff=True)
    assert removed["actions"] == ["delete volume %s/disk1.raw" % pool_name, "stop",
                                  "delete directory %s" % path, "undefine"]
    assert not defined(conn, pool_name) and not os.path.exists(path)
    assert os.path.isdir(str(tmp_path / "store"))  # only the pool's own directory goes
    assert pool({"name": pool_name, "state": "absent"})["changed"] is False


def test_an_existing_directory_is_kept_as_it_is(conn, pool_name, pool, tmp_path):
    path = tmp_path / "existing"
    path.mkdir()
    os.chmod(str(path), 0o755)
    (path / "base.qcow2").write_bytes(b"\0" * 4096)
    result = pool({"name": pool_name, "path": str(path), "autostart": False})
    assert result["pool"]["volumes"] == 1 and result["pool"]["autostart"] is False
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o755
    assert not conn.storagePoolLookupByName(pool_name).autostart()


def test_an_inactive_pool_is_started_to_list_its_volumes(conn, pool_name, pool, tmp_path):
    path = str(tmp_path / "images")
    pool({"name": pool_name, "path": path})
    add_volume(conn, pool_name, "disk1.raw")
    conn.storagePoolLookupByName(pool_name).destroy()

    check = pool({"name": pool_name, "state": "absent"}, check_mode=True)
    assert check["actions"] == ["undefine"] and "check mode does not start it" in check["_output"]
    kept = pool({"name": pool_name, "state": "absent"}, check=False)
    assert kept["failed"] and "it holds 1 volume(s) (disk1.raw)" in kept["msg"]
    assert not conn.storagePoolLookupByName(pool_name).isActive()  # left as it was

    os.remove(os.path.join(path, "disk1.raw"))
    os.rmdir(path)  # its storage is gone: only the definition can go
    gone = pool({"name": pool_name, "state": "absent"})
    assert gone["actions"] == ["undefine"] and "cannot start" in gone["_output"]
    assert not defined(conn, pool_name)


def test_logical_without_lvm_tools_fails_clearly_and_defines_nothing(conn, pool_name, pool):
    if os.path.exists("/sbin/pvs"):
        pytest.fail("this host has LVM tools: the test expects none (it must not touch LVM)")
    result = pool({"name": pool_name, "type": "logical", "source_devices": ["/dev/null"]}, check=False)
    assert result["failed"] and result["msg"].startswith("Failed to list LVM volume groups on")
    assert "pvs" in result["msg"] and not defined(conn, pool_name)
