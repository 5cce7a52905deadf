# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Expiry (ttl) of esxi_vm VMs on both simulators, counting SOAP calls.

The expiry must be in the one call that makes the VM (CloneVM_Task on vCenter, CreateVM_Task on
the standalone host), be read back by plain pyVmomi from the VM's extraConfig, be reported
expired by esxi_vm_info's one read, leave a re-run with the same TTL a two-read no-op, and a new
TTL must be one ReconfigVM_Task without any power change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient

SIMULATORS = ["vcenter", "esxi"]
KEYS = ("ghost.infra.managed", "ghost.infra.ttl", "ghost.infra.expires-at", "ghost.infra.renewed-at")


def connect(env, which):
    port = env["VMWARE_PORT"] if which == "vcenter" else env["GHOST_ESXI_PORT"]
    host = env["VMWARE_HOST"] if which == "vcenter" else env["GHOST_ESXI_HOST"]
    return VmClient.connect(hostname=host, port=int(port), username=env["VMWARE_USER"],
                            password=env["VMWARE_PASSWORD"], validate_certs=False)


@pytest.fixture(params=SIMULATORS)
def session(request, testbed, call_recorder):
    client = connect(testbed, request.param)
    yield client, call_recorder(client), testbed, request.param
    client.close()


def task(env, name, **overrides):
    base = {"name": name, "state": "poweredon", "template": env.get("GHOST_VSPHERE_TEMPLATE") or "ubuntu-22.04-template",
            "datacenter": None, "folder": None, "resource_pool": None, "datastore": None, "network": None,
            "cpu": None, "memory_mb": None, "disk_gb": None, "linked_clone": False, "disk_format": None,
            "cloud_init": {"hostname": name}, "guestinfo": None, "wait_for_ip": False, "wait_timeout": 30,
            "shutdown_timeout": 0, "force": False, "fallback": "none", "ttl": None, "expires_at": None,
            "max_ttl": None}
    base.update(overrides)
    return base


def held(client, moid):
    """The VM's ghost.infra keys and power state, read with plain pyVmomi (not the module's reader)."""
    vim = __import__("pyVmomi").vim
    vm = vim.VirtualMachine(moid, client._stub)
    extra = {o.key: o.value for o in vm.config.extraConfig if o.key in KEYS}
    return extra, str(vm.runtime.powerState)


def seconds_between(start, end):
    def parse(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return (parse(end) - parse(start)).total_seconds()


def test_ttl_in_the_create_call_expires_and_renews_hot(session):
    client, calls, env, which = session
    name = "ghost-it-ttl-%s" % which
    runner.ensure_vm(client, task(env, name, state="absent", force=True))
    try:
        calls.names[:] = []
        created = runner.ensure_vm(client, task(env, name, ttl="1s"))
        assert created["changed"] is True
        writes = [n for n in calls.names if n.endswith("_Task") or n == "MakeDirectory"]
        # The expiry is in the call that makes the VM: no ReconfigVM_Task after it.
        if which == "vcenter":
            assert writes == ["CloneVM_Task", "PowerOnVM_Task"]
        else:
            assert writes == ["MakeDirectory", "CopyVirtualDisk_Task", "CreateVM_Task", "PowerOnVM_Task"]
        moid = created["vm"]["moid"]
        extra, power = held(client, moid)
        assert extra["ghost.infra.managed"] == "true" and extra["ghost.infra.ttl"] == "1s"
        assert seconds_between(extra["ghost.infra.renewed-at"], extra["ghost.infra.expires-at"]) == 1
        assert created["vm"]["expires_at"] == extra["ghost.infra.expires-at"] and power == "poweredOn"

        time.sleep(2)
        calls.names[:] = []
        (info,) = runner.vm_info(client, {"name": name, "folder": None})["vms"]
        assert calls.names == ["RetrievePropertiesEx"]  # the same one read as before
        assert (info["expired"], info["ttl"], info["expires_at"]) == (True, "1s", extra["ghost.infra.expires-at"])

        calls.names[:] = []
        again = runner.ensure_vm(client, task(env, name, ttl="1s"))
        assert again["changed"] is False and again["vm"]["expired"] is True
        assert calls.names == ["RetrievePropertiesEx", "RetrievePropertiesEx"]
        assert held(client, moid)[0] == extra

        calls.names[:] = []
        renewed = runner.ensure_vm(client, task(env, name, ttl="1h"), diff=True)
        assert renewed["changed"] is True and renewed["vm"]["expired"] is False and renewed["vm"]["ttl"] == "1h"
        assert calls.writes() == ["ReconfigVM_Task"]  # extraConfig only, no power change
        assert renewed["diff"]["before"]["ttl"] == "1s" and renewed["diff"]["after"]["ttl"] == "1h"
        extra, power = held(client, moid)
        assert extra["ghost.infra.ttl"] == "1h" and power == "poweredOn"
        assert seconds_between(extra["ghost.infra.renewed-at"], extra["ghost.infra.expires-at"]) == 3600
        (info,) = runner.vm_info(client, {"name": name, "folder": None})["vms"]
        assert (info["expired"], info["ttl"]) == (False, "1h")
        assert runner.ensure_vm(client, task(env, name, ttl="1h"))["changed"] is False
    finally:
        runner.ensure_vm(client, task(env, name, state="absent", force=True))
