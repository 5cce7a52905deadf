# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/network_runner.py against a stand-in client that keeps a persistent and a live
definition per network, as libvirt does: what is called, in which order, and what check mode,
--diff and failures do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_xml as nx
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_runner import ensure_network

H1 = {"mac": "52:54:00:00:00:01", "ip": "203.0.113.11", "name": "web1"}
H2 = {"mac": "52:54:00:00:00:02", "ip": "203.0.113.12", "name": None}
READS = ("read_network",)


class FakeNetworks:
    """Networks as libvirt keeps them: a persistent definition and, while active, a live one."""

    def __init__(self):
        self.nets = {}
        self.calls = []
        self.fail = {}

    def _record(self, name, *args):
        self.calls.append((name,) + args)
        if name in self.fail:
            raise GhostError(self.fail[name])

    def changes(self):
        return [call for call in self.calls if call[0] not in READS]

    def add(self, name, xml, *, active=True, autostart=True, persistent=True):
        root = ET.fromstring(xml)
        if root.find("uuid") is None:
            ET.SubElement(root, "uuid").text = "uuid-" + name
        xml = ET.tostring(root, encoding="unicode")
        self.nets[name] = {"xml": xml, "live_xml": xml if active else None, "active": active,
                           "autostart": autostart, "persistent": persistent}

    def read_network(self, name):
        self._record("read_network", name)
        net = self.nets.get(name)
        return dict(net) if net else None

    def define(self, name, xml):
        self._record("define", name)
        if name in self.nets:
            net = self.nets[name]
            net.update(xml=xml, persistent=True)  # a running network keeps its live definition
        else:
            self.add(name, xml, active=False, autostart=False)

    def undefine(self, name):
        self._record("undefine", name)
        net = self.nets[name]
        if net["active"]:
            net["persistent"] = False
        else:
            del self.nets[name]

    def start(self, name):
        self._record("start", name)
        net = self.nets[name]
        net.update(active=True, live_xml=net["xml"])

    def stop(self, name):
        self._record("stop", name)
        net = self.nets[name]
        if not net["persistent"]:
            del self.nets[name]
        else:
            net.update(active=False, live_xml=None)

    def set_autostart(self, name, value):
        self._record("set_autostart", name, value)
        self.nets[name]["autostart"] = value

    def update_live(self, name, operation):
        self._record("update_live", name, operation["command"], operation["section"], operation["xml"])
        net = self.nets[name]
        fields = nx.parse_network(net["live_xml"])
        attrs = ET.fromstring(operation["xml"]).attrib
        if operation["section"] == "ip-dhcp-range":
            key, item = "dhcp_ranges", {"start": attrs["start"], "end": attrs["end"]}
        else:
            key, item = "hosts", {"mac": attrs.get("mac"), "ip": attrs.get("ip"), "name": attrs.get("name")}
        if operation["command"] == "delete":
            fields[key] = [x for x in fields[key] if x != item]
        else:
            assert item not in fields[key]
            fields[key] = fields[key] + [item]
        net["live_xml"] = nx.patch_network(net["live_xml"], fields, name=name)


def params(**over):
    base = {"uri": "qemu:///system", "name": "lab", "state": "started", "mode": None, "bridge": None,
            "ip": None, "dhcp": None, "hosts": None, "autostart": None, "restart": False}
    base.update(over)
    return base


LAB = {"ip": "203.0.113.1/26", "dhcp": {"start": "203.0.113.20", "end": "203.0.113.40"},
       "hosts": [dict(H1)]}
LAB_XML = ("<network><name>lab</name><uuid>u-lab</uuid><bridge name='virbr7' stp='on' delay='0'/>"
           "<ip address='203.0.113.1' prefix='26'><dhcp><range start='203.0.113.20' end='203.0.113.40'/>"
           "<host mac='52:54:00:00:00:01' name='web1' ip='203.0.113.11'/></dhcp></ip></network>")


@pytest.fixture
def client():
    return FakeNetworks()


def run(client, check_mode=False, diff=False, **options):
    return ensure_network(client, params(**options), check_mode=check_mode, diff=diff)


def live_and_persistent(client, name="lab"):
    net = client.nets[name]
    return nx.parse_network(net["live_xml"]) if net["live_xml"] else None, nx.parse_network(net["xml"])


# -- create --------------------------------------------------------------------------------


def test_check_mode_creates_nothing_and_says_what_it_would_do(client):
    result = run(client, check_mode=True, diff=True, **LAB)
    assert client.changes() == [] and client.nets == {}
    assert result["changed"] is True
    assert result["actions"] == ["define", "start", "set autostart on"]
    assert result["network"]["uuid"] is None and result["network"]["state"] == "started"
    assert result["network"]["hosts"] == [H1]
    assert result["diff"]["before"] == "" and "<range start=\"203.0.113.20\"" in result["diff"]["after"]


def test_create_defines_starts_and_autostarts_then_does_nothing(client):
    first = run(client, **LAB)
    assert [c[0] for c in client.changes()] == ["define", "start", "set_autostart"]
    assert first["network"]["uuid"] == "uuid-lab" and first["network"]["active"] is True
    client.calls = []
    second = run(client, **LAB)
    assert second["changed"] is False and second["actions"] == [] and client.changes() == []
    assert second["network"] == first["network"]


def test_present_leaves_a_new_network_stopped_without_autostart(client):
    result = run(client, state="present", **LAB)
    assert result["actions"] == ["define"]
    assert result["network"]["state"] == "stopped" and result["network"]["autostart"] is False


def test_a_network_that_cannot_start_is_removed_again(client):
    client.fail["start"] = "Failed to start network 'lab': address in use"
    with pytest.raises(GhostError, match="address in use"):
        run(client, **LAB)
    assert client.nets == {} and ("undefine", "lab") in client.calls


def test_bad_options_fail_before_anything_changes(client):
    with pytest.raises(GhostError) as info:
        run(client, hosts=[dict(H1, mac="52:54:00:00:01")])
    assert info.value.option == "hosts[0].mac" and client.calls == []  # not even read
    with pytest.raises(GhostError) as info:
        run(client, ip="203.0.113.1/26", dhcp={"start": "203.0.113.50", "end": "203.0.113.40"})
    assert info.value.option == "dhcp" and client.changes() == []


# -- change a running network ------------------------------------------------------------


def test_dhcp_range_and_hosts_change_live_and_persistent(client):
    client.add("lab", LAB_XML)
    result = run(client, diff=True, dhcp={"start": "203.0.113.21", "end": "203.0.113.45"},
                 hosts=[H2, dict(H1, ip="203.0.113.13")])
    assert result["actions"] == [
        "update definition (dhcp_ranges, hosts)",
        "add DHCP range 203.0.113.21-203.0.113.45 (live)",
        "delete DHCP range 203.0.113.20-203.0.113.40 (live)",
        "delete DHCP host 52:54:00:00:00:01 203.0.113.11 web1 (live)",
        "add DHCP host 52:54:00:00:00:01 203.0.113.13 web1 (live)",
        "add DHCP host 52:54:00:00:00:02 203.0.113.12 (live)"]
    live, persistent = live_and_persistent(client)
    for fields in (live, persistent):
        assert fields["dhcp_ranges"] == [{"start": "203.0.113.21", "end": "203.0.113.45"}]
        assert fields["hosts"] == [dict(H1, ip="203.0.113.13"), H2]
    assert result["network"]["restart_required"] is False
    assert "restart required" not in result["diff"]["after"]
    client.calls = []
    assert run(client, dhcp={"start": "203.0.113.21", "end": "203.0.113.45"},
               hosts=[H2, dict(H1, ip="203.0.113.13")])["changed"] is False


def test_live_updates_catch_up_with_a_persistent_change_made_elsewhere(client):
    client.add("lab", LAB_XML)
    client.nets["lab"]["xml"] = nx.patch_network(
        LAB_XML, dict(nx.parse_network(LAB_XML), hosts=[]), name="lab")  # virsh net-update --config
    result = run(client, hosts=[])
    assert result["actions"] == ["delete DHCP host 52:54:00:00:00:01 203.0.113.11 web1 (live)"]
    assert live_and_persistent(client)[0]["hosts"] == []


def test_an_address_change_is_persistent_and_reported_as_restart_required(client):
    client.add("lab", LAB_XML)
    result = run(client, diff=True, ip="203.0.113.2/26", hosts=[H2])
    assert result["actions"] == ["update definition (ip, hosts)"]  # no live update: it restarts
    assert result["network"]["restart_required"] is True and result["network"]["ip"] == "203.0.113.2/26"
    assert "restart=true" in result["warnings"][0] and "old ip" in result["warnings"][0]
    assert "# restart required" in result["diff"]["after"]
    live, persistent = live_and_persistent(client)
    assert live["ip"] == "203.0.113.1/26" and persistent["ip"] == "203.0.113.2/26"
    # The next run has nothing to define, and still says a restart is due.
    again = run(client, ip="203.0.113.2/26", hosts=[H2])
    assert again["changed"] is False and again["network"]["restart_required"] is True


def test_restart_applies_the_change_now(client):
    client.add("lab", LAB_XML)
    result = run(client, ip="203.0.113.2/26", restart=True)
    assert result["actions"] == ["update definition (ip)", "restart (ip)"]
    assert [c[0] for c in client.changes()] == ["define", "stop", "start"]
    assert live_and_persistent(client)[0]["ip"] == "203.0.113.2/26"
    assert result["network"]["restart_required"] is False and "warnings" not in result


def test_check_mode_on_a_running_network_changes_nothing(client):
    client.add("lab", LAB_XML)
    result = run(client, check_mode=True, hosts=[], ip="203.0.113.2/26", restart=True)
    assert result["changed"] is True and client.changes() == []
    assert result["actions"] == ["update definition (ip, hosts)", "restart (ip)"]
    assert result["network"]["uuid"] == "u-lab" and result["network"]["hosts"] == []


def test_a_stopped_network_is_only_defined(client):
    client.add("lab", LAB_XML, active=False)
    result = run(client, state="stopped", hosts=[])
    assert result["actions"] == ["update definition (hosts)"]
    assert result["network"]["state"] == "stopped"


def test_stopping_a_running_network_skips_live_updates(client):
    client.add("lab", LAB_XML)
    result = run(client, state="stopped", hosts=[])
    assert result["actions"] == ["update definition (hosts)", "stop"]


def test_a_transient_network_is_made_persistent(client):
    client.add("lab", LAB_XML, persistent=False, autostart=False)
    result = run(client, autostart=True)
    assert result["actions"] == ["update definition (make the running network persistent)",
                                 "set autostart on"]
    assert client.nets["lab"]["persistent"] is True


def test_autostart_is_left_alone_unless_set(client):
    client.add("lab", LAB_XML, autostart=False)
    assert run(client)["changed"] is False
    assert run(client, autostart=True)["actions"] == ["set autostart on"]


# -- absent ------------------------------------------------------------------------------


def test_absent_stops_and_undefines(client):
    client.add("lab", LAB_XML)
    result = run(client, state="absent", diff=True)
    assert result["actions"] == ["stop", "undefine"] and client.nets == {}
    assert result["network"]["state"] == "absent" and result["network"]["uuid"] == "u-lab"
    assert result["diff"]["after"] == "" and "# state: started" in result["diff"]["before"]
    again = run(client, state="absent")
    assert again["changed"] is False and again["network"]["uuid"] is None


def test_absent_in_check_mode(client):
    client.add("lab", LAB_XML)
    result = run(client, state="absent", check_mode=True)
    assert result["actions"] == ["stop", "undefine"] and client.changes() == []
    assert "lab" in client.nets
