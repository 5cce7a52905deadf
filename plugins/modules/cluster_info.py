#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_info
short_description: List the clusters of the ghost.infra cluster registry with their live health
version_added: 0.1.0
description:
  - Lists every cluster registered with M(ghost.infra.cluster_join) (and every vcluster that
    M(ghost.infra.vcluster) recorded in the folder store), or one by O(id), with its record
    and labels.
  - With O(health=true) it also checks every cluster live, all in parallel with the stored
    credentials - C(/version) (its latency) and the list of nodes (their count) - bounded by
    one O(timeout) for all of them together. A cluster that does not answer (a black-holed
    address, a stopped VPN) is reported as unreachable with cause V(timeout) when the time is
    up, and does not slow the others.
  - Each cluster comes with the expiry of its registration (O(ghost.infra.cluster_join#module:ttl)),
    and whether it has passed.
  - Reads only; changes nothing.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
options:
  id:
    description:
      - Only the cluster with this id.
    type: str
  health:
    description:
      - Check every listed cluster live (reachable, server version, node count, latency).
    type: bool
    default: true
  timeout:
    description:
      - Seconds the live checks of all clusters together may take.
    type: int
    default: 10
extends_documentation_fragment:
  - ghost.infra.registry
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
attributes:
  platform:
    platforms: posix
seealso:
  - module: ghost.infra.cluster_join
  - module: ghost.infra.kubeconfig
"""

EXAMPLES = r"""
- name: Every registered cluster with its health
  ghost.infra.cluster_info:
  register: registry

- name: The unreachable ones and why
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.error }}"
  loop: "{{ registry.clusters | rejectattr('reachable') }}"
  loop_control:
    label: "{{ item.id }}"

- name: The lab clusters of the shared registry, without live checks
  ghost.infra.cluster_info:
    store: k8s:ghost-registry
    health: false
  register: shared

- name: The registrations that have expired
  ansible.builtin.debug:
    msg: "{{ registry.clusters | selectattr('expired') | map(attribute='id') | list }}"

- name: Their ids
  ansible.builtin.debug:
    msg: "{{ shared.clusters | selectattr('labels.env', 'defined') | selectattr('labels.env', 'eq', 'lab') | map(attribute='id') | list }}"
"""

RETURN = r"""
clusters:
  description: The registered clusters, sorted by id; never a credential.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Its id.
      type: str
      sample: lab
    name:
      description: Its display name (from a join file), or null.
      type: str
      sample: Lab cluster
    source:
      description: V(join) (M(ghost.infra.cluster_join)) or V(vcluster) (M(ghost.infra.vcluster)).
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
      description: SHA-256 fingerprint of the CA certificate the kubeconfig trusts, or null.
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
      description: Hints from a join file.
      type: dict
      sample: {}
    added:
      description: When it was first registered (RFC 3339 UTC).
      type: str
      sample: "2025-06-01T08:00:00Z"
    updated:
      description: When its record was last written.
      type: str
      sample: "2025-06-01T08:00:00Z"
    prewarm:
      description: The pre-warm recorded when the record was written (RV(ghost.infra.cluster_join#module:prewarm)).
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
      description: Whether RV(clusters[].expires_at) has passed.
      type: bool
      sample: false
    ttl:
      description: The TTL its expiry was last set from (O(ghost.infra.cluster_join#module:ttl)), or null.
      type: str
      sample: 7d
    reachable:
      description: Whether the live check succeeded; null with O(health=false).
      type: bool
      sample: true
    server_version:
      description: The API server's C(gitVersion), or null.
      type: str
      sample: v1.34.4
    node_count:
      description: Its nodes, or null when unknown (unreachable, or the user may not list nodes).
      type: int
      sample: 3
    latency_ms:
      description: Milliseconds the C(/version) call took, or null.
      type: int
      sample: 12
    cause:
      description:
        - Why the check failed - V(dns), V(tls), V(unauthorized), V(forbidden), V(timeout),
          V(refused), V(unreachable) or V(error) - or null.
      type: str
      sample: null
    error:
      description: What failed and what to check, or null.
      type: str
      sample: null
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 1.204
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry import client, runner, stores  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._registry.argspec import registry_argument_spec  # noqa: E402


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(
        id={"type": "str"},
        health={"type": "bool", "default": True},
        timeout={"type": "int", "default": 10},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, client.YAML, client.KUBERNETES)

    def action():
        # Options first: bad input is reported before the store is opened.
        runner.validate_info(module.params)
        store = stores.from_options(module.params.get("store"), module.params.get("store_auth"),
                                    check_mode=module.check_mode)
        return runner.info(store, module.params)

    run(module, action)


if __name__ == "__main__":
    main()
