#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubevirt_vm_snapshot
short_description: Take or remove a snapshot of a KubeVirt VirtualMachine
version_added: 0.1.0
description:
  - Creates a C(snapshot.kubevirt.io/v1beta1) C(VirtualMachineSnapshot) of a KubeVirt
    C(VirtualMachine) and waits until it is ready to use, or deletes it.
  - A snapshot that already exists for the same VM is left alone (its spec cannot change), so
    golden snapshots can be declared in a playbook that runs again and again. Only O(labels)
    and O(annotations) missing on it are added.
  - A snapshot that fails (phase C(Failed)), or that is not ready within O(wait_timeout), is an
    error that quotes the snapshot's phase and conditions.
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment
    variables). The cluster needs KubeVirt with the C(Snapshot) feature gate and, for VMs with
    persistent volumes, a C(VolumeSnapshotClass).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
options:
  name:
    description:
      - Name of the C(VirtualMachineSnapshot), a DNS-1123 label of at most 63 characters.
    type: str
    required: true
  namespace:
    description:
      - Namespace of the VM and of the snapshot.
    type: str
    required: true
  vm_name:
    description:
      - Name of the C(VirtualMachine) to snapshot. Required when O(state=present).
      - A snapshot named O(name) of another VM is an error.
    type: str
  state:
    description:
      - V(present) takes the snapshot if it does not exist, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  labels:
    description:
      - Labels of the snapshot. Added to an existing snapshot when missing or different; other
        labels are kept.
    type: dict
  annotations:
    description:
      - Annotations of the snapshot, handled like O(labels).
    type: dict
  failure_deadline:
    description:
      - How long KubeVirt may take before it marks the snapshot C(Failed) (C(spec.failureDeadline)),
        as a duration such as V(5m), V(1h30m), V(90s) or a number of seconds. V(0) means no deadline.
      - KubeVirt's default (5 minutes) applies when not set. Only used when the snapshot is created.
    type: str
  wait:
    description:
      - Wait until the snapshot is ready to use (O(state=present)) or gone (O(state=absent)).
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait. Must be greater than 0.
    type: int
    default: 300
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_KUBEVIRT
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the snapshot object that is created or deleted.
  platform:
    platforms: all
notes:
  - With O(wait=false) the module returns right after creating the snapshot; a later run with
    O(wait=true) waits for it.
seealso:
  - module: ghost.infra.kubevirt_vm_restore
  - name: KubeVirt snapshot and restore API
    description: How KubeVirt takes and restores VM snapshots.
    link: https://kubevirt.io/user-guide/storage/snapshot_restore_api/
"""

EXAMPLES = r"""
- name: Take golden snapshots of a control-plane and a worker VM
  ghost.infra.kubevirt_vm_snapshot:
    namespace: cks-1
    name: "{{ item.snapshot }}"
    vm_name: "{{ item.vm }}"
    labels:
      ghost.infra/golden: "true"
    failure_deadline: 10m
  loop:
    - {vm: cp, snapshot: cp-snap}
    - {vm: wk, snapshot: wk-snap}

- name: Use a kubeconfig and context of the host cluster for a whole play
  module_defaults:
    group/ghost.infra.kubevirt:
      kubeconfig: ~/.kube/pool.yaml
      context: pool-admin
      namespace: cks-1
  block:
    - name: Snapshot without waiting
      ghost.infra.kubevirt_vm_snapshot:
        name: cp-before-upgrade
        vm_name: cp
        wait: false

- name: Remove a snapshot
  ghost.infra.kubevirt_vm_snapshot:
    namespace: cks-1
    name: cp-before-upgrade
    state: absent
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot as read after the change (or as it would be created, in check mode).
    - Empty when O(state=absent) and there was no snapshot; the deleted snapshot otherwise.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      type: str
      sample: cp-snap
    namespace:
      description: Namespace of the snapshot.
      type: str
      sample: cks-1
    vm_name:
      description: The VM it is a snapshot of.
      type: str
      sample: cp
    phase:
      description: C(status.phase) (C(InProgress), C(Succeeded), C(Failed)); null before KubeVirt has seen it.
      type: str
      sample: Succeeded
    ready_to_use:
      description: Whether the snapshot can be restored (C(status.readyToUse)).
      type: bool
      sample: true
    creation_time:
      description: When the snapshot was taken (C(status.creationTime)).
      type: str
      sample: "2025-01-01T12:00:00Z"
    indications:
      description: C(status.indications), such as C(Online), C(GuestAgent), C(NoGuestAgent).
      type: list
      elements: str
      sample: [NoGuestAgent, Online]
    conditions:
      description: C(status.conditions) (C(Ready), C(Progressing), C(Failure)).
      type: list
      elements: dict
      sample: [{"type": "Ready", "status": "True", "reason": "Ready"}]
    content_name:
      description: Name of the C(VirtualMachineSnapshotContent) holding the VM spec and volume snapshots.
      type: str
      sample: vmsnapshot-content-0f2c6a8e-4d1b-4f60-9a4e-2b8c0c2d9b11
duration:
  description: Seconds the module took, including waiting.
  returned: always
  type: float
  sample: 2.417
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.runner import ensure_snapshot  # noqa: E402


def main():
    run_k8s_module(
        {
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "vm_name": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "labels": {"type": "dict"},
            "annotations": {"type": "dict"},
            "failure_deadline": {"type": "str"},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 300},
        },
        lambda module: ensure_snapshot(KubeVirtClient(connect(module)), module.params,
                                       check_mode=module.check_mode, diff=module._diff),
        required_if=[("state", "present", ("vm_name",))],
    )


if __name__ == "__main__":
    main()
