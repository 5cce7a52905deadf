#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workspace_info
short_description: List the workspaces ghost.infra runs on a Kubernetes cluster, with their expiry
version_added: 0.1.0
description:
  - Lists the workspaces made by M(ghost.infra.workspace) - the Deployments that carry its
    ownership labels (C(app.kubernetes.io/managed-by=ghost.infra) and C(ghost.infra/workspace)) -
    in one namespace (O(namespace)) or in every namespace, with one list call.
  - For each - its image and flavor, whether it is ready, and its expiry (C(ghost.infra/expires-at),
    C(ghost.infra/ttl)) and whether that has passed. Never its password.
  - The cluster is one of the registry (O(cluster)) or reached with the connection options, as
    for M(ghost.infra.workspace).
  - Reads only; changes nothing.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11 (with O(cluster))
options:
  namespace:
    description:
      - Only the workspaces of this namespace; every namespace when omitted.
    type: str
  name:
    description:
      - Only the workspace of this name.
    type: str
  cluster:
    description:
      - Id of a cluster in the registry (see M(ghost.infra.cluster_join)) to list, with its
        stored kubeconfig; giving connection options as well is an error.
    type: str
extends_documentation_fragment:
  - ghost.infra.workspace_connection
  - ghost.infra.registry
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
attributes:
  platform:
    platforms: posix
seealso:
  - module: ghost.infra.workspace
"""

EXAMPLES = r"""
- name: Every workspace on the cluster of K8S_AUTH_KUBECONFIG
  ghost.infra.workspace_info:
  register: found

- name: The expired ones
  ansible.builtin.debug:
    msg: "{{ found.workspaces | selectattr('expired') | map(attribute='name') | list }}"

- name: The workspaces of one namespace on a registered cluster
  ghost.infra.workspace_info:
    cluster: lab
    namespace: workspaces
"""

RETURN = r"""
workspaces:
  description: The workspaces found, by namespace and name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Its name (and that of its Deployment and Service).
      type: str
      sample: alice
    namespace:
      description: Its namespace.
      type: str
      sample: workspaces
    cluster:
      description: The registry id of its cluster, or null when reached with connection options.
      type: str
      sample: lab
    image:
      description: Its image.
      type: str
      sample: codercom/code-server:4.104.0
    flavor:
      description: How the image is run (V(code-server), V(nginx), V(plain)).
      type: str
      sample: code-server
    ready:
      description: Whether its Deployment is Available.
      type: bool
      sample: true
    phase:
      description: V(Running) (Available), V(Failed) (its rollout gave up) or V(Pending).
      type: str
      sample: Running
    ready_replicas:
      description: Ready pods of its Deployment.
      type: int
      sample: 1
    expires_at:
      description: When it expires (RFC 3339 UTC), or null without an expiry.
      type: str
      sample: "2026-12-01T20:00:00Z"
    expired:
      description: Whether RV(workspaces[].expires_at) has passed.
      type: bool
      sample: false
    ttl:
      description: The TTL its expiry was last set from, or null.
      type: str
      sample: 8h
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.4
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._common.module import run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import K8sModule  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.argspec import REGISTRY_SPEC  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.client import auth_service  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.connect import registered_service  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._workspace.argspec import (  # noqa: E402
    WORKSPACE_CONNECTION_SPEC,
    workspace_argument_spec,
)
from ansible_collections.ghost.infra.plugins.module_utils._workspace.client import WorkspaceClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._workspace.runner import list_workspaces  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._workspace.spec import validate_info  # noqa: E402


def main():
    argument_spec = workspace_argument_spec()
    argument_spec.update(REGISTRY_SPEC)
    argument_spec.update({
        "namespace": {"type": "str"},
        "name": {"type": "str"},
        "cluster": {"type": "str"},
    })
    module = K8sModule(argument_spec=argument_spec, supports_check_mode=True)

    def action():
        options = validate_info(module.params)
        connection = {key: module.params.get(key) for key in WORKSPACE_CONNECTION_SPEC}
        if options.get("cluster"):
            given = sorted(key for key, value in connection.items() if value is not None)
            if given:
                raise GhostError("a registered cluster comes with its own kubeconfig; leave out %s" % ", ".join(given),
                                 option="cluster")
            svc = registered_service(options["cluster"], options.get("store"), options.get("store_auth"), module)
        else:
            svc = auth_service(connection, check_mode=module.check_mode)
        api = WorkspaceClient(svc, server=svc.client.configuration.host)
        return list_workspaces(api, options, cluster_id=options.get("cluster"))

    run(module, action)


if __name__ == "__main__":
    main()
