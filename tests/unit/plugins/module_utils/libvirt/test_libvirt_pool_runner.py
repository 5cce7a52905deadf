# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/pool_runner.py against a stand-in client: the calls for dir and logical pools (the
logical ones only here, the testbed has no LVM device it may use), the refusal to remove a
pool holding volumes, check mode and failures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import pool_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.pool_runner import ensure_pool

READS = ("read_pool", "logical_sources")
SIZES = {"capacity": 1000, "allocation": 100, "available": 900}
SOURCES = ("<sources><source><device path='/dev/vdb'/><name>vg_guests</name>"
           "<format type='lvm2'/></source></sources>")


class FakePools:
    def __init__(self):
        self.pools = {}
        self.calls = []
        self.fail = {}
        self.sources = SOURCES

    def _record(self, name, *args, **kwargs):
        self.calls.append((name,) + args + tuple(sorted(kwargs.items())))
        if name in self.fail:
            raise GhostError(self.fail[name])

    def changes(self):
        return [call for call in self.calls if call[0] not in READS]

    def add(self, name, fields, *, active=True, autostart=True, volumes=(), persistent=True):
        xml = spec.build_pool(fields, name=name).replace("</name>", "</name><uuid>uuid-%s</uuid>" % name, 1)
        self.pools[name] = {"xml": xml, "active": active, "autostart": autostart,
                            "persistent": persistent, "volumes": sorted(volumes)}

    def read_pool(self, name):
        self._record("read_pool", name)
        pool = self.pools.get(name)
        if pool is None:
            return None
        found = dict(pool)
        found["sizes"] = dict(SIZES) if pool["active"] else None
        found["volumes"] = list(pool["volumes"]) if pool["active"] else None
        return found

    def logical_sources(self):
        self._record("logical_sources")
        return self.sources

    def define(self, name, xml):
        self._record("define", name)
        if name in self.pools:
            self.pools[name].update(xml=xml, persistent=True)
        else:
            self.pools[name] = {"xml": xml.replace("</name>", "</name><uuid>uuid-%s</uuid>" % name, 1),
                                "active": False, "autostart": False, "persistent": True, "volumes": []}

    def build(self, name, **kwargs):
        self._record("build", name, **kwargs)

    def start(self, name):
        self._record("start", name)
        self.pools[name]["active"] = True

    def stop(self, name):
        self._record("stop", name)
        self.pools[name]["active"] = False

    def delete_storage(self, name):
        self._record("delete_storage", name)

    def undefine(self, name):
        self._record("undefine", name)
        del self.pools[name]

    def set_autostart(self, name, value):
        self._record("set_autostart", name, value)
        self.pools[name]["autostart"] = value

    def delete_volume(self, pool, name):
        self._record("delete_volume", pool, name)
        self.pools[pool]["volumes"].remove(name)


DIR = {"type": "dir", "path": "/srv/images", "volume_group": None, "source_devices": []}


def params(**over):
    base = {"uri": "qemu:///system", "name": "images", "state": "present", "type": None, "path": None,
            "volume_group": None, "source_devices": None, "autostart": None, "delete_volumes": False}
    base.update(over)
    return base


@pytest.fixture
def client():
    return FakePools()


def run(client, check_mode=False, diff=False, **options):
    return ensure_pool(client, params(**options), check_mode=check_mode, diff=diff)


def names(calls):
    return [call[0] for call in calls]


# -- present -----------------------------------------------------------------------------


def test_check_mode_creates_nothing(client):
    result = run(client, check_mode=True, diff=True, path="/srv/images")
    assert client.changes() == [] and client.pools == {}
    assert result["actions"] == ["define", "build (create directory /srv/images)", "start",
                                 "set autostart on"]
    assert result["pool"]["uuid"] is None and result["pool"]["active"] is True
    assert result["diff"]["before"] == "" and "<path>/srv/images</path>" in result["diff"]["after"]


def test_dir_pool_is_defined_built_started_then_left_alone(client):
    result = run(client, path="/srv/images")
    assert names(client.changes()) == ["define", "build", "start", "set_autostart"]
    assert result["pool"]["uuid"] == "uuid-images" and result["pool"]["capacity"] == 1000
    assert result["pool"]["volumes"] == 0
    client.calls = []
    again = run(client, path="/srv/images")
    assert again["changed"] is False and client.changes() == []
    assert run(client)["changed"] is False  # the path need not be repeated


def test_an_inactive_dir_pool_is_built_and_started(client):
    client.add("images", DIR, active=False)
    result = run(client)
    assert result["actions"] == ["build (create directory /srv/images)", "start"]


def test_a_pool_that_cannot_start_is_undefined_again(client):
    client.fail["start"] = "Failed to start storage pool 'images': cannot open directory"
    with pytest.raises(GhostError, match="cannot open directory"):
        run(client, path="/srv/images")
    assert client.pools == {} and names(client.changes())[-1] == "undefine"


def test_a_storage_change_is_refused_before_anything_changes(client):
    client.add("images", DIR)
    with pytest.raises(GhostError) as info:
        run(client, path="/srv/other")
    assert info.value.option == "path" and client.changes() == []


def test_autostart(client):
    client.add("images", DIR, autostart=False)
    assert run(client)["changed"] is False
    assert run(client, autostart=True)["actions"] == ["set autostart on"]
    assert run(client, path="/srv/images", name="new", autostart=False)["actions"] == [
        "define", "build (create directory /srv/images)", "start"]


def test_a_transient_pool_is_made_persistent(client):
    client.add("images", DIR, persistent=False)
    assert run(client)["actions"] == ["define (make the running pool persistent)"]


def test_logical_pool_on_an_existing_volume_group_is_not_built(client):
    result = run(client, name="guests", type="logical", volume_group="vg_guests")
    assert names(client.changes()) == ["define", "start", "set_autostart"]
    assert result["pool"]["path"] == "/dev/vg_guests" and result["pool"]["type"] == "logical"


def test_logical_pool_builds_a_missing_volume_group_without_overwriting(client):
    result = run(client, name="fast", type="logical", source_devices=["/dev/vdd"])
    assert ("build", "fast", ("no_overwrite", True)) in client.calls
    assert result["actions"][1] == "build (create volume group fast on /dev/vdd)"


def test_logical_pool_without_a_volume_group_or_devices_is_refused(client):
    with pytest.raises(GhostError) as info:
        run(client, name="fast", type="logical")
    assert info.value.option == "volume_group" and client.changes() == []


def test_logical_check_mode_only_reads_the_volume_groups(client):
    result = run(client, check_mode=True, name="fast", type="logical", source_devices=["/dev/vdd"])
    assert client.changes() == [] and "logical_sources" in names(client.calls)
    assert result["actions"][:2] == ["define", "build (create volume group fast on /dev/vdd)"]


# -- absent ------------------------------------------------------------------------------


def test_absent_refuses_a_pool_holding_volumes(client):
    client.add("images", DIR, volumes=["v%d.qcow2" % i for i in range(7)])
    with pytest.raises(GhostError) as info:
        run(client, state="absent")
    message = str(info.value)
    assert message.startswith("Failed to remove storage pool 'images': it holds 7 volume(s)")
    assert "v0.qcow2, v1.qcow2, v2.qcow2, v3.qcow2, v4.qcow2, ..." in message
    assert "delete_volumes=true" in message and info.value.details["volumes"][6] == "v6.qcow2"
    assert client.changes() == []


def test_absent_with_delete_volumes(client):
    client.add("images", DIR, volumes=["a.qcow2", "b.iso"])
    result = run(client, state="absent", delete_volumes=True, diff=True)
    assert result["actions"] == ["delete volume images/a.qcow2", "delete volume images/b.iso", "stop",
                                 "delete directory /srv/images", "undefine"]
    assert client.pools == {} and result["pool"]["state"] == "absent"
    assert result["pool"]["uuid"] == "uuid-images" and result["diff"]["after"] == ""
    assert run(client, state="absent")["changed"] is False


def test_absent_keeps_going_when_the_directory_stays(client):
    client.add("images", DIR)
    client.fail["delete_storage"] = "Failed to delete the storage of storage pool 'images': busy"
    result = run(client, state="absent")
    assert client.pools == {} and "was kept" in result["warnings"][0]


def test_an_inactive_pool_is_started_to_list_its_volumes(client):
    client.add("images", DIR, active=False, volumes=["a.qcow2"])
    with pytest.raises(GhostError, match="holds 1 volume"):
        run(client, state="absent")
    assert names(client.changes()) == ["start", "stop"]  # left as it was
    assert client.pools["images"]["active"] is False


def test_an_inactive_pool_that_cannot_start_is_only_undefined(client):
    client.add("images", DIR, active=False)
    client.fail["start"] = "Failed to start storage pool 'images': cannot open directory"
    result = run(client, state="absent")
    assert result["actions"] == ["undefine"] and "only its definition" in result["warnings"][0]


def test_check_mode_absent_of_an_inactive_pool_warns(client):
    client.add("images", DIR, active=False, volumes=["a.qcow2"])
    result = run(client, state="absent", check_mode=True)
    assert result["actions"] == ["undefine"] and client.changes() == []
    assert "check mode does not start it" in result["warnings"][0]


def test_a_logical_pool_keeps_its_volume_group(client):
    client.add("guests", {"type": "logical", "path": "/dev/vg_guests", "volume_group": "vg_guests",
                          "source_devices": []}, volumes=["lv1"])
    result = run(client, name="guests", state="absent", delete_volumes=True)
    assert result["actions"] == ["delete volume guests/lv1", "stop", "undefine"]
