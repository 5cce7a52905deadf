# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reaching a registered cluster: its entry in the store, then a kubernetes.core service over its
stored kubeconfig alone. Private to ghost.infra; what workspace (and any module with a
``cluster`` option) calls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._registry import client, spec, stores


def registered_kubeconfig(store, cluster_id):
    """The single-context kubeconfig dict of ``cluster_id``; GhostError naming the option ``cluster``."""
    spec.validate_id(cluster_id, option="cluster")
    entry = store.get(cluster_id)
    if entry is None:
        raise GhostError("no cluster '%s' in the registry (%s); join it first with ghost.infra.cluster_join" % (
            cluster_id, store.describe()), option="cluster")
    if entry.get("kubeconfig") is None:
        raise GhostError("the kubeconfig of cluster '%s' is missing (%s)" % (cluster_id, entry.get("kubeconfig_path")),
                         option="cluster")
    document = client.load_yaml(entry["kubeconfig"], option="cluster", what="the kubeconfig of cluster '%s'" % cluster_id)
    return spec.select_context(document, None, "cluster")


def registered_service(cluster_id, store, store_auth, module):
    """kubernetes.core's K8sService for registered cluster ``cluster_id``."""
    registry = stores.from_options(store, store_auth, check_mode=module.check_mode)
    kubeconfig = registered_kubeconfig(registry, cluster_id)
    module.add_no_log_values(spec.kubeconfig_secrets(kubeconfig))
    return client.cluster_service(kubeconfig, module)
