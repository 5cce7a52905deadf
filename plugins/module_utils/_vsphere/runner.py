# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What esxi_vm and esxi_vm_info do, given a client. Private to ghost.infra.

ensure_vm() and vm_info() take a client object (client.VsphereClient, or a fake in unit
tests) and the module's options as a plain dict they never modify. They read what they need
once, compute the plan (spec.py) and the views (views.py), apply the plan unless in check
mode, and return the result dict; they raise GhostError. esxi_vm() adds the connection and
the SSH fallback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import (
    GUESTINFO_KEYS,
    encode_guestinfo,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import (
    masked_documents,
    render_documents,
)
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import copy_spec, lookup, records, spec, views
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import POWERED_OFF, POWERED_ON

CONNECTION_OPTIONS = ("hostname", "username", "password", "port", "validate_certs")


def _render_cloud_init(params):
    """(documents, guestinfo keys) for the cloud_init option, or (None, None)."""
    if params.get("cloud_init") is None:
        return None, None
    documents = render_documents(params["cloud_init"], name=params["name"],
                                 backend="esxi")
    return documents, encode_guestinfo(documents)


def _result(*, changed, vm, diff, before, after, changes=(), warnings=()):
    result = build_result(changed, diff_enabled=diff, before=before, after=after,
                          secret_fields=views.SECRET_FIELDS, vm=vm, changes=list(changes))
    if warnings:
        result["warnings"] = list(warnings)
    return result


@contextlib.contextmanager
def _guestinfo_hidden(*extra_configs):
    """A GhostError raised inside comes out with the guestinfo values of ``extra_configs``
    masked: a fault may echo what a VM holds (vcsim's power-on fault has its guestinfo)."""
    try:
        yield
    except GhostError as exc:
        raise GhostError(views.hide_guestinfo(exc.msg, *extra_configs), option=exc.option,
                         details=exc.details) from None


def _final_vm(client, record, *, inventory, params, warnings):
    """Re-read the VM after changes (one call), or wait for its IP when asked; ``record``
    carries the moid, name and the power state the task left the VM in."""
    networks = inventory.get("networks")
    if params.get("wait_for_ip"):
        if record.get("power_state") == POWERED_ON:
            found = client.wait_for_ip(record["moid"], record["name"], params.get("wait_timeout", 300), networks)
            return views.vm_view(found, inventory)
        warnings.append("wait_for_ip: VM '%s' is not powered on, so no IP address was awaited" % record["name"])
    records = client.read_vms([record["moid"]], networks)
    return views.vm_view(records[0], inventory) if records else {}


def _apply_steps(client, record, *, steps, reconfig, shutdown_timeout):
    """Run spec.power_plan() ``steps`` on an existing VM; return the warnings."""
    warnings = []
    for step in steps:
        if step == "shutdown":
            how = client.shutdown(record, shutdown_timeout)
            if how == "hard" and shutdown_timeout > 0:
                warnings.append("VM '%s' did not shut down through VMware Tools%s; it was powered off hard" % (
                    record["name"], "" if record.get("tools_running") else " (Tools not running)"))
        elif step == "power_off":
            client.power_off(record["moid"], record["name"])
        elif step == "reconfigure" and reconfig:
            client.reconfigure(record["moid"], reconfig, record["name"])
        elif step == "power_on":
            client.power_on(record["moid"], record["name"])
    return warnings


def _absent(client, record, *, inventory, params, check_mode, diff):
    if record is None:
        return _result(changed=False, vm={}, diff=diff, before={}, after={})
    reasons = spec.absent_refusals(record, force=params.get("force"))
    if reasons:
        raise GhostError(failure("delete", "VM", params["name"],
                                 "; ".join(reasons) + "; set force: true to delete it anyway"))
    before = views.diff_side(views.vm_view(record, inventory))
    if not check_mode:
        with _guestinfo_hidden(record.get("extra_config")):
            if record.get("power_state") != POWERED_OFF:
                client.power_off(record["moid"], params["name"])
            client.destroy(record["moid"], params["name"])
    return _result(changed=True, vm={}, diff=diff, before=before, after={}, changes=["state: present -> absent"])


def _power_on_created(client, moid, name):
    """Power on the VM just cloned. A failure says that the VM was created and stays powered
    off, so a re-run (which finds it) powers it on: it is not a failed clone."""
    try:
        client.power_on(moid, name)
    except GhostError as exc:
        cause = str(exc)
        prefix = failure("power on", "VM", name, "")
        if cause.startswith(prefix):
            cause = cause[len(prefix):]
        raise GhostError(failure("power on", "VM", name, "it was created (%s) but did not power on: %s. It is "
                                 "powered off; run the task again to power it on" % (moid, cause)),
                         details={"changed": True, "vm_moid": moid})


def _read_template(client, inventory, datacenter, params):
    """The full record of the template to clone."""
    name, wanted = params["name"], params.get("template")
    if not wanted:
        raise GhostError(failure("create", "VM", name, "it does not exist and no template is given"))
    source = lookup.only_one(lookup.find_vms(inventory, wanted, datacenter=datacenter), "template", wanted)
    if source is None:
        where = (" in datacenter '%s'" % inventory["datacenters"][datacenter]["name"]) if datacenter else ""
        raise GhostError(failure("create", "VM", name, "template '%s' does not exist%s" % (wanted, where)))
    found = client.read_vms([source["moid"]], inventory.get("networks"))
    if not found:
        raise GhostError(failure("create", "VM", name, "template '%s' disappeared" % wanted))
    return found[0]


def _create(client, *, inventory, datacenter, params, check_mode, diff):
    name = params["name"]
    now = views.utc_now()
    life = spec.wanted_lifetime(params, {}, now=now)  # bad input fails before anything is made
    template = _read_template(client, inventory, datacenter, params)
    datacenter = datacenter or lookup.folder_datacenter(template["parent"], inventory)
    documents, ci_keys = _render_cloud_init(params)
    raw = spec.raw_guestinfo(params.get("guestinfo"), GUESTINFO_KEYS)
    extra = spec.clone_extra_config(ci_keys, raw, template["extra_config"], GUESTINFO_KEYS)
    if not template.get("template"):
        # A cold clone of a VM: none of the source's guestinfo (its identity) is kept.
        extra.update(copy_spec.identity_clears(template["extra_config"], extra))
    # The expiry goes into the same create spec as the marker; a source's own expiry is not copied.
    extra.update(records.lifetime_extra_config(life, template["extra_config"]))
    placement = client.placement(datacenter)
    # A standalone host (hostd) has no CloneVM_Task: the VM is made from copies of the disks.
    by_copy = bool(getattr(client, "host_agent", False))
    try:
        request, predicted = spec.clone_request(
            name=name, template=template, placement=placement, inventory=inventory, datacenter=datacenter,
            params=params, extra_config=extra, power_on=params["state"] in ("poweredon", "restarted"), now=now)
        request["datacenter"] = datacenter
        plan = None
        if by_copy:
            plan = copy_spec.copy_plan(request, template, datastore_name=placement["datastores"][request["datastore"]]["name"],
                                       disk_format=params.get("disk_format"))
            for disk, copy in zip(predicted["disks"], plan["disks"]):
                disk["file"], disk["thin"] = copy["dest"], plan["thin"]
    except GhostError as exc:
        raise GhostError(failure("create", "VM", name, exc))
    after = views.diff_side(predicted)
    if documents is not None:
        after["cloud_init"] = masked_documents(documents)
    changes = ["state: absent -> %s" % predicted["power_state"]]
    if check_mode:
        return _result(changed=True, vm=predicted, diff=diff, before={}, after=after, changes=changes)
    warnings = []
    with _guestinfo_hidden(extra, template.get("extra_config")):
        moid = client.create_by_copy(request, plan) if by_copy else client.clone(request)
        if predicted["power_state"] == POWERED_ON:
            _power_on_created(client, moid, name)
        created = {"moid": moid, "name": name, "power_state": predicted["power_state"]}
        vm = _final_vm(client, created, inventory=inventory, params=params, warnings=warnings)
    return _result(changed=True, vm=vm, diff=diff, before={}, after=after, changes=changes, warnings=warnings)


def _update(client, record, *, inventory, params, check_mode, diff):
    name, state, current = params["name"], params["state"], record.get("power_state")
    if record.get("template"):
        raise GhostError(failure("manage", "VM", name, "it is a template; esxi_vm only deletes templates "
                                 "(state: absent with force: true)"))
    documents, ci_keys = _render_cloud_init(params)
    raw = spec.raw_guestinfo(params.get("guestinfo"), GUESTINFO_KEYS)
    extra = spec.desired_extra_config(ci_keys, raw, record.get("extra_config"), GUESTINFO_KEYS)
    now = views.utc_now()
    life = spec.wanted_lifetime(params, records.lifetime_of(record.get("extra_config")), now=now)
    try:
        changes, reconfig = spec.compute_changes(
            record, cpu=params.get("cpu"), memory_mb=params.get("memory_mb"), disk_gb=params.get("disk_gb"),
            extra_config=extra, cloud_init_keys=set(GUESTINFO_KEYS), lifetime_record=life)
        steps = spec.power_plan(current, state, cold_changes=[c for c in changes if c.cold], force=params.get("force"))
    except GhostError as exc:
        raise GhostError(failure("update", "VM", name, exc), details=exc.details)
    refusal = spec.lifetime_refusal(record, changes=changes, force=params.get("force"))
    if refusal:
        raise GhostError(failure("set the expiry of", "VM", name, refusal))
    warnings_before = []
    if params.get("force") and not records.is_managed(record) and any(c.field in spec.LIFETIME_FIELDS for c in changes):
        warnings_before.append("VM '%s' has no ownership marker (extraConfig %s=%s): its expiry is stored, but "
                               "the reaper never deletes it" % (name, records.MANAGED_KEY, records.MANAGED_VALUE))
    final_state = spec.final_power_state(current, steps)
    changed = bool(reconfig) or any(step != "reconfigure" for step in steps)
    before_vm = views.vm_view(record, inventory, now=now)
    after_vm = views.predict(before_vm, changes, power_state=final_state, now=now)
    texts = spec.change_texts(changes, state=state, before=current, after=final_state)
    before, after = views.diff_side(before_vm), views.diff_side(after_vm)
    if documents is not None:
        before["cloud_init"] = views.held_documents(record.get("extra_config"))
        after["cloud_init"] = masked_documents(documents)
    if check_mode:
        return _result(changed=changed, vm=after_vm, diff=diff, before=before, after=after, changes=texts,
                       warnings=warnings_before)
    with _guestinfo_hidden(record.get("extra_config"), extra):
        warnings = warnings_before + _apply_steps(client, record, steps=steps, reconfig=reconfig,
                                                  shutdown_timeout=params.get("shutdown_timeout", 120))
        vm = before_vm
        if changed or params.get("wait_for_ip"):
            vm = _final_vm(client, dict(record, power_state=final_state), inventory=inventory, params=params,
                           warnings=warnings)
    return _result(changed=changed, vm=vm, diff=diff, before=before, after=after, changes=texts, warnings=warnings)


def ensure_vm(client, params, *, check_mode=False, diff=False):
    """The esxi_vm task against a connected client. Reads the inventory (one call) and the VM
    (one call), then changes only what differs."""
    params = spec.split_name(params)
    inventory = client.inventory()
    datacenter = lookup.find_datacenter(inventory, params.get("datacenter"))
    matches = lookup.find_vms(inventory, params["name"], datacenter=datacenter, folder=params.get("folder"))
    match = lookup.only_one(matches, "VM", params["name"])
    records = client.read_vms([match["moid"]], inventory.get("networks")) if match else []
    record = records[0] if records else None
    if params["state"] == "absent":
        return _absent(client, record, inventory=inventory, params=params, check_mode=check_mode, diff=diff)
    if record is None:
        return _create(client, inventory=inventory, datacenter=datacenter, params=params, check_mode=check_mode,
                       diff=diff)
    return _update(client, record, inventory=inventory, params=params, check_mode=check_mode, diff=diff)


def vm_info(client, params):
    """The esxi_vm_info result: every VM matching ``name`` (glob) and ``folder`` from ONE paged
    RetrievePropertiesEx."""
    inventory = client.inventory(full=True)
    records = lookup.match_vms(inventory, pattern=params.get("name"), folder=params.get("folder"))
    return build_result(changed=False, secret_fields=views.SECRET_FIELDS, vms=[views.vm_view(r, inventory) for r in records])


def connection(params):
    return {key: params.get(key) for key in CONNECTION_OPTIONS}


def esxi_vm(params, *, check_mode=False, diff=False, connect, vim_cmd_factory):
    """Connect, run ensure_vm(), log out. When the API does not answer and ``fallback`` is
    ``ssh``, do the power states and deletion through vim-cmd instead.

    ``connect(**connection)`` returns a client usable as a context manager and raises
    client.ApiUnreachableError; ``vim_cmd_factory(params)`` returns an ssh.VimCmd.
    """
    # Imported here: ssh.py and client.py are only needed on these paths.
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere import ssh
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import ApiUnreachableError

    try:
        client = connect(**connection(params))
    except ApiUnreachableError as exc:
        if params.get("fallback") != "ssh":
            raise
        if params["state"] not in ssh.FALLBACK_STATES:
            raise GhostError("%s; the SSH fallback only handles state %s" % (exc, ", ".join(ssh.FALLBACK_STATES)))
        result = ssh.ensure_power(vim_cmd_factory(params), name=params["name"], state=params["state"],
                                  force=params.get("force"), shutdown_timeout=params.get("shutdown_timeout", 120),
                                  check_mode=check_mode, diff=diff)
        result["warnings"] = ["the vSphere API did not answer (%s); used the SSH fallback (%s), which neither checks "
                              "nor changes size, placement, guestinfo, ownership or expiry"
                              % (exc, result.get("fallback_tool", "vim-cmd"))] + result["warnings"]
        return result
    with client:
        return ensure_vm(client, params, check_mode=check_mode, diff=diff)
