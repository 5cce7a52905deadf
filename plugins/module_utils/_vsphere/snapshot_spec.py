# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The snapshots of a VM: their tree as plain entries, and the plan of esxi_vm_snapshot. Private to
ghost.infra; pure (no ansible and no pyVmomi import).

The client reads a VM's ``snapshot`` property (a VirtualMachineSnapshotInfo) in soapxml's plain
form (or vmomi_internals.from_pyvmomi's, where leaves are typed). flatten() turns it into
*entries*, one per snapshot, depth first (a parent before its children, siblings oldest first)::

    name, id (int), moid, description, created (ISO 8601 UTC), power_state (what the snapshot
    recorded: poweredOff unless it holds the memory of a running VM), quiesced, current (bool),
    parent_id (the id of the parent snapshot, or None)

These entries are the returned ``snapshots`` and ``snapshot``. plan() compares them with the
options and says what to do; raises GhostError naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import (
    POWERED_OFF,
    POWERED_ON,
    SUSPENDED,
    moid_of,
)
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import as_bool, as_int, as_list

STATES = ("present", "absent", "reverted")
ENTRY_FIELDS = ("name", "id", "moid", "description", "created", "power_state", "quiesced", "current",
                "parent_id")
VM_FIELDS = ("name", "moid", "power_state")

_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?$")

# How to get from one power state to another, as client calls (runner.POWER_CALLS).
_POWER_STEPS = {
    (POWERED_OFF, POWERED_ON): ("power_on",),
    (POWERED_OFF, SUSPENDED): ("power_on", "suspend"),
    (POWERED_ON, POWERED_OFF): ("power_off",),
    (POWERED_ON, SUSPENDED): ("suspend",),
    (SUSPENDED, POWERED_ON): ("power_on",),
    (SUSPENDED, POWERED_OFF): ("power_off",),
}


def check_params(params):
    """Reject option combinations AnsibleModule cannot express, naming the option."""
    state = params.get("state") or "present"
    name = params.get("name")
    vm_name = (params.get("vm_name") or "").strip("/")
    if not vm_name.strip():
        raise GhostError("must not be empty", option="vm_name")
    if "/" in vm_name and params.get("folder"):
        raise GhostError("is a path and folder is set too; give the folder in one place", option="vm_name")
    if name is not None and not name.strip():
        raise GhostError("must not be empty", option="name")
    if params.get("all") and state != "absent":
        raise GhostError("is only for state: absent (remove every snapshot)", option="all")
    if state == "absent":
        if params.get("all") and name is not None:
            raise GhostError("and name are mutually exclusive: name removes one snapshot, all: true every one",
                             option="all")
        if not params.get("all") and name is None:
            raise GhostError("is required with state: absent, unless all: true removes every snapshot",
                             option="name")
    elif name is None:
        raise GhostError("is required with state: %s" % state, option="name")


def iso_utc(value):
    """A snapshot's ``createTime`` (an ISO 8601 text or a datetime) as ``YYYY-MM-DDTHH:MM:SSZ``;
    None when unset or unreadable. Sub-seconds are dropped: the API gives nanoseconds as text
    and microseconds through pyVmomi."""
    if value is None or value == "":
        return None
    if not isinstance(value, datetime.datetime):
        match = _TIMESTAMP.match(str(value).strip())
        if not match:
            return None
        zone = (match.group(2) or "Z").replace("Z", "+0000").replace(":", "")
        value = datetime.datetime.strptime(match.group(1) + zone, "%Y-%m-%dT%H:%M:%S%z")
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def flatten(info):
    """The entries of a VirtualMachineSnapshotInfo (plain form), depth first; [] for none."""
    info = info or {}
    current = moid_of(info.get("currentSnapshot"))
    entries = []
    stack = [(node, None) for node in reversed(as_list(info.get("rootSnapshotList")))]
    while stack:
        node, parent_id = stack.pop()
        moid = moid_of(node.get("snapshot"))
        entry = {
            "name": node.get("name"),
            "id": as_int(node.get("id")),
            "moid": moid,
            "description": node.get("description") or "",
            "created": iso_utc(node.get("createTime")),
            "power_state": node.get("state"),
            "quiesced": as_bool(node.get("quiesced")),
            "current": bool(moid) and moid == current,
            "parent_id": parent_id,
        }
        entries.append(entry)
        stack.extend((child, entry["id"]) for child in reversed(as_list(node.get("childSnapshotList"))))
    return entries


def find(entries, name):
    """The entry named ``name``, or None; several of that name are an error naming ``name``."""
    found = [e for e in entries if e["name"] == name]
    if len(found) > 1:
        raise GhostError("%d snapshots are named '%s' (ids %s); snapshots are found by name, so remove or rename "
                         "all but one of them in vSphere first" % (len(found), name,
                                                                   ", ".join(str(e["id"]) for e in found)),
                         option="name")
    return found[0] if found else None


def current_name(entries):
    return next((e["name"] for e in entries if e["current"]), None)


def paths(entries):
    """``parent/child`` names of the entries, in their order (what diffs show of the tree)."""
    by_id = {e["id"]: e for e in entries}
    out = []
    for entry in entries:
        names, seen, node = [], set(), entry
        while node is not None and node["id"] not in seen:
            seen.add(node["id"])
            names.append(node["name"])
            node = by_id.get(node["parent_id"])
        out.append("/".join(reversed(names)))
    return out


def descendants(entries, snapshot_id):
    """Ids of every snapshot below ``snapshot_id``."""
    below, found = {snapshot_id}, set()
    for entry in entries:  # depth first: a parent always comes before its children
        if entry["parent_id"] in below:
            below.add(entry["id"])
            found.add(entry["id"])
    return found


def _removed(entries, target, *, remove_children):
    """The entries after removing ``target`` (and its subtree with ``remove_children``): its
    children move up to its parent, and the current mark moves to its parent when the current
    snapshot goes."""
    gone = {target["id"]} | (descendants(entries, target["id"]) if remove_children else set())
    current_gone = any(e["current"] and e["id"] in gone for e in entries)
    out = []
    for entry in entries:
        if entry["id"] in gone:
            continue
        entry = dict(entry)
        if entry["parent_id"] == target["id"]:
            entry["parent_id"] = target["parent_id"]
        if current_gone:
            entry["current"] = entry["id"] == target["parent_id"]
        out.append(entry)
    return out


def _created(entries, params, power_state):
    """The entries after creating snapshot ``params["name"]`` below the current one; the new
    entry's id, moid and time are unknown until it exists."""
    parent = next((e for e in entries if e["current"]), None)
    memory = bool(params.get("memory")) and power_state != POWERED_OFF
    new = {
        "name": params["name"], "id": None, "moid": None, "description": params.get("description") or "",
        "created": None, "power_state": power_state if memory else POWERED_OFF,
        "quiesced": bool(params.get("quiesce")), "current": True,
        "parent_id": parent["id"] if parent else None,
    }
    out = [dict(e, current=False) for e in entries]
    if parent is None:
        return out + [new]
    # Depth first: after the parent's last descendant.
    last = parent["id"]
    below = descendants(entries, parent["id"])
    index = max(i for i, e in enumerate(entries) if e["id"] == last or e["id"] in below)
    return out[:index + 1] + [new] + out[index + 1:]


def power_steps(current, wanted):
    """Client calls taking a VM from power state ``current`` to ``wanted``."""
    if not wanted or current == wanted:
        return ()
    return _POWER_STEPS.get((current, wanted), ())


def _plan(action, *, target=None, after, power_state, changes, warnings=()):
    return {"action": action, "target": target, "after": after, "power_state": power_state,
            "changes": list(changes), "warnings": list(warnings)}


def plan(entries, params, *, power_state):
    """What to do for the options ``params`` given the VM's ``entries`` and ``power_state``:
    ``action`` (None, create, remove, remove_all, revert), ``target`` (the entry acted on),
    ``after`` (the predicted entries), ``power_state`` (the VM's, after), ``changes`` (texts),
    ``warnings``."""
    state, name = params.get("state") or "present", params.get("name")
    if state == "absent" and params.get("all"):
        if not entries:
            return _plan(None, after=[], power_state=power_state, changes=())
        return _plan("remove_all", after=[], power_state=power_state,
                     changes=["remove every snapshot (%s)" % ", ".join(e["name"] for e in entries)])
    existing = find(entries, name)
    if state == "present":
        if existing is None:
            return _plan("create", after=_created(entries, params, power_state), power_state=power_state,
                         changes=["create snapshot '%s'" % name])
        warnings = []
        description = params.get("description")
        if description is not None and description != existing["description"]:
            warnings.append("snapshot '%s' exists with another description; descriptions are only set when a "
                            "snapshot is created" % name)
        return _plan(None, target=existing, after=entries, power_state=power_state, changes=(), warnings=warnings)
    if state == "absent":
        if existing is None:
            return _plan(None, after=entries, power_state=power_state, changes=())
        below = descendants(entries, existing["id"])
        text = "remove snapshot '%s'" % name
        if below and params.get("remove_children"):
            text += " and the %d below it" % len(below)
        return _plan("remove", target=existing, power_state=power_state, changes=[text],
                     after=_removed(entries, existing, remove_children=params.get("remove_children")))
    if existing is None:
        raise GhostError("no snapshot is named '%s' (found: %s)" % (
            name, ", ".join(sorted({e["name"] for e in entries})) or "none"), option="name")
    wanted = POWERED_ON if params.get("power_on") else existing["power_state"]
    changes = ["revert to snapshot '%s'" % name]
    if wanted and wanted != power_state:
        changes.append("power_state: %s -> %s" % (power_state, wanted))
    after = [dict(e, current=e["id"] == existing["id"]) for e in entries]
    return _plan("revert", target=existing, after=after, power_state=wanted or power_state, changes=changes)


def vm_view(record, power_state):
    """The returned ``vm``: name, moid and power state."""
    return {"name": record.get("name"), "moid": record.get("moid"), "power_state": power_state}


def diff_side(entries, power_state):
    """What a diff shows of a VM's snapshots: the tree as paths, the current one, the power state."""
    return {"snapshots": paths(entries), "current": current_name(entries), "power_state": power_state}
