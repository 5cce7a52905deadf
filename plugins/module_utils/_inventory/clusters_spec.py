# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.clusters inventory's rules. Private to ghost.infra; pure (no ansible and no
kubernetes import).

Takes what clusters_client read (registry entries, vclusters, pool members) and returns host
records (_inventory/spec.py), one per cluster: a registry entry is named by its id; a vcluster
by its registry id ``vc-<namespace>-<name>``, so a vcluster the vcluster module recorded in the
registry is one host with both views; a pool member ``<pool>-<member>``. Every host has
``ansible_connection: local`` and ``ghost_kubeconfig`` (a path, or None when no local file
holds its kubeconfig), so plays against ``hosts: vcluster`` run kubernetes.core modules with
``kubeconfig: "{{ ghost_kubeconfig }}"``. Every host also has ``<prefix>expires_at`` and
``<prefix>expired`` (a registration's expiry, a vcluster's TTL: expired when either has passed)
and is in group ``expired`` when it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec
from ansible_collections.ghost.infra.plugins.module_utils._registry.spec import vcluster_id

SOURCES = ("registry", "vclusters", "pools")
KUBECONFIG_VAR = "ghost_kubeconfig"


def check_options(options):
    """The sources to read, checked."""
    sources = options.get("sources") or []
    if not sources:
        raise GhostError("must name at least one source (choices: %s)" % ", ".join(SOURCES), option="sources")
    for source in sources:
        if source not in SOURCES:
            raise GhostError("unknown source '%s' (choices: %s)" % (source, ", ".join(SOURCES)), option="sources")
    return list(sources)


def _host(hosts, name):
    return hosts.setdefault(name, {"name": name, "vars": {}, "groups": set(), "kubeconfigs": []})


def _expiry(host, prefix, expires_at, expired):
    """A host's ``expires_at`` / ``expired`` over every source that knows it: the earliest expiry
    (the first to pass), expired when any is."""
    hostvars = host["vars"]
    known = hostvars.get(prefix + "expires_at")
    if expires_at and (not known or expires_at < known):
        hostvars[prefix + "expires_at"] = expires_at
    hostvars[prefix + "expired"] = bool(hostvars.get(prefix + "expired")) or bool(expired)
    if hostvars[prefix + "expired"]:
        host["groups"].add("expired")


def hosts(read, options):
    """``(host records, warnings)`` from ``read`` = ``{"registry": {...} or None, "vclusters":
    [...] or None, "pools": [...] or None}`` (None: not read)."""
    check_options(options)
    prefix = options.get("hostvars_prefix") or ""
    found = {}
    registry = read.get("registry")
    for entry in (registry or {}).get("entries") or []:
        host = _host(found, entry["id"])
        record = dict(entry["record"] or {})
        expiry = entry.get("expiry") or {"expires_at": None, "expired": False, "ttl": None}
        host["vars"][prefix + "registry"] = {
            "id": entry["id"], "name": record.get("name"), "source": record.get("source"),
            "server": record.get("server"), "context": record.get("context"), "labels": dict(record.get("labels") or {}),
            "added": record.get("added"), "updated": record.get("updated"), "store": registry.get("store"),
            "expires_at": expiry["expires_at"], "expired": bool(expiry["expired"]), "ttl": expiry["ttl"],
        }
        host["groups"].add("registry")
        _expiry(host, prefix, expiry["expires_at"], expiry["expired"])
        host["kubeconfigs"].append(entry.get("kubeconfig_path"))
    for vcluster in read.get("vclusters") or []:
        host = _host(found, vcluster_id(vcluster["name"], vcluster["namespace"]))
        host["vars"][prefix + "vcluster"] = dict(vcluster)
        host["groups"].add("vcluster")
        _expiry(host, prefix, vcluster.get("expires_at"), vcluster.get("expired"))
        host["kubeconfigs"].append(vcluster.get("kubeconfig_path"))
    for member in read.get("pools") or []:
        host = _host(found, "%s-%s" % (member["pool"], member["id"]))
        host["vars"][prefix + "pool_member"] = dict(member)
        host["groups"].update({"pool_member", spec.group_name("pool", member["pool"]),
                               spec.group_name("pool", "state", member["state"])})
        host["kubeconfigs"].append(member.get("kubeconfig_path"))
    out = []
    for name in sorted(found):
        host = found[name]
        hostvars = dict(host["vars"])
        hostvars.setdefault(prefix + "expired", False)
        hostvars.setdefault(prefix + "expires_at", None)
        hostvars["ansible_connection"] = "local"
        hostvars[KUBECONFIG_VAR] = next((p for p in host["kubeconfigs"] if p), None)
        if not spec.name_matches(name, options.get("names"), options.get("exclude_names")):
            continue
        out.append(spec.host_record(name, hostvars, host["groups"]))
    return out, []
