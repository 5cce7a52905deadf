# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/spec.py: host and group names, address choice, filters and the cache key digest."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec


@pytest.mark.parametrize("parts, expected", [
    (("vsphere", "poweredOn"), "vsphere_poweredon"),
    (("libvirt", "host", "kvm-1.lab.example.com"), "libvirt_host_kvm_1_lab_example_com"),
    (("kubevirt", "namespace", "team-a"), "kubevirt_namespace_team_a"),
    (("9lives",), "_9lives"),
    (("kubevirt", None, "", "x"), "kubevirt_x"),
])
def test_group_name_is_valid_for_ansible(parts, expected):
    assert spec.group_name(*parts) == expected


@pytest.mark.parametrize("addresses, expected", [
    (["169.254.0.5", "fe80::1", "192.0.2.10"], "192.0.2.10"),
    (["2001:db8::5", "198.51.100.7/24"], "198.51.100.7"),
    (["2001:db8::5%eth0"], "2001:db8::5"),
    (["127.0.0.1", "0.0.0.0", "224.0.0.1", "fe80::2", "not-an-ip"], None),
    ([], None),
    (None, None),
])
def test_first_address_prefers_reachable_ipv4(addresses, expected):
    assert spec.first_address(addresses) == expected


@pytest.mark.parametrize("value, ok", [
    ("192.0.2.10", True),
    ("2001:db8::1", True),
    ("web1.lab.example.com", True),
    ("web1", True),
    ("web1.lab.example.com.", True),
    ("", False),
    ("#cloud-config\npassword: hunter2", False),
    ("s3cr3t token", False),
    ("H4sIAAAAAAAA/+1YW2/bOBZ+z68g+tCdAdrxJb1MjO0C", False),
    ("-leading-dash", False),
    ("a" * 64, False),
    ("192.0.2.0/24", False),
    (None, False),
    (42, False),
])
def test_is_host_address_refuses_anything_but_an_address_or_dns_name(value, ok):
    assert spec.is_host_address(value) is ok


def test_choose_address_takes_the_first_source_with_a_value():
    candidates = {"guest_ip": None, "guestinfo.ip": "192.0.2.5", "name": "web1"}
    assert spec.choose_address(["guest_ip", "guestinfo.ip", "name"], candidates) == ("192.0.2.5", "guestinfo.ip")
    assert spec.choose_address(["name", "guestinfo.ip"], candidates) == ("web1", "name")
    assert spec.choose_address(["guest_ip"], candidates) == (None, None)


def test_check_sources_names_the_option_and_the_choices():
    assert spec.check_sources(["guest_ip", "guestinfo.ip"], ("guest_ip", "name"), option="srcs",
                              prefixes=("guestinfo.",)) == ["guest_ip", "guestinfo.ip"]
    with pytest.raises(GhostError) as err:
        spec.check_sources(["guest-ip"], ("guest_ip", "name"), option="srcs", prefixes=("guestinfo.",))
    assert str(err.value) == "srcs: unknown source 'guest-ip' (choices: guest_ip, name, guestinfo.<key>)"
    with pytest.raises(GhostError, match="listed twice"):
        spec.check_sources(["name", "name"], ("name",), option="srcs")
    with pytest.raises(GhostError, match="^srcs: must name at least one source"):
        spec.check_sources([], ("name",), option="srcs")
    with pytest.raises(GhostError, match="unknown source 'guestinfo.'"):
        spec.check_sources(["guestinfo."], ("name",), option="srcs", prefixes=("guestinfo.",))


def test_name_format_fields_are_checked():
    fields = ("host", "domain", "uuid")
    assert spec.check_name_format("{host}_{domain}", fields, option="name_format") == "{host}_{domain}"
    with pytest.raises(GhostError) as err:
        spec.check_name_format("{hots}_{domain}", fields, option="name_format")
    assert str(err.value) == "name_format: unknown field '{hots}' in '{hots}_{domain}' (fields: {host}, {domain}, {uuid})"
    with pytest.raises(GhostError, match="names no field"):
        spec.check_name_format("web", fields, option="name_format")
    with pytest.raises(GhostError, match="not a valid format"):
        spec.check_name_format("{host", fields, option="name_format")
    with pytest.raises(GhostError, match="non-empty string"):
        spec.check_name_format("", fields, option="name_format")
    assert spec.format_name("{host}_{domain}", {"host": "kvm1", "domain": "web", "uuid": None}) == "kvm1_web"


def test_unique_names_suffix_every_host_of_a_shared_name():
    records = [{"name": "web", "id": "vm-1"}, {"name": "web", "id": "vm-2"}, {"name": "db", "id": "vm-3"}]
    assert spec.unique_names(records, lambda r: r["id"]) == ["web"]
    assert [r["name"] for r in records] == ["web_vm-1", "web_vm-2", "db"]


def test_name_matches_includes_and_excludes():
    assert spec.name_matches("web1")
    assert spec.name_matches("web1", ["web*", "db*"])
    assert not spec.name_matches("Web1", ["web*"])
    assert not spec.name_matches("web-old", ["web*"], ["*-old"])
    assert not spec.name_matches(None, ["web*"])


def test_source_key_changes_with_shape_options_but_never_holds_a_secret():
    base = {"names": ["web*"], "password": "hunter2", "hostname": "vc1"}
    key = spec.source_key(base, secret=("password",))
    assert key == spec.source_key(dict(base, password="other"), secret=("password",))
    assert key != spec.source_key(dict(base, names=["db*"]), secret=("password",))
    assert len(key) == 12 and "hunter2" not in key


def test_host_record_sorts_and_dedupes_groups():
    assert spec.host_record("h", {"a": 1}, ["b", "a", "b", ""]) == {"name": "h", "vars": {"a": 1}, "groups": ["a", "b"]}
    assert spec.prefixed("vsphere_", {"name": "x"}) == {"vsphere_name": "x"}
    assert spec.prefixed(None, {"name": "x"}) == {"name": "x"}
