# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/runner.py against an in-memory stand-in for LibvirtClient (no libvirt needed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import read_nocloud_iso
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import AlreadyExists
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.runner import domain_info, ensure_domain
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import GIB
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import NS, parse_volume

HASH = "$6$saltsalt$" + "q" * 86
# Every call that changes libvirtd's state; "refresh_pool" and "probe_pool" stand for what
# LibvirtClient.volume_by_path(probe=True) does to find a file libvirt does not list yet.
MUTATING = ("define", "undefine", "start", "resume", "suspend", "shutdown", "destroy", "set_autostart",
            "set_live_metadata", "set_config_metadata", "block_resize", "create_volume", "upload_volume", "delete_volume",
            "resize_volume", "wakeup", "refresh_pool", "probe_pool")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeClient:
    """Keeps domains as XML like libvirtd does; ACPI is ignored unless ``acpi`` is True."""

    uri = "qemu:///system"

    def __init__(self):
        self.domains = {}
        self.pools = {"ghost": {"name": "ghost", "type": "dir", "path": "/pool", "capacity": 200 * GIB,
                                "available": 100 * GIB}}
        self.host = {"cpus": 2, "memory_total": 8 * GIB, "memory_free": 3 * GIB, "memory_cache": GIB}
        self.volumes = {("ghost", "base.qcow2"): {"name": "base.qcow2", "path": "/pool/base.qcow2", "format": "qcow2",
                                                  "capacity": GIB, "allocation": 1000, "backing": None,
                                                  "backing_format": None, "pool": "ghost"}}
        self.networks = {"isolated"}
        # Files on the hypervisor that no pool lists yet: {path: volume}.
        self.unlisted = {}
        self.calls = []
        self.acpi = False
        self.fail = {}
        self.uploads = {}
        self.before = {}  # {call name: function(*args)} run before that call: another run's turn
        self.guest_files = {}  # files in the guest, as the guest agent reads them

    def _log(self, name, *args):
        self.calls.append((name,) + args)
        hook = self.before.pop(name, None)
        if hook is not None:
            hook(*args)
        if name in self.fail:
            raise GhostError(self.fail[name])

    def mutations(self):
        return [c for c in self.calls if c[0] in MUTATING]

    # host / domains
    def capabilities(self):
        return {"arch": "x86_64", "kvm": True}

    def host_resources(self):
        self.calls.append(("host_resources",))
        return dict(self.host)

    def domain_exists(self, name):
        return name in self.domains

    def domain_xml(self, name, *, inactive):
        dom = self.domains[name]
        return dom["xml"] if inactive or dom["live"] is None else dom["live"]

    def domain_state(self, name):
        code = self.domains[name]["state"]
        return code, code in (1, 3)

    def domain_autostart(self, name):
        return self.domains[name]["autostart"]

    def define(self, name, xml):
        self._log("define", name)
        root = ET.fromstring(xml)
        if name in self.domains:
            # libvirt: a definition without the existing domain's UUID is refused.
            uuid = ET.fromstring(self.domains[name]["xml"]).findtext("uuid")
            if root.findtext("uuid") != uuid:
                raise GhostError("Failed to define domain '%s': operation failed: domain '%s' already "
                                 "exists with uuid %s" % (name, name, uuid))
        if root.find("uuid") is None:
            ET.SubElement(root, "uuid").text = "uuid-%s-%d" % (name, len(self.calls))
        dom = self.domains.setdefault(name, {"live": None, "state": 5, "autostart": False})
        dom["xml"] = ET.tostring(root, encoding="unicode")

    def undefine(self, name):
        self._log("undefine", name)
        del self.domains[name]

    def start(self, name, paused=False):
        self._log("start", name, paused)
        dom = self.domains[name]
        dom["live"], dom["state"] = dom["xml"], 3 if paused else 1

    def resume(self, name):
        self._log("resume", name)
        self.domains[name]["state"] = 1

    def suspend(self, name):
        self._log("suspend", name)
        self.domains[name]["state"] = 3

    def wakeup(self, name):
        self._log("wakeup", name)

    def shutdown(self, name):
        self._log("shutdown", name)
        if self.acpi:
            self.destroy(name)

    def destroy(self, name):
        self._log("destroy", name)
        self.domains[name]["live"], self.domains[name]["state"] = None, 5

    def set_autostart(self, name, value):
        self._log("set_autostart", name, value)
        self.domains[name]["autostart"] = value

    def set_live_metadata(self, name, xml, namespace, prefix):
        self._log("set_live_metadata", name)
        plain = ET.fromstring(xml)
        for element in plain.iter():
            element.tag = "{%s}%s" % (namespace, element.tag)
        live = ET.fromstring(self.domains[name]["live"])
        metadata = live.find("metadata")
        for old in list(metadata):
            metadata.remove(old)
        metadata.append(plain)
        self.domains[name]["live"] = ET.tostring(live, encoding="unicode")

    def set_config_metadata(self, name, xml, namespace, prefix):
        self._log("set_config_metadata", name)
        plain = ET.fromstring(xml)
        for element in plain.iter():
            element.tag = "{%s}%s" % (namespace, element.tag)
        persistent = ET.fromstring(self.domains[name]["xml"])
        metadata = persistent.find("metadata")
        for old in list(metadata):
            metadata.remove(old)
        metadata.append(plain)
        self.domains[name]["xml"] = ET.tostring(persistent, encoding="unicode")

    def block_resize(self, name, target, capacity):
        self._log("block_resize", name, target, capacity)
        for volume in self.volumes.values():
            if volume["name"] == "%s.qcow2" % name:
                volume["capacity"] = capacity

    def interface_addresses(self, name, sources=("lease", "agent", "arp")):
        self.calls.append(("interface_addresses", name, tuple(sources)))
        return {}

    def read_guest_file(self, name, path):
        self.calls.append(("read_guest_file", name, path))
        return self.guest_files.get(path)

    def list_domains(self, name=None):
        self.calls.append(("list_domains",))
        names = [name] if name else sorted(self.domains)
        return [(n, self.domains[n]["state"], self.domains[n]["autostart"], self.domain_xml(n, inactive=False))
                for n in names if n in self.domains]

    def network_exists(self, name):
        return name in self.networks

    def network_leases(self, name):
        return {}

    # storage
    def pool(self, name):
        if name not in self.pools:
            raise GhostError("Failed to find storage pool '%s': no such pool" % name, option="pool")
        return self.pools[name]

    def volume(self, pool, name):
        found = self.volumes.get((pool, name))
        return dict(found) if found else None

    def volume_by_path(self, path, *, probe=True):
        for volume in self.volumes.values():
            if volume["path"] == path:
                return dict(volume)
        if not probe or path not in self.unlisted:
            return None
        # As LibvirtClient: refresh the pool whose directory holds it, else a temporary pool.
        directory = path.rpartition("/")[0]
        pool = next((p for p in self.pools.values() if p["path"] == directory), None)
        self._log("refresh_pool" if pool else "probe_pool", directory)
        volume = dict(self.unlisted.pop(path), pool=pool["name"] if pool else None)
        if pool:
            self.volumes[(pool["name"], volume["name"])] = volume
        return dict(volume)

    def create_volume(self, pool, name, xml):
        self._log("create_volume", pool, name)
        if (pool, name) in self.volumes:
            raise AlreadyExists("Failed to create volume '%s/%s': it exists already" % (pool, name))
        parsed = parse_volume(xml)
        base = self.volume_by_path(parsed["backing"]) if parsed["backing"] else None
        parsed.update(path="/pool/" + name, pool=pool,
                      capacity=parsed["capacity"] or (base or {}).get("capacity"))
        self.volumes[(pool, name)] = parsed
        return dict(parsed)

    def upload_volume(self, pool, name, data):
        self._log("upload_volume", pool, name)
        self.uploads[name] = data

    def delete_volume(self, pool, name):
        self._log("delete_volume", pool, name)
        return self.volumes.pop((pool, name), None) is not None

    def resize_volume(self, pool, name, capacity):
        self._log("resize_volume", pool, name, capacity)
        self.volumes[(pool, name)]["capacity"] = capacity


def params(**over):
    base = {"name": "vm1", "state": "running", "vcpus": None, "memory_mb": 64, "domain_type": "kvm",
            "firmware": None, "autostart": None, "base_image": "ghost/base.qcow2", "pool": "ghost",
            "disk_gb": None, "cloud_init": {"hostname": "vm1", "password_hash": HASH}, "interfaces": None,
            "kernel": None, "initrd": None, "cmdline": None, "console_log": None, "wait_for_ip": False,
            "wait_timeout": 300, "shutdown_timeout": 5, "force": False, "strict_resources": False,
            "ip_source": "auto", "wait_for": []}
    base.update(over)
    return base


def run(client, check_mode=False, diff=False, **over):
    clock = Clock()
    return ensure_domain(client, params(**over), check_mode=check_mode, diff=diff, sleep=clock.sleep, clock=clock)


@pytest.fixture
def client():
    return FakeClient()


def test_check_mode_changes_nothing(client):
    result = run(client, check_mode=True, diff=True)
    assert result["changed"] is True
    assert client.mutations() == []
    assert result["actions"][0] == "create volume ghost/vm1.qcow2"
    assert result["actions"][1].startswith("write NoCloud seed ghost/vm1-cidata-")
    assert result["actions"][2:] == ["define", "start"]
    assert result == run(client, check_mode=True, diff=True)  # check mode is repeatable
    assert result["domain"]["state"] == "running" and result["domain"]["uuid"] is None
    assert result["domain"]["disks"][0]["backing"] == "/pool/base.qcow2"
    assert "<memory unit=\"KiB\">65536</memory>" in result["diff"]["after"]
    assert result["diff"]["before"] == ""


def test_create_then_rerun_is_unchanged(client):
    result = run(client)
    assert result["changed"] is True
    assert result["actions"][:3] == ["create volume ghost/vm1.qcow2", "write NoCloud seed ghost/%s"
                                     % result["domain"]["disks"][1]["path"].split("/")[-1], "define"]
    assert ("ghost", "vm1.qcow2") in client.volumes
    assert client.volumes[("ghost", "vm1.qcow2")]["backing"] == "/pool/base.qcow2"
    iso = client.uploads[result["domain"]["disks"][1]["path"].split("/")[-1]]
    assert iso[32768 + 40:32768 + 46] == b"cidata"
    assert HASH.encode() not in str(result).encode()
    assert client.domains["vm1"]["state"] == 1
    again = run(client)
    assert again["changed"] is False and again["actions"] == []
    assert again["domain"] == result["domain"]


def test_memory_change_on_a_running_domain_needs_a_restart(client):
    run(client)
    changed = run(client, memory_mb=128, diff=True)
    assert changed["changed"] is True
    assert changed["domain"]["restart_required"] is True and changed["domain"]["memory_mb"] == 128
    assert '<memory unit="KiB">65536</memory>' in changed["diff"]["before"]
    assert '<memory unit="KiB">131072</memory>' in changed["diff"]["after"]
    # The running definition is flagged, so the info module sees it with one XML read.
    assert domain_info(client)["domains"][0]["restart_required"] is True
    again = run(client, memory_mb=128)
    assert again["changed"] is False and again["domain"]["restart_required"] is True
    forced = run(client, memory_mb=128, force=True)
    assert forced["changed"] is True and forced["domain"]["restart_required"] is False
    assert "restart" in forced["actions"]
    assert domain_info(client)["domains"][0]["restart_required"] is False
    assert domain_info(client)["domains"][0]["memory_mb"] == 128


def test_stop_times_out_without_force_and_powers_off_with_it(client):
    run(client)
    with pytest.raises(GhostError) as err:
        run(client, state="stopped")
    assert "still running 5 s after the ACPI shutdown request; set force: true" in str(err.value)
    assert client.domains["vm1"]["state"] == 1
    result = run(client, state="stopped", force=True)
    assert result["domain"]["state"] == "stopped"
    assert result["actions"] == ["shutdown", "power off after 5 s"]


def test_graceful_stop(client):
    run(client)
    client.acpi = True
    result = run(client, state="stopped")
    assert result["actions"] == ["shutdown"] and client.domains["vm1"]["state"] == 5


def test_absent_deletes_volumes_before_the_definition(client):
    run(client)
    client.fail["delete_volume"] = "Failed to delete volume 'ghost/vm1.qcow2': busy"
    with pytest.raises(GhostError, match="busy"):
        run(client, state="absent")
    assert "vm1" in client.domains  # still there, with the record of its volumes
    del client.fail["delete_volume"]
    assert run(client, state="absent")["changed"] is True
    assert sorted(client.volumes) == [("ghost", "base.qcow2")] and client.domains == {}


def test_forced_restart_of_a_paused_domain_resumes_it_first(client):
    run(client, state="paused")
    client.acpi = True
    result = run(client, state="paused", memory_mb=128, force=True)
    assert result["domain"]["state"] == "paused" and not result["domain"]["restart_required"]
    names = [c[0] for c in client.calls]
    assert names[-4:] == ["resume", "shutdown", "destroy", "start"]
    assert client.calls[-1] == ("start", "vm1", True)


def test_paused_and_back(client):
    run(client, state="present")
    assert client.domains["vm1"]["state"] == 5
    assert run(client, state="paused")["actions"] == ["start_paused"]
    assert run(client, state="running")["actions"] == ["resume"]
    assert run(client, state="paused")["actions"] == ["suspend"]


def test_unknown_network_fails_before_any_volume(client):
    with pytest.raises(GhostError) as err:
        run(client, interfaces=[{"network": "nope"}])
    assert str(err.value) == "Failed to define domain 'vm1': network 'nope' does not exist on qemu:///system"
    assert client.mutations() == []


def test_missing_base_image_fails_before_any_volume(client):
    with pytest.raises(GhostError) as err:
        run(client, base_image="ghost/missing.qcow2")
    assert str(err.value) == ("Failed to find base image 'ghost/missing.qcow2': no volume 'missing.qcow2' in "
                              "storage pool 'ghost' on qemu:///system")
    assert client.mutations() == []


def test_failed_define_deletes_the_volumes_it_made(client):
    client.fail["define"] = "Failed to define domain 'vm1': boom"
    with pytest.raises(GhostError, match="boom"):
        run(client)
    assert sorted(client.volumes) == [("ghost", "base.qcow2")]


def test_failed_first_start_removes_the_new_domain(client):
    client.fail["start"] = "Failed to start domain 'vm1': no kernel"
    with pytest.raises(GhostError, match="no kernel"):
        run(client)
    assert client.domains == {} and sorted(client.volumes) == [("ghost", "base.qcow2")]


def test_absent_deletes_own_volumes_never_the_base(client):
    run(client)
    check = run(client, state="absent", check_mode=True)
    assert check["changed"] is True and "vm1" in client.domains
    result = run(client, state="absent")
    assert result["changed"] is True and result["domain"]["state"] == "absent"
    assert sorted(client.volumes) == [("ghost", "base.qcow2")]
    assert len(result["deleted_volumes"]) == 2
    assert run(client, state="absent")["changed"] is False


def test_a_new_seed_replaces_the_old_volume(client):
    first = run(client)
    second = run(client, cloud_init={"hostname": "other"})
    assert second["changed"] is True
    old_iso = first["domain"]["disks"][1]["path"].split("/")[-1]
    new_iso = second["domain"]["disks"][1]["path"].split("/")[-1]
    assert old_iso != new_iso
    assert ("ghost", old_iso) not in client.volumes and ("ghost", new_iso) in client.volumes
    assert second["domain"]["cloud_init_instance_id"] != first["domain"]["cloud_init_instance_id"]
    assert second["domain"]["restart_required"] is True


def test_disk_grows_and_never_shrinks(client):
    run(client, state="present", disk_gb=2)
    assert client.volumes[("ghost", "vm1.qcow2")]["capacity"] == 2 * GIB
    grown = run(client, state="present", disk_gb=3)
    assert grown["changed"] is True and client.volumes[("ghost", "vm1.qcow2")]["capacity"] == 3 * GIB
    assert ("resize_volume", "ghost", "vm1.qcow2", 3 * GIB) in client.calls
    with pytest.raises(GhostError) as err:
        run(client, state="present", disk_gb=1)
    assert err.value.option == "disk_gb"


def test_an_overlay_cannot_be_rebased(client):
    run(client, state="present")
    client.volumes[("ghost", "other.qcow2")] = dict(client.volumes[("ghost", "base.qcow2")], name="other.qcow2",
                                                    path="/pool/other.qcow2")
    with pytest.raises(GhostError, match="cannot be rebased"):
        run(client, state="present", base_image="ghost/other.qcow2")


def test_state_only_run_keeps_the_definition(client):
    run(client, state="present", vcpus=2, memory_mb=256, interfaces=[{"network": "isolated"}])
    calls = len(client.mutations())
    result = run(client, state="present", vcpus=None, memory_mb=None, domain_type=None, base_image=None,
                 cloud_init=None)
    assert result["changed"] is False and len(client.mutations()) == calls
    assert (result["domain"]["vcpus"], result["domain"]["memory_mb"]) == (2, 256)
    assert result["domain"]["interfaces"][0]["network"] == "isolated"


def test_autostart(client):
    run(client, state="present")
    result = run(client, state="present", autostart=True)
    assert result["actions"] == ["set autostart on"] and client.domains["vm1"]["autostart"] is True
    assert run(client, state="present", autostart=True)["changed"] is False


def test_info_lists_domains(client):
    run(client)
    run(client, name="vm2", state="present", cloud_init=None)
    client.calls = []
    info = domain_info(client)
    assert [d["name"] for d in info["domains"]] == ["vm1", "vm2"]
    assert [d["state"] for d in info["domains"]] == ["running", "stopped"]
    assert info["changed"] is False
    assert client.calls == [("list_domains",)]


def test_wait_for_ip_polls_until_an_address_appears(client):
    answers = [{}, {}, {"52:54:00:00:00:09": ["192.0.2.9"]}]
    asked = []

    def addresses(name, sources):
        asked.append(sources)
        return answers.pop(0) if answers else {"52:54:00:00:00:09": ["192.0.2.9"]}
    client.interface_addresses = addresses
    result = run(client, interfaces=[{"network": "isolated", "mac": "52:54:00:00:00:09"}], wait_for_ip=True)
    assert result["domain"]["interfaces"][0]["addresses"] == ["192.0.2.9"]
    assert asked == [("lease", "agent", "arp")] * 3


def test_wait_for_ip_ignores_addresses_of_other_interfaces(client):
    # The guest agent also reports interfaces the guest made itself (bridges, containers).
    answers = [{"02:42:ac:11:00:01": ["172.17.0.1"]}, {"52:54:00:00:00:09": ["192.0.2.9"]}]
    client.interface_addresses = lambda name, sources: answers.pop(0) if answers else {}
    result = run(client, interfaces=[{"network": "isolated", "mac": "52:54:00:00:00:09"}], wait_for_ip=True,
                 ip_source="agent")
    assert result["domain"]["interfaces"][0]["addresses"] == ["192.0.2.9"] and answers == []


@pytest.mark.parametrize("ip_source, names", [
    ("auto", "libvirt's DHCP leases, the QEMU guest agent or the host's ARP table"),
    ("lease", "libvirt's DHCP leases"),
    ("agent", "the QEMU guest agent"),
    ("arp", "the host's ARP table")])
def test_wait_for_ip_times_out_clearly(client, ip_source, names):
    with pytest.raises(GhostError) as err:
        run(client, interfaces=[{"network": "isolated"}], wait_for_ip=True, wait_timeout=10, ip_source=ip_source)
    assert str(err.value) == "Failed to get an IP address for domain 'vm1': none within 10 s from %s" % names
    assert client.domains["vm1"]["state"] == 1  # the domain stays up; only the wait failed
    assert err.value.details["changed"] is True and err.value.details["actions"][-2:] == ["define", "start"]
    asked = {c[2] for c in client.calls if c[0] == "interface_addresses"}
    assert asked == {("lease", "agent", "arp") if ip_source == "auto" else (ip_source,)}


def test_wait_for_ip_needs_a_nic(client):
    with pytest.raises(GhostError) as err:
        run(client, wait_for_ip=True)
    assert str(err.value) == "wait_for_ip: Failed to get an IP address for domain 'vm1': it has no network interface"


def test_missing_base_path(client):
    with pytest.raises(GhostError) as err:
        run(client, base_image="/nowhere/base.qcow2")
    assert str(err.value) == "Failed to find base image '/nowhere/base.qcow2': no such file on the hypervisor of qemu:///system"
    assert client.mutations() == []


def test_seed_network_matches_the_first_nic_by_mac(client):
    run(client, interfaces=[{"network": "isolated", "mac": "52:54:00:12:34:56"}], cloud_init={"ip": "192.0.2.5/24"})
    files = read_nocloud_iso(next(iter(client.uploads.values())))
    network = yaml.safe_load(files["network-config"])
    assert network["ethernets"]["primary"]["match"] == {"macaddress": "52:54:00:12:34:56"}
    assert network["ethernets"]["primary"]["addresses"] == ["192.0.2.5/24"]
    assert yaml.safe_load(files["meta-data"])["local-hostname"] == "vm1"


def test_pool_defaults_to_where_the_domain_volumes_are(client):
    run(client, state="present")
    grown = run(client, state="present", pool=None, base_image=None, cloud_init=None, disk_gb=2)
    assert ("resize_volume", "ghost", "vm1.qcow2", 2 * GIB) in client.calls
    assert grown["changed"] is True
    with pytest.raises(GhostError, match="Failed to find storage pool 'default'"):
        run(client, name="vm9", pool=None)


# -- check mode only reads ----------------------------------------------------------------


@pytest.mark.parametrize("directory", ["/pool", "/images"])
def test_check_mode_does_not_refresh_or_probe_for_an_unlisted_base_image(client, directory):
    # A base image copied next to the pool's files after its last refresh (/pool), or in a
    # directory no pool covers (/images): finding it takes a refresh or a temporary pool.
    path = directory + "/fresh.qcow2"
    client.unlisted[path] = {"name": "fresh.qcow2", "path": path, "format": "qcow2", "capacity": GIB,
                             "allocation": 1000, "backing": None, "backing_format": None}
    check = run(client, check_mode=True, base_image=path)
    assert client.mutations() == []
    assert check["changed"] is True and check["actions"][0] == "create volume ghost/vm1.qcow2"
    assert check["domain"]["disks"][0]["backing"] == path
    assert check["warnings"] == [
        "check mode: base image %s is in no storage pool libvirt has listed, so it was not looked at (that "
        "needs a pool refresh or a temporary pool); a real run checks it" % path]
    real = run(client, base_image=path)
    assert real["changed"] is True and "warnings" not in real
    assert client.mutations()[0][0] == ("refresh_pool" if directory == "/pool" else "probe_pool")
    assert client.volumes[("ghost", "vm1.qcow2")]["backing"] == path


def test_check_mode_on_a_running_domain_writes_no_metadata(client):
    run(client)
    run(client, memory_mb=128)  # the persistent definition changes: the live one is flagged
    flagged = client.domains["vm1"]["live"]
    client.calls = []
    check = run(client, check_mode=True, memory_mb=256, vcpus=2, autostart=True, disk_gb=2,
                cloud_init={"hostname": "other"}, state="paused", diff=True)
    assert check["changed"] is True and client.mutations() == []
    assert client.domains["vm1"]["live"] == flagged
    client.domains["vm1"]["live"] = client.domains["vm1"]["xml"].replace("131072", "65536")  # flag gone
    unflagged = client.domains["vm1"]["live"]
    run(client, check_mode=True, memory_mb=128)
    assert client.mutations() == [] and client.domains["vm1"]["live"] == unflagged


def test_check_mode_absent_changes_nothing(client):
    run(client)
    client.calls = []
    check = run(client, check_mode=True, state="absent")
    assert check["changed"] is True and check["actions"][0] == "destroy"
    assert client.mutations() == [] and "vm1" in client.domains


# -- two runs creating the same domain at once ----------------------------------------------


def _volumes_of(client, name):
    return sorted(v for v in client.volumes if v[1].startswith(name))


def test_a_run_that_loses_the_define_keeps_the_volumes_the_winner_uses(client):
    # Run A creates the overlay and the seed; before A defines, run B starts, finds both (a
    # domain that does not exist yet may use what a failed run left), defines and starts.
    client.before["define"] = lambda name, *_: run(client)
    with pytest.raises(GhostError) as err:
        run(client)
    assert str(err.value).startswith("Failed to create domain 'vm1': another run created it while this run "
                                     "was creating it; run the task again to converge (")
    assert client.domains["vm1"]["state"] == 1
    used = {d["path"] for d in parse_disks(client.domains["vm1"]["xml"])}
    assert {v["path"] for k, v in client.volumes.items() if k[1].startswith("vm1")} == used
    assert len(used) == 2
    again = run(client)
    assert again["changed"] is False


def test_a_run_whose_overlay_appears_meanwhile_fails_naming_the_domain(client):
    # Both runs planned to create the overlay; the other one's create came first.
    def other(pool, name):
        client.volumes[(pool, name)] = {"name": name, "path": "/pool/" + name, "format": "qcow2",
                                        "capacity": GIB, "allocation": 1, "backing": "/pool/base.qcow2",
                                        "backing_format": "qcow2", "pool": pool}
    client.before["create_volume"] = other
    with pytest.raises(GhostError) as err:
        run(client)
    assert str(err.value) == ("Failed to create domain 'vm1': its volume ghost/vm1.qcow2 appeared while this "
                              "run was creating it: another run is creating the same domain; run the task "
                              "again to converge")
    assert ("ghost", "vm1.qcow2") in client.volumes  # the other run's overlay stays
    assert [c for c in client.mutations() if c[0] == "delete_volume"] == []


def test_a_seed_written_by_the_other_run_is_used_not_rewritten(client):
    first_seed = []

    def other_overlay_done(pool, name):
        # The other run adopted our overlay, wrote the seed (same content, same name) first.
        def seed(pool, name):
            first_seed.append(name)
            client.volumes[(pool, name)] = {"name": name, "path": "/pool/" + name, "format": "raw",
                                            "capacity": 1, "allocation": 1, "backing": None,
                                            "backing_format": None, "pool": pool}
        client.before["create_volume"] = seed
    client.before["create_volume"] = other_overlay_done
    result = run(client)
    assert result["changed"] is True and client.domains["vm1"]["state"] == 1
    assert first_seed and client.uploads == {}  # the other run uploads it
    assert result["domain"]["disks"][1]["path"] == "/pool/" + first_seed[0]


def test_rollback_deletes_what_no_domain_uses(client):
    client.fail["upload_volume"] = "Failed to upload volume: broken"
    with pytest.raises(GhostError, match="broken"):
        run(client)
    assert _volumes_of(client, "vm1") == []


def test_rollback_keeps_everything_when_the_domain_cannot_be_read(client):
    client.fail["define"] = "Failed to define domain 'vm1': boom"
    answers = [False]  # the run's own read; then the connection is gone

    def exists(name):
        if answers:
            return answers.pop()
        raise GhostError("Failed to look up domain 'vm1': connection lost")
    client.domain_exists = exists
    with pytest.raises(GhostError, match="boom"):
        run(client)
    assert len(_volumes_of(client, "vm1")) == 2


def parse_disks(xml):
    return [{"path": d.find("source").get("file")} for d in ET.fromstring(xml).iter("disk")]


# -- what the diff shows of cloud_init -----------------------------------------------------

SECRET_CONTENT = {
    "runcmd": ["kubeadm join 192.0.2.1:6443 --token ghostjoin.tok3nsecretvalue", ["sh", "-c", "echo 1 > /tmp/one"]],
    "write_files": [{"path": "/etc/ghost/agent.env", "permissions": "0600",
                     "content": "AGENT_TOKEN=ghost-agent-s3cret-in-file\n"}],
    "user_data": "#!/bin/sh\necho ghost-script-passw0rd | chpasswd\n",
    "vendor_data": {"ntp": {"servers": ["ghost-vendor-s3cret.ntp.example"]}},
}
SECRETS = ("ghostjoin.tok3nsecretvalue", "ghost-agent-s3cret-in-file", "ghost-script-passw0rd",
           "ghost-vendor-s3cret.ntp.example")


def test_diff_and_result_carry_no_cloud_init_content(client):
    created = run(client, diff=True, cloud_init=dict(SECRET_CONTENT, hostname="vm1", password_hash=HASH))
    changed = run(client, diff=True, cloud_init=dict(SECRET_CONTENT, hostname="vm1", runcmd=["echo other-s3cret"]))
    seeds = [read_nocloud_iso(data) for data in client.uploads.values()]
    seed_text = "".join(text for seed in seeds for text in seed.values())
    for secret in SECRETS + (HASH, "other-s3cret"):
        assert secret in seed_text  # the seed has them, so the test could see a leak
    for result in (created, changed):
        text = json.dumps(result)
        for secret in SECRETS + (HASH, "other-s3cret"):
            assert secret not in text
        for document_key in ("runcmd", "write_files", "chpasswd", "#cloud-config", "ntp"):
            assert document_key not in result["diff"]["before"] + result["diff"]["after"]
    # What the diff does show of the seed: its volume, hash and instance ID change.
    assert changed["diff"]["before"].count("cidata-") == changed["diff"]["after"].count("cidata-") >= 1
    assert created["domain"]["cloud_init_instance_id"] != changed["domain"]["cloud_init_instance_id"]


# -- resource check ---------------------------------------------------------------------


@pytest.mark.parametrize("check_mode", [False, True])
def test_memory_above_the_hosts_is_refused_before_anything_is_created(client, check_mode):
    with pytest.raises(GhostError) as err:
        run(client, check_mode=check_mode, memory_mb=5 * 1024)
    assert str(err.value) == (
        "Failed to create domain 'vm1': not enough memory on qemu:///system: 5120 MiB requested, 4096 MiB "
        "available (3072 MiB free + 1024 MiB page cache, of 8192 MiB); lower memory_mb or free memory on "
        "the host")
    assert err.value.details["resources"]["needed"]["memory"] == 5 * GIB
    assert client.mutations() == [] and client.domains == {}
    assert sorted(client.volumes) == [("ghost", "base.qcow2")]


def test_memory_is_only_checked_when_the_run_starts_the_domain(client):
    run(client, state="present", memory_mb=5 * 1024)  # defined, not started: fits later maybe
    assert ("host_resources",) in client.calls
    with pytest.raises(GhostError, match="Failed to start domain 'vm1': not enough memory"):
        run(client, memory_mb=5 * 1024)
    assert client.domains["vm1"]["state"] == 5
    client.host["memory_free"] = 8 * GIB
    assert run(client, memory_mb=5 * 1024)["actions"] == ["start"]
    client.calls = []
    assert run(client, memory_mb=5 * 1024)["changed"] is False
    assert ("host_resources",) not in client.calls  # a run that takes nothing reads nothing


def test_forced_restart_needs_only_the_growth(client):
    run(client, memory_mb=2048)
    client.host["memory_free"], client.host["memory_cache"] = GIB, 0
    assert run(client, memory_mb=3072, force=True)["domain"]["memory_mb"] == 3072  # 1 GiB more
    with pytest.raises(GhostError, match="2048 MiB requested, 1024 MiB available"):
        run(client, memory_mb=5120, force=True)
    # Without force the change waits for a restart: nothing to check now.
    assert run(client, memory_mb=5120)["domain"]["restart_required"] is True


def test_vcpus_and_disk_above_the_host_warn_or_fail_when_strict(client):
    result = run(client, check_mode=True, vcpus=3, disk_gb=150)
    assert result["warnings"][0] == "3 vCPUs requested, the host qemu:///system has 2 CPUs, which the vCPUs would share"
    # The overlay's virtual size plus the seed's few KiB.
    assert re.match(r"the disks need 150(\.0\d)? GiB of virtual size, storage pool 'ghost' has 100 GiB free, so the "
                    r"guest can fill the pool before its disk is full$", result["warnings"][1]), result["warnings"]
    with pytest.raises(GhostError) as err:
        run(client, vcpus=3, disk_gb=150, strict_resources=True)
    assert str(err.value).count("(strict_resources is true)") == 2
    assert client.mutations() == []
    created = run(client, vcpus=3, disk_gb=150)
    assert created["changed"] is True and len(created["warnings"]) == 2
    assert "warnings" not in run(client, vcpus=3, disk_gb=150)  # unchanged: nothing taken, no warning


def test_growing_a_disk_counts_the_growth(client):
    run(client, disk_gb=50)
    client.pools["ghost"]["available"] = 10 * GIB
    assert "warnings" not in run(client, disk_gb=60)
    with pytest.raises(GhostError, match="the disks need 11 GiB of virtual size, storage pool 'ghost' has 10 GiB"):
        run(client, disk_gb=71, strict_resources=True)


# -- golden reset -----------------------------------------------------------------------


def test_creating_with_a_reset_token_records_it_without_a_reset(client):
    result = run(client, reset_token="t1")
    assert result["reset"] == {"token": "t1", "count": 0, "performed": False}
    assert not any(a.startswith("reset") for a in result["actions"])
    again = run(client, reset_token="t1")
    assert again["changed"] is False and again["reset"]["performed"] is False


@pytest.mark.parametrize("check_mode", [True, False])
def test_a_new_token_resets_a_running_domain(client, check_mode):
    run(client, reset_token="t1")
    client.volumes[("ghost", "vm1.qcow2")]["allocation"] = 5 * GIB  # what the guest wrote
    client.calls = []
    result = run(client, reset_token="t2", check_mode=check_mode, diff=True)
    assert result["changed"] is True
    assert result["actions"] == ["power off for the reset",
                                 "reset: recreate volume ghost/vm1.qcow2 from /pool/base.qcow2",
                                 "update definition (metadata)", "start"]
    assert result["reset"] == {"token": "t2", "count": 1, "performed": True}
    assert result["domain"]["state"] == "running" and result["domain"]["restart_required"] is False
    assert '<ghost:reset token="t2" count="1" />' in result["diff"]["after"]
    if check_mode:
        assert client.mutations() == []
        return
    assert [c[:3] for c in client.mutations()] == [
        ("destroy", "vm1"), ("delete_volume", "ghost", "vm1.qcow2"), ("create_volume", "ghost", "vm1.qcow2"),
        ("define", "vm1"), ("start", "vm1", False)]
    overlay = client.volumes[("ghost", "vm1.qcow2")]
    assert overlay["backing"] == "/pool/base.qcow2" and overlay["capacity"] == GIB
    assert overlay.get("allocation") in (None, 0)  # a new, empty overlay
    assert ("ghost", "base.qcow2") in client.volumes and "base.qcow2" not in client.uploads
    again = run(client, reset_token="t2")
    assert again["changed"] is False and again["reset"] == {"token": "t2", "count": 1, "performed": False}
    assert run(client, reset_token="t3")["reset"]["count"] == 2


def test_reset_keeps_the_size_and_the_seed_and_follows_state(client):
    first = run(client, disk_gb=4, state="stopped")
    seed = [d["path"] for d in first["domain"]["disks"] if d["device"] == "cdrom"]
    client.calls = []
    # No cloud_init in the task: the seed stays as it is; state=present keeps the domain off.
    result = run(client, reset_token="r1", cloud_init=None, base_image=None, state="present")
    assert result["actions"] == ["reset: recreate volume ghost/vm1.qcow2 from /pool/base.qcow2",
                                 "update definition (metadata)"]
    assert client.volumes[("ghost", "vm1.qcow2")]["capacity"] == 4 * GIB
    assert [d["path"] for d in result["domain"]["disks"] if d["device"] == "cdrom"] == seed
    assert client.domains["vm1"]["state"] == 5


def test_reset_with_a_new_seed_replaces_it(client):
    run(client, reset_token="t1")
    result = run(client, reset_token="t2", cloud_init={"hostname": "other"})
    assert result["actions"][1].startswith("reset: recreate volume")
    assert result["actions"][2].startswith("write NoCloud seed")
    assert any(a.startswith("delete old NoCloud seed") for a in result["actions"])


def test_reset_needs_a_disk_made_by_the_module(client):
    run(client, base_image=None, cloud_init=None, state="present")
    with pytest.raises(GhostError, match="Failed to reset domain 'vm1': it has no disk made by this module"):
        run(client, base_image=None, cloud_init=None, state="present", reset_token="t1")


def test_reset_of_a_running_domain_checks_only_the_memory_it_adds(client):
    run(client, memory_mb=2048, reset_token="t1")
    client.host["memory_free"], client.host["memory_cache"] = 0, 0
    assert run(client, memory_mb=2048, reset_token="t2")["reset"]["performed"] is True
    run(client, state="stopped", force=True)
    with pytest.raises(GhostError, match="Failed to start domain 'vm1': not enough memory"):
        run(client, memory_mb=2048, reset_token="t3")
    assert client.domains["vm1"]["state"] == 5


# -- wait_for: cloud_init ---------------------------------------------------------------


def test_wait_for_cloud_init_returns_its_result(client):
    client.guest_files["/run/cloud-init/result.json"] = json.dumps({"v1": {"datasource": "DataSourceNoCloud",
                                                                           "errors": []}})
    assert "cloud_init" not in run(client, check_mode=True, wait_for=["cloud_init"])
    assert not any(c[0] == "read_guest_file" for c in client.calls)
    result = run(client, wait_for=["cloud_init"])
    assert result["cloud_init"] == {"status": "done", "errors": [], "datasource": "DataSourceNoCloud"}
    again = run(client, wait_for=["cloud_init"])
    assert again["changed"] is False and again["cloud_init"]["status"] == "done"


def test_cloud_init_errors_fail_the_task_with_what_the_run_did(client):
    client.guest_files["/run/cloud-init/result.json"] = json.dumps({"v1": {"errors": ["runcmd failed"]}})
    with pytest.raises(GhostError) as err:
        run(client, wait_for=["cloud_init"])
    assert str(err.value) == ("Failed to wait for cloud-init in domain 'vm1': it finished with 1 error(s): "
                              "runcmd failed")
    details = err.value.details
    assert details["changed"] is True and details["actions"][-1] == "start"
    assert details["domain"]["state"] == "running" and details["cloud_init"]["errors"] == ["runcmd failed"]


def test_wait_for_ip_and_cloud_init_in_one_option(client):
    client.interface_addresses = lambda name, sources: {"52:54:00:00:00:09": ["192.0.2.9"]}
    client.guest_files["/run/cloud-init/result.json"] = json.dumps({"v1": {"errors": []}})
    result = run(client, interfaces=[{"network": "isolated", "mac": "52:54:00:00:00:09"}], wait_for=["ip", "cloud_init"])
    assert result["domain"]["interfaces"][0]["addresses"] == ["192.0.2.9"]
    assert result["cloud_init"]["status"] == "done"


def test_wait_for_needs_state_running(client):
    with pytest.raises(GhostError) as err:
        run(client, state="stopped", wait_for=["cloud_init"])
    assert str(err.value) == "wait_for: needs state=running"
    assert client.calls == []


def test_too_many_vcpus_for_the_machine_type_names_vcpus(client):
    client.fail["define"] = ("Failed to define domain 'vm1': unsupported configuration: Maximum CPUs greater than "
                             "specified machine type limit 288")
    with pytest.raises(GhostError, match="limit 288") as err:
        run(client, vcpus=100000)
    assert err.value.option == "vcpus"
    assert sorted(client.volumes) == [("ghost", "base.qcow2")]


# -- expiry (ttl / expires_at / max_ttl) ----------------------------------------------------

T0 = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def run_at(client, moment, check_mode=False, diff=False, **over):
    clock = Clock()
    over.setdefault("cloud_init", None)
    return ensure_domain(client, params(**over), check_mode=check_mode, diff=diff, sleep=clock.sleep,
                         clock=clock, now=lambda: moment)


def instance_attrs(xml):
    root = ET.fromstring(xml)
    return dict(root.find("metadata/{%s}instance" % NS).attrib)


def later(**delta):
    return T0 + datetime.timedelta(**delta)


def test_a_ttl_is_written_in_the_first_define(client):
    result = run_at(client, T0, ttl="1h")
    assert [c[0] for c in client.mutations()] == ["create_volume", "define", "start"]
    assert instance_attrs(client.domains["vm1"]["xml"]) == {
        "ttl": "1h", "expires-at": "2026-12-01T13:00:00Z", "renewed-at": "2026-12-01T12:00:00Z"}
    assert result["domain"]["expires_at"] == "2026-12-01T13:00:00Z"
    assert result["domain"]["expired"] is False and result["domain"]["ttl"] == "1h"


def test_the_same_ttl_again_is_unchanged_however_late(client):
    run_at(client, T0, ttl="1h")
    client.calls = []
    again = run_at(client, later(hours=5), ttl="1h")
    assert again["changed"] is False and client.mutations() == []
    assert again["domain"]["expires_at"] == "2026-12-01T13:00:00Z" and again["domain"]["expired"] is True
    # Neither option: the stored expiry is kept.
    assert run_at(client, later(hours=5))["domain"]["ttl"] == "1h"


def test_a_new_ttl_on_a_running_domain_is_a_metadata_update_not_a_restart(client):
    run_at(client, T0, ttl="1h")
    client.calls = []
    result = run_at(client, later(hours=2), ttl="8h")
    assert result["changed"] is True
    assert result["actions"] == ["set expiry (ttl 8h, expires 2026-12-01T22:00:00Z)"]
    assert [c[0] for c in client.mutations()] == ["set_config_metadata", "set_live_metadata"]
    assert result["domain"]["expires_at"] == "2026-12-01T22:00:00Z" and result["domain"]["expired"] is False
    assert result["domain"]["restart_required"] is False
    for xml in (client.domains["vm1"]["xml"], client.domains["vm1"]["live"]):
        assert instance_attrs(xml)["expires-at"] == "2026-12-01T22:00:00Z"
    # The volumes stay recorded beside the expiry (absent still deletes them).
    assert ET.fromstring(client.domains["vm1"]["xml"]).find("metadata/{%s}instance/{%s}volume" % (NS, NS)) is not None
    info = domain_info(client, now=later(hours=3))["domains"][0]
    assert (info["expires_at"], info["expired"], info["ttl"]) == ("2026-12-01T22:00:00Z", False, "8h")
    assert domain_info(client, now=later(hours=10))["domains"][0]["expired"] is True


def test_a_new_ttl_on_a_stopped_domain_touches_only_the_persistent_definition(client):
    run_at(client, T0, state="stopped", ttl="1h")
    client.calls = []
    result = run_at(client, T0, state="stopped", expires_at="2027-01-01T01:00:00+01:00")
    assert result["actions"] == ["set expiry (expires 2027-01-01T00:00:00Z)"]
    assert [c[0] for c in client.mutations()] == ["set_config_metadata"]
    assert instance_attrs(client.domains["vm1"]["xml"]) == {"expires-at": "2027-01-01T00:00:00Z"}
    assert result["domain"]["ttl"] is None


def test_a_new_ttl_with_a_define_writes_the_persistent_expiry_once(client):
    run_at(client, T0, ttl="1h")
    client.calls = []
    result = run_at(client, T0, ttl="2h", memory_mb=128)
    assert [c[0] for c in client.mutations()] == ["define", "set_live_metadata", "set_live_metadata"]
    assert result["domain"]["restart_required"] is True
    assert instance_attrs(client.domains["vm1"]["live"]) == {
        "ttl": "2h", "expires-at": "2026-12-01T14:00:00Z", "renewed-at": "2026-12-01T12:00:00Z",
        "restart-required": "yes"}


def test_check_mode_reports_the_new_expiry_and_writes_nothing(client):
    run_at(client, T0, ttl="1h")
    client.calls = []
    result = run_at(client, later(hours=1), ttl="1d", check_mode=True, diff=True)
    assert result["changed"] is True and client.mutations() == []
    assert result["domain"]["expires_at"] == "2026-12-02T13:00:00Z"
    assert "# expires: 2026-12-01T13:00:00Z (ttl 1h)" in result["diff"]["before"]
    assert "# expires: 2026-12-02T13:00:00Z (ttl 1d)" in result["diff"]["after"]
    assert 'expires-at="2026-12-02T13:00:00Z"' in result["diff"]["after"]
    assert instance_attrs(client.domains["vm1"]["xml"])["ttl"] == "1h"


@pytest.mark.parametrize("over, option", [
    ({"ttl": "30"}, "ttl"),
    ({"ttl": "0s"}, "ttl"),
    ({"expires_at": "tomorrow"}, "expires_at"),
    ({"ttl": "2d", "max_ttl": "1d"}, "ttl"),
    ({"ttl": "1h", "max_ttl": "soon"}, "max_ttl"),
])
def test_bad_lifetime_fails_before_anything_is_made(client, over, option):
    with pytest.raises(GhostError) as caught:
        run_at(client, T0, **over)
    assert caught.value.option == option
    assert client.mutations() == [] and client.domains == {}


def test_bad_lifetime_on_an_existing_domain_changes_nothing(client):
    run_at(client, T0, ttl="1h")
    client.calls = []
    with pytest.raises(GhostError):
        run_at(client, T0, ttl="30", memory_mb=128)
    assert client.mutations() == []
