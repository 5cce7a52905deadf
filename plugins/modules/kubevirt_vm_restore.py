#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kubevirt_vm_restore
short_description: Restore a KubeVirt VirtualMachine from a snapshot
version_added: 0.1.0
description:
  - Restores a KubeVirt C(VirtualMachine) from one of its C(VirtualMachineSnapshot)s by creating
    a C(snapshot.kubevirt.io/v1beta1) C(VirtualMachineRestore), waits until it is complete and
    gives the VM its run strategy back (O(run_after_restore)).
  - "A restore object is one-shot: when a complete restore named O(name) of the same snapshot
    onto the same VM exists, nothing is restored again and the module reports no change.
    O(force=true) deletes it and restores again, which is how a lab VM is reset to its golden
    snapshot."
  - The VM is stopped first (O(stop_vm)), because KubeVirt only restores a VM that has no
    C(VirtualMachineInstance), and older KubeVirt releases refuse a restore whose target's run
    strategy is not C(Halted).
  - "A reset is recorded on the VM: the first change the module makes to it (the stop) also
    writes its run strategy to the annotation C(ghost.infra/run-strategy-before-restore), and the
    change that gives the run strategy back removes it. A run that times out or fails in between
    leaves the annotation, and the next run finishes the reset with the run strategy it holds.
    Once the annotation is gone, the VM is left as it is: a re-run does not start a VM stopped
    since."
  - A failed restore (a true C(Failure) condition), a missing VM or snapshot, a snapshot of
    another VM, or a timeout is an error that says what it was about and quotes the conditions.
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
options:
  name:
    description:
      - Name of the C(VirtualMachineRestore), a DNS-1123 label of at most 63 characters.
      - "Default: C(<vm_name>-<snapshot_name>); when that is longer than 63 characters, its first
        54 characters and an 8-character hash of both names. The default is stable, so a re-run
        finds the restore of the previous run."
    type: str
  namespace:
    description:
      - Namespace of the VM, the snapshot and the restore.
    type: str
    required: true
  vm_name:
    description:
      - Name of the C(VirtualMachine) to restore. It must exist and be the source of O(snapshot_name).
    type: str
    required: true
  snapshot_name:
    description:
      - Name of the C(VirtualMachineSnapshot) to restore from. A snapshot that is still in
        progress is waited for when O(wait=true).
    type: str
    required: true
  stop_vm:
    description:
      - Unless the VM is C(Halted) already, set its run strategy to C(Halted) (also when it has no
        C(VirtualMachineInstance), as older KubeVirt requires) and wait until its
        C(VirtualMachineInstance) is gone before creating the restore. This waiting is bounded by
        O(wait_timeout) and happens even with O(wait=false).
      - With V(false), a running VM is an error unless O(target_readiness_policy) lets KubeVirt
        deal with it (V(StopTarget), V(WaitEventually), V(WaitGracePeriod)).
    type: bool
    default: true
  run_after_restore:
    description:
      - The VM's run strategy once the restore is complete.
      - V(previous) is the run strategy the VM had before the reset began. The module writes it to
        the VM's annotation C(ghost.infra/run-strategy-before-restore) in the same change that
        stops the VM, so a later run still applies it after a timeout, a failure, with
        O(wait=false), or when O(force=true) replaces a failed or unfinished restore that had
        already stopped the VM. The annotation is removed when the VM gets its run strategy back.
        A VM that ran with C(Always) runs again; one with C(Manual) stays stopped.
      - A restore that fails leaves a VM that the module stopped stopped, with the annotation.
      - V(running) sets C(Always) (a C(RerunOnFailure) VM keeps it); V(halted) sets C(Halted).
      - With O(wait=true) the module waits until a VM that should run is ready.
    type: str
    choices: [previous, running, halted]
    default: previous
  target_readiness_policy:
    description:
      - C(spec.targetReadinessPolicy) of the restore, what KubeVirt does when the VM is not ready
        to be restored (still has a C(VirtualMachineInstance)). KubeVirt's default is V(WaitGracePeriod).
    type: str
    choices: [WaitGracePeriod, StopTarget, FailImmediate, WaitEventually]
  volume_restore_policy:
    description:
      - C(spec.volumeRestorePolicy) of the restore. V(InPlace) overwrites the VM's PVCs instead of
        creating new ones with random names (V(RandomizeNames), KubeVirt's default).
        V(PrefixTargetName) needs a recent KubeVirt.
    type: str
    choices: [RandomizeNames, InPlace, PrefixTargetName]
  force:
    description:
      - Delete an existing restore named O(name) (complete, failed, in progress, or of another
        snapshot) and restore again.
    type: bool
    default: false
  wait:
    description:
      - Wait until the restore is complete and the VM has reached O(run_after_restore).
      - With V(false) the module returns once the restore is created; O(run_after_restore) is
        then applied by a later run that finds the restore complete.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, in total, for the VM to stop, an old restore to go, the restore to
        complete and the VM to be ready. Must be greater than 0.
      - When it runs out, the VM keeps its annotation C(ghost.infra/run-strategy-before-restore)
        and the next run finishes the reset.
    type: int
    default: 600
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
      - The diff shows the restore object that is created (and the one deleted with O(force=true))
        and the VM's run strategy.
  platform:
    platforms: all
seealso:
  - module: ghost.infra.kubevirt_vm_snapshot
  - name: KubeVirt snapshot and restore API
    description: How KubeVirt restores VM snapshots, and its target readiness policies.
    link: https://kubevirt.io/user-guide/storage/snapshot_restore_api/
"""

EXAMPLES = r"""
- name: Reset a lab cluster's VMs to their golden snapshots
  ghost.infra.kubevirt_vm_restore:
    namespace: cks-1
    vm_name: "{{ item.vm }}"
    snapshot_name: "{{ item.snapshot }}"
    force: true
  loop:
    - {vm: cp, snapshot: cp-snap}
    - {vm: wk, snapshot: wk-snap}

- name: Restore once; a re-run reports no change (and leaves the VM alone, even when stopped since)
  ghost.infra.kubevirt_vm_restore:
    namespace: cks-1
    name: cp-first-boot
    vm_name: cp
    snapshot_name: cp-snap

- name: Let KubeVirt stop the VM and leave it stopped afterwards
  ghost.infra.kubevirt_vm_restore:
    namespace: cks-1
    vm_name: wk
    snapshot_name: wk-snap
    stop_vm: false
    target_readiness_policy: StopTarget
    run_after_restore: halted
"""

RETURN = r"""
restore:
  description: The restore as read at the end (or as it would be created, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the restore (given or derived).
      type: str
      sample: cp-cp-snap
    namespace:
      description: Namespace of the restore.
      type: str
      sample: cks-1
    vm_name:
      description: The restored VM.
      type: str
      sample: cp
    snapshot_name:
      description: The snapshot restored from.
      type: str
      sample: cp-snap
    complete:
      description: Whether KubeVirt completed the restore (C(status.complete)).
      type: bool
      sample: true
    restore_time:
      description: When the restore completed (C(status.restoreTime)).
      type: str
      sample: "2025-01-01T12:05:00Z"
    conditions:
      description: C(status.conditions) (C(Ready), C(Progressing), C(Failure)).
      type: list
      elements: dict
      sample: [{"type": "Ready", "status": "True", "reason": "Operation complete"}]
    vm_run_strategy:
      description: The VM's run strategy at the end (legacy C(spec.running) shown as C(Always)/C(Halted)).
      type: str
      sample: Always
duration:
  description: Seconds the module took, including waiting.
  returned: always
  type: float
  sample: 6.02
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.runner import ensure_restore  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import (  # noqa: E402
    RUN_AFTER_RESTORE, TARGET_READINESS_POLICIES, VOLUME_RESTORE_POLICIES,
)


def main():
    run_k8s_module(
        {
            "name": {"type": "str"},
            "namespace": {"type": "str", "required": True},
            "vm_name": {"type": "str", "required": True},
            "snapshot_name": {"type": "str", "required": True},
            "stop_vm": {"type": "bool", "default": True},
            "run_after_restore": {"type": "str", "choices": list(RUN_AFTER_RESTORE), "default": "previous"},
            "target_readiness_policy": {"type": "str", "choices": list(TARGET_READINESS_POLICIES)},
            "volume_restore_policy": {"type": "str", "choices": list(VOLUME_RESTORE_POLICIES)},
            "force": {"type": "bool", "default": False},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 600},
        },
        lambda module: ensure_restore(KubeVirtClient(connect(module)), module.params,
                                      check_mode=module.check_mode, diff=module._diff),
    )


if __name__ == "__main__":
    main()
