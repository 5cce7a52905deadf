# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What esxi_vm_snapshot does, given a client. Private to ghost.infra.

ensure_snapshot() takes a client (snapshot_client.SnapshotClient, or a fake in unit tests) and
the module's options as a plain dict it never modifies. It finds the VM as esxi_vm does (one
inventory read), reads its snapshot tree and power state (one read), plans with
snapshot_spec.py, applies the plan unless in check mode, reads the tree again after a change and
returns the result dict; it raises GhostError. esxi_vm_snapshot() adds the connection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import lookup
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.runner import connection


def failure_prefix(params):
    """``Failed to <verb> ...`` for the task ``params`` describe."""
    vm, name, state = params["vm_name"], params.get("name"), params.get("state") or "present"
    if state == "present":
        return "Failed to create snapshot '%s' of VM '%s'" % (name, vm)
    if state == "reverted":
        return "Failed to revert VM '%s' to snapshot '%s'" % (vm, name)
    if params.get("all"):
        return "Failed to remove the snapshots of VM '%s'" % vm
    return "Failed to remove snapshot '%s' of VM '%s'" % (name, vm)


def find_vm(inventory, params):
    """The inventory record of ``vm_name`` (a name or a path, restricted by ``datacenter`` and
    ``folder`` as in esxi_vm); errors name the option."""
    datacenter = lookup.find_datacenter(inventory, params.get("datacenter"))
    vm_name = params["vm_name"].strip("/")
    try:
        match = lookup.only_one(lookup.find_vms(inventory, vm_name, datacenter=datacenter,
                                                folder=params.get("folder")), "VM", vm_name)
    except GhostError as exc:
        raise GhostError(exc.msg, option="vm_name")
    if match is None:
        where = []
        if datacenter:
            where.append("datacenter '%s'" % inventory["datacenters"][datacenter]["name"])
        if params.get("folder"):
            where.append("folder '%s'" % params["folder"])
        raise GhostError("no VM is named '%s'%s" % (vm_name, (" in " + " and ".join(where)) if where else ""),
                         option="vm_name")
    if match.get("template"):
        raise GhostError("'%s' is a template, which has no snapshots" % vm_name, option="vm_name")
    return match


def _read(client, vm):
    state = client.read_snapshots(vm["moid"])
    if state is None:
        raise GhostError("VM '%s' disappeared" % vm["name"], option="vm_name")
    return state


def _power(client, vm, steps):
    """Run snapshot_spec.power_steps() ``steps`` on the VM."""
    for step in steps:
        if step == "power_on":
            client.power_on(vm["moid"], vm["name"])
        elif step == "power_off":
            client.power_off(vm["moid"], vm["name"])
        elif step == "suspend":
            client.suspend(vm["moid"], vm["name"])


def _apply(client, vm, plan, params):
    """Carry out ``plan``; return the entries and power state read afterwards."""
    action, target = plan["action"], plan["target"]
    if action == "create":
        client.create_snapshot(vm["moid"], vm_name=vm["name"], name=params["name"],
                               description=params.get("description"), memory=bool(params.get("memory")),
                               quiesce=bool(params.get("quiesce")))
    elif action == "remove":
        client.remove_snapshot(target["moid"], vm_name=vm["name"], name=target["name"],
                               remove_children=bool(params.get("remove_children")))
    elif action == "remove_all":
        client.remove_all_snapshots(vm["moid"], vm["name"])
    elif action == "revert":
        client.revert_to_snapshot(target["moid"], vm_name=vm["name"], name=target["name"])
    state = _read(client, vm)
    power_state = state["power_state"]
    if action == "revert":
        # vSphere leaves the VM as the snapshot recorded it; power_on, or a backend that did not,
        # is made good here.
        steps = spec.power_steps(power_state, plan["power_state"])
        _power(client, vm, steps)
        if steps:
            power_state = plan["power_state"]
    return spec.flatten(state["snapshot"]), power_state


def _result(*, vm, entries, power_state, params, plan, diff, before):
    name = params.get("name")
    snapshot = next((e for e in entries if name is not None and e["name"] == name), None)
    result = build_result(bool(plan["action"]), diff_enabled=diff, before=before,
                          after=spec.diff_side(entries, power_state), vm=spec.vm_view(vm, power_state),
                          snapshot=snapshot or {}, snapshots=entries, changes=plan["changes"])
    if plan["warnings"]:
        result["warnings"] = list(plan["warnings"])
    return result


def ensure_snapshot(client, params, *, check_mode=False, diff=False):
    """The esxi_vm_snapshot task against a connected client: two reads for a task that changes
    nothing (the inventory, the VM's snapshots), one more read after a change."""
    spec.check_params(params)
    try:
        vm = find_vm(client.inventory(), params)
        state = _read(client, vm)
        entries = spec.flatten(state["snapshot"])
        plan = spec.plan(entries, params, power_state=state["power_state"])
    except GhostError as exc:
        raise GhostError("%s: %s" % (failure_prefix(params), exc), details=exc.details)
    before = spec.diff_side(entries, state["power_state"])
    entries, power_state = plan["after"], plan["power_state"]
    if plan["action"] and not check_mode:
        entries, power_state = _apply(client, vm, plan, params)
    return _result(vm=vm, entries=entries, power_state=power_state, params=params, plan=plan, diff=diff,
                   before=before)


def esxi_vm_snapshot(params, *, check_mode=False, diff=False, connect):
    """Check the options, connect with ``connect(**connection)`` (a client usable as a context
    manager, logged out at the end) and run ensure_snapshot()."""
    spec.check_params(params)
    with connect(**connection(params)) as client:
        return ensure_snapshot(client, params, check_mode=check_mode, diff=diff)
