#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_join
short_description: Register a Kubernetes cluster in the ghost.infra cluster registry, pre-warmed
version_added: 0.1.0
description:
  - Adds a Kubernetes cluster to the registry that M(ghost.infra.cluster_info),
    M(ghost.infra.kubeconfig) and M(ghost.infra.workspace) read, under an O(id) of your choice.
  - The cluster comes from a kubeconfig file (O(kubeconfig)), kubeconfig text
    (O(kubeconfig_content)) or a GuildNet join file (O(join_file)). One context is kept
    (O(context), else the current one) with its cluster and user; files it names (CA, client
    certificate and key, token file) are read into it, so the stored kubeconfig works on any
    controller.
  - Before anything is stored the cluster is pre-warmed with exactly those credentials -
    C(/version) and a list of namespaces, within O(prewarm_timeout). When that fails nothing
    is written (the registry stays as it was, byte for byte) and the task fails naming the
    cause - V(dns), V(tls), V(unauthorized) (HTTP 401), V(forbidden) (HTTP 403), V(timeout),
    V(refused), V(unreachable) or V(error) - and what to check.
  - Joining the same content again changes nothing; a changed kubeconfig, name, labels or
    hints replace the stored ones. The diff shows the server, context, cluster and user names
    and the labels, and whether the credentials were replaced; never the credentials.
  - O(state=absent) removes the cluster from the registry.
  - O(ttl) or O(expires_at) put an expiry on the registration (not on the cluster) - in the
    folder store as fields C(ttl), C(expires_at) and C(renewed_at) of the JSON record, in the
    Kubernetes store as the annotations C(ghost.infra/ttl), C(ghost.infra/expires-at) and
    C(ghost.infra/renewed-at) of the cluster's Secret. M(ghost.infra.cluster_info) and the
    C(ghost.infra.clusters) inventory report it.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
options:
  id:
    description:
      - The cluster's id in the registry, a DNS-1123 label (at most 63 lowercase letters,
        digits and C(-)). It names the files or the Secret of the cluster and its context in
        the kubeconfig of M(ghost.infra.kubeconfig).
    type: str
    required: true
  state:
    description:
      - V(present) joins (or updates) the cluster, V(absent) removes it from the registry.
    type: str
    choices: [present, absent]
    default: present
  kubeconfig:
    description:
      - Path of a kubeconfig file on the host running the module.
      - One of O(kubeconfig), O(kubeconfig_content) and O(join_file) is required with O(state=present).
      - Relative file names in it are relative to its folder.
    type: path
  kubeconfig_content:
    description:
      - A kubeconfig as text (YAML or JSON), for example from a vault or a lookup.
    type: str
  join_file:
    description:
      - Path of a GuildNet-style join artifact (JSON or YAML) holding C(cluster.kubeconfig)
        (kubeconfig text, or a mapping) and optionally C(cluster.name), kept as RV(cluster.name),
        and hints (C(cluster.namespace), C(cluster.ingress_domain), C(cluster.api_proxy_url),
        ...), kept as RV(cluster.settings). Other sections (C(ui), C(hostapp), C(tailscale)) are ignored.
    type: path
  context:
    description:
      - The context to keep from a kubeconfig with several; defaults to its current context,
        or its only one.
    type: str
  labels:
    description:
      - Labels kept in the record and returned by M(ghost.infra.cluster_info) (such as
        an C(env) label). Part of the change decision.
    type: dict
  prewarm_timeout:
    description:
      - Seconds the pre-warm (C(/version) and the namespaces list together) may take.
    type: int
    default: 10
extends_documentation_fragment:
  - ghost.infra.registry
  - ghost.infra.lifetime
  - ghost.infra._attributes
attributes:
  check_mode:
    support: full
    details:
      - The pre-warm runs in check mode too (it only reads), so a cluster that cannot be
        joined fails there as well.
  diff_mode:
    support: full
    details:
      - Names, the server, the labels, the expiry and C(credentials) (V(stored) or V(replaced));
        never a credential.
  platform:
    platforms: posix
notes:
  - The stored kubeconfig holds credentials. In the folder store it is mode C(0600) in a
    C(0700) folder; in the Kubernetes store it is a Secret, readable by whoever may read
    Secrets in that namespace.
  - The credentials never appear in the module's output, diff or error messages.
seealso:
  - module: ghost.infra.cluster_info
  - module: ghost.infra.kubeconfig
  - module: ghost.infra.workspace
"""

EXAMPLES = r"""
- name: Join a lab cluster from a kubeconfig, one of its contexts
  ghost.infra.cluster_join:
    id: lab
    kubeconfig: ~/.kube/lab.yaml
    context: lab-admin
    labels:
      env: lab

- name: Join from a GuildNet join file into the registry the AWX job templates share
  ghost.infra.cluster_join:
    id: edge-1
    join_file: /tmp/guildnet.config
    store: k8s:ghost-registry
    store_auth:
      kubeconfig: ~/.kube/management.yaml

- name: Join from a vault, allowing a slow VPN 20 seconds
  ghost.infra.cluster_join:
    id: prod-eu
    kubeconfig_content: "{{ vault_prod_eu_kubeconfig }}"
    prewarm_timeout: 20

- name: A cluster lent for a week (re-running the task keeps the expiry where it is)
  ghost.infra.cluster_join:
    id: loaner
    kubeconfig: ~/.kube/loaner.yaml
    ttl: 7d
    max_ttl: 30d

- name: Forget it
  ghost.infra.cluster_join:
    id: lab
    state: absent
"""

RETURN = r"""
cluster:
  description:
    - The registered cluster (as it would be, in check mode); with O(state=absent) the removed
      one, empty when there was none. Never a credential.
  returned: always
  type: dict
  contains:
    id:
      description: Its id.
      type: str
      sample: lab
    name:
      description: Its display name (C(cluster.name) of a join file), or null.
      type: str
      sample: Lab cluster
    source:
      description: V(join) (joined by this module) or V(vcluster) (recorded by M(ghost.infra.vcluster)).
      type: str
      sample: join
    server:
      description: URL of its API server.
      type: str
      sample: https://203.0.113.10:6443
    context:
      description: Name of the context kept from the source kubeconfig.
      type: str
      sample: lab-admin
    cluster_name:
      description: Name of that context's cluster in the source kubeconfig.
      type: str
      sample: lab
    user_name:
      description: Name of that context's user in the source kubeconfig.
      type: str
      sample: lab-admin
    ca_fingerprint:
      description:
        - SHA-256 fingerprint of the CA certificate the kubeconfig trusts; null when it trusts
          the system CAs or skips verification.
      type: str
      sample: "SHA256:3F:0A:...:9C"
    tls_verify:
      description: Whether the kubeconfig verifies the API server's certificate.
      type: bool
      sample: true
    labels:
      description: Its labels.
      type: dict
      sample: {env: lab}
    settings:
      description: Hints from a join file (C(namespace), C(ingress_domain), ...).
      type: dict
      sample: {namespace: workspaces}
    added:
      description: When it was first joined (RFC 3339 UTC).
      type: str
      sample: "2025-06-01T08:00:00Z"
    updated:
      description: When its record was last written.
      type: str
      sample: "2025-06-01T08:00:00Z"
    prewarm:
      description: The pre-warm recorded when the record was written (see RV(prewarm)).
      type: dict
    store:
      description: The store, as C(folder PATH) or C(Secrets in namespace NAMESPACE).
      type: str
      sample: folder /home/me/.ghost/clusters
    kubeconfig_path:
      description: Its kubeconfig file in the folder store; null in the Kubernetes store.
      type: str
      sample: /home/me/.ghost/clusters/lab.yaml
    expires_at:
      description:
        - When the registration expires (RFC 3339 UTC), or null without an expiry. The
          registration, not the cluster - C(playbooks/reap.yml) removes it from the registry.
      type: str
      sample: "2026-12-01T20:00:00Z"
    expired:
      description: Whether RV(cluster.expires_at) has passed.
      type: bool
      sample: false
    ttl:
      description: The TTL its expiry was last set from, or null (none, or an explicit O(expires_at)).
      type: str
      sample: 7d
prewarm:
  description: The pre-warm of this run.
  returned: when O(state=present)
  type: dict
  contains:
    ok:
      description: Whether it succeeded.
      type: bool
      sample: true
    at:
      description: When it ran (RFC 3339 UTC).
      type: str
      sample: "2025-06-01T08:00:00Z"
    server_version:
      description: The API server's C(gitVersion).
      type: str
      sample: v1.34.4
    namespace_count:
      description: Namespaces the credentials may list.
      type: int
      sample: 12
    node_count:
      description: Always null here (M(ghost.infra.cluster_info) counts nodes).
      type: int
      sample: null
    latency_ms:
      description: Milliseconds the C(/version) call took.
      type: int
      sample: 14
    cause:
      description: Why it failed, or null.
      type: str
      sample: null
    error:
      description: What failed and what to check, or null.
      type: str
      sample: null
cause:
  description:
    - Why the pre-warm failed - V(dns), V(tls), V(unauthorized), V(forbidden), V(timeout),
      V(refused), V(unreachable) or V(error).
  returned: when the pre-warm failed
  type: str
  sample: unauthorized
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.412
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry import client, runner, stores  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.argspec import registry_argument_spec  # noqa: E402

SOURCES = ("kubeconfig", "kubeconfig_content", "join_file")


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(
        id={"type": "str", "required": True},
        state={"type": "str", "choices": ["present", "absent"], "default": "present"},
        kubeconfig={"type": "path"},
        kubeconfig_content={"type": "str", "no_log": True},
        join_file={"type": "path"},
        context={"type": "str"},
        labels={"type": "dict"},
        prewarm_timeout={"type": "int", "default": 10},
    )
    argument_spec.update(lifetime.ARGUMENT_SPEC)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[SOURCES] + list(lifetime.MUTUALLY_EXCLUSIVE),
                           required_if=[("state", "present", SOURCES, True)])
    require_libraries(module, client.YAML, client.KUBERNETES)

    def action():
        # Options first: bad input is reported before a file is read or a cluster reached.
        options = runner.validate_join(module.params)
        store = stores.from_options(options.get("store"), options.get("store_auth"), check_mode=module.check_mode)
        if options["state"] == "absent":
            return runner.leave(store, options, check_mode=module.check_mode, diff=module._diff)
        return runner.join(store, options, check_mode=module.check_mode, diff=module._diff,
                           hide=module.no_log_values.update)

    run(module, action)


if __name__ == "__main__":
    main()
