#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_pool
short_description: Declare a pool of clusters that sessions lease
version_added: 0.1.0
description:
  - Declares a pool of clusters in a host cluster. Each member is a namespace (named after the
    member id) holding a KubeVirt cluster (a control-plane VM and a worker VM with their golden
    snapshots) or a vcluster. M(ghost.infra.cluster_pool_lease) hands members to sessions,
    M(ghost.infra.cluster_pool_maintain) reclaims and resets them, M(ghost.infra.cluster_pool_info)
    reports on them.
  - "The pool's state lives in the host cluster, in namespace O(namespace): one
    C(coordination.k8s.io/v1) C(Lease) per member (holder, acquire and renew times, duration; the
    pool state in annotations), one holding this declaration and one holding the wait queue, all
    labelled C(ghost.infra/pool=<name>). C(Lease) objects exist on every API server, so nothing
    needs to be installed; every write carries the C(resourceVersion) it was computed from."
  - Everything is checked before anything is written. For a kubevirt pool, every member VM must
    exist (by name, or found by O(vm_selector)) and have its golden snapshot ready to use; for a
    vcluster pool every member's vcluster must have published its kubeconfig. The role
    C(ghost.infra.cluster_pool) creates those.
  - New members start C(available). Members removed from O(members) are deleted from the pool
    (their namespace loses the pool label, its content stays), but not while held or being reset
    unless O(force=true).
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
options:
  name:
    description:
      - Name of the pool, at most 40 lower-case letters, digits and C(-), starting with a letter.
    type: str
    required: true
  state:
    description:
      - V(present) declares (or updates) the pool; V(absent) removes every object of the pool and the
        pool label of its member namespaces (the namespaces, VMs and vclusters stay).
    type: str
    choices: [present, absent]
    default: present
  kind:
    description:
      - V(kubevirt) members are KubeVirt VMs reset from golden snapshots; V(vcluster) members are
        vclusters, deleted and created again on reset.
    type: str
    choices: [kubevirt, vcluster]
    default: kubevirt
  members:
    description:
      - A number N (members C(<member_prefix>1) .. C(<member_prefix>N)), or a list of member ids.
        Each id is also the name of the member's namespace (a DNS-1123 label).
      - Required with O(state=present).
    type: raw
  member_prefix:
    description:
      - Prefix of the member ids when O(members) is a number.
    type: str
    default: cluster
  labels:
    description:
      - Extra labels for every member namespace, besides C(ghost.infra/pool=<name>), for example
        C(cks.io/cluster-pool=true).
    type: dict
  vms:
    description:
      - The VMs of each member, by name; C({member}) in a name is replaced by the member id.
    type: list
    elements: dict
    suboptions:
      role:
        description: The VM's role; each role at most once.
        type: str
        required: true
        choices: [control-plane, worker]
      name:
        description: Name of the VM in the member's namespace, for example V({member}-cp).
        type: str
        required: true
  vm_selector:
    description:
      - Find each member's VMs by label instead of by name (VMs with generated names). A map from
        role (V(control-plane), V(worker)) to a label selector that must match exactly one
        C(VirtualMachine) in each member namespace. Mutually exclusive with O(vms).
    type: dict
  snapshots:
    description:
      - Golden snapshot name per role, in the same namespace as the VM.
      - "Defaults to C({control-plane: cp-snap, worker: wk-snap}) for the roles not given."
    type: dict
  templates_namespace:
    description:
      - Namespace of the template VMs the role creates member VMs from (recorded with the pool).
    type: str
    default: vm-templates
  duration:
    description:
      - Default lease duration of the pool (seconds, or V(30m), V(2h), V(1d)).
    type: str
    default: 2h
  max_reset_attempts:
    description:
      - How many failed resets in a row the maintenance playbook retries before it leaves a member in C(error).
    type: int
    default: 3
  reset_timeout:
    description:
      - Seconds a reset may take (restores and start, or vcluster delete and create). A janitor that
        has not finished by then is presumed dead and the member goes to C(error).
    type: int
    default: 600
  kubeconfig_secret:
    description:
      - A Secret in each member namespace holding the member cluster's kubeconfig (kubevirt pools);
        M(ghost.infra.cluster_pool_lease) writes it to a 0600 file for the holder.
    type: dict
    suboptions:
      name:
        description: Name of the Secret.
        type: str
        required: true
      key:
        description: Key of the kubeconfig in the Secret.
        type: str
        default: kubeconfig
  vcluster:
    description:
      - vcluster pools, the options M(ghost.infra.vcluster) creates each member's vcluster with on
        reset - C(name) (default the member id), C(values), C(values_files), C(chart_version),
        C(chart_dir), C(kubernetes_version), C(server), C(expose), C(vcluster_binary).
    type: dict
  force:
    description:
      - Remove members that are held or being reset (O(members) shrinks, or O(state=absent)).
    type: bool
    default: false
extends_documentation_fragment:
  - ghost.infra.cluster_pool
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_CLUSTER_POOL
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the stored declaration and each member's record (namespace, VMs, kubeconfig source).
  platform:
    platforms: all
seealso:
  - module: ghost.infra.cluster_pool_lease
  - module: ghost.infra.cluster_pool_info
  - module: ghost.infra.cluster_pool_maintain
"""

EXAMPLES = r"""
- name: Three CKS practice clusters, VMs named cluster1-cp, cluster1-wk, ...
  ghost.infra.cluster_pool:
    name: cks
    members: 3
    labels:
      cks.io/cluster-pool: "true"
    vms:
      - {role: control-plane, name: "{member}-cp"}
      - {role: worker, name: "{member}-wk"}
    duration: 2h

- name: VMs with generated names, found by label
  ghost.infra.cluster_pool:
    name: cks
    members: [lab-a, lab-b]
    vm_selector:
      control-plane: cks.io/node=control-plane
      worker: cks.io/node=worker

- name: Two vclusters reachable through the host's API gateway
  ghost.infra.cluster_pool:
    name: review
    kind: vcluster
    members: 2
    vcluster:
      server: https://vc.example.com:8443
"""

RETURN = r"""
pool:
  description: The pool as declared (empty after O(state=absent) removed it).
  returned: always
  type: dict
  contains:
    name:
      description: Pool name.
      type: str
      sample: cks
    namespace:
      description: Namespace holding the pool's Lease objects.
      type: str
      sample: ghost-pools
    kind:
      description: V(kubevirt) or V(vcluster).
      type: str
      sample: kubevirt
    members:
      description: Member ids.
      type: list
      elements: str
      sample: [cluster1, cluster2, cluster3]
    member_states:
      description: State of each member after the run.
      type: dict
      sample: {"cluster1": "available", "cluster2": "locked"}
    labels:
      description: Extra member namespace labels.
      type: dict
      sample: {"cks.io/cluster-pool": "true"}
    vms:
      description: The VMs by name (with C({member})).
      type: list
      elements: dict
      sample: [{"role": "control-plane", "name": "{member}-cp"}]
    vm_selector:
      description: The VMs by label, per role.
      type: dict
      sample: {}
    snapshots:
      description: Golden snapshot per role.
      type: dict
      sample: {"control-plane": "cp-snap", "worker": "wk-snap"}
    templates_namespace:
      description: Namespace of the template VMs.
      type: str
      sample: vm-templates
    duration:
      description: Default lease duration.
      type: str
      sample: 2h
    max_reset_attempts:
      description: Failed resets retried by the maintenance playbook.
      type: int
      sample: 3
    reset_timeout:
      description: Seconds a reset may take.
      type: int
      sample: 600
    kubeconfig_secret:
      description: The Secret holding each member's kubeconfig, if any.
      type: dict
      sample: null
    vcluster:
      description: The vcluster options of a vcluster pool.
      type: dict
      sample: null
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.2
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.argspec import pool_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import PoolClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import utcnow  # noqa: E402


def argument_spec():
    options = pool_argument_spec()
    options.update({
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "kind": {"type": "str", "choices": ["kubevirt", "vcluster"], "default": "kubevirt"},
        "members": {"type": "raw"},
        "member_prefix": {"type": "str", "default": "cluster"},
        "labels": {"type": "dict"},
        "vms": {"type": "list", "elements": "dict", "options": {
            "role": {"type": "str", "required": True, "choices": ["control-plane", "worker"]},
            "name": {"type": "str", "required": True},
        }},
        "vm_selector": {"type": "dict"},
        "snapshots": {"type": "dict"},
        "templates_namespace": {"type": "str", "default": "vm-templates"},
        "duration": {"type": "str", "default": "2h"},
        "max_reset_attempts": {"type": "int", "default": 3},
        "reset_timeout": {"type": "int", "default": 600},
        # Names of a Secret and of its key, not secrets themselves.
        "kubeconfig_secret": {"type": "dict", "no_log": False, "options": {
            "name": {"type": "str", "required": True},
            "key": {"type": "str", "default": "kubeconfig", "no_log": False},
        }},
        "vcluster": {"type": "dict"},
        "force": {"type": "bool", "default": False},
    })
    return options


def main():
    run_k8s_module(
        argument_spec(),
        lambda module: ensure_pool(PoolClient(connect(module)), module.params, check_mode=module.check_mode,
                                   diff=module._diff, now=utcnow),
        required_if=[("state", "present", ["members"])],
        mutually_exclusive=[("vms", "vm_selector")],
    )


if __name__ == "__main__":
    main()
