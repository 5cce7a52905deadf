# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The workspace module's calls to a cluster, on the Kubernetes client base. Private to ghost.infra.

Server-side apply (field manager ``ghost.infra``, conflicts forced: the module owns these
objects) for the Secret, claim, Deployment and Service; a dry run of the same apply answers
check mode with what the server would store, defaults included. Plus the namespace, the
workspace's pods and deletes. No AnsibleModule here; plain dicts out, GhostError on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient, ref, to_dict
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import api_error_message, http_status
from ansible_collections.ghost.infra.plugins.module_utils._workspace import spec

FIELD_MANAGER = "ghost.infra"


class Modified(GhostError):
    """The object changed since the resourceVersion an apply was conditioned on (HTTP 409)."""


class WorkspaceClient(K8sClient):
    """What a workspace needs from its cluster."""

    API_VERSIONS = {"Deployment": "apps/v1", "Service": "v1", "Secret": "v1", "PersistentVolumeClaim": "v1",
                    "Namespace": "v1", "Pod": "v1"}

    def __init__(self, svc, *, server=None, waiter=None):
        super(WorkspaceClient, self).__init__(svc, waiter=waiter)
        self.server = server

    def missing_resource(self, kind, cause):
        return GhostError("Failed to reach the cluster of the workspace: %s" % cause)

    def apply(self, definition, *, dry_run=False):
        """Server-side apply of ``definition``; with ``dry_run`` nothing is stored. Returns the object.

        A ``metadata.resourceVersion`` in ``definition`` is a precondition: Modified when the
        object changed since (another controller wrote it meanwhile).
        """
        kind = definition["kind"]
        meta = definition["metadata"]
        resource = self.resource(kind)
        try:
            return to_dict(self.svc.client.client.server_side_apply(
                resource, body=definition, name=meta["name"], namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER, force_conflicts=True, dry_run="All" if dry_run else None))
        except Exception as exc:
            message = failure("apply", kind, ref(meta.get("namespace"), meta["name"]), api_error_message(exc))
            if http_status(exc) == 409 and meta.get("resourceVersion"):
                raise Modified(message)
            raise GhostError(message)

    def ensure_namespace(self, name, workspace):
        """Create namespace ``name`` when missing (marked as made for ``workspace``); True when created."""
        if self.get("Namespace", None, name) is not None:
            return False
        self.create({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": spec.MANAGED_BY},
                                  "annotations": {spec.CREATED_FOR: workspace}}}, exist_ok=True)
        return True

    def pods(self, namespace, name):
        return self.list("Pod", namespace, spec.selector_text(name))

    def other_workspaces(self, namespace, name):
        """Names of the other workspaces (Deployments labelled as one) in ``namespace``."""
        found = self.list("Deployment", namespace, spec.LABEL_WORKSPACE)
        return sorted({d["metadata"]["labels"][spec.LABEL_WORKSPACE] for d in found} - {name})
