# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/network_spec.py: options, wanted fields and their checks, comparison, state plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_spec as spec

H1 = {"mac": "52:54:00:00:00:01", "ip": "203.0.113.11", "name": "web1"}
H2 = {"mac": "52:54:00:00:00:02", "ip": "203.0.113.12", "name": None}


def params(**over):
    base = {"name": "lab", "state": "started", "mode": None, "bridge": None, "ip": None,
            "dhcp": None, "hosts": None, "autostart": None, "restart": False}
    base.update(over)
    return base


def current(**over):
    fields = {"name": "lab", "uuid": "u-1", "mode": "isolated", "bridge": "virbr7",
              "ip": "203.0.113.1/26", "dhcp_ranges": [{"start": "203.0.113.20", "end": "203.0.113.40"}],
              "hosts": [dict(H1)]}
    fields.update(over)
    return fields


def error_of(func, *args, **kwargs):
    with pytest.raises(GhostError) as info:
        func(*args, **kwargs)
    return info.value


def wanted(cur=None, **options):
    return spec.desired_fields(cur, spec.requested_fields(params(**options)))


# -- options on their own ----------------------------------------------------------------


def test_unset_options_request_nothing():
    assert spec.requested_fields(params()) == {}


def test_options_are_normalized():
    got = spec.requested_fields(params(
        mode="nat", bridge="virbr-lab", ip=" 203.0.113.1/255.255.255.192 ",
        dhcp={"start": "203.0.113.20", "end": "203.0.113.40"},
        hosts=[{"mac": "52-54-00-00-00-02", "ip": "203.0.113.12", "name": None},
               {"mac": "52:54:00:00:00:01", "ip": "203.0.113.11", "name": "web1"}]))
    assert got == {"mode": "nat", "bridge": "virbr-lab", "ip": "203.0.113.1/26",
                   "dhcp_ranges": [{"start": "203.0.113.20", "end": "203.0.113.40"}],
                   "hosts": [H1, H2]}  # sorted by MAC


def test_empty_dhcp_and_hosts_remove_them():
    got = spec.requested_fields(params(dhcp={"start": None, "end": None}, hosts=[]))
    assert got == {"dhcp_ranges": [], "hosts": []}


@pytest.mark.parametrize("options, option, words", [
    ({"name": "bad/name"}, "name", "not a valid network name"),
    ({"name": ""}, "name", "not a valid network name"),
    ({"mode": "route"}, "mode", "isolated, nat, bridge, open"),
    ({"bridge": "a-bridge-name-too-long"}, "bridge", "Linux interface name"),
    ({"bridge": "br 0"}, "bridge", "Linux interface name"),
    ({"ip": "203.0.113.1"}, "ip", "no prefix length"),
    ({"ip": "203.0.113.300/24"}, "ip", "not an IPv4 address with a prefix"),
    ({"ip": "2001:db8::1/64"}, "ip", "not an IPv4 address with a prefix"),
    ({"ip": "203.0.113.1/31"}, "ip", "prefix length of 30 or less"),
    ({"ip": "203.0.113.0/24"}, "ip", "is the network address"),
    ({"ip": "203.0.113.255/24"}, "ip", "is the broadcast address"),
    ({"dhcp": {"start": "203.0.113.20", "end": None}}, "dhcp", "set both start and end"),
    ({"dhcp": {"start": "x", "end": "203.0.113.40"}}, "dhcp.start", "not an IPv4 address"),
    ({"dhcp": {"start": "203.0.113.20", "end": "203.0.113"}}, "dhcp.end", "not an IPv4 address"),
    ({"hosts": [{"mac": "52:54:00:00:00", "ip": "203.0.113.11", "name": None}]},
     "hosts[0].mac", "not a MAC address"),
    ({"hosts": [{"mac": "01:00:5e:00:00:01", "ip": "203.0.113.11", "name": None}]},
     "hosts[0].mac", "multicast"),
    ({"hosts": [{"mac": "52:54:00:00:00:01", "ip": "nope", "name": None}]},
     "hosts[0].ip", "not an IPv4 address"),
    ({"hosts": [{"mac": "52:54:00:00:00:01", "ip": "203.0.113.11", "name": "web_1"}]},
     "hosts[0].name", "not a host name"),
    ({"hosts": [H1, dict(H1, ip="203.0.113.12", name="b")]}, "hosts[1].mac", "listed twice (also in hosts[0])"),
    ({"hosts": [H1, dict(H2, ip=H1["ip"])]}, "hosts[1].ip", "listed twice"),
    ({"hosts": [H1, dict(H2, name="WEB1")]}, "hosts[1].name", "listed twice"),
])
def test_bad_options_name_the_option(options, option, words):
    exc = error_of(spec.requested_fields, params(**options))
    assert exc.option == option and words in exc.msg, str(exc)
    assert str(exc).startswith(option + ": ")


# -- the options as a whole --------------------------------------------------------------


def test_a_new_network_is_isolated_and_libvirt_names_the_bridge():
    assert wanted(ip="203.0.113.1/26") == {"mode": "isolated", "bridge": None, "ip": "203.0.113.1/26",
                                           "dhcp_ranges": [], "hosts": []}
    assert wanted() == dict(spec.CREATE_DEFAULTS)  # isolated without an address: a plain L2 bridge


def test_unset_options_keep_the_current_fields():
    assert wanted(current()) == {key: current()[key] for key in spec.FIELDS}
    got = wanted(current(), hosts=[H2])
    assert got["hosts"] == [H2] and got["dhcp_ranges"] == current()["dhcp_ranges"]


@pytest.mark.parametrize("options, option, words", [
    ({"mode": "bridge"}, "bridge", "required with mode=bridge"),
    ({"mode": "bridge", "bridge": "br0", "ip": "203.0.113.1/24"}, "ip", "not allowed with mode=bridge"),
    ({"mode": "bridge", "bridge": "br0", "dhcp": {"start": None, "end": None},
      "hosts": [H1]}, "hosts", "not allowed with mode=bridge"),
    ({"mode": "nat"}, "ip", "required with mode=nat"),
    ({"mode": "open"}, "ip", "required with mode=open"),
    ({"dhcp": {"start": "203.0.113.20", "end": "203.0.113.40"}}, "dhcp", "needs ip"),
    ({"hosts": [H1]}, "hosts", "needs ip"),
    ({"ip": "203.0.113.1/26", "dhcp": {"start": "203.0.113.20", "end": "203.0.113.100"}},
     "dhcp.end", "outside the subnet 203.0.113.0/26 of ip 203.0.113.1/26"),
    ({"ip": "203.0.113.1/26", "dhcp": {"start": "203.0.113.0", "end": "203.0.113.10"}},
     "dhcp.start", "network address"),
    ({"ip": "203.0.113.1/26", "dhcp": {"start": "203.0.113.2", "end": "203.0.113.63"}},
     "dhcp.end", "broadcast address"),
    ({"ip": "203.0.113.1/26", "dhcp": {"start": "203.0.113.40", "end": "203.0.113.20"}},
     "dhcp", "starts at 203.0.113.40, after its end 203.0.113.20"),
    ({"ip": "203.0.113.30/26", "dhcp": {"start": "203.0.113.20", "end": "203.0.113.40"}},
     "dhcp", "holds the host's own address 203.0.113.30"),
    ({"ip": "203.0.113.1/26", "hosts": [H1, dict(H2, ip="203.0.113.64")]},
     "hosts[1].ip", "outside the subnet"),
    ({"ip": "203.0.113.1/26", "hosts": [dict(H1, ip="203.0.113.1")]},
     "hosts[0].ip", "the host's own address"),
])
def test_combinations_are_checked_naming_the_option(options, option, words):
    exc = error_of(wanted, None, **options)
    assert exc.option == option and words in exc.msg, str(exc)


def test_moving_ip_away_from_the_current_range_blames_ip():
    exc = error_of(wanted, current(), ip="198.51.100.1/24")
    assert exc.option == "ip"
    assert "the network's current DHCP range start" in exc.msg and "198.51.100.0/24" in exc.msg


def test_moving_ip_with_a_new_range_and_hosts_is_fine():
    got = wanted(current(), ip="198.51.100.1/24", dhcp={"start": "198.51.100.10", "end": "198.51.100.20"},
                 hosts=[])
    assert got["ip"] == "198.51.100.1/24" and got["hosts"] == []


def test_a_network_defined_by_hand_is_not_checked_where_the_run_does_not_touch_it():
    odd = current(dhcp_ranges=[{"start": "203.0.113.1", "end": "203.0.113.40"}])  # holds the host
    assert wanted(odd, autostart=True)["dhcp_ranges"] == odd["dhcp_ranges"]
    assert error_of(wanted, odd, ip="203.0.113.1/25").option == "ip"


def test_a_host_known_by_name_only_is_kept():
    by_name = {"mac": None, "ip": None, "name": "printer"}
    assert wanted(current(hosts=[by_name]), ip="203.0.113.1/25")["hosts"] == [by_name]


def test_to_bridge_mode_drops_address_dhcp_and_hosts():
    got = wanted(current(), mode="bridge", bridge="br0")
    assert got == {"mode": "bridge", "bridge": "br0", "ip": None, "dhcp_ranges": [], "hosts": []}


def test_from_bridge_mode_drops_the_host_bridge_unless_given():
    lan = {"mode": "bridge", "bridge": "br0", "ip": None, "dhcp_ranges": [], "hosts": []}
    assert wanted(lan, mode="isolated")["bridge"] is None
    assert wanted(lan, mode="isolated", bridge="virbr9")["bridge"] == "virbr9"
    assert wanted(lan, bridge="br1")["mode"] == "bridge"


def test_another_forward_mode_defined_by_hand_is_kept():
    routed = current(mode="route")
    assert wanted(routed, hosts=[H2])["mode"] == "route"


# -- comparison and live changes ---------------------------------------------------------


def test_changed_fields():
    assert spec.changed_fields(None, current()) == list(spec.FIELDS)
    assert spec.changed_fields(current(), current(uuid="other", name="x")) == []
    assert spec.changed_fields(current(hosts=[H1, H2]), current(hosts=[H2, H1])) == []  # order
    assert spec.changed_fields(current(), current(ip="203.0.113.2/26", hosts=[])) == ["ip", "hosts"]


def test_only_range_and_hosts_change_live():
    live = current()
    assert spec.restart_fields(live, current(dhcp_ranges=[], hosts=[H2])) == []
    assert spec.restart_fields(live, current(mode="nat", bridge="virbr8", ip="203.0.113.2/26")) == [
        "mode", "bridge", "ip"]


# -- state plan and view -----------------------------------------------------------------


@pytest.mark.parametrize("active, wanted_state, actions", [
    (False, "started", ["start"]), (True, "started", []),
    (True, "stopped", ["stop"]), (False, "stopped", []),
    (True, "present", []), (False, "present", []),
    (True, "absent", ["stop"]), (False, "absent", []),
])
def test_state_actions(active, wanted_state, actions):
    assert spec.state_actions(active=active, wanted=wanted_state) == actions


def test_resulting_state_of_present_follows_the_network():
    assert spec.resulting_state(exists=False, active=False, wanted="present") == "stopped"
    assert spec.resulting_state(exists=True, active=True, wanted="present") == "started"
    assert spec.resulting_state(exists=True, active=True, wanted="stopped") == "stopped"
    assert spec.resulting_state(exists=True, active=True, wanted="absent") == "absent"


def test_view_shows_the_first_range():
    two = current(dhcp_ranges=[{"start": "203.0.113.20", "end": "203.0.113.30"},
                               {"start": "203.0.113.40", "end": "203.0.113.50"}])
    view = spec.network_view(two, name="lab", uuid="u-1", state="started", autostart=1)
    assert view["dhcp"] == {"start": "203.0.113.20", "end": "203.0.113.30"}
    assert view["active"] is True and view["autostart"] is True and view["restart_required"] is False
    gone = spec.network_view(None, name="lab", uuid=None, state="absent", autostart=False)
    assert gone["active"] is False and gone["hosts"] == [] and gone["dhcp"] is None
