# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import json
import struct

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import decode_guestinfo
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records, runner, spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import ApiUnreachableError

GB = records.KB_PER_GB
PASSWORD_HASH = "$6$unit$" + "h" * 86


def ssh_key():
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + b"k" * 32
    return "ssh-ed25519 %s unit@test" % base64.b64encode(blob).decode()


CLOUD_INIT = {"hostname": "web1", "ssh_authorized_keys": [ssh_key()], "ip": "192.0.2.10/24",
              "gateway": "192.0.2.1", "dns": ["192.0.2.53"], "password_hash": PASSWORD_HASH}


def vm_record(moid, name, parent="group-3", **overrides):
    base = {
        "moid": moid, "name": name, "parent": parent, "template": False, "uuid": "uuid-" + moid,
        "instance_uuid": "iuuid-" + moid, "cpu": 2, "memory_mb": 2048, "cpu_hot_add": False,
        "cpu_hot_remove": False, "memory_hot_add": False, "power_state": records.POWERED_OFF,
        "tools_running": False, "guest_ip": None, "guest_net_ips": [], "extra_config": {},
        "disks": [{"key": 2000, "label": "Hard disk 1", "capacity_kb": 10 * GB,
                   "file": "[ds1] %s/%s.vmdk" % (name, name), "thin": True, "linked": False}],
        "nics": [{"key": 4000, "label": "Network adapter 1", "mac": "00:50:56:00:00:01", "network": "VM Network"}],
        "datastores": ["datastore-1"], "resource_pool": "resgroup-1", "host": "host-1", "current_snapshot": None,
    }
    base.update(overrides)
    return base


class FakeClient:
    """Plays the vSphere API for the runner: an in-memory inventory; records every call."""

    def __init__(self):
        self.calls = []
        self.next_id = 100
        self.closed = False
        self.ip = None
        self.power_on_fault = None
        self.inv = {
            "datacenters": {"ha-datacenter": {"name": "ha-datacenter", "parent": "ha-folder-root", "vm_folder": "group-3"}},
            "folders": {"group-3": {"name": "vm", "parent": "ha-datacenter"}},
            "networks": {},
        }
        self.vms = {
            "vm-1": vm_record("vm-1", "tmpl", template=True, current_snapshot="snapshot-1",
                              extra_config={"guestinfo.vendordata": "OLD", "guestinfo.vendordata.encoding": "base64"}),
            "vm-2": vm_record("vm-2", "legacy", power_state=records.POWERED_ON),
        }
        self.placement_data = {
            "pools": {"pool-1": {"name": "Resources", "parent": "compute-1", "owner": "compute-1"}},
            "compute": {"compute-1": {"name": "esxi", "resource_pool": "pool-1", "hosts": ["host-1"]}},
            "hosts": {"host-1": {"name": "esxi", "parent": "compute-1"}},
            "datastores": {"datastore-1": {"name": "ds1", "accessible": True}},
            "networks": {"network-1": {"name": "VM Network", "kind": "standard", "key": None}},
        }

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.closed = True
        return False

    def inventory(self, full=False):
        self.calls.append(("inventory", full))
        out = copy.deepcopy(self.inv)
        if full:
            out["vms"] = [copy.deepcopy(r) for r in self.vms.values()]
        else:
            out["vms"] = [{k: r[k] for k in ("moid", "name", "parent", "template")} for r in self.vms.values()]
        return out

    def read_vms(self, moids, networks=None):
        self.calls.append(("read_vms", tuple(moids)))
        return [copy.deepcopy(self.vms[m]) for m in moids if m in self.vms]

    def placement(self, datacenter):
        self.calls.append(("placement", datacenter))
        return copy.deepcopy(self.placement_data)

    def clone(self, request):
        self.calls.append(("clone", copy.deepcopy(request)))
        moid = "vm-%d" % self.next_id
        self.next_id += 1
        source = self.vms[request["template"]]
        extra = dict(source["extra_config"])
        extra.update(request["extra_config"])
        extra = {k: v for k, v in extra.items() if v != ""}
        disks = copy.deepcopy(source["disks"])
        if request["disk"]:
            disks[0]["capacity_kb"] = request["disk"]["capacity_kb"]
        self.vms[moid] = vm_record(moid, request["name"], parent=request["folder"], extra_config=extra,
                                   cpu=request["cpu"] or source["cpu"], memory_mb=request["memory_mb"] or source["memory_mb"],
                                   disks=disks, power_state=records.POWERED_OFF)
        if request.get("power_on"):
            # As vSphere does with powerOn in the clone spec: a failed power-on fails the clone
            # task, and the VM it made stays.
            if self.power_on_fault:
                raise GhostError("Failed to clone VM '%s': %s" % (request["name"], self.power_on_fault))
            self.vms[moid]["power_state"] = records.POWERED_ON
        return moid

    def reconfigure(self, moid, request, name):
        self.calls.append(("reconfigure", moid, copy.deepcopy(request)))
        vm = self.vms[moid]
        for key in ("cpu", "memory_mb"):
            if request.get(key):
                vm[key] = request[key]
        for key, value in (request.get("extra_config") or {}).items():
            if value:
                vm["extra_config"][key] = value
            else:
                vm["extra_config"].pop(key, None)
        if request.get("disk"):
            vm["disks"][0]["capacity_kb"] = request["disk"]["capacity_kb"]

    def power_on(self, moid, name):
        self.calls.append(("power_on", moid))
        if self.power_on_fault == "echo":  # as vcsim's fault, with the VM's extraConfig in it
            raise GhostError("Failed to power on VM '%s': MissingPowerOnConfiguration: docker create %s" % (
                name, " ".join("--env %s=%s" % kv for kv in sorted(self.vms[moid]["extra_config"].items()))))
        if self.power_on_fault:
            raise GhostError("Failed to power on VM '%s': %s" % (name, self.power_on_fault))
        self.vms[moid]["power_state"] = records.POWERED_ON

    def power_off(self, moid, name):
        self.calls.append(("power_off", moid))
        self.vms[moid]["power_state"] = records.POWERED_OFF

    def shutdown(self, record, timeout):
        self.calls.append(("shutdown", record["moid"], timeout))
        self.vms[record["moid"]]["power_state"] = records.POWERED_OFF
        return "guest" if record.get("tools_running") else "hard"

    def destroy(self, moid, name):
        self.calls.append(("destroy", moid))
        del self.vms[moid]

    def wait_for_ip(self, moid, name, timeout, networks=None):
        self.calls.append(("wait_for_ip", moid, timeout))
        if not self.ip:
            raise GhostError("Failed to wait for an IP address of VM '%s'" % name)
        self.vms[moid]["guest_ip"] = self.ip
        return copy.deepcopy(self.vms[moid])

    def writes(self):
        return [c for c in self.calls if c[0] not in ("inventory", "read_vms", "placement")]


def params(**overrides):
    base = {"hostname": "esxi", "username": "root", "password": "pw", "port": 443, "validate_certs": False,
            "name": "web1", "state": "poweredon", "template": "tmpl", "datacenter": None, "folder": None,
            "resource_pool": None, "datastore": None, "network": None, "cpu": None, "memory_mb": None,
            "disk_gb": None, "linked_clone": False, "cloud_init": copy.deepcopy(CLOUD_INIT), "guestinfo": None,
            "wait_for_ip": False, "wait_timeout": 300, "shutdown_timeout": 120, "force": False, "fallback": "none"}
    base.update(overrides)
    return base


def no_secrets(result, client):
    text = json.dumps(result)
    for record in client.vms.values():
        for key, value in record["extra_config"].items():
            if key.startswith("guestinfo.") and len(value) > 12:
                assert value not in text, key
    assert PASSWORD_HASH not in text


def test_check_mode_creates_nothing():
    client = FakeClient()
    result = runner.ensure_vm(client, params(), check_mode=True, diff=True)
    assert result["changed"] is True
    assert client.writes() == []
    vm = result["vm"]
    assert (vm["name"], vm["moid"], vm["power_state"], vm["managed"]) == ("web1", None, "poweredOn", True)
    assert vm["guestinfo"] == dict.fromkeys(("guestinfo.metadata", "guestinfo.metadata.encoding",
                                             "guestinfo.userdata", "guestinfo.userdata.encoding"), MASK)
    after = result["diff"]["after"]
    assert after["cloud_init"]["network_config"]["ethernets"]["primary"]["addresses"] == ["192.0.2.10/24"]
    assert after["cloud_init"]["user_data"]["cloud_config"]["users"][0]["passwd"] == MASK
    assert result["diff"]["before"] == {}
    no_secrets(result, client)


def test_create_puts_guestinfo_in_the_clone_spec():
    client = FakeClient()
    params_ = params()
    frozen = copy.deepcopy(params_)
    result = runner.ensure_vm(client, params_)
    assert params_ == frozen  # options are never modified
    clones = [c[1] for c in client.calls if c[0] == "clone"]
    assert len(clones) == 1
    request = clones[0]
    assert "power_on" not in request  # cloned powered off, then powered on
    assert request["pool"] == "pool-1" and request["datastore"] == "datastore-1" and request["folder"] == "group-3"
    extra = request["extra_config"]
    assert extra[records.MANAGED_KEY] == "true"
    # the template's stale vendordata is cleared in the same call
    assert extra["guestinfo.vendordata"] == "" and extra["guestinfo.vendordata.encoding"] == ""
    decoded = decode_guestinfo({k: v for k, v in extra.items() if v})
    assert decoded["meta_data"]["local-hostname"] == "web1"
    assert decoded["network_config"]["ethernets"]["primary"]["nameservers"]["addresses"] == ["192.0.2.53"]
    assert ssh_key() in decoded["user_data"]
    assert [c[0] for c in client.writes()] == ["clone", "power_on"]  # no clone-then-reconfigure
    assert result["changed"] is True
    assert result["vm"]["moid"] == "vm-100"
    assert result["vm"]["managed"] is True
    no_secrets(result, client)


def test_power_on_failure_after_the_clone_says_so_and_a_rerun_converges():
    client = FakeClient()
    client.power_on_fault = "InvalidState: the host is in maintenance mode"
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params())
    msg = str(err.value)
    assert msg.startswith("Failed to power on VM 'web1': it was created (vm-100) but did not power on: "
                          "InvalidState: the host is in maintenance mode.")
    assert "clone" not in msg.lower()
    assert "run the task again" in msg
    assert err.value.details == {"changed": True, "vm_moid": "vm-100"}
    assert client.vms["vm-100"]["power_state"] == records.POWERED_OFF
    # While the cause lasts, a re-run finds the VM (no second clone) and fails to power it on.
    client.calls = []
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params())
    assert str(err.value) == "Failed to power on VM 'web1': InvalidState: the host is in maintenance mode"
    assert [c[0] for c in client.writes()] == ["power_on"]
    # Once it is gone, the re-run powers the VM on, and the next one changes nothing.
    client.power_on_fault = None
    client.calls = []
    result = runner.ensure_vm(client, params(), diff=True)
    assert result["changed"] is True
    assert result["changes"] == ["power_state: poweredOff -> poweredOn"]
    assert result["vm"]["moid"] == "vm-100" and result["vm"]["power_state"] == records.POWERED_ON
    assert [c[0] for c in client.writes()] == ["power_on"]
    assert runner.ensure_vm(client, params())["changed"] is False
    assert sorted(r["name"] for r in client.vms.values()) == ["legacy", "tmpl", "web1"]


def test_a_fault_that_echoes_guestinfo_shows_none_of_it():
    client = FakeClient()
    client.power_on_fault = "echo"
    task = params(guestinfo={"token": "raw-guestinfo-secret-0b1c", "debug": "1"})
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, task)
    message = str(err.value)
    assert "--env guestinfo.userdata=%s " % MASK in message
    assert "--env guestinfo.debug=1 " in message  # nothing to hide in a trivial value
    for key, value in client.vms["vm-100"]["extra_config"].items():
        if key.startswith("guestinfo.") and len(value) > 3:
            assert value not in message, key
    # The same when the VM exists (update).
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, task)
    assert "raw-guestinfo-secret-0b1c" not in str(err.value) and "guestinfo.token=%s" % MASK in str(err.value)


def test_a_new_vm_left_powered_off_is_not_powered_on():
    client = FakeClient()
    client.power_on_fault = "must not be called"
    result = runner.ensure_vm(client, params(state="present"))
    assert [c[0] for c in client.writes()] == ["clone"]
    assert result["vm"]["power_state"] == records.POWERED_OFF


CONTENT_SECRETS = {"runcmd": "runcmd-secret-3f9a", "write_files": "files-secret-8c2e", "user_data": "user-secret-51d7",
                   "vendor_data": "vendor-secret-a6b0", "guestinfo": "raw-guestinfo-secret-0b1c"}


def with_content(**extra):
    cloud_init = dict(CLOUD_INIT, runcmd=["kubeadm join --token %s" % CONTENT_SECRETS["runcmd"], "1"],
                      write_files=[{"path": "/etc/agent.env", "content": "TOKEN=%s" % CONTENT_SECRETS["write_files"]}],
                      user_data={"bootcmd": [["sh", "-c", "echo %s" % CONTENT_SECRETS["user_data"]]]},
                      vendor_data="#cloud-config\nruncmd: [echo %s]\n" % CONTENT_SECRETS["vendor_data"])
    return params(cloud_init=cloud_init, guestinfo={"token": CONTENT_SECRETS["guestinfo"], "debug": "1"}, **extra)


def test_results_and_diffs_show_no_content():
    """Every result and diff path (views, change texts, SECRET_FIELDS, the cloud-init documents)
    of create, update and info, with secrets in each free-form field and in guestinfo."""
    client = FakeClient()
    results = [runner.ensure_vm(client, with_content(), check_mode=True, diff=True),
               runner.ensure_vm(client, with_content(), diff=True)]
    first = copy.deepcopy(client.vms["vm-100"]["extra_config"])
    changed = with_content(force=True)
    changed["cloud_init"]["runcmd"] = ["kubeadm join --token %s-2" % CONTENT_SECRETS["runcmd"]]
    results.append(runner.ensure_vm(client, changed, check_mode=True, diff=True))
    results.append(runner.ensure_vm(client, changed, diff=True))
    results.append(runner.vm_info(client, {"name": "web1", "folder": None}))
    held = [v for extra in (first, client.vms["vm-100"]["extra_config"]) for k, v in extra.items()
            if k.startswith("guestinfo.") and len(v) > 3]
    assert len(held) >= 6
    for result in results:
        text = json.dumps(result)
        for secret in list(CONTENT_SECRETS.values()) + held + [PASSWORD_HASH]:
            assert secret not in text
    update = results[3]
    assert update["diff"]["before"]["cloud_init"]["digests"]["user_data"] != \
        update["diff"]["after"]["cloud_init"]["digests"]["user_data"]
    assert update["diff"]["after"]["cloud_init"]["user_data"]["cloud_config"]["runcmd"].startswith("hmac:")
    assert "guestinfo.userdata: %s (old) -> %s (new)" % (MASK, MASK) in update["changes"]


def test_rerun_is_unchanged_with_two_reads():
    client = FakeClient()
    runner.ensure_vm(client, params())
    client.calls = []
    result = runner.ensure_vm(client, params(), diff=True)
    assert result["changed"] is False
    assert result["changes"] == []
    assert client.calls == [("inventory", False), ("read_vms", ("vm-100",))]
    assert result["diff"]["before"] == result["diff"]["after"]
    no_secrets(result, client)


def test_changed_cloud_init_on_a_running_vm_needs_force():
    client = FakeClient()
    runner.ensure_vm(client, params())
    changed = params(cloud_init=dict(CLOUD_INIT, ip="192.0.2.11/24"))
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, changed)
    assert "need the VM powered off" in str(err.value)
    assert "guestinfo.metadata" in str(err.value)
    assert "guestinfo.userdata:" not in str(err.value)  # user-data did not change
    client.calls = []
    result = runner.ensure_vm(client, dict(changed, force=True))
    assert [c[0] for c in client.writes()] == ["shutdown", "reconfigure", "power_on"]
    assert result["vm"]["power_state"] == "poweredOn"
    decoded = decode_guestinfo(client.vms["vm-100"]["extra_config"])
    assert decoded["network_config"]["ethernets"]["primary"]["addresses"] == ["192.0.2.11/24"]
    assert any("powered off hard" in w for w in result["warnings"])


def test_poweredoff_restarted_poweredon():
    client = FakeClient()
    runner.ensure_vm(client, params())
    off = runner.ensure_vm(client, params(state="poweredoff"))
    assert off["changed"] is True and off["vm"]["power_state"] == "poweredOff"
    assert off["changes"] == ["power_state: poweredOn -> poweredOff"]
    assert runner.ensure_vm(client, params(state="poweredoff"))["changed"] is False
    restarted = runner.ensure_vm(client, params(state="restarted"))
    assert restarted["changed"] is True and restarted["vm"]["power_state"] == "poweredOn"
    client.calls = []
    again = runner.ensure_vm(client, params(state="restarted"))
    assert [c[0] for c in client.writes()] == ["shutdown", "power_on"]
    assert again["changes"] == ["power_state: restarted"]
    assert runner.ensure_vm(client, params(state="poweredon"))["changed"] is False


def test_cpu_memory_change_while_off_needs_no_force():
    client = FakeClient()
    runner.ensure_vm(client, params(state="poweredoff"))
    result = runner.ensure_vm(client, params(state="present", cpu=4, memory_mb=4096))
    assert result["changes"] == ["cpu: 2 -> 4", "memory_mb: 2048 -> 4096"]
    assert [c[0] for c in client.writes()][-1] == "reconfigure"
    assert (result["vm"]["cpu"], result["vm"]["memory_mb"], result["vm"]["power_state"]) == (4, 4096, "poweredOff")


def test_wait_for_ip():
    client = FakeClient()
    client.ip = "192.0.2.10"
    result = runner.ensure_vm(client, params(wait_for_ip=True, wait_timeout=30))
    assert result["vm"]["ip_address"] == "192.0.2.10"
    assert ("wait_for_ip", "vm-100", 30) in client.calls
    off = runner.ensure_vm(client, params(state="poweredoff", wait_for_ip=True))
    assert any("not powered on" in w for w in off["warnings"])


def test_absent_rules():
    client = FakeClient()
    runner.ensure_vm(client, params(state="poweredoff"))
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(name="legacy", state="absent"))
    assert "not created by ghost.infra" in str(err.value) and "powered on" in str(err.value)
    assert "vm-2" in client.vms
    check = runner.ensure_vm(client, params(state="absent"), check_mode=True)
    assert check["changed"] is True and "vm-100" in client.vms
    gone = runner.ensure_vm(client, params(state="absent"), diff=True)
    assert gone["changed"] is True and gone["vm"] == {}
    assert gone["diff"]["after"] == {}
    assert runner.ensure_vm(client, params(state="absent"))["changed"] is False
    forced = runner.ensure_vm(client, params(name="legacy", state="absent", force=True))
    assert forced["changed"] is True
    assert [c[0] for c in client.writes()][-2:] == ["power_off", "destroy"]


def test_errors_for_missing_template_and_templates():
    client = FakeClient()
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(template="nope"))
    assert str(err.value) == "Failed to create VM 'web1': template 'nope' does not exist in datacenter 'ha-datacenter'"
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(template=None))
    assert "no template is given" in str(err.value)
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(name="tmpl"))
    assert "is a template" in str(err.value)
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(datastore="nope"))
    assert str(err.value).startswith("Failed to create VM 'web1': datastore: datastore 'nope' does not exist")
    assert client.writes() == []


def test_name_with_folder_path():
    client = FakeClient()
    client.inv["folders"]["group-4"] = {"name": "lab", "parent": "group-3"}
    result = runner.ensure_vm(client, params(name="lab/web1", cloud_init=None))
    assert result["vm"]["name"] == "web1"
    assert result["vm"]["folder"] == "/ha-datacenter/vm/lab"


def test_raw_guestinfo_is_live_and_masked():
    client = FakeClient()
    runner.ensure_vm(client, params(cloud_init=None))
    result = runner.ensure_vm(client, params(cloud_init=None, guestinfo={"role": "supersecretvalue"}))
    assert result["changes"] == ["guestinfo.role: None -> %s" % MASK]
    assert [c[0] for c in client.writes()][-1] == "reconfigure"  # no power cycle
    assert result["vm"]["guestinfo"] == {"guestinfo.role": MASK}
    assert "supersecretvalue" not in json.dumps(result)


def test_vm_info_filters_and_masks():
    client = FakeClient()
    runner.ensure_vm(client, params())
    result = runner.vm_info(client, {"name": "web*", "folder": None})
    assert [vm["name"] for vm in result["vms"]] == ["web1"]
    assert client.calls[-1] == ("inventory", True)
    assert set(result["vms"][0]["guestinfo"].values()) == {MASK}
    assert [vm["name"] for vm in runner.vm_info(client, {"name": None, "folder": "/ha-datacenter/vm"})["vms"]] == [
        "legacy", "tmpl", "web1"]
    no_secrets(result, client)


class FakeVimCmd:
    def __init__(self):
        self.calls = []

    def list_vms(self):
        return [{"vmid": "5", "name": "web1"}]

    def power_state(self, vmid):
        return records.POWERED_ON if "power_off" not in self.calls else records.POWERED_OFF

    def power_off(self, vmid):
        self.calls.append("power_off")

    def destroy(self, vmid):
        self.calls.append("destroy")


def unreachable(**kwargs):
    raise ApiUnreachableError("Failed to connect to the vSphere API at esxi:443: Connection refused")


def test_fallback_to_ssh_when_the_api_does_not_answer():
    vim = FakeVimCmd()
    result = runner.esxi_vm(params(state="poweredoff", fallback="ssh", shutdown_timeout=0), connect=unreachable,
                            vim_cmd_factory=lambda p: vim)
    assert result["fallback"] == "ssh"
    assert result["changed"] is True
    assert vim.calls == ["power_off"]
    assert "Connection refused" in result["warnings"][0]
    assert "SSH fallback" in result["warnings"][0]


def test_no_fallback_unless_asked_and_not_for_present():
    with pytest.raises(ApiUnreachableError):
        runner.esxi_vm(params(), connect=unreachable, vim_cmd_factory=None)
    with pytest.raises(GhostError) as err:
        runner.esxi_vm(params(state="present", fallback="ssh"), connect=unreachable, vim_cmd_factory=None)
    assert "only handles state poweredon, poweredoff, restarted, absent" in str(err.value)


def test_login_errors_never_fall_back():
    def bad_login(**kwargs):
        raise GhostError("Failed to log in")

    with pytest.raises(GhostError):
        runner.esxi_vm(params(fallback="ssh"), connect=bad_login, vim_cmd_factory=lambda p: pytest.fail("no ssh"))


def test_connected_client_is_closed():
    client = FakeClient()
    runner.esxi_vm(params(), connect=lambda **kw: client, vim_cmd_factory=None)
    assert client.closed is True


class FakeHostAgent(FakeClient):
    """A standalone host: no CloneVM_Task; VMs are made from copies of the source's disks."""

    host_agent = True

    def clone(self, request):
        raise AssertionError("a host agent has no CloneVM_Task")

    def create_by_copy(self, request, plan):
        self.calls.append(("create_by_copy", copy.deepcopy(request), copy.deepcopy(plan)))
        moid = "vm-%d" % self.next_id
        self.next_id += 1
        disks = [dict(d, key=2000 + i, label="Hard disk %d" % (i + 1), file=d["dest"], capacity_kb=d["capacity_kb"], thin=plan["thin"], linked=False)
                 for i, d in enumerate(plan["disks"])]
        self.vms[moid] = vm_record(moid, request["name"], parent=request["folder"], extra_config=dict(plan["extra_config"]),
                                   cpu=request["cpu"] or 2, memory_mb=request["memory_mb"] or 2048, disks=disks)
        return moid


def test_a_host_agent_creates_by_copy_with_the_same_result_shape():
    client = FakeHostAgent()
    check = runner.ensure_vm(client, params(disk_gb=20), check_mode=True)
    assert check["changed"] and client.writes() == []
    assert check["vm"]["disks"][0]["file"] == "[ds1] web1/web1.vmdk" and check["vm"]["disks"][0]["thin"] is True
    result = runner.ensure_vm(client, params(disk_gb=20))
    assert [c[0] for c in client.writes()] == ["create_by_copy", "power_on"]
    _name, request, plan = client.writes()[0]
    assert request["datacenter"] == "ha-datacenter"
    assert plan["directory"] == "[ds1] web1"
    assert [(d["source"], d["dest"], d["grow_kb"]) for d in plan["disks"]] == [
        ("[ds1] tmpl/tmpl.vmdk", "[ds1] web1/web1.vmdk", 20 * GB)]
    # The template's stale vendordata is not carried over; the new keys are there.
    assert "guestinfo.vendordata" not in plan["extra_config"]
    assert decode_guestinfo(plan["extra_config"])["meta_data"]["local-hostname"] == "web1"
    assert result["vm"]["disks"][0]["file"] == "[ds1] web1/web1.vmdk"
    assert {k: v for k, v in check["vm"].items() if k not in ("moid", "uuid", "instance_uuid")} == \
        {k: v for k, v in result["vm"].items() if k not in ("moid", "uuid", "instance_uuid")}
    again = runner.ensure_vm(client, params(disk_gb=20))
    assert again["changed"] is False


def test_a_host_agent_refuses_linked_clones_and_running_sources_before_anything():
    client = FakeHostAgent()
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(linked_clone=True), check_mode=True)
    assert "linked_clone" in str(err.value) and "needs vCenter" in str(err.value)
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, params(template="legacy"))
    assert "cannot copy the disks of a running VM" in str(err.value)
    assert client.writes() == []


def test_a_cold_clone_of_a_vm_keeps_none_of_its_guestinfo():
    client = FakeClient()
    client.vms["vm-2"]["power_state"] = records.POWERED_OFF
    client.vms["vm-2"]["extra_config"] = {"guestinfo.role": "db", "guestinfo.metadata": "OLD", "ghost.infra.managed": "true"}
    runner.ensure_vm(client, params(template="legacy"))
    request = [c[1] for c in client.calls if c[0] == "clone"][0]
    assert request["extra_config"]["guestinfo.role"] == ""
    assert request["extra_config"]["guestinfo.metadata"] not in ("", "OLD")


# -- expiry (ttl / expires_at / max_ttl) ------------------------------------------------------

LIFE_KEYS = set(records.LIFETIME_KEYS.values())


def life_params(**overrides):
    base = params(cloud_init=None, ttl=None, expires_at=None, max_ttl=None)
    base.update(overrides)
    return base


def test_create_with_a_ttl_puts_the_expiry_in_the_clone_spec_and_check_mode_writes_nothing():
    client = FakeClient()
    check = runner.ensure_vm(client, life_params(ttl="1h"), check_mode=True, diff=True)
    assert check["changed"] and client.writes() == []
    assert check["vm"]["ttl"] == "1h" and check["vm"]["expired"] is False and check["vm"]["expires_at"]
    assert check["diff"]["after"]["ttl"] == "1h" and check["diff"]["after"]["expires_at"]
    result = runner.ensure_vm(client, life_params(ttl="1h"))
    assert [c[0] for c in client.writes()] == ["clone", "power_on"]  # one step: no reconfigure after
    extra = client.writes()[0][1]["extra_config"]
    assert extra[records.MANAGED_KEY] == "true"
    assert extra["ghost.infra.ttl"] == "1h" and extra["ghost.infra.expires-at"] == result["vm"]["expires_at"]
    assert extra["ghost.infra.renewed-at"] <= extra["ghost.infra.expires-at"]
    assert (result["vm"]["ttl"], result["vm"]["expired"]) == ("1h", False)


def test_the_same_ttl_again_changes_nothing_however_late_and_a_new_ttl_renews_hot():
    client = FakeClient()
    runner.ensure_vm(client, life_params(ttl="1h"))
    moid = "vm-100"
    # Long after the expiry: the same TTL is still no change (the expiry is not pushed back).
    client.vms[moid]["extra_config"].update({"ghost.infra.expires-at": "2020-01-01T01:00:00Z",
                                             "ghost.infra.renewed-at": "2020-01-01T00:00:00Z"})
    client.calls = []
    same = runner.ensure_vm(client, life_params(ttl="60m"))
    assert same["changed"] is False and client.writes() == []
    assert same["vm"]["expired"] is True and same["vm"]["expires_at"] == "2020-01-01T01:00:00Z"
    assert client.vms[moid]["power_state"] == records.POWERED_ON
    check = runner.ensure_vm(client, life_params(ttl="8h"), check_mode=True, diff=True)
    assert check["changed"] is True and client.writes() == []
    assert check["vm"]["expired"] is False and check["vm"]["ttl"] == "8h"
    assert check["diff"]["before"]["ttl"] == "1h" and check["diff"]["after"]["ttl"] == "8h"
    renewed = runner.ensure_vm(client, life_params(ttl="8h"))
    assert renewed["changed"] is True
    # One reconfigure of extraConfig only, no power change on the running VM.
    assert [c[0] for c in client.writes()] == ["reconfigure"]
    request = client.writes()[0][2]
    assert set(request) == {"extra_config"} and set(request["extra_config"]) == LIFE_KEYS
    assert "ttl: 1h -> 8h" in renewed["changes"]
    assert not any(text.startswith("power_state") for text in renewed["changes"])
    assert (renewed["vm"]["ttl"], renewed["vm"]["expired"]) == ("8h", False)
    assert runner.ensure_vm(client, life_params(ttl="8h"))["changed"] is False
    # Neither option: the stored expiry is kept.
    assert runner.ensure_vm(client, life_params())["changed"] is False
    assert client.vms[moid]["extra_config"]["ghost.infra.ttl"] == "8h"


def test_an_explicit_expires_at_replaces_the_ttl():
    client = FakeClient()
    runner.ensure_vm(client, life_params(ttl="1h"))
    client.calls = []
    result = runner.ensure_vm(client, life_params(expires_at="2030-01-02T03:04:05+01:00"))
    assert result["changed"] is True
    extra = client.writes()[0][2]["extra_config"]
    assert extra == {"ghost.infra.expires-at": "2030-01-02T02:04:05Z", "ghost.infra.ttl": "",
                     "ghost.infra.renewed-at": ""}
    assert (result["vm"]["expires_at"], result["vm"]["ttl"]) == ("2030-01-02T02:04:05Z", None)
    assert runner.ensure_vm(client, life_params(expires_at="2030-01-02T02:04:05Z"))["changed"] is False


@pytest.mark.parametrize("overrides, option", [
    ({"ttl": "30"}, "ttl"), ({"ttl": "0s"}, "ttl"), ({"expires_at": "tomorrow"}, "expires_at"),
    ({"max_ttl": "soon"}, "max_ttl")])
def test_bad_expiry_options_name_the_option_before_any_connection(overrides, option):
    with pytest.raises(GhostError) as err:
        spec.check_params(life_params(**overrides))
    assert err.value.option == option


def test_max_ttl_refuses_before_any_write():
    client = FakeClient()
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, life_params(ttl="8h", max_ttl="1h"))
    assert err.value.option == "ttl" and "max_ttl" in str(err.value)
    assert client.writes() == [] and ("placement", "ha-datacenter") not in client.calls
    runner.ensure_vm(client, life_params(ttl="1h"))
    client.calls = []
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, life_params(expires_at="2099-01-01T00:00:00Z", max_ttl="7d"))
    assert err.value.option == "expires_at"
    assert client.writes() == []


def test_a_vm_without_the_marker_gets_an_expiry_only_with_force():
    client = FakeClient()  # vm-2 "legacy": running, no ownership marker
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, life_params(name="legacy", ttl="1h"))
    assert "not created by ghost.infra" in str(err.value) and "force: true" in str(err.value)
    assert client.writes() == []
    # Without an expiry asked for, nothing changes for it as before.
    assert runner.ensure_vm(client, life_params(name="legacy"))["changed"] is False
    result = runner.ensure_vm(client, life_params(name="legacy", ttl="1h", force=True))
    assert result["changed"] is True and any("never deletes it" in w for w in result["warnings"])
    assert [c[0] for c in client.writes()] == ["reconfigure"]  # no power cycle for an expiry
    assert records.MANAGED_KEY not in client.vms["vm-2"]["extra_config"]
    assert result["vm"]["ttl"] == "1h"


def test_a_clone_does_not_inherit_the_source_expiry():
    client = FakeClient()
    client.vms["vm-1"]["extra_config"].update({"ghost.infra.expires-at": "2020-01-01T00:00:00Z",
                                               "ghost.infra.ttl": "1h"})
    result = runner.ensure_vm(client, life_params())
    extra = client.writes()[0][1]["extra_config"]
    assert extra["ghost.infra.expires-at"] == "" and extra["ghost.infra.ttl"] == ""
    assert (result["vm"]["expires_at"], result["vm"]["expired"]) == (None, False)


def test_a_host_agent_puts_the_expiry_in_the_create_spec():
    client = FakeHostAgent()
    result = runner.ensure_vm(client, life_params(ttl="2h"))
    _name, _request, plan = client.writes()[0]
    assert plan["extra_config"]["ghost.infra.ttl"] == "2h"
    assert plan["extra_config"]["ghost.infra.expires-at"] == result["vm"]["expires_at"]
    assert [c[0] for c in client.writes()] == ["create_by_copy", "power_on"]
    assert runner.ensure_vm(client, life_params(ttl="2h"))["changed"] is False


def test_vm_info_reports_the_expiry():
    client = FakeClient()
    runner.ensure_vm(client, life_params(ttl="1h"))
    client.vms["vm-1"]["extra_config"]["ghost.infra.expires-at"] = "2020-01-01T00:00:00Z"
    vms = {vm["name"]: vm for vm in runner.vm_info(client, {"name": None, "folder": None})["vms"]}
    assert (vms["web1"]["expired"], vms["web1"]["ttl"]) == (False, "1h")
    assert (vms["tmpl"]["expired"], vms["tmpl"]["expires_at"], vms["tmpl"]["ttl"]) == (True, "2020-01-01T00:00:00Z", None)
    assert (vms["legacy"]["expired"], vms["legacy"]["expires_at"]) == (False, None)
