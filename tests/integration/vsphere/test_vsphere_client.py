# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere client against the testbed's simulators, counting SOAP calls.

The info module must read everything with one paged RetrievePropertiesEx, and an esxi_vm
no-op with one call for the inventory and one for the VM; connection failures must give
clear messages without the password.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import client as client_mod
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner

SIMULATORS = ["vcenter", "esxi"]


def port_of(env, which):
    return int(env["VMWARE_PORT"] if which == "vcenter" else env["GHOST_ESXI_PORT"])


def host_of(env, which):
    return env["VMWARE_HOST"] if which == "vcenter" else env["GHOST_ESXI_HOST"]


def connect(env, which, **overrides):
    args = {"hostname": host_of(env, which), "username": env["VMWARE_USER"], "password": env["VMWARE_PASSWORD"],
            "port": port_of(env, which), "validate_certs": False}
    args.update(overrides)
    return VmClient.connect(**args)


@pytest.fixture(params=SIMULATORS)
def session(request, testbed, call_recorder):
    client = connect(testbed, request.param)
    yield client, call_recorder(client), testbed, request.param
    client.close()


def params(env, which, **overrides):
    base = {"hostname": host_of(env, which), "username": env["VMWARE_USER"], "password": env["VMWARE_PASSWORD"],
            "port": port_of(env, which), "validate_certs": False, "name": "ghost-it-calls", "state": "poweredon",
            "template": env.get("GHOST_VSPHERE_TEMPLATE") or "ubuntu-22.04-template", "datacenter": None,
            "folder": None, "resource_pool": None, "datastore": None, "network": None, "cpu": None,
            "memory_mb": None, "disk_gb": None, "linked_clone": False, "cloud_init": {"hostname": "calls"},
            "guestinfo": None, "wait_for_ip": False, "wait_timeout": 30, "shutdown_timeout": 0, "force": True,
            "fallback": "none"}
    base.update(overrides)
    return base


def test_info_is_one_paged_retrieve(session):
    client, calls, env, which = session
    result = runner.vm_info(client, {"name": None, "folder": None})
    assert calls.names == ["RetrievePropertiesEx"]  # one walk from the root folder, no view
    assert len(result["vms"]) >= 2
    assert any(vm["template"] for vm in result["vms"])


def test_raw_reads_equal_pyvmomi_reads(session):
    """The fast XML reader and pyVmomi's deserializer give the same records."""
    client, calls, env, which = session
    assert client._raw_reads is True
    task = params(env, which, name="ghost-it-calls-3", state="present", guestinfo={"a": "1", "b": "2"})
    try:
        runner.ensure_vm(client, task)
        raw_inventory = client.inventory(full=True)
        raw_placement = client.placement(next(iter(raw_inventory["datacenters"])))
        raw_vms = client.read_vms([v["moid"] for v in raw_inventory["vms"]], raw_inventory["networks"])
        client._raw_reads = False
        assert client.inventory(full=True) == raw_inventory
        assert client.placement(next(iter(raw_inventory["datacenters"]))) == raw_placement
        assert client.read_vms([v["moid"] for v in raw_inventory["vms"]], raw_inventory["networks"]) == raw_vms
    finally:
        client._raw_reads = True
        runner.ensure_vm(client, dict(task, state="absent"))
    created = [v for v in raw_vms if v["name"] == "ghost-it-calls-3"][0]
    assert created["extra_config"]["guestinfo.a"] == "1"
    assert created["disks"] and created["nics"] and created["uuid"]


def test_paging_reads_every_page(session, monkeypatch):
    client, calls, env, which = session
    everything = client.inventory(full=True)
    calls.names[:] = []
    monkeypatch.setattr(client_mod, "PAGE_SIZE", 2)
    paged = client.inventory(full=True)
    assert calls.names.count("RetrievePropertiesEx") == 1
    assert calls.names.count("ContinueRetrievePropertiesEx") >= 1
    assert sorted(v["moid"] for v in paged["vms"]) == sorted(v["moid"] for v in everything["vms"])
    assert paged["folders"] == everything["folders"]


def test_noop_reads_twice_and_writes_nothing(session):
    client, calls, env, which = session
    task = params(env, which)
    try:
        assert runner.ensure_vm(client, task)["changed"] is True
        calls.names[:] = []
        result = runner.ensure_vm(client, task)
        assert result["changed"] is False
        assert calls.names == ["RetrievePropertiesEx", "RetrievePropertiesEx"]
    finally:
        runner.ensure_vm(client, dict(task, state="absent"))


def test_create_is_one_clone_call(session):
    """vCenter: one CloneVM_Task. A standalone host has none: one copy per disk and one
    CreateVM_Task. Either way the guestinfo is in the one call that makes the VM."""
    client, calls, env, which = session
    task = params(env, which, name="ghost-it-calls-2", state="present")
    try:
        runner.ensure_vm(client, task)
        writes = [n for n in calls.names if n.endswith("_Task") or n == "MakeDirectory"]
        if which == "vcenter":
            assert client.host_agent is False
            assert writes == ["CloneVM_Task"]
        else:
            assert client.host_agent is True
            assert writes == ["MakeDirectory", "CopyVirtualDisk_Task", "CreateVM_Task"]
    finally:
        runner.ensure_vm(client, dict(task, state="absent"))


# vcsim runs a container for a VM whose extraConfig has RUN.container, and fails its power-on
# when that container cannot be created: an image reference docker refuses (upper case) fails
# PowerOnVM_Task of that one VM, with or without a docker daemon.
BROKEN_POWER_ON = {"RUN.container": '["GHOST-INFRA-NO-SUCH-IMAGE"]', "RUN.mountdmi": "false"}


def test_power_on_failure_after_the_clone_is_told_and_a_rerun_converges(session):
    client, calls, env, which = session
    task = params(env, which, name="ghost-it-calls-4")
    create = "create_by_copy" if client.host_agent else "clone"
    made = getattr(client, create)

    def create_then_break_power_on(request, *rest):
        moid = made(request, *rest)
        client.reconfigure(moid, {"extra_config": BROKEN_POWER_ON}, request["name"])
        return moid

    try:
        setattr(client, create, create_then_break_power_on)
        with pytest.raises(GhostError) as err:
            runner.ensure_vm(client, task)
        delattr(client, create)
        message = str(err.value)
        assert message.startswith("Failed to power on VM 'ghost-it-calls-4': it was created (vm-")
        assert "but did not power on: MissingPowerOnConfiguration" in message
        assert "clone" not in message.lower()
        assert err.value.details["changed"] is True
        # vcsim's fault has the VM's guestinfo in it (a container command line): masked.
        held = client.read_vms([err.value.details["vm_moid"]])[0]["extra_config"]
        assert "guestinfo.userdata" in held
        for key, value in held.items():
            if key.startswith("guestinfo.") and len(value) > 3:
                assert value not in message, key
        vms = runner.vm_info(client, {"name": task["name"], "folder": None})["vms"]
        assert [(vm["moid"], vm["power_state"], vm["managed"]) for vm in vms] == [
            (err.value.details["vm_moid"], "poweredOff", True)]
        # While the cause lasts a re-run finds the VM, clones nothing and fails to power it on.
        calls.names[:] = []
        with pytest.raises(GhostError) as err_again:
            runner.ensure_vm(client, task)
        assert str(err_again.value).startswith("Failed to power on VM 'ghost-it-calls-4': MissingPowerOnConfiguration")
        assert [n for n in calls.names if n.endswith("_Task")] == ["PowerOnVM_Task"]
        # Without it, the re-run powers the VM on, and the next one changes nothing.
        client.reconfigure(vms[0]["moid"], {"extra_config": dict.fromkeys(BROKEN_POWER_ON, "")}, task["name"])
        result = runner.ensure_vm(client, task)
        assert result["changed"] is True
        assert (result["vm"]["moid"], result["vm"]["power_state"]) == (vms[0]["moid"], "poweredOn")
        assert runner.ensure_vm(client, task)["changed"] is False
    finally:
        client.__dict__.pop(create, None)
        runner.ensure_vm(client, dict(task, state="absent"))


@pytest.mark.parametrize("which", SIMULATORS)
def test_wrong_password_message(testbed, which):
    with pytest.raises(GhostError) as err:
        connect(testbed, which, password="wrong-" + testbed["VMWARE_PASSWORD"])
    message = str(err.value)
    assert "incorrect user name or password" in message
    assert testbed["VMWARE_PASSWORD"] not in message
    assert not isinstance(err.value, client_mod.ApiUnreachableError)


@pytest.mark.parametrize("which", SIMULATORS)
def test_untrusted_certificate_message(testbed, which):
    with pytest.raises(GhostError) as err:
        connect(testbed, which, validate_certs=True)
    assert "TLS certificate is not trusted" in str(err.value)
    assert "validate_certs: false" in str(err.value)
    assert not isinstance(err.value, client_mod.ApiUnreachableError)


def test_dead_port_is_unreachable(testbed):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(client_mod.ApiUnreachableError) as err:
        connect(testbed, "vcenter", port=port)
    assert "Connection refused" in str(err.value)
    assert testbed["VMWARE_PASSWORD"] not in str(err.value)


def test_missing_credentials_name_the_variable():
    with pytest.raises(GhostError) as err:
        client_mod.VsphereClient.connect(hostname="127.0.0.1", username="u", password=None)
    assert err.value.option == "password"
    assert "VMWARE_PASSWORD" in str(err.value)
