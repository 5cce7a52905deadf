#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: workspace
short_description: Run a code-server (or other web IDE) workspace on a Kubernetes cluster
version_added: 0.1.0
description:
  - GuildNet's Workspace reconciler without the operator - turns a workspace request into a
    Deployment, a Service, a Secret holding its password and, with O(storage), a
    PersistentVolumeClaim, on a cluster of the registry (O(cluster)) or any cluster reached with
    the M(kubernetes.core.k8s) connection options.
  - The namespace is created when missing (and removed with the last workspace that created it).
  - Images are handled by kind (O(flavor)) - code-server gets C(PORT), C(--bind-addr 0.0.0.0:PORT)
    and C(--auth password) (it reads the password from C(PASSWORD)); an unprivileged nginx-like
    web server gets an init container that hands its cache and run folders (C(emptyDir) volumes)
    to its user, and a pod C(fsGroup) and container C(runAsUser) so it runs without privileges;
    any other image runs as it is. Every kind gets C(PASSWORD) from the Secret.
  - The Service publishes not-ready addresses (C(publishNotReadyAddresses)), as GuildNet's
    does; with O(wait) the module waits until the Deployment is Available.
  - Objects are written with server-side apply (field manager C(ghost.infra)); nothing differs,
    nothing is written and the task is unchanged. Check mode compares with a server-side dry run.
  - Returns what GuildNet puts in a Workspace's status - phase, ready replicas, the Service's DNS
    name and IP, and a URL that reaches the workspace from the controller through the API
    server's service proxy.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11 (with O(cluster))
options:
  name:
    description:
      - Name of the workspace, a DNS-1035 label of at most 53 characters. It names the
        Deployment and the Service, C(NAME-auth) the Secret and C(NAME-data) the claim.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the workspace; created when missing.
    type: str
    default: default
  state:
    description:
      - V(present) creates or updates the workspace, V(absent) removes its objects.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - Container image, such as V(codercom/code-server:4.104.0) or V(nginxinc/nginx-unprivileged:1.27).
      - Required with O(state=present).
    type: str
  flavor:
    description:
      - How the image is run.
      - V(auto) - V(code-server) when the image's repository contains C(code-server),
        V(nginx) when it contains C(nginx), else V(plain).
      - V(code-server) - C(PORT), C(--bind-addr 0.0.0.0:PORT --auth password), data at C(/home/coder), C(fsGroup) 1000.
      - V(nginx) - an unprivileged web server - runs as O(run_as_user) with writable
        C(/var/cache/nginx), C(/var/run) and C(/tmp) (C(emptyDir) volumes chowned by an init
        container), data at C(/usr/share/nginx/html).
      - V(plain) - as the image says, data at C(/data).
    type: str
    choices: [auto, code-server, nginx, plain]
    default: auto
  ports:
    description:
      - Container ports, all published by the Service; the first is the one code-server
        listens on and the proxy URL points at.
    type: list
    elements: int
    default: [8080]
  env:
    description:
      - Environment variables of the workspace container. C(PASSWORD) comes from O(password).
    type: dict
  password:
    description:
      - The workspace's password, kept in Secret C(NAME-auth) (key C(PASSWORD)) and given to the
        container as the environment variable C(PASSWORD).
      - When omitted, a random one is generated when the Secret is first made and kept; it is
        never returned (read it from the Secret, see RV(workspace.password_secret)).
    type: str
  storage:
    description:
      - Size of a PersistentVolumeClaim C(NAME-data) (V(5Gi), V(500Mi), ...) mounted at the
        flavor's data folder. Without it the workspace keeps nothing across restarts.
    type: str
  storage_class:
    description:
      - Storage class of the claim; the cluster's default when omitted.
    type: str
  exposure:
    description:
      - Type of the Service - V(clusterip), V(nodeport) or V(loadbalancer).
    type: str
    choices: [clusterip, nodeport, loadbalancer]
    default: clusterip
  run_as_user:
    description:
      - User id of an V(nginx) flavor workspace (and its C(fsGroup)); C(nginx-unprivileged) images use 101.
    type: int
    default: 101
  wait:
    description:
      - Wait until the Deployment is Available (O(state=present)) or its pods are gone (O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait.
    type: int
    default: 300
  cluster:
    description:
      - Id of a cluster in the registry (see M(ghost.infra.cluster_join)) to run the workspace
        on, with its stored kubeconfig. The registry is found with O(store) and O(store_auth).
      - Without it, the cluster comes from the connection options (O(kubeconfig), O(context),
        O(host), ... and their C(K8S_AUTH_*) variables); giving both is an error.
      - The connection options are M(kubernetes.core.k8s)'s without C(username) and C(password)
        (HTTP basic authentication, which Kubernetes removed in 1.19), so O(password) is always
        the workspace's.
    type: str
extends_documentation_fragment:
  - ghost.infra.workspace_connection
  - ghost.infra.registry
  - ghost.infra.lifetime
  - ghost.infra._attributes
attributes:
  check_mode:
    support: full
    details:
      - Objects that exist are compared with a server-side dry run of the apply.
  diff_mode:
    support: full
    details:
      - The Deployment, Service, Secret and claim as stored before and after (without status
        and server bookkeeping); every value of the Secret is masked.
  platform:
    platforms: posix
notes:
  - The password never appears in the module's output, diff or errors.
  - The expiry (O(ttl), O(expires_at)) is kept as the annotations C(ghost.infra/ttl),
    C(ghost.infra/expires-at) and C(ghost.infra/renewed-at) of the workspace's Deployment,
    written with it; M(ghost.infra.workspace_info) lists them.
  - RV(workspace.proxy_url) is reachable by whoever may C(get services/proxy) in the
    namespace, with the cluster's credentials (C(kubectl proxy), or a bearer token).
seealso:
  - module: ghost.infra.workspace_info
  - module: ghost.infra.cluster_join
  - module: ghost.infra.cluster_info
"""

EXAMPLES = r"""
- name: A code-server workspace with 5 GiB of storage on a registered cluster
  ghost.infra.workspace:
    cluster: lab
    name: alice
    namespace: workspaces
    image: codercom/code-server:4.104.0
    password: "{{ vault_alice_password }}"
    storage: 5Gi
  register: ws

- name: How to reach it
  ansible.builtin.debug:
    msg: "{{ ws.workspace.proxy_url }} (in-cluster {{ ws.workspace.service_dns }}:8080)"

- name: An unprivileged nginx on a NodePort, on the cluster of K8S_AUTH_KUBECONFIG
  ghost.infra.workspace:
    name: docs-preview
    image: nginxinc/nginx-unprivileged:1.27
    exposure: nodeport

- name: A workspace for the afternoon (re-running the task does not push the expiry back)
  ghost.infra.workspace:
    name: demo
    image: codercom/code-server:4.104.0
    ttl: 8h
    max_ttl: 1d

- name: Remove it
  ghost.infra.workspace:
    name: docs-preview
    state: absent
"""

RETURN = r"""
workspace:
  description:
    - The workspace (as it would be, in check mode); with O(state=absent) its name, namespace
      and cluster, empty when there was nothing to remove. Never the password.
  returned: always
  type: dict
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
    ports:
      description: Its ports.
      type: list
      elements: int
      sample: [8080]
    exposure:
      description: Type of its Service (V(clusterip), V(nodeport), V(loadbalancer)).
      type: str
      sample: clusterip
    phase:
      description:
        - V(Running) (the Deployment is Available), V(Failed) (its rollout gave up) or V(Pending);
          null in check mode for a workspace that would be created.
      type: str
      sample: Running
    ready_replicas:
      description: Ready pods of its Deployment.
      type: int
      sample: 1
    service_name:
      description: Name of its Service.
      type: str
      sample: alice
    service_dns:
      description: DNS name of its Service inside the cluster.
      type: str
      sample: alice.workspaces.svc.cluster.local
    service_ip:
      description: Cluster IP of its Service, or null before it has one.
      type: str
      sample: 10.96.14.7
    node_port:
      description: Node port of its first port with O(exposure=nodeport), else null.
      type: int
      sample: 31080
    load_balancer:
      description: Address of its load balancer with O(exposure=loadbalancer), once assigned, else null.
      type: str
      sample: 203.0.113.20
    proxy_url:
      description: Its first port through the API server's service proxy.
      type: str
      sample: https://203.0.113.10:6443/api/v1/namespaces/workspaces/services/http:alice:8080/proxy/
    password_secret:
      description: Where its password is - the Secret's name and key (the value is never returned).
      type: dict
      sample: {name: alice-auth, key: PASSWORD}
    storage_claim:
      description: Name of its PersistentVolumeClaim, or null without O(storage).
      type: str
      sample: alice-data
    expires_at:
      description:
        - When it expires (annotation C(ghost.infra/expires-at) of its Deployment), RFC 3339 UTC;
          null without an expiry.
      type: str
      sample: "2026-12-01T20:00:00Z"
    expired:
      description: Whether RV(workspace.expires_at) has passed.
      type: bool
      sample: false
    ttl:
      description: The TTL its expiry was last set from, or null (none, or an explicit O(expires_at)).
      type: str
      sample: 8h
duration:
  description: Seconds the module took, including waiting.
  returned: always
  type: float
  sample: 4.2
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime  # noqa: E402
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
from ansible_collections.ghost.infra.plugins.module_utils._workspace.runner import ensure_workspace  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._workspace.spec import validate  # noqa: E402


def main():
    argument_spec = workspace_argument_spec()
    argument_spec.update(REGISTRY_SPEC)
    argument_spec.update({
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "default": "default"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "image": {"type": "str"},
        "flavor": {"type": "str", "choices": ["auto", "code-server", "nginx", "plain"], "default": "auto"},
        "ports": {"type": "list", "elements": "int", "default": [8080]},
        "env": {"type": "dict"},
        "password": {"type": "str", "no_log": True},
        "storage": {"type": "str"},
        "storage_class": {"type": "str"},
        "exposure": {"type": "str", "choices": ["clusterip", "nodeport", "loadbalancer"], "default": "clusterip"},
        "run_as_user": {"type": "int", "default": 101},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 300},
        "cluster": {"type": "str"},
    })
    argument_spec.update(lifetime.ARGUMENT_SPEC)
    module = K8sModule(argument_spec=argument_spec, supports_check_mode=True,
                       mutually_exclusive=list(lifetime.MUTUALLY_EXCLUSIVE),
                       required_if=[("state", "present", ("image",))])

    def action():
        # Options first: bad input is reported before a cluster is reached.
        options = validate(module.params)
        connection = {key: module.params.get(key) for key in WORKSPACE_CONNECTION_SPEC}
        if options.get("cluster"):
            given = sorted(key for key, value in connection.items() if value is not None)
            if given:
                raise GhostError("a registered cluster comes with its own kubeconfig; leave out %s" % ", ".join(given),
                                 option="cluster")
            svc = registered_service(options["cluster"], options.get("store"), options.get("store_auth"), module)
        else:
            # Only the connection options reach kubernetes.core: ``password`` is the workspace's.
            svc = auth_service(connection, check_mode=module.check_mode)
        api = WorkspaceClient(svc, server=svc.client.configuration.host)
        return ensure_workspace(api, options, check_mode=module.check_mode, diff=module._diff,
                                cluster_id=options.get("cluster"), hide=module.add_no_log_values)

    run(module, action)


if __name__ == "__main__":
    main()
