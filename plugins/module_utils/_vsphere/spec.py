# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a VM should look like versus what it looks like: the change and power plan. Private to
ghost.infra; pure (no ansible and no pyVmomi import).

Takes module options and the plain records of records.py, returns plain plans (the Change
list and reconfigure request for an existing VM, the power steps, the clone request for a new
one) and raises GhostError. Lookups by name are in lookup.py, the returned views in views.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK
from ansible_collections.ghost.infra.plugins.module_utils._common.secrets import is_trivial, leaves
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import CONTENT_OPTION_PATHS
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.secrets import visible_values as visible_cloud_init
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import lookup, views
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import (
    GUESTINFO_PREFIX,
    KB_PER_GB,
    MANAGED_KEY,
    MANAGED_VALUE,
    POWERED_OFF,
    POWERED_ON,
    SUSPENDED,
    is_managed,
    lifetime_extra_config,
    lifetime_of,
)

STATES = ("present", "poweredon", "poweredoff", "restarted", "absent")

# The free-form no_log options of esxi_vm whose strings that cannot be secrets are unmasked.
UNMASKED_OPTIONS = CONTENT_OPTION_PATHS + ("guestinfo",)


def visible_values(params):
    """Strings of UNMASKED_OPTIONS that cannot be secrets, for esxi_vm to unmask (see
    _common/module.unmask): cloud_init's (_cloudinit/secrets.visible_values) and the trivial
    ``guestinfo`` values (``"1"``, ``"true"``, ``"0600"``), so they do not garble unrelated
    output such as an IP address; never a string that a guestinfo value holds as a secret."""
    guestinfo = set(leaves(params.get("guestinfo")))
    secret = {value for value in guestinfo if not is_trivial(value)}
    shown = set(visible_cloud_init(params.get("cloud_init"))) | (guestinfo - secret)
    return shown - secret


MAX_CPU = 768                   # vCPUs per VM
MAX_MEMORY_MB = 24 * 1024 * 1024  # 24 TB per VM
MAX_DISK_GB = 62 * 1024         # 62 TB per virtual disk
MAX_NAME = 80                   # characters of an inventory object's name


def check_params(params):
    """Reject values no VM can have, naming the option (AnsibleModule only checks types)."""
    minimums = (("cpu", 1), ("memory_mb", 4), ("disk_gb", 1), ("wait_timeout", 0),
                ("shutdown_timeout", 0), ("port", 1), ("ssh_port", 1))
    for option, minimum in minimums:
        value = params.get(option)
        if value is not None and value < minimum:
            raise GhostError("must be at least %d, got %d" % (minimum, value), option=option)
    # vSphere 8's per-VM maximums (ESXi refuses above them; vcsim accepts anything).
    maximums = (("cpu", MAX_CPU), ("memory_mb", MAX_MEMORY_MB), ("disk_gb", MAX_DISK_GB),
                ("port", 65535), ("ssh_port", 65535))
    for option, maximum in maximums:
        value = params.get(option)
        if value is not None and value > maximum:
            raise GhostError("must be at most %d, got %d" % (maximum, value), option=option)
    if params.get("memory_mb") and params["memory_mb"] % 4:
        raise GhostError("must be a multiple of 4, got %d" % params["memory_mb"], option="memory_mb")
    name = (params.get("name") or "").strip("/")
    if not name.strip():
        raise GhostError("must not be empty", option="name")
    if "/" in name and params.get("folder"):
        raise GhostError("is a path and folder is set too; give the folder in one place", option="name")
    # The expiry options' spelling, before any connection (lifetime.wanted checks max_ttl
    # against the VM's record later, still before any write).
    lifetime.parse_ttl(params.get("ttl"))
    lifetime.parse_ttl(params.get("max_ttl"), option="max_ttl")
    if params.get("expires_at") is not None:
        lifetime.parse_rfc3339(params["expires_at"])
    # Checked here: the SSH fallback would otherwise hide them behind a connection error.
    key = params.get("ssh_private_key_file")
    if key and not os.path.isfile(key):
        raise GhostError("%s: no such file" % key, option="ssh_private_key_file")
    known = params.get("ssh_known_hosts_file")
    if known and os.path.isdir(known):
        raise GhostError("%s is a directory, not a file" % known, option="ssh_known_hosts_file")
    leaf = name.rsplit("/", 1)[-1]
    if len(leaf) > MAX_NAME:
        raise GhostError("must be at most %d characters (vSphere's limit), got %d" % (MAX_NAME, len(leaf)),
                         option="name")


def split_name(params):
    """Module options with a path in ``name`` (``lab/web1``) moved to ``folder``; a new dict."""
    out = dict(params)
    name = (params.get("name") or "").strip("/")
    if "/" in name:
        out["folder"], out["name"] = name.rsplit("/", 1)
    else:
        out["name"] = name
    return out


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


def clone_extra_config(cloud_init_keys, raw, template_extra, all_cloud_init_keys):
    """Every extraConfig entry a new VM gets: ``raw``, ``cloud_init_keys`` and the managed
    marker. vSphere copies the template's extraConfig, so cloud-init keys (any of
    ``all_cloud_init_keys``) the template holds and the render does not write are cleared."""
    extra = dict(raw)
    extra.update(cloud_init_keys or {})
    for key in all_cloud_init_keys:
        if key not in extra and (template_extra or {}).get(key):
            extra[key] = ""
    extra[MANAGED_KEY] = MANAGED_VALUE
    return extra


class Change:
    """One difference between the VM and the task: ``field``, ``before``, ``after`` (safe to
    show), ``cold`` (needs the VM powered off)."""

    __slots__ = ("field", "before", "after", "cold")

    def __init__(self, field, before, after, *, cold):
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


def wanted_lifetime(params, current, *, now):
    """The expiry record a VM holding ``current`` (records.lifetime_of) should hold after the
    task (lifetime.wanted with the ttl, expires_at and max_ttl options); GhostError naming the
    option."""
    return lifetime.wanted(current, ttl=params.get("ttl"), expires=params.get("expires_at"),
                           max_ttl=params.get("max_ttl"), now=now)


def lifetime_refusal(record, *, changes, force):
    """Why storing an expiry on ``record`` needs force (None when it may): the reaper deletes
    only VMs with the ownership marker, so an expiry on another VM is never set silently."""
    if force or is_managed(record) or not any(c.field in LIFETIME_FIELDS for c in changes):
        return None
    return ("it was not created by ghost.infra (no extraConfig %s=%s), so an expiry would never "
            "reap it; set force: true to store the expiry anyway" % (MANAGED_KEY, MANAGED_VALUE))


LIFETIME_FIELDS = ("expires_at", "ttl", "renewed_at")


def compute_changes(record, *, cpu=None, memory_mb=None, disk_gb=None, extra_config=None,
                    cloud_init_keys=(), lifetime_record=None):
    """The changes that bring an existing VM ``record`` to the task, as (changes, reconfig).

    ``extra_config`` is desired_extra_config()'s output; ``lifetime_record`` the expiry record
    the VM should hold (wanted_lifetime(); None: leave it), a hot change of extraConfig
    only. ``reconfig`` is the plain request for
    client.reconfigure(): {cpu, memory_mb, disk: {key, capacity_kb}, extra_config} with only
    what changes, or None.
    """
    on = record.get("power_state") != POWERED_OFF
    changes, reconfig = [], {}
    if cpu is not None and cpu != record.get("cpu"):
        current = record.get("cpu") or 0
        hot = (cpu > current and record.get("cpu_hot_add")) or (cpu < current and record.get("cpu_hot_remove"))
        changes.append(Change("cpu", record.get("cpu"), cpu, cold=on and not hot))
        reconfig["cpu"] = cpu
    if memory_mb is not None and memory_mb != record.get("memory_mb"):
        hot = memory_mb > (record.get("memory_mb") or 0) and record.get("memory_hot_add")
        changes.append(Change("memory_mb", record.get("memory_mb"), memory_mb, cold=on and not hot))
        reconfig["memory_mb"] = memory_mb
    grow = disk_change(record, disk_gb)
    if grow:
        disk, kb = grow
        changes.append(Change("disk_gb", round(disk["capacity_kb"] / float(KB_PER_GB), 2), disk_gb, cold=False))
        reconfig["disk"] = {"key": disk["key"], "capacity_kb": kb}
    current_extra = record.get("extra_config") or {}
    for key in sorted(extra_config or {}):
        value = extra_config[key]
        before = MASK if current_extra.get(key) else None
        after = MASK if value else None
        if before and after:
            before, after = "%s (old)" % MASK, "%s (new)" % MASK
        # cloud-init reads its keys at boot only; other guestinfo keys are read live.
        changes.append(Change(key, before, after, cold=on and key in cloud_init_keys))
    if extra_config:
        reconfig["extra_config"] = dict(extra_config)
    if lifetime_record is not None:
        entries = lifetime_extra_config(lifetime_record, current_extra)
        held = lifetime_of(current_extra)
        for field in LIFETIME_FIELDS:
            if held.get(field) != lifetime_record.get(field):
                changes.append(Change(field, held.get(field), lifetime_record.get(field), cold=False))
        if entries:
            reconfig.setdefault("extra_config", {}).update(entries)
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


def clone_request(*, name, template, placement, inventory, datacenter, params, extra_config,
                  power_on, now=None):
    """The plain request for client.clone() and the predicted ``vm`` of the new VM.

    ``template`` is the full record of the source; ``placement`` the datacenter's pools,
    compute resources, hosts, datastores and networks (client.placement()); ``params`` the
    module options (folder, resource_pool, datastore, network, cpu, memory_mb, disk_gb,
    linked_clone, disk_format); ``extra_config`` every key the new VM gets (clone_extra_config()).
    ``power_on`` only sets the predicted power state: the clone is made powered off and the
    runner powers it on after, so a failed power-on is not taken for a failed clone.
    ``now`` is the moment the predicted ``expired`` is for. Raises GhostError.
    """
    folder_moid, path = lookup.resolve_folder(params.get("folder"), datacenter, inventory)
    request = {
        "template": template["moid"],
        "name": name,
        "folder": folder_moid,
        "pool": lookup.resolve_pool(params.get("resource_pool"), template, placement),
        "datastore": lookup.resolve_datastore(params.get("datastore"), template, placement),
        "linked_clone": bool(params.get("linked_clone")),
        "snapshot": None,
        "cpu": params.get("cpu"),
        "memory_mb": params.get("memory_mb"),
        "disk": None,
        "nic": None,
        "extra_config": dict(extra_config),
        "disk_format": params.get("disk_format"),
        "disk_keys": [d["key"] for d in template.get("disks") or []],
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
        net = lookup.resolve_network(params["network"], placement)
        request["nic"] = {"key": nics[0]["key"], "network": net}
        networks[0] = net["name"]
    for disk in disks:
        disk["file"] = None
        disk["linked"] = request["linked_clone"]
    predicted = views.blank_vm(
        name=name,
        power_state=POWERED_ON if power_on else POWERED_OFF,
        cpu=params.get("cpu") or template.get("cpu"),
        memory_mb=params.get("memory_mb") or template.get("memory_mb"),
        disks=[views.disk_view(d) for d in disks],
        networks=networks,
        folder=path,
        datacenter=inventory["datacenters"][datacenter]["name"],
        # Keys cleared with "" are not on the new VM.
        guestinfo=views.masked_guestinfo({k: v for k, v in extra_config.items() if v}),
        managed=extra_config.get(MANAGED_KEY) == MANAGED_VALUE,
        **views.lifetime_view(lifetime_of(extra_config), now)
    )
    return request, predicted


def change_texts(changes, *, state, before, after):
    """The ``changes`` result of an update: each Change, then the power state from ``before``
    to ``after`` (``restarted`` for a running VM that is restarted)."""
    texts = [c.text() for c in changes]
    if state == "restarted" and before == POWERED_ON:
        texts.append("power_state: restarted")
    elif after != before:
        texts.append("power_state: %s -> %s" % (before, after))
    return texts


def final_power_state(current, steps):
    """The power state after power_plan() ``steps``."""
    state = current
    for step in steps:
        if step in ("shutdown", "power_off"):
            state = POWERED_OFF
        elif step == "power_on":
            state = POWERED_ON
    return state
