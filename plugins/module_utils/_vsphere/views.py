# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What esxi_vm and esxi_vm_info return about a VM, and what their diffs show. Private to
ghost.infra; pure (no ansible and no pyVmomi import).

The ``vm`` view is the RETURN block's ``vm`` (esxi_vm) and ``vms[]`` (esxi_vm_info): plain
data built from a record (records.py), with guestinfo values masked. A unit test keeps its
keys equal to the documented ones.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import MASK
from ansible_collections.ghost.infra.plugins.module_utils._common.secrets import is_trivial
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import decode_guestinfo
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import masked_documents
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import dump_yaml
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.lookup import folder_location
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import (
    GUESTINFO_PREFIX,
    KB_PER_GB,
    guestinfo_of,
    is_managed,
    lifetime_of,
    pick_ip,
)

# Result and diff paths whose values are always masked (result.mask_secrets syntax).
SECRET_FIELDS = ("guestinfo.*",)

VM_FIELDS = ("name", "uuid", "instance_uuid", "moid", "power_state", "ip_address", "cpu", "memory_mb", "disks",
             "networks", "folder", "datacenter", "template", "guestinfo", "managed", "expires_at", "expired", "ttl")
DIFF_FIELDS = ("power_state", "cpu", "memory_mb", "disks", "networks", "folder", "guestinfo", "managed",
               "expires_at", "ttl")


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def lifetime_view(record, now=None):
    """``{"expires_at", "expired", "ttl"}`` of an expiry record (records.lifetime_of) at ``now``."""
    out = lifetime.status(record, now or utc_now())
    out["ttl"] = (record or {}).get("ttl") or None
    return out


def masked_guestinfo(extra_config):
    """guestinfo.* keys with every value replaced by MASK: what results and diffs show."""
    return dict.fromkeys(sorted(guestinfo_of(extra_config)), MASK)


def hide_guestinfo(text, *extra_configs):
    """``text`` (an error from the API) with every guestinfo value of ``extra_configs`` that
    could be a secret (see _common/secrets.is_trivial) replaced by MASK."""
    values = {value for extra in extra_configs for value in guestinfo_of(extra).values()
              if value and not is_trivial(value)}
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def disk_view(disk):
    return {
        "label": disk.get("label"),
        "capacity_gb": round(disk.get("capacity_kb", 0) / float(KB_PER_GB), 2),
        "file": disk.get("file"),
        "thin": disk.get("thin"),
        "linked": bool(disk.get("linked")),
    }


def blank_vm(**known):
    """A ``vm`` view of a VM known only in part (a VM about to be created, or one seen through
    the SSH fallback): every field, unknown ones None or empty, then ``known``."""
    vm = dict.fromkeys(VM_FIELDS)
    vm.update(disks=[], networks=[], template=False, guestinfo={})
    vm.update(known)
    return vm


def vm_view(record, inventory, *, now=None):
    """The ``vm`` return value of a VM record: plain, masked (guestinfo values are never returned);
    ``expired`` as of ``now`` (an aware datetime; default the current time)."""
    path, dc = folder_location(record.get("parent"), inventory)
    view = {
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
    view.update(lifetime_view(lifetime_of(record.get("extra_config")), now))
    return view


def predict(vm, changes, *, power_state, now=None):
    """The ``vm`` view after ``changes`` (spec.Change list) and a power state."""
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
        elif change.field in ("expires_at", "ttl"):
            out[change.field] = change.after
            out["expired"] = lifetime.is_expired(out["expires_at"], now or utc_now())
        elif change.field.startswith(GUESTINFO_PREFIX):
            if change.after:
                out["guestinfo"][change.field] = MASK
            else:
                out["guestinfo"].pop(change.field, None)
        if change.field.startswith(GUESTINFO_PREFIX):
            out["guestinfo"] = dict(sorted(out["guestinfo"].items()))
    return out


def diff_side(vm):
    """The part of a ``vm`` view a diff shows (guestinfo values are already masked)."""
    if vm is None:
        return {}
    side = {"name": vm.get("name")}
    for field in DIFF_FIELDS:
        side[field] = vm.get(field)
    return side


def held_documents(extra_config):
    """The cloud-init documents a VM holds, masked for a diff (None when it holds none)."""
    values = guestinfo_of(extra_config)
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
