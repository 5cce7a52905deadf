# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/pool_spec.py: options, wanted fields, the XML of dir and logical pools (logical
pools are only tested here: the testbed has no LVM device it may use), volume group discovery."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import pool_spec as spec

# libvirt 9.0's inactive XML of an active dir pool and of a logical pool.
DIR_XML = """<pool type='dir'>
  <name>images</name>
  <uuid>619225b2-a8b3-43db-9648-6af461d56755</uuid>
  <capacity unit='bytes'>270553174016</capacity>
  <allocation unit='bytes'>25086545920</allocation>
  <available unit='bytes'>245466628096</available>
  <source>
  </source>
  <target>
    <path>/srv/images/</path>
    <permissions><mode>0711</mode><owner>0</owner><group>0</group></permissions>
  </target>
</pool>"""
LOGICAL_XML = """<pool type='logical'>
  <name>guests</name>
  <uuid>0d70a5e8-f579-4671-aa75-6ab67ab2fd90</uuid>
  <source>
    <device path='/dev/vdc'/>
    <device path='/dev/vdb'/>
    <name>vg_guests</name>
    <format type='lvm2'/>
  </source>
  <target>
    <path>/dev/vg_guests</path>
  </target>
</pool>"""
# virConnectFindStoragePoolSources("logical") on a host with two volume groups.
SOURCES_XML = """<sources>
  <source>
    <device path='/dev/vdb'/>
    <device path='/dev/vdc'/>
    <name>vg_guests</name>
    <format type='lvm2'/>
  </source>
  <source>
    <device path='/dev/sda3'/>
    <name>vg_root</name>
    <format type='lvm2'/>
  </source>
</sources>"""


def params(**over):
    base = {"name": "images", "state": "present", "type": None, "path": None, "volume_group": None,
            "source_devices": None, "autostart": None, "delete_volumes": False}
    base.update(over)
    return base


def wanted(current=None, name="images", **options):
    return spec.desired_fields(current, spec.requested_fields(params(name=name, **options)), name=name)


def error_of(func, *args, **kwargs):
    with pytest.raises(GhostError) as info:
        func(*args, **kwargs)
    return info.value


def test_parse_dir_pool():
    assert spec.parse_pool(DIR_XML) == {
        "name": "images", "uuid": "619225b2-a8b3-43db-9648-6af461d56755", "type": "dir",
        "path": "/srv/images", "volume_group": None, "source_devices": []}


def test_parse_logical_pool():
    got = spec.parse_pool(LOGICAL_XML)
    assert (got["type"], got["path"], got["volume_group"], got["source_devices"]) == (
        "logical", "/dev/vg_guests", "vg_guests", ["/dev/vdb", "/dev/vdc"])
    unnamed = spec.parse_pool("<pool type='logical'><name>guests</name><source/></pool>")
    assert unnamed["volume_group"] == "guests"  # libvirt's default: the pool's name


def test_new_dir_pool_and_its_xml():
    fields = wanted(path="/srv/images//")
    assert fields == {"type": "dir", "path": "/srv/images", "volume_group": None, "source_devices": []}
    root = ET.fromstring(spec.build_pool(fields, name="images"))
    assert root.get("type") == "dir" and root.findtext("name") == "images"
    assert root.findtext("target/path") == "/srv/images" and root.find("source") is None
    assert {k: v for k, v in spec.parse_pool(ET.tostring(root, encoding="unicode")).items()
            if k in spec.FIELDS} == fields


def test_new_logical_pool_and_its_xml():
    fields = wanted(name="fast", type="logical", source_devices=["/dev/nvme1n1", "/dev/nvme0n1"])
    assert fields == {"type": "logical", "path": "/dev/fast", "volume_group": "fast",
                      "source_devices": ["/dev/nvme0n1", "/dev/nvme1n1"]}
    xml = spec.build_pool(fields, name="fast")
    root = ET.fromstring(xml)
    assert [d.get("path") for d in root.findall("source/device")] == ["/dev/nvme0n1", "/dev/nvme1n1"]
    assert root.findtext("source/name") == "fast" and root.find("source/format").get("type") == "lvm2"
    assert root.findtext("target/path") == "/dev/fast"
    assert {k: v for k, v in spec.parse_pool(xml).items() if k in spec.FIELDS} == fields
    named = wanted(name="guests", type="logical", volume_group="vg_guests", path="/dev/vg_guests")
    assert named["path"] == "/dev/vg_guests" and named["source_devices"] == []


@pytest.mark.parametrize("options, option, words", [
    ({"name": "a/b"}, "name", "not a valid storage pool name"),
    ({"type": "zfs"}, "type", "dir, logical"),
    ({"path": "relative/dir"}, "path", "not an absolute path"),
    ({"path": "/srv/../etc"}, "path", "goes up with '..'"),
    ({"path": "/"}, "path", "cannot be a storage pool's directory"),
    ({"volume_group": "-vg"}, "volume_group", "not an LVM volume group name"),
    ({"volume_group": ".."}, "volume_group", "not an LVM volume group name"),
    ({"source_devices": ["/dev/vdb", "vdc"]}, "source_devices[1]", "not an absolute path"),
    ({"source_devices": ["/dev/vdb", "/dev//vdb"]}, "source_devices[1]", "listed twice"),
])
def test_bad_options_name_the_option(options, option, words):
    exc = error_of(spec.requested_fields, params(**options))
    assert exc.option == option and words in exc.msg, str(exc)


@pytest.mark.parametrize("options, option, words", [
    ({}, "path", "required to create a dir pool"),
    ({"path": "/srv/x", "volume_group": "vg"}, "volume_group", "only for type=logical"),
    ({"path": "/srv/x", "source_devices": ["/dev/vdb"]}, "source_devices", "only for type=logical"),
    ({"type": "logical", "volume_group": "vg", "path": "/srv/x"}, "path", "/dev/<volume_group>, here /dev/vg"),
])
def test_new_pool_combinations(options, option, words):
    exc = error_of(wanted, None, **options)
    assert exc.option == option and words in exc.msg, str(exc)


def test_a_pool_name_that_is_no_volume_group_name_needs_volume_group():
    exc = error_of(wanted, None, name="-odd", type="logical")
    assert exc.option == "name"  # the name itself is refused first
    exc = error_of(spec.desired_fields, None, {"type": "logical"}, name="a" * 200)
    assert exc.option == "volume_group"


def test_an_existing_pool_keeps_its_storage():
    current = spec.parse_pool(DIR_XML)
    assert wanted(current) == {k: current[k] for k in spec.FIELDS}
    assert wanted(current, path="/srv/images/") == wanted(current)  # the same directory
    for options, option in (({"path": "/srv/other"}, "path"), ({"type": "logical"}, "type")):
        exc = error_of(wanted, current, **options)
        assert exc.option == option and "cannot change in place" in exc.msg
        assert "state=absent" in exc.msg
    logical = spec.parse_pool(LOGICAL_XML)
    assert wanted(logical, name="guests", source_devices=["/dev/vdc", "/dev/vdb"])["type"] == "logical"
    exc = error_of(wanted, logical, name="guests", source_devices=["/dev/vdb"])
    assert exc.option == "source_devices" and "/dev/vdb, /dev/vdc" in exc.msg


def test_logical_sources_and_plan():
    sources = spec.parse_logical_sources(SOURCES_XML)
    assert sources == {"vg_guests": ["/dev/vdb", "/dev/vdc"], "vg_root": ["/dev/sda3"]}
    assert spec.parse_logical_sources("") == {}
    existing = {"type": "logical", "volume_group": "vg_guests", "source_devices": []}
    assert spec.logical_plan(existing, sources) == "use"
    assert spec.logical_plan(dict(existing, source_devices=["/dev/vdb", "/dev/vdc"]), sources) == "use"
    exc = error_of(spec.logical_plan, dict(existing, source_devices=["/dev/vdd"]), sources)
    assert exc.option == "source_devices" and "exists on /dev/vdb, /dev/vdc, not on /dev/vdd" in exc.msg
    new = {"type": "logical", "volume_group": "vg_new", "source_devices": ["/dev/vdd"]}
    assert spec.logical_plan(new, sources) == "build"
    exc = error_of(spec.logical_plan, dict(new, source_devices=[]), sources)
    assert exc.option == "volume_group" and "give source_devices to create it" in exc.msg


def test_view():
    view = spec.pool_view(spec.parse_pool(DIR_XML), name="images", uuid="u", active=1, autostart=0,
                          sizes={"capacity": 3, "allocation": 1, "available": 2}, volumes=["a", "b"])
    assert view["state"] == "present" and view["active"] is True and view["autostart"] is False
    assert (view["capacity"], view["available"], view["volumes"]) == (3, 2, 2)
    gone = spec.pool_view(None, name="images", uuid=None, active=False, autostart=False)
    assert gone["state"] == "absent" and gone["volumes"] is None and gone["capacity"] is None
