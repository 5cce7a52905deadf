# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.libvirt inventory plugin on stand-in URIs that count their reads: several
URIs, one of them down (warning and the others' hosts, or an error with strict), the cache."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleOptionsError, AnsibleParserError

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import libvirt_client

KVM1 = "qemu+ssh://virt@kvm1.lab.example.com/system"
KVM2 = "qemu+ssh://virt@kvm2.lab.example.com/system"


def domain(name, state="running", address=None, uuid=None, lifetime=None):
    mac = "52:54:00:00:00:%02x" % (len(name) % 256)
    metadata = {"base": None, "volumes": [], "reset": None, "lifetime": lifetime or {}}
    fields = {"name": name, "uuid": uuid or "uuid-" + name, "type": "kvm", "vcpus": 2, "memory_mb": 1024,
              "firmware": "bios", "kernel": None, "initrd": None, "cmdline": None, "console_log": None,
              "disks": [], "metadata": metadata, "restart_flag": False,
              "interfaces": [{"type": "network", "source": "default", "mac": mac, "model": "virtio"}]}
    return {"name": name, "state": state, "autostart": True, "fields": fields,
            "addresses": {"lease": {mac: [address]}} if address else {}}


class Hypervisors:
    def __init__(self):
        self.reads = []
        self.down = set()
        self.domains = {
            "qemu:///system": [domain("web", address="192.0.2.10"), domain("old", state="stopped")],
            KVM1: [domain("web", address="198.51.100.10", uuid="uuid-web-2")],
            KVM2: [domain("db")],
        }

    def read_uri(self, uri, *, sources, connect_timeout, client_class=None):
        self.reads.append((uri, tuple(sources), connect_timeout))
        if uri in self.down:
            raise GhostError("Failed to connect to libvirt '%s': Cannot recv data: Connection reset by peer" % uri)
        return [dict(d) for d in self.domains[uri]]


@pytest.fixture
def hvs(monkeypatch):
    fake = Hypervisors()
    monkeypatch.setattr(libvirt_client, "read_uri", fake.read_uri)
    monkeypatch.delenv("LIBVIRT_DEFAULT_URI", raising=False)
    return fake


SEVERAL = """\
plugin: ghost.infra.libvirt
uris: [qemu:///system, %s, %s]
aliases: {%s: kvm1}
keyed_groups:
  - key: libvirt_vcpus | string
    prefix: cpus
""" % (KVM1, KVM2, KVM1)


def test_several_uris_unique_names_groups_by_state_and_host(hvs, inventory_run):
    out = inventory_run("ghost.infra.libvirt", SEVERAL)
    assert [uri for uri, _sources, _timeout in hvs.reads] == ["qemu:///system", KVM1, KVM2]
    assert hvs.reads[0][1:] == (("lease", "agent", "arp"), 5)
    assert sorted(out.hosts) == ["kvm1_web", "kvm2.lab.example.com_db", "localhost_old", "localhost_web"]
    assert out.hosts["localhost_web"]["ansible_host"] == "192.0.2.10"
    assert out.hosts["kvm1_web"]["ansible_host"] == "198.51.100.10"
    assert out.hosts["kvm1_web"]["libvirt_uri"] == KVM1
    assert out.groups["libvirt_state_running"] == ["kvm1_web", "kvm2.lab.example.com_db", "localhost_web"]
    assert out.groups["libvirt_state_stopped"] == ["localhost_old"]
    assert out.groups["libvirt_host_kvm1"] == ["kvm1_web"]
    assert out.groups["libvirt_host_kvm2_lab_example_com"] == ["kvm2.lab.example.com_db"]
    assert out.groups["cpus_2"] == sorted(out.hosts)
    assert out.warnings == []


def test_default_uri_from_the_environment(hvs, inventory_run, monkeypatch):
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", KVM2)
    out = inventory_run("ghost.infra.libvirt", "plugin: ghost.infra.libvirt\naddress_sources: [agent]\n")
    assert hvs.reads == [(KVM2, ("agent",), 5)]
    assert sorted(out.hosts) == ["kvm2.lab.example.com_db"]


def test_one_uri_down_warns_and_keeps_the_others_not_cached(hvs, inventory_run, tmp_path):
    hvs.down = {KVM2}
    text = SEVERAL + "cache: true\ncache_plugin: jsonfile\ncache_connection: %s\n" % (tmp_path / "cache")
    out = inventory_run("ghost.infra.libvirt", text)
    assert sorted(out.hosts) == ["kvm1_web", "localhost_old", "localhost_web"]
    assert out.warnings == ["ghost.infra.libvirt: Failed to connect to libvirt '%s': Cannot recv data: Connection "
                            "reset by peer; the inventory lacks its hosts (strict: true makes this an error)" % KVM2]
    hvs.down = set()
    del hvs.reads[:]
    out = inventory_run("ghost.infra.libvirt", text)
    assert len(hvs.reads) == 3 and "kvm2.lab.example.com_db" in out.hosts
    del hvs.reads[:]
    again = inventory_run("ghost.infra.libvirt", text)
    assert hvs.reads == [] and again.hosts == out.hosts and again.groups == out.groups
    # A flushed refresh that fails in part does not leave the older full answer in the cache.
    hvs.down = {KVM1}
    flushed = inventory_run("ghost.infra.libvirt", text, cache=False)
    assert "kvm1_web" not in flushed.hosts and len(flushed.warnings) == 1
    hvs.down = set()
    del hvs.reads[:]
    inventory_run("ghost.infra.libvirt", text)
    assert len(hvs.reads) == 3


def test_one_uri_down_with_strict_is_an_error(hvs, inventory_run):
    hvs.down = {KVM1}
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.libvirt", SEVERAL + "strict: true\n")
    assert str(err.value) == ("ghost.infra.libvirt: Failed to connect to libvirt '%s': Cannot recv data: Connection "
                              "reset by peer" % KVM1)


def test_name_format_and_filters(hvs, inventory_run):
    out = inventory_run("ghost.infra.libvirt", SEVERAL + "name_format: '{domain}'\nstates: [running]\n")
    assert sorted(out.hosts) == ["db", "web_uuid-web", "web_uuid-web-2"]
    assert out.warnings == ["ghost.infra.libvirt: several domains would be named 'web' (set name_format or aliases); "
                            "their hosts are named 'web_<uuid>'"]


@pytest.mark.parametrize("extra, message", [
    # Ansible checks choices itself.
    ("address_sources: [dhcp]\n", "Invalid value ['dhcp'] for config 'address_sources' for 'ghost.infra.libvirt'"),
    ("address_sources: [agent, agent]\n", "ghost.infra.libvirt: address_sources: source 'agent' is listed twice"),
    ("aliases: {qemu:///session: s}\n", "ghost.infra.libvirt: aliases: 'qemu:///session' is not one of uris"),
    ("name_format: '{host}'\nuris: [kvm1]\n", "ghost.infra.libvirt: uris: 'kvm1' is not a libvirt URI"),
])
def test_bad_options_fail_before_any_read(hvs, inventory_run, extra, message):
    with pytest.raises((AnsibleParserError, AnsibleOptionsError)) as err:
        inventory_run("ghost.infra.libvirt", "plugin: ghost.infra.libvirt\n" + extra)
    assert str(err.value).startswith(message)
    assert hvs.reads == []


EXPIRY = """\
plugin: ghost.infra.libvirt
uris: [qemu:///system]
hostvars_prefix: lv_
"""


def test_expired_domains_are_in_the_group_expired(hvs, inventory_run):
    hvs.domains["qemu:///system"] = [
        domain("gone", lifetime={"ttl": "1s", "expires_at": "2020-01-01T00:00:00Z", "renewed_at": "2019-12-31T23:59:59Z"}),
        domain("later", state="stopped", lifetime={"expires_at": "2999-01-01T00:00:00Z"}),
        domain("forever")]
    out = inventory_run("ghost.infra.libvirt", EXPIRY)
    assert out.groups["expired"] == ["localhost_gone"]
    gone, later, forever = (out.hosts["localhost_%s" % n] for n in ("gone", "later", "forever"))
    assert (gone["lv_expires_at"], gone["lv_expired"], gone["lv_ttl"]) == ("2020-01-01T00:00:00Z", True, "1s")
    assert (later["lv_expires_at"], later["lv_expired"], later["lv_ttl"]) == ("2999-01-01T00:00:00Z", False, None)
    assert (forever["lv_expires_at"], forever["lv_expired"]) == (None, False)
