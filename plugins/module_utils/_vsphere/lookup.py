# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Finding things in the vSphere inventory by name or path. Private to ghost.infra; pure (no
ansible and no pyVmomi import).

Takes the inventory and placement dicts records.py describes: inventory paths
(``/DC0/vm/lab``), datacenters and VMs by name, the info module's filter, and the folder,
resource pool, datastore and network a new VM goes to. Raises GhostError naming the option.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError


def folder_location(moid, inventory):
    """(``/DC0/vm/lab``, datacenter moid) of a folder or datacenter moid; (None, None) when it
    is not below a datacenter."""
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
    return folder_location(moid, inventory)[0]


def folder_datacenter(moid, inventory):
    """The datacenter moid above a folder, or None."""
    return folder_location(moid, inventory)[1]


def datacenter_path(moid, inventory):
    """``/DC0`` (folders above the datacenter included)."""
    return folder_location(moid, inventory)[0]


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
        path, dc = folder_location(record.get("parent"), inventory)
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
            path, dc = folder_location(record.get("parent"), inventory)
            if path is None:
                continue
            wanted = normalize_folder(folder, datacenter_path(dc, inventory))
            if not (path == wanted or path.startswith(wanted + "/")):
                continue
        out.append(record)
    return sorted(out, key=lambda r: (r.get("name") or "", r.get("moid") or ""))


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
