# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a VM should look like versus what it looks like. Private to ghost.infra; pure.

No ansible and no pyVmomi import: the client (client.py) turns vSphere objects into the plain
records described below, and everything here takes and returns plain data, raising GhostError.

A VM *record* (client.read_vms) is a dict::

    moid, name, parent (folder moid), template (bool), uuid, instance_uuid, cpu, memory_mb,
    cpu_hot_add, cpu_hot_remove, memory_hot_add (bool), power_state ("poweredOn", ...),
    tools_running (bool), guest_ip, guest_net_ips (list), extra_config ({key: str}),
    disks ([{key, label, capacity_kb, file, thin, linked}]), nics ([{key, label, mac, network}]),
    datastores ([moid]), resource_pool, host, current_snapshot (moids or None)

An *inventory* (client.inventory) is ``{"datacenters": {moid: {name, parent, vm_folder}},
"folders": {moid: {name, parent}}, "vms": [record, ...]}``; inventory VM records may carry only
``moid``, ``name``, ``parent`` and ``template``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import ipaddress

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK

POWERED_ON = "poweredOn"
POWERED_OFF = "poweredOff"
SUSPENDED = "suspended"

STATES = ("present", "poweredon", "poweredoff", "restarted", "absent")

# extraConfig key marking VMs this collection created; only they are deleted without force.
MANAGED_KEY = "ghost.infra.managed"
MANAGED_VALUE = "true"
GUESTINFO_PREFIX = "guestinfo."

# Result and diff paths whose values are always masked (result.mask_secrets syntax).
SECRET_FIELDS = ("guestinfo.*",)

KB_PER_GB = 1024 * 1024


def check_params(params):
    """Reject values no VM can have, naming the option (AnsibleModule only checks types)."""
    minimums = (("cpu", 1), ("memory_mb", 4), ("disk_gb", 1), ("wait_timeout", 0),
                ("shutdown_timeout", 0), ("port", 1), ("ssh_port", 1))
    for option, minimum in minimums:
        value = params.get(option)
        if value is not None and value < minimum:
            raise GhostError("must be at least %d, got %d" % (minimum, value), option=option)
    if params.get("memory_mb") and params["memory_mb"] % 4:
        raise GhostError("must be a multiple of 4, got %d" % params["memory_mb"], option="memory_mb")
    name = (params.get("name") or "").strip("/")
    if not name.strip():
        raise GhostError("must not be empty", option="name")
    if "/" in name and params.get("folder"):
        raise GhostError("is a path and folder is set too; give the folder in one place", option="name")


def split_name(params):
    """Module options with a path in ``name`` (``lab/web1``) moved to ``folder``; a new dict."""
    out = dict(params)
    name = (params.get("name") or "").strip("/")
    if "/" in name:
        out["folder"], out["name"] = name.rsplit("/", 1)
    else:
        out["name"] = name
    return out


def is_managed(record):
    return (record.get("extra_config") or {}).get(MANAGED_KEY, "").strip().lower() == MANAGED_VALUE


def guestinfo_of(extra_config):
    """The guestinfo.* keys of an extraConfig mapping, values unmasked (internal use only)."""
    return {k: v for k, v in (extra_config or {}).items() if k.startswith(GUESTINFO_PREFIX)}


def masked_guestinfo(extra_config):
    """guestinfo.* keys with every value replaced by MASK: what results and diffs show."""
    return dict.fromkeys(sorted(guestinfo_of(extra_config)), MASK)


def usable_ip(address):
    """True for an IPv4 address a user can reach: not link-local, loopback or unspecified."""
    try:
        ip = ipaddress.ip_address(str(address).split("/", 1)[0].strip())
    except ValueError:
        return False
    return ip.version == 4 and not (ip.is_link_local or ip.is_loopback or ip.is_unspecified)


def pick_ip(record):
    """The VM's guest IPv4 address: ``guest.ipAddress`` if usable, else the first usable one of
    ``guest.net``; link-local (169.254/16) addresses an unconfigured guest has are ignored."""
    candidates = [record.get("guest_ip")] + list(record.get("guest_net_ips") or [])
    for address in candidates:
        if address and usable_ip(address):
            return str(address).split("/", 1)[0].strip()
    return None


# ---------------------------------------------------------------------------------------------
# Inventory paths


def _chain(moid, inventory):
    """Names from the datacenter down to ``moid`` (a folder or datacenter), and the datacenter."""
    folders = inventory.get("folders", {})
    datacenters = inventory.get("datacenters", {})
    names, datacenter, seen = [], None, set()
    while moid and moid not in seen:
        seen.add(moid)
        if moid in datacenters:
            names.append(datacenters[moid]["name"])
            datacenter = moid
            moid = datacenters[moid].get("parent")
        elif moid in folders:
            names.append(folders[moid]["name"])
            moid = folders[moid].get("parent")
        else:
            break
    if datacenter is None:
        return None, None
    names.reverse()
    # Folders above the datacenter are part of its inventory path, so keep them.
    return "/" + "/".join(names), datacenter


def folder_path(moid, inventory):
    """``/DC0/vm/lab`` for a VM folder moid, or None when it is not below a datacenter."""
    return _chain(moid, inventory)[0]


def folder_datacenter(moid, inventory):
    """The datacenter moid above a folder, or None."""
    return _chain(moid, inventory)[1]


def datacenter_path(moid, inventory):
    """``/DC0`` (folders above the datacenter included)."""
    return _chain(moid, inventory)[0]


def normalize_folder(folder, datacenter_path_):
    """The full path (``/DC0/vm/lab``) of a ``folder`` option in a datacenter.

    Accepts the full path, a path starting with ``vm/`` or a path relative to the datacenter's
    VM folder (``lab/web``); empty means the VM folder itself.
    """
    root = datacenter_path_.rstrip("/") + "/vm"
    text = (folder or "").strip()
    if text.startswith(root + "/") or text.rstrip("/") == root:
        return text.rstrip("/")
    parts = [part for part in text.split("/") if part]
    if parts and parts[0] == "vm":
        parts = parts[1:]
    return "/".join([root] + parts)


def find_datacenter(inventory, name):
    """The moid of datacenter ``name`` (or None when ``name`` is None and there is exactly one
    datacenter, which is then returned). Raises GhostError when it does not exist."""
    datacenters = inventory.get("datacenters", {})
    if name is None:
        return next(iter(datacenters)) if len(datacenters) == 1 else None
    for moid, dc in datacenters.items():
        if dc["name"] == name or datacenter_path(moid, inventory) == "/" + name.strip("/"):
            return moid
    raise GhostError("datacenter '%s' does not exist (found: %s)" % (
        name, ", ".join(sorted(dc["name"] for dc in datacenters.values())) or "none"),
        option="datacenter")


def find_vms(inventory, name, *, datacenter=None, folder=None):
    """Records named ``name`` (an exact name, or ``folder/name`` relative to the VM folder),
    restricted to a datacenter moid and/or a ``folder`` option. Templates are included."""
    if "/" in name:
        folder, name = name.rsplit("/", 1)
    found = []
    for record in inventory.get("vms", []):
        if record.get("name") != name:
            continue
        path, dc = _chain(record.get("parent"), inventory)
        if datacenter and dc != datacenter:
            continue
        if folder is not None and path != normalize_folder(folder, datacenter_path(dc, inventory) or ""):
            continue
        found.append(record)
    return found


def only_one(records, kind, name):
    """The single record of ``records``; an error listing their folders when there are more."""
    if len(records) > 1:
        raise GhostError("%d %ss are named '%s'; set datacenter and folder to pick one (moids: %s)" % (
            len(records), kind, name, ", ".join(sorted(r["moid"] for r in records))))
    return records[0] if records else None


def match_vms(inventory, *, pattern=None, folder=None):
    """Info module filter: records whose name matches the glob ``pattern`` and whose folder is
    ``folder`` or below it (full path ``/DC0/vm/lab`` or relative ``lab`` in any datacenter)."""
    out = []
    for record in inventory.get("vms", []):
        if pattern and not fnmatch.fnmatchcase(record.get("name") or "", pattern):
            continue
        if folder is not None:
            path, dc = _chain(record.get("parent"), inventory)
            if path is None:
                continue
            wanted = normalize_folder(folder, datacenter_path(dc, inventory))
            if not (path == wanted or path.startswith(wanted + "/")):
                continue
        out.append(record)
    return sorted(out, key=lambda r: (r.get("name") or "", r.get("moid") or ""))


# ---------------------------------------------------------------------------------------------
# The returned shape


def disk_view(disk):
    return {
        "label": disk.get("label"),
        "capacity_gb": round(disk.get("capacity_kb", 0) / float(KB_PER_GB), 2),
        "file": disk.get("file"),
        "thin": disk.get("thin"),
        "linked": bool(disk.get("linked")),
    }


def vm_view(record, inventory):
    """The ``vm`` return value: plain, masked (guestinfo values are never returned)."""
    path, dc = _chain(record.get("parent"), inventory)
    return {
        "name": record.get("name"),
        "uuid": record.get("uuid"),
        "instance_uuid": record.get("instance_uuid"),
        "moid": record.get("moid"),
        "power_state": record.get("power_state"),
        "ip_address": pick_ip(record),
        "cpu": record.get("cpu"),
        "memory_mb": record.get("memory_mb"),
        "disks": [disk_view(d) for d in record.get("disks") or []],
        "networks": [n.get("network") for n in record.get("nics") or []],
        "folder": path,
        "datacenter": (inventory.get("datacenters", {}).get(dc) or {}).get("name"),
        "template": bool(record.get("template")),
        "guestinfo": masked_guestinfo(record.get("extra_config")),
        "managed": is_managed(record),
    }


# ---------------------------------------------------------------------------------------------
# Desired state


def raw_guestinfo(guestinfo, cloud_init_keys=()):
    """The ``guestinfo`` option as extraConfig keys: ``foo`` becomes ``guestinfo.foo``; values
    become strings; keys that cloud_init writes may not be set here."""
    out = {}
    for key, value in (guestinfo or {}).items():
        key = str(key).strip()
        full = key if key.startswith(GUESTINFO_PREFIX) else GUESTINFO_PREFIX + key
        if full == GUESTINFO_PREFIX or any(c.isspace() for c in full):
            raise GhostError("'%s' is not a valid guestinfo key" % key, option="guestinfo")
        if full in cloud_init_keys:
            raise GhostError("'%s' is written by cloud_init; do not set it here too" % full,
                             option="guestinfo")
        if value is None:
            raise GhostError("'%s' has no value (use an empty string to remove a key)" % full,
                             option="guestinfo")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (dict, list)):
            raise GhostError("'%s' must be a string, not a %s" % (full, type(value).__name__),
                             option="guestinfo")
        out[full] = str(value)
    return out


def desired_extra_config(cloud_init_keys, raw, current_extra, all_cloud_init_keys):
    """extraConfig entries to set so the VM holds ``cloud_init_keys`` and ``raw``.

    Cloud-init keys (any of ``all_cloud_init_keys``) the new render does not write are cleared
    (value ``""``, which vSphere treats as removal) when present. Returns {key: value} with only
    the keys whose value differs from ``current_extra``.
    """
    current = current_extra or {}
    wanted = dict(raw)
    if cloud_init_keys is not None:
        wanted.update(cloud_init_keys)
        for key in all_cloud_init_keys:
            if key not in cloud_init_keys and current.get(key):
                wanted[key] = ""
    return {k: v for k, v in wanted.items() if current.get(k, "") != v}


class Change:
    """One difference between the VM and the task: ``field``, ``before``, ``after`` (safe to
    show), ``cold`` (needs the VM powered off)."""

    __slots__ = ("field", "before", "after", "cold")

    def __init__(self, field, before, after, cold):
        self.field = field
        self.before = before
        self.after = after
        self.cold = cold

    def text(self):
        return "%s: %s -> %s" % (self.field, self.before, self.after)

    def __repr__(self):
        return "Change(%s%s)" % (self.text(), ", cold" if self.cold else "")


def first_disk(record):
    disks = record.get("disks") or []
    return disks[0] if disks else None


def disk_change(record, disk_gb, *, linked_clone=False):
    """``(disk, new_capacity_kb)`` when the first disk must grow to ``disk_gb``, else None.

    Raises GhostError for a smaller size (disks only grow) and for growing a linked clone's
    disk (a delta disk on the template's snapshot cannot be extended).
    """
    if disk_gb is None:
        return None
    disk = first_disk(record)
    if disk is None:
        raise GhostError("the VM has no virtual disk to size", option="disk_gb")
    wanted_kb = int(disk_gb) * KB_PER_GB
    current_kb = int(disk.get("capacity_kb") or 0)
    if wanted_kb < current_kb:
        raise GhostError("%s GB is smaller than %s (%s GB); disks only grow" % (
            disk_gb, disk.get("label") or "the first disk", round(current_kb / float(KB_PER_GB), 2)),
            option="disk_gb")
    if wanted_kb == current_kb:
        return None
    if linked_clone or disk.get("linked"):
        raise GhostError("cannot grow %s to %s GB: it is a linked clone's delta disk on the "
                         "template's snapshot; use linked_clone: false for a bigger disk" % (
                             disk.get("label") or "the first disk", disk_gb), option="disk_gb")
    return disk, wanted_kb


def compute_changes(record, *, cpu=None, memory_mb=None, disk_gb=None, extra_config=None,
                    cloud_init_keys=()):
    """The changes that bring an existing VM ``record`` to the task, as (changes, reconfig).

    ``extra_config`` is desired_extra_config()'s output. ``reconfig`` is the plain request for
    client.reconfigure(): {cpu, memory_mb, disk: {key, capacity_kb}, extra_config} with only
    what changes, or None.
    """
    on = record.get("power_state") != POWERED_OFF
    changes, reconfig = [], {}
    if cpu is not None and cpu != record.get("cpu"):
        current = record.get("cpu") or 0
        hot = (cpu > current and record.get("cpu_hot_add")) or (cpu < current and record.get("cpu_hot_remove"))
        changes.append(Change("cpu", record.get("cpu"), cpu, on and not hot))
        reconfig["cpu"] = cpu
    if memory_mb is not None and memory_mb != record.get("memory_mb"):
        hot = memory_mb > (record.get("memory_mb") or 0) and record.get("memory_hot_add")
        changes.append(Change("memory_mb", record.get("memory_mb"), memory_mb, on and not hot))
        reconfig["memory_mb"] = memory_mb
    grow = disk_change(record, disk_gb)
    if grow:
        disk, kb = grow
        changes.append(Change("disk_gb", round(disk["capacity_kb"] / float(KB_PER_GB), 2), disk_gb, False))
        reconfig["disk"] = {"key": disk["key"], "capacity_kb": kb}
    current_extra = record.get("extra_config") or {}
    for key in sorted(extra_config or {}):
        value = extra_config[key]
        before = MASK if current_extra.get(key) else None
        after = MASK if value else None
        if before and after:
            before, after = "%s (old)" % MASK, "%s (new)" % MASK
        # cloud-init reads its keys at boot only; other guestinfo keys are read live.
        changes.append(Change(key, before, after, on and key in cloud_init_keys))
    if extra_config:
        reconfig["extra_config"] = dict(extra_config)
    return changes, (reconfig or None)


def power_plan(power_state, state, *, cold_changes, force):
    """The power steps for an existing VM: a list out of ``shutdown`` (graceful, then hard),
    ``power_off`` (hard), ``reconfigure`` (placeholder for where changes go) and ``power_on``.

    ``cold_changes`` is the list of Change that need power-off. Raises GhostError listing them
    when the VM runs, the task would keep it running and ``force`` is not set.
    """
    running = power_state == POWERED_ON
    suspended = power_state == SUSPENDED
    goes_down = state in ("poweredoff", "restarted")
    if cold_changes and (running or suspended) and not goes_down and not force:
        raise GhostError(
            "these changes need the VM powered off: %s. Set force: true to power it off, apply "
            "them and restore its power state, or use state: poweredoff or restarted" % (
                "; ".join(c.text() for c in cold_changes)),
            details={"changes": [c.text() for c in cold_changes]})
    steps = []
    down = False
    if running and (cold_changes or goes_down):
        steps.append("shutdown")
        down = True
    elif suspended and (cold_changes or state == "poweredoff"):
        steps.append("power_off")
        down = True
    steps.append("reconfigure")
    if state in ("poweredon", "restarted"):
        final_on = True
    elif state == "poweredoff":
        final_on = False
    else:  # present: restore what it was; a suspended VM cannot be restored, it stays off
        final_on = running
    if final_on and (down or not running):
        steps.append("power_on")
    return steps


def absent_refusals(record, *, force):
    """Why deleting ``record`` needs force (empty when it may go, or force is set)."""
    if force:
        return []
    reasons = []
    if not is_managed(record):
        reasons.append("it was not created by ghost.infra (no extraConfig %s=%s)" % (
            MANAGED_KEY, MANAGED_VALUE))
    if record.get("power_state") == POWERED_ON:
        reasons.append("it is powered on")
    elif record.get("power_state") == SUSPENDED:
        reasons.append("it is suspended")
    return reasons


# ---------------------------------------------------------------------------------------------
# Creation


def _names(mapping):
    return ", ".join(sorted({item["name"] for item in mapping.values()})) or "none"


def pool_path(moid, placement):
    """``DC0_C0/Resources/lab`` for a resource pool moid: its compute resource and pools."""
    pools = placement.get("pools", {})
    compute = placement.get("compute", {})
    names, seen = [], set()
    while moid and moid not in seen:
        seen.add(moid)
        if moid in pools:
            names.append(pools[moid]["name"])
            moid = pools[moid].get("parent")
        elif moid in compute:
            names.append(compute[moid]["name"])
            break
        else:
            break
    return "/".join(reversed(names))


def resolve_pool(resource_pool, template, placement):
    """The resource pool moid: the named one (name or path), else the root pool of the compute
    resource running the template's host (a standalone host's only pool)."""
    pools = placement.get("pools", {})
    if resource_pool:
        wanted = resource_pool.strip("/")
        found = sorted(m for m in pools if pools[m]["name"] == wanted
                       or pool_path(m, placement) == wanted
                       or pool_path(m, placement).endswith("/" + wanted))
        if len(found) == 1:
            return found[0]
        if not found:
            raise GhostError("resource pool '%s' does not exist in the datacenter (found: %s)" % (
                resource_pool, ", ".join(sorted(pool_path(m, placement) for m in pools)) or "none"),
                option="resource_pool")
        raise GhostError("resource pool '%s' is ambiguous: %s; give its path" % (
            resource_pool, ", ".join(pool_path(m, placement) for m in found)), option="resource_pool")
    host = placement.get("hosts", {}).get(template.get("host") or "")
    compute = placement.get("compute", {})
    if host and host.get("parent") in compute:
        return compute[host["parent"]]["resource_pool"]
    if len(compute) == 1:
        return next(iter(compute.values()))["resource_pool"]
    raise GhostError("cannot tell which resource pool to use; set resource_pool", option="resource_pool")


def resolve_datastore(datastore, template, placement):
    """The datastore moid: the named one, else the template's (first) datastore."""
    stores = placement.get("datastores", {})
    if datastore:
        found = [m for m in stores if stores[m]["name"] == datastore]
        if not found:
            raise GhostError("datastore '%s' does not exist in the datacenter (found: %s)" % (
                datastore, _names(stores)), option="datastore")
        moid = found[0]
        if stores[moid].get("accessible") is False:
            raise GhostError("datastore '%s' is not accessible" % datastore, option="datastore")
        return moid
    for moid in template.get("datastores") or []:
        return moid
    if len(stores) == 1:
        return next(iter(stores))
    raise GhostError("cannot tell which datastore to use; set datastore", option="datastore")


def resolve_network(network, placement):
    """The network record ({moid, name, kind, ...}) named ``network``."""
    nets = placement.get("networks", {})
    found = [m for m in sorted(nets) if nets[m]["name"] == network]
    if not found:
        raise GhostError("network '%s' does not exist in the datacenter (found: %s)" % (
            network, _names(nets)), option="network")
    if len(found) > 1:
        raise GhostError("network '%s' is ambiguous (%s)" % (network, ", ".join(found)), option="network")
    out = dict(nets[found[0]])
    out["moid"] = found[0]
    return out


def resolve_folder(folder, datacenter, inventory):
    """(moid, path) of the VM folder for a new VM: the ``folder`` option or the datacenter's
    VM folder. The folder must exist."""
    dcs = inventory.get("datacenters", {})
    dc_path = datacenter_path(datacenter, inventory)
    if not folder:
        moid = dcs[datacenter]["vm_folder"]
        return moid, folder_path(moid, inventory)
    wanted = normalize_folder(folder, dc_path)
    for moid in sorted(inventory.get("folders", {})):
        if folder_path(moid, inventory) == wanted:
            return moid, wanted
    raise GhostError("folder '%s' does not exist (looked for %s)" % (folder, wanted), option="folder")


def clone_request(*, name, template, placement, inventory, datacenter, params, extra_config,
                  power_on):
    """The plain request for client.clone() and the predicted ``vm`` of the new VM.

    ``template`` is the full record of the source; ``placement`` the datacenter's pools,
    compute resources, hosts, datastores and networks (client.placement()); ``params`` the
    module options (folder, resource_pool, datastore, network, cpu, memory_mb, disk_gb,
    linked_clone); ``extra_config`` every key the new VM gets. Raises GhostError.
    """
    folder_moid, path = resolve_folder(params.get("folder"), datacenter, inventory)
    request = {
        "template": template["moid"],
        "name": name,
        "folder": folder_moid,
        "pool": resolve_pool(params.get("resource_pool"), template, placement),
        "datastore": resolve_datastore(params.get("datastore"), template, placement),
        "power_on": bool(power_on),
        "linked_clone": bool(params.get("linked_clone")),
        "snapshot": None,
        "cpu": params.get("cpu"),
        "memory_mb": params.get("memory_mb"),
        "disk": None,
        "nic": None,
        "extra_config": dict(extra_config),
    }
    if request["linked_clone"]:
        if not template.get("current_snapshot"):
            raise GhostError("template '%s' has no snapshot to link to; take one or use "
                             "linked_clone: false" % template["name"], option="linked_clone")
        request["snapshot"] = template["current_snapshot"]
    grow = disk_change(template, params.get("disk_gb"), linked_clone=request["linked_clone"])
    disks = [dict(d) for d in template.get("disks") or []]
    if grow:
        request["disk"] = {"key": grow[0]["key"], "capacity_kb": grow[1]}
        disks[0]["capacity_kb"] = grow[1]
    networks = [n.get("network") for n in template.get("nics") or []]
    if params.get("network"):
        nics = template.get("nics") or []
        if not nics:
            raise GhostError("template '%s' has no network adapter to connect" % template["name"],
                             option="network")
        net = resolve_network(params["network"], placement)
        request["nic"] = {"key": nics[0]["key"], "network": net}
        networks[0] = net["name"]
    for disk in disks:
        disk["file"] = None
        disk["linked"] = request["linked_clone"]
    predicted = {
        "name": name,
        "uuid": None,
        "instance_uuid": None,
        "moid": None,
        "power_state": POWERED_ON if power_on else POWERED_OFF,
        "ip_address": None,
        "cpu": params.get("cpu") or template.get("cpu"),
        "memory_mb": params.get("memory_mb") or template.get("memory_mb"),
        "disks": [disk_view(d) for d in disks],
        "networks": networks,
        "folder": path,
        "datacenter": inventory["datacenters"][datacenter]["name"],
        "template": False,
        "guestinfo": masked_guestinfo(extra_config),
        "managed": extra_config.get(MANAGED_KEY) == MANAGED_VALUE,
    }
    return request, predicted


# ---------------------------------------------------------------------------------------------
# Diff


DIFF_FIELDS = ("power_state", "cpu", "memory_mb", "disks", "networks", "folder", "guestinfo", "managed")


def diff_side(vm):
    """The part of a ``vm`` view a diff shows (guestinfo values are already masked)."""
    if vm is None:
        return {}
    side = {"name": vm.get("name")}
    for field in DIFF_FIELDS:
        side[field] = vm.get(field)
    return side


def predict(vm, changes, *, power_state):
    """The ``vm`` view after ``changes`` (Change list) and a power state."""
    out = dict(vm)
    out["guestinfo"] = dict(vm.get("guestinfo") or {})
    out["power_state"] = power_state
    for change in changes:
        if change.field in ("cpu", "memory_mb"):
            out[change.field] = change.after
        elif change.field == "disk_gb":
            disks = [dict(d) for d in out.get("disks") or []]
            if disks:
                disks[0]["capacity_gb"] = float(change.after)
            out["disks"] = disks
        elif change.field.startswith(GUESTINFO_PREFIX):
            if change.after:
                out["guestinfo"][change.field] = MASK
            else:
                out["guestinfo"].pop(change.field, None)
        if change.field.startswith(GUESTINFO_PREFIX):
            out["guestinfo"] = dict(sorted(out["guestinfo"].items()))
    return out


def final_power_state(current, steps):
    """The power state after power_plan() ``steps``."""
    state = current
    for step in steps:
        if step in ("shutdown", "power_off"):
            state = POWERED_OFF
        elif step == "power_on":
            state = POWERED_ON
    return state
