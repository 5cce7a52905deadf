# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the vcluster module's virtual clusters appear in the folder registry. Private to ghost.infra.

The vcluster module keeps each kubeconfig at ``~/.ghost/kubeconfigs/<namespace>/<name>.yaml``;
here it also gets a record ``~/.ghost/clusters/vc-<namespace>-<name>.json`` (source
``vcluster``) that points at that file, so cluster_info, kubeconfig and workspace see it like a
joined cluster, without a second copy of its credentials. The record is written only when what
decides a change differs (like a join), and never over an id that something else registered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._registry import runner, spec


def _owned(entry, name, namespace):
    """Whether a registry entry is this vcluster's (or free)."""
    if entry is None:
        return True
    record = entry.get("record") or {}
    return record.get("source") == "vcluster" and record.get("vcluster") == {"name": name, "namespace": namespace}


def sync(store, *, name, namespace, kubeconfig, kubeconfig_path, prewarm=None, check_mode=False):
    """Record vcluster ``namespace/name`` (its kubeconfig dict, already written at ``kubeconfig_path``).

    ``prewarm`` is ``{"server_version": ...}`` when the module proved the kubeconfig answers.
    Returns ``(changed, warning)``; a warning when the id belongs to another cluster.
    """
    cluster_id = spec.vcluster_id(name, namespace)
    current = store.get(cluster_id)
    if not _owned(current, name, namespace):
        return False, ("cluster id '%s' in %s belongs to another cluster; vcluster %s/%s was not recorded there" % (
            cluster_id, store.describe(), namespace, name))
    selected = spec.select_context(kubeconfig, None, "kubeconfig_dest")
    old = (current or {}).get("record") or {}
    now = runner.now_text()
    if prewarm is not None:
        # The vcluster module's /version proof, in the shape of a join's pre-warm.
        prewarm = spec.outcome(dict(prewarm, failure=None), server=None, timeout=None, at=now)
    wanted = spec.record(cluster_id=cluster_id, described=spec.describe(selected), added=old.get("added"),
                         now=now, prewarm=prewarm, name="%s/%s" % (namespace, name), source="vcluster",
                         kubeconfig_path=kubeconfig_path, vcluster={"name": name, "namespace": namespace},
                         expiry=spec.expiry_of(old))  # an expiry set on the registration stays
    changed = current is None or any(old.get(key) != wanted.get(key) for key in spec.DECIDING)
    if changed and not check_mode:
        store.put(cluster_id, None, wanted)
    return changed, None


def forget(store, *, name, namespace, check_mode=False):
    """Remove the record of vcluster ``namespace/name``; True when there was one."""
    cluster_id = spec.vcluster_id(name, namespace)
    current = store.get(cluster_id)
    if current is None or not _owned(current, name, namespace):
        return False
    if not check_mode:
        store.delete(cluster_id)
    return True
