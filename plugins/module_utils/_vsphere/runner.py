# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What esxi_vm and esxi_vm_info do, given a client. Private to ghost.infra.

ensure_vm() and vm_info() take a client object (client.VsphereClient, or a fake in unit
tests) and the module's options as a plain dict they never modify; they return the result
dict and raise GhostError. esxi_vm() adds the connection and the SSH fallback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK, build_result
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import (
    GUESTINFO_KEYS,
    decode_guestinfo,
    encode_guestinfo,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import (
    DEFAULT_INTERFACES,
    masked_documents,
    render_documents,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import dump_yaml
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import spec
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.spec import (
    MANAGED_KEY,
    MANAGED_VALUE,
    POWERED_OFF,
    POWERED_ON,
    SECRET_FIELDS,
)

CONNECTION_OPTIONS = ("hostname", "username", "password", "port", "validate_certs")


def _render_cloud_init(params):
    """(documents, guestinfo keys) for the cloud_init option, or (None, None)."""
    if params.get("cloud_init") is None:
        return None, None
    documents = render_documents(params["cloud_init"], name=params["name"],
                                 default_interface=DEFAULT_INTERFACES["esxi"])
    return documents, encode_guestinfo(documents)


def _current_documents(extra_config):
    """The cloud-init documents a VM holds, masked for a diff (None when it holds none)."""
    values = spec.guestinfo_of(extra_config)
    if not values.get("guestinfo.metadata") and not values.get("guestinfo.userdata"):
        return None
    try:
        decoded = decode_guestinfo(values)
    except GhostError:
        return MASK
    texts = {"meta-data": dump_yaml(decoded["meta_data"]), "user-data": decoded["user_data"]}
    if decoded["network_config"] is not None:
        texts["network-config"] = dump_yaml(decoded["network_config"])
    if decoded["vendor_data"] is not None:
        texts["vendor-data"] = decoded["vendor_data"]
    return masked_documents(texts)


def _result(changed, *, vm, diff, before, after, changes=(), warnings=()):
    result = build_result(changed, diff_enabled=diff, before=before, after=after,
                          secret_fields=SECRET_FIELDS, vm=vm, changes=list(changes))
    if warnings:
        result["warnings"] = list(warnings)
    return result


def _final_vm(client, record, inventory, params, warnings):
    """Re-read the VM after changes (one call), or wait for its IP when asked; ``record``
    carries the moid, name and the power state the task left the VM in."""
    networks = inventory.get("networks")
    if params.get("wait_for_ip"):
        if record.get("power_state") == POWERED_ON:
            found = client.wait_for_ip(record["moid"], record["name"], params.get("wait_timeout", 300), networks)
            return spec.vm_view(found, inventory)
        warnings.append("wait_for_ip: VM '%s' is not powered on, so no IP address was awaited" % record["name"])
    records = client.read_vms([record["moid"]], networks)
    return spec.vm_view(records[0], inventory) if records else {}


def _absent(client, record, inventory, params, *, check_mode, diff):
    name = params["name"]
    if record is None:
        return _result(False, vm={}, diff=diff, before={}, after={})
    reasons = spec.absent_refusals(record, force=params.get("force"))
    if reasons:
        raise GhostError(failure("delete", "VM", name, "; ".join(reasons) + "; set force: true to delete it anyway"))
    before = spec.vm_view(record, inventory)
    changes = ["state: present -> absent"]
    if not check_mode:
        if record.get("power_state") != POWERED_OFF:
            client.power_off(record["moid"], name)
        client.destroy(record["moid"], name)
    return _result(True, vm={}, diff=diff, before=spec.diff_side(before), after={}, changes=changes)


def _create(client, inventory, datacenter, params, *, check_mode, diff):
    name = params["name"]
    state = params["state"]
    if not params.get("template"):
        raise GhostError(failure("create", "VM", name, "it does not exist and no template is given"))
    matches = spec.find_vms(inventory, params["template"], datacenter=datacenter)
    source = spec.only_one(matches, "template", params["template"])
    if source is None:
        where = (" in datacenter '%s'" % inventory["datacenters"][datacenter]["name"]) if datacenter else ""
        raise GhostError(failure("create", "VM", name, "template '%s' does not exist%s" % (params["template"], where)))
    template = client.read_vms([source["moid"]], inventory.get("networks"))
    if not template:
        raise GhostError(failure("create", "VM", name, "template '%s' disappeared" % params["template"]))
    template = template[0]
    datacenter = datacenter or spec.folder_datacenter(template["parent"], inventory)
    documents, ci_keys = _render_cloud_init(params)
    raw = spec.raw_guestinfo(params.get("guestinfo"), GUESTINFO_KEYS)
    extra = dict(raw)
    extra.update(ci_keys or {})
    # vSphere copies the template's extraConfig: clear cloud-init keys the render leaves out.
    for key in GUESTINFO_KEYS:
        if key not in extra and template["extra_config"].get(key):
            extra[key] = ""
    extra[MANAGED_KEY] = MANAGED_VALUE
    placement = client.placement(datacenter)
    try:
        request, predicted = spec.clone_request(
            name=name, template=template, placement=placement, inventory=inventory, datacenter=datacenter,
            params=params, extra_config=extra, power_on=state in ("poweredon", "restarted"))
    except GhostError as exc:
        raise GhostError(failure("create", "VM", name, exc))
    predicted["guestinfo"] = spec.masked_guestinfo({k: v for k, v in extra.items() if v})
    after = spec.diff_side(predicted)
    if documents is not None:
        after["cloud_init"] = masked_documents(documents)
    changes = ["state: absent -> %s" % predicted["power_state"]]
    warnings = []
    if check_mode:
        return _result(True, vm=predicted, diff=diff, before={}, after=after, changes=changes)
    moid = client.clone(request)
    vm = _final_vm(client, {"moid": moid, "name": name, "power_state": predicted["power_state"]},
                   inventory, params, warnings)
    return _result(True, vm=vm, diff=diff, before={}, after=after, changes=changes, warnings=warnings)


def _update(client, record, inventory, params, *, check_mode, diff):
    name = params["name"]
    state = params["state"]
    if record.get("template"):
        raise GhostError(failure("manage", "VM", name, "it is a template; esxi_vm only deletes templates "
                                 "(state: absent with force: true)"))
    documents, ci_keys = _render_cloud_init(params)
    raw = spec.raw_guestinfo(params.get("guestinfo"), GUESTINFO_KEYS)
    extra = spec.desired_extra_config(ci_keys, raw, record.get("extra_config"), GUESTINFO_KEYS)
    try:
        changes, reconfig = spec.compute_changes(
            record, cpu=params.get("cpu"), memory_mb=params.get("memory_mb"), disk_gb=params.get("disk_gb"),
            extra_config=extra, cloud_init_keys=set(GUESTINFO_KEYS))
        steps = spec.power_plan(record.get("power_state"), state, cold_changes=[c for c in changes if c.cold],
                                force=params.get("force"))
    except GhostError as exc:
        raise GhostError(failure("update", "VM", name, exc), details=exc.details)
    final_state = spec.final_power_state(record.get("power_state"), steps)
    power_steps = [s for s in steps if s != "reconfigure"]
    changed = bool(reconfig) or bool(power_steps)
    before_vm = spec.vm_view(record, inventory)
    after_vm = spec.predict(before_vm, changes, power_state=final_state)
    texts = [c.text() for c in changes]
    if state == "restarted" and record.get("power_state") == POWERED_ON:
        texts.append("power_state: restarted")
    elif final_state != record.get("power_state"):
        texts.append("power_state: %s -> %s" % (record.get("power_state"), final_state))
    before, after = spec.diff_side(before_vm), spec.diff_side(after_vm)
    if documents is not None:
        before["cloud_init"] = _current_documents(record.get("extra_config"))
        after["cloud_init"] = masked_documents(documents)
    warnings = []
    if check_mode:
        return _result(changed, vm=after_vm, diff=diff, before=before, after=after, changes=texts)
    for step in steps:
        if step == "shutdown":
            how = client.shutdown(record, params.get("shutdown_timeout", 120))
            if how == "hard" and params.get("shutdown_timeout", 120) > 0:
                warnings.append("VM '%s' did not shut down through VMware Tools%s; it was powered off hard" % (
                    name, "" if record.get("tools_running") else " (Tools not running)"))
        elif step == "power_off":
            client.power_off(record["moid"], name)
        elif step == "reconfigure" and reconfig:
            client.reconfigure(record["moid"], reconfig, name)
        elif step == "power_on":
            client.power_on(record["moid"], name)
    vm = before_vm
    if changed or params.get("wait_for_ip"):
        vm = _final_vm(client, dict(record, power_state=final_state), inventory, params, warnings)
    return _result(changed, vm=vm, diff=diff, before=before, after=after, changes=texts, warnings=warnings)


def ensure_vm(client, params, *, check_mode=False, diff=False):
    """The esxi_vm task against a connected client. Reads the inventory (one call) and the VM
    (one call), then changes only what differs."""
    params = spec.split_name(params)
    name = params["name"]
    inventory = client.inventory()
    datacenter = spec.find_datacenter(inventory, params.get("datacenter"))
    matches = spec.find_vms(inventory, name, datacenter=datacenter, folder=params.get("folder"))
    match = spec.only_one(matches, "VM", name)
    record = None
    if match is not None:
        records = client.read_vms([match["moid"]], inventory.get("networks"))
        record = records[0] if records else None
    if params["state"] == "absent":
        return _absent(client, record, inventory, params, check_mode=check_mode, diff=diff)
    if record is None:
        return _create(client, inventory, datacenter, params, check_mode=check_mode, diff=diff)
    return _update(client, record, inventory, params, check_mode=check_mode, diff=diff)


def vm_info(client, params):
    """The esxi_vm_info result: every VM matching ``name`` (glob) and ``folder`` from ONE paged
    RetrievePropertiesEx."""
    inventory = client.inventory(full=True)
    records = spec.match_vms(inventory, pattern=params.get("name"), folder=params.get("folder"))
    return build_result(False, secret_fields=SECRET_FIELDS, vms=[spec.vm_view(r, inventory) for r in records])


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
        result["warnings"] = ["the vSphere API did not answer (%s); used the SSH fallback (vim-cmd), which "
                              "neither checks nor changes size, placement, guestinfo or ownership" % exc] + result["warnings"]
        return result
    with client:
        return ensure_vm(client, params, check_mode=check_mode, diff=diff)
