# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm on a standalone ESXi host, where CloneVM_Task answers NotSupported (the testbed's ESX
simulator refuses it as hostd does): the VM is made from copies of the source's disks.

Outcomes are checked where they are: the simulator keeps each datastore in a directory of this
machine (its summary.url), so the VM's own disk files, and the folders a failure must not leave,
are looked at on disk; guestinfo is decoded from what the API reports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import decode_guestinfo
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient

SIMULATORS = ["vcenter", "esxi"]
TEMPLATE = "ubuntu-22.04-template"


def connect(env, which):
    port = env["VMWARE_PORT"] if which == "vcenter" else env["GHOST_ESXI_PORT"]
    host = env["VMWARE_HOST"] if which == "vcenter" else env["GHOST_ESXI_HOST"]
    return VmClient.connect(hostname=host, port=int(port), username=env["VMWARE_USER"],
                            password=env["VMWARE_PASSWORD"], validate_certs=False)


@pytest.fixture
def esxi(testbed, call_recorder):
    client = connect(testbed, "esxi")
    assert client.host_agent is True
    yield client, call_recorder(client)
    client.close()


@pytest.fixture(params=SIMULATORS)
def either(request, testbed, call_recorder):
    client = connect(testbed, request.param)
    yield client, call_recorder(client), request.param
    client.close()


def task(name, **overrides):
    base = {"name": name, "state": "present", "template": TEMPLATE, "datacenter": None, "folder": None,
            "resource_pool": None, "datastore": None, "network": None, "cpu": None, "memory_mb": None,
            "disk_gb": None, "linked_clone": False, "disk_format": None, "guestinfo": None, "wait_for_ip": False,
            "wait_timeout": 30, "shutdown_timeout": 0, "force": True, "fallback": "none",
            "cloud_init": {"hostname": name, "ip": "192.0.2.21/24", "gateway": "192.0.2.1"}}
    base.update(overrides)
    return base


def datastore_dirs(client):
    """{datastore name: local directory} of the simulator's datastores."""
    vim = __import__("pyVmomi").vim
    view = client.content.viewManager.CreateContainerView(client.content.rootFolder, [vim.Datastore], True)
    try:
        return {ds.name: ds.summary.url for ds in view.view}
    finally:
        view.DestroyView()


def local(client, path):
    """The local file of a ``[datastore] path`` on the simulator."""
    store, _sep, rest = path.partition("] ")
    return os.path.join(datastore_dirs(client)[store.lstrip("[")], rest)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def remove(client, name):
    runner.ensure_vm(client, task(name, state="absent"))


def test_create_makes_own_disks_and_guestinfo_then_converges_and_deletes(esxi):
    client, calls = esxi
    name = "ghost-it-sa-1"
    remove(client, name)
    template = runner.vm_info(client, {"name": TEMPLATE, "folder": None})["vms"][0]
    template_file = local(client, template["disks"][0]["file"])
    template_bytes = read(template_file)
    try:
        check = runner.ensure_vm(client, task(name, disk_gb=12), check_mode=True)
        assert check["changed"] and [n for n in calls.names if n.endswith("_Task") or n == "MakeDirectory"] == []
        assert not os.path.exists(os.path.dirname(local(client, check["vm"]["disks"][0]["file"])))
        calls.names[:] = []
        created = runner.ensure_vm(client, task(name, disk_gb=12))
        assert [n for n in calls.names if n.endswith("_Task") or n == "MakeDirectory"] == [
            "MakeDirectory", "CopyVirtualDisk_Task", "ExtendVirtualDisk_Task", "CreateVM_Task"]
        assert "CloneVM_Task" not in calls.names
        vm = created["vm"]
        disk = vm["disks"][0]
        assert disk["file"] == "[%s] %s/%s.vmdk" % (disk["file"][1:].split("]")[0], name, name)
        assert disk["capacity_gb"] == 12.0 and disk["thin"] is True and disk["linked"] is False
        own = local(client, disk["file"])
        assert os.path.isfile(own) and own != template_file
        assert read(template_file) == template_bytes  # the source is untouched
        # What the check run predicted is what was made (but for the ids the host gives).
        ids = ("moid", "uuid", "instance_uuid")
        assert {k: v for k, v in check["vm"].items() if k not in ids} == {k: v for k, v in vm.items() if k not in ids}
        held = client.read_vms([vm["moid"]])[0]
        decoded = decode_guestinfo(held["extra_config"])
        assert decoded["meta_data"]["local-hostname"] == name
        assert decoded["network_config"]["ethernets"]["primary"]["addresses"] == ["192.0.2.21/24"]
        assert held["extra_config"]["ghost.infra.managed"] == "true"
        assert held["nics"][0]["mac"] not in (None, "") and held["nics"][0]["mac"] != template_mac(client)
        calls.names[:] = []
        again = runner.ensure_vm(client, task(name, disk_gb=12))
        assert again["changed"] is False and [n for n in calls.names if n.endswith("_Task")] == []
    finally:
        remove(client, name)
    assert runner.vm_info(client, {"name": name, "folder": None})["vms"] == []
    assert not os.path.exists(os.path.dirname(local(client, "[%s] %s/x" % (disk["file"][1:].split("]")[0], name))))


def template_mac(client):
    found = [v for v in client.inventory(full=True)["vms"] if v["name"] == TEMPLATE]
    return found[0]["nics"][0]["mac"]


def test_cold_clone_of_a_vm_gets_a_new_identity(either):
    """Clone a powered-off VM that was made with a static IP: the copy carries the new address, a
    new instance-id and a new MAC, and nothing of the source's guestinfo."""
    client, calls, which = either
    source, copy_ = "ghost-it-sa-src-" + which, "ghost-it-sa-copy-" + which
    remove(client, copy_)
    remove(client, source)
    try:
        runner.ensure_vm(client, task(source, state="poweredoff", guestinfo={"role": "source-secret-role-31"},
                                      cloud_init={"hostname": "src", "ip": "192.0.2.31/24", "gateway": "192.0.2.1"}))
        made = runner.ensure_vm(client, task(copy_, template=source, state="poweredoff",
                                             cloud_init={"hostname": "copy", "ip": "192.0.2.32/24", "gateway": "192.0.2.1"}))
        held = {r["name"]: r for r in client.inventory(full=True)["vms"] if r["name"] in (source, copy_)}
        old, new = decode_guestinfo(held[source]["extra_config"]), decode_guestinfo(held[copy_]["extra_config"])
        assert new["network_config"]["ethernets"]["primary"]["addresses"] == ["192.0.2.32/24"]
        assert new["meta_data"]["local-hostname"] == "copy"
        assert new["meta_data"]["instance-id"] != old["meta_data"]["instance-id"]
        assert "guestinfo.role" not in held[copy_]["extra_config"]
        assert "source-secret-role-31" not in str(held[copy_]["extra_config"])
        assert held[copy_]["uuid"] != held[source]["uuid"]
        if which == "esxi":  # vcsim's CloneVM copies MACs; real vCenter gives new ones
            assert held[copy_]["nics"][0]["mac"] != held[source]["nics"][0]["mac"]
            assert held[copy_]["disks"][0]["file"] != held[source]["disks"][0]["file"]
        assert made["vm"]["managed"] is True
    finally:
        remove(client, copy_)
        remove(client, source)


def test_a_running_source_is_refused_on_a_standalone_host_only(either):
    client, calls, which = either
    source, copy_ = "ghost-it-sa-run-" + which, "ghost-it-sa-run-copy-" + which
    remove(client, copy_)
    try:
        runner.ensure_vm(client, task(source, state="poweredon"))
        calls.names[:] = []
        if which == "esxi":
            with pytest.raises(GhostError) as err:
                runner.ensure_vm(client, task(copy_, template=source))
            assert "cannot copy the disks of a running VM" in str(err.value)
            assert "template" in str(err.value)
            assert [n for n in calls.names if n.endswith("_Task") or n == "MakeDirectory"] == []
        else:
            assert runner.ensure_vm(client, task(copy_, template=source))["changed"] is True
    finally:
        remove(client, copy_)
        remove(client, source)


def test_linked_clone_is_refused_clearly_on_a_standalone_host(esxi):
    client, calls = esxi
    with pytest.raises(GhostError) as err:
        runner.ensure_vm(client, task("ghost-it-sa-linked", linked_clone=True), check_mode=True)
    assert "linked_clone" in str(err.value) and "needs vCenter" in str(err.value)


def test_a_folder_that_exists_is_neither_used_nor_removed(esxi):
    client, calls = esxi
    name = "ghost-it-sa-folder"
    remove(client, name)
    store = datastore_dirs(client)
    ds_name = sorted(store)[0]
    folder = os.path.join(store[ds_name], name)
    os.makedirs(folder)
    with open(os.path.join(folder, "keep.txt"), "w") as handle:
        handle.write("not ours")
    try:
        with pytest.raises(GhostError) as err:
            runner.ensure_vm(client, task(name, datastore=ds_name))
        message = str(err.value)
        # Not what an interrupted create leaves (only the copied disks): refused, named, kept.
        assert "step 'remove the folder [%s] %s an interrupted create left'" % (ds_name, name) in message
        assert "it holds files this module did not leave there (keep.txt)" in message
        assert "choose another name" in message and "nothing had been made" in message
        assert read(os.path.join(folder, "keep.txt")) == b"not ours"
        assert runner.vm_info(client, {"name": name, "folder": None})["vms"] == []
    finally:
        os.remove(os.path.join(folder, "keep.txt"))
        os.rmdir(folder)


def inject(env, rule):
    """Add a fault rule to the ESX simulator (the testbed's /ghost-testbed/faults); returns its id."""
    import json
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    url = "https://127.0.0.1:%s/ghost-testbed/faults" % env["GHOST_ESXI_PORT"]
    req = urllib.request.Request(url, data=json.dumps(rule).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=context, timeout=10) as resp:
        return url, json.loads(resp.read())["id"]


def clear(url, rule_id):
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    urllib.request.urlopen(urllib.request.Request("%s?id=%s" % (url, rule_id), method="DELETE"),
                           context=context, timeout=10).close()


@pytest.mark.parametrize("method, fault, step, as_task", [
    ("CreateVM_Task", "NotSupported", "register the VM (CreateVM_Task)", False),
    ("CreateVM_Task", "NoDiskSpace", "register the VM (CreateVM_Task)", True),
    ("CopyVirtualDisk_Task", "NoDiskSpace", "copy disk", True),
    ("ExtendVirtualDisk_Task", "FileFault", "grow disk", False),
])
def test_a_failure_half_way_leaves_nothing_and_a_rerun_converges(esxi, testbed, method, fault, step, as_task):
    client, calls = esxi
    name = "ghost-it-sa-fail"
    remove(client, name)
    ds_dirs = datastore_dirs(client)
    before = {ds: sorted(os.listdir(path)) for ds, path in ds_dirs.items()}
    url, rule = inject(testbed, {"method": method, "fault": fault, "match": name, "count": 1, "task": as_task})
    try:
        with pytest.raises(GhostError) as err:
            runner.ensure_vm(client, task(name, disk_gb=15))
        message = str(err.value)
        assert message.startswith("Failed to create VM '%s' on the standalone host at step '%s" % (name, step))
        assert fault in message and "removed what it had made" in message
        # Nothing left: no VM, and the datastores hold what they held before.
        assert runner.vm_info(client, {"name": name, "folder": None})["vms"] == []
        assert {ds: sorted(os.listdir(path)) for ds, path in ds_dirs.items()} == before
    finally:
        clear(url, rule)
    try:
        assert runner.ensure_vm(client, task(name, disk_gb=15))["changed"] is True
        assert runner.ensure_vm(client, task(name, disk_gb=15))["changed"] is False
    finally:
        remove(client, name)
