# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.clusters inventory's reads. Private to ghost.infra.

Each source is read the way its own module reads it, through that module's code:

- ``registry``: the cluster registry store (cluster_info: _registry/stores.py), a folder or
  Secrets of a management cluster; the kubeconfigs it returns are dropped here, only their
  paths are kept (a folder store's files);
- ``vclusters``: the vclusters of the host cluster with their lifetime (vcluster_info:
  _vcluster/runner.list_vclusters, without its reachability probes);
- ``pools``: the members of every cluster pool, with state and holder, from ONE list of the
  member Leases (cluster_pool_info: _pool/lease_spec.member_view); the kubeconfig path is
  where cluster_pool_lease exports it, when that file exists.

Plain data out; GhostError when a source cannot be read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.ghost.infra.plugins.module_utils._pool import kubeconfig as pool_kubeconfig
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool import spec as pool_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import PoolClient
from ansible_collections.ghost.infra.plugins.module_utils._registry import spec as registry_spec
from ansible_collections.ghost.infra.plugins.module_utils._registry import stores
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec as vcluster_spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.client import VclusterClient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster.runner import list_vclusters

MEMBER_SELECTOR = "%s=%s" % (pool_spec.LABEL_OBJECT, pool_spec.OBJECT_MEMBER)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def read_registry(store, store_auth, *, open_store=stores.from_options, now=None):
    """``{"store": description, "entries": [{"id", "record", "kubeconfig_path", "expiry"}]}``: the
    kubeconfig path is None when the store holds the kubeconfig itself (Secrets); ``expiry`` is
    the registration's ``expires_at`` / ``expired`` / ``ttl`` at ``now``."""
    found = open_store(store, store_auth)
    now = now or _now()
    entries = []
    for entry in found.list():
        entries.append({"id": entry["id"], "record": entry["record"],
                        "kubeconfig_path": entry.get("kubeconfig_path") if found.kind == "folder" else None,
                        "expiry": registry_spec.expiry_view(entry["record"], now)})
    return {"store": found.describe(), "entries": entries}


def read_vclusters(svc, *, namespaces, kubeconfig_dir, now=None):
    """vcluster_info's ``vclusters`` (every namespace, or those in ``namespaces``), no probes."""
    api = VclusterClient(svc)
    filters = vcluster_spec.validate_filters({"kubeconfig_dir": kubeconfig_dir, "check_reachable": False})
    found = []
    for namespace in namespaces or [None]:
        found.extend(list_vclusters(api, dict(filters, namespace=namespace), now=now or _now())["vclusters"])
    return found


def read_pool_members(svc, *, namespaces, now=None, home=None):
    """Every pool member (cluster_pool_info's member view) with ``pool``, ``pool_namespace`` and
    ``kubeconfig_path`` (cluster_pool_lease's export, when that file exists)."""
    api = PoolClient(svc)
    now = now or _now()
    members = []
    for namespace in namespaces or [None]:
        for obj in api.list(pool_spec.LEASE, namespace, MEMBER_SELECTOR):
            meta = obj.get("metadata") or {}
            pool = (meta.get("labels") or {}).get(pool_spec.LABEL_POOL)
            view = lease_spec.member_view(obj, now)
            path = pool_kubeconfig.default_path({"namespace": meta.get("namespace"), "pool": pool}, view["id"], home)
            view.update(pool=pool, pool_namespace=meta.get("namespace"),
                        kubeconfig_path=path if os.path.isfile(path) else None)
            members.append(view)
    return members
