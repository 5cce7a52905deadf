#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: esxi_vm_snapshot
short_description: Take, remove and revert to VM snapshots on vCenter or a standalone ESXi host
version_added: 0.1.0
description:
  - Takes a snapshot of a VM, removes one snapshot or all of them, or reverts the VM to a snapshot
    and brings it to the power state the snapshot recorded, through the vSphere API (pyVmomi),
    against a vCenter Server or a standalone ESXi host (no vCenter).
  - Snapshots are found by name in the VM's snapshot tree. O(state=present) takes a snapshot only
    when none has that name, and O(state=absent) removes one only when it exists, so a re-run
    reports no change. vSphere allows several snapshots of one name; the module then fails
    naming them instead of guessing.
  - A golden reset of a lab VM is one task, O(state=reverted) with O(power_on=true).
  - Finds the VM as M(ghost.infra.esxi_vm) does, with one PropertyCollector call over the
    inventory, and reads the whole snapshot tree and the power state with a second one.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pyvmomi >= 8.0.3
options:
  vm_name:
    description:
      - Name of the VM. With O(folder), the VM in that folder; without, the only VM of that name
        in the datacenter (the task fails when there are several).
      - A path relative to the datacenter's VM folder (C(lab/web1)) sets the folder too.
    type: str
    required: true
  datacenter:
    description:
      - Datacenter of the VM. Default is any datacenter (a standalone ESXi host has one,
        C(ha-datacenter)).
    type: str
  folder:
    description:
      - VM folder of the VM, as a full path (C(/DC0/vm/lab)) or relative to the datacenter's VM
        folder (C(lab)).
    type: str
  state:
    description:
      - V(present) takes snapshot O(name) of the VM unless it has one of that name. The new
        snapshot becomes a child of the current snapshot, and the current one.
      - V(absent) removes snapshot O(name) (its children move up to its parent, unless
        O(remove_children=true)), or every snapshot with O(all=true). The disks are
        consolidated.
      - V(reverted) reverts the VM to snapshot O(name) and leaves it in the power state the
        snapshot recorded (powered off unless the snapshot holds the memory of a running VM),
        or powered on with O(power_on=true). It always reports a change.
    type: str
    choices: [present, absent, reverted]
    default: present
  name:
    description:
      - Name of the snapshot. Required unless O(state=absent) with O(all=true).
    type: str
  description:
    description:
      - Description of a new snapshot. Default is empty.
      - Only used when the snapshot is created; a different description of an existing snapshot
        gives a warning and is not changed.
    type: str
  memory:
    description:
      - Include the memory of a running VM in a new snapshot, so that reverting to it brings the
        VM back running. Ignored for a VM that is powered off.
      - Only used when the snapshot is created.
    type: bool
    default: false
  quiesce:
    description:
      - Quiesce the guest's file systems through VMware Tools before a new snapshot is taken
        (VMware Tools must run in the guest). vSphere ignores it when O(memory=true).
      - Only used when the snapshot is created.
    type: bool
    default: false
  remove_children:
    description:
      - With O(state=absent) and O(name), remove the snapshots below it too.
    type: bool
    default: false
  all:
    description:
      - With O(state=absent), remove every snapshot of the VM. Excludes O(name).
    type: bool
    default: false
  power_on:
    description:
      - With O(state=reverted), power the VM on after the revert, whatever power state the
        snapshot recorded.
    type: bool
    default: false
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_VSPHERE
  - ghost.infra.vsphere
attributes:
  check_mode:
    support: full
    details:
      - The VM and the snapshot are looked up and the result is predicted; nothing is changed.
  diff_mode:
    support: full
    details:
      - Shows the snapshot tree (as C(parent/child) names), the current snapshot and the VM's
        power state before and after.
  platform:
    platforms: vmware
notes:
  - Snapshots are not backups. They keep delta disks that grow with every write, so remove them
    when they are no longer needed.
seealso:
  - module: ghost.infra.esxi_vm
  - module: ghost.infra.kubevirt_vm_restore
    description: The golden reset of a KubeVirt VM.
  - module: community.vmware.vmware_guest_snapshot
    description: The snapshot module of community.vmware.
"""

EXAMPLES = r"""
- name: Take the golden snapshot of a lab VM once (a re-run changes nothing)
  ghost.infra.esxi_vm_snapshot:
    hostname: vcenter.lab.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    vm_name: web1
    name: golden
    description: Configured and tested, before the exercise

- name: Reset the VM to its golden snapshot and run it
  ghost.infra.esxi_vm_snapshot:
    hostname: vcenter.lab.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    vm_name: web1
    name: golden
    state: reverted
    power_on: true

- name: Connection from the environment (AWX VMware credential) for several tasks
  module_defaults:
    group/ghost.infra.vsphere:
      validate_certs: false
  block:
    - name: Snapshot a running VM with its memory, in folder lab of datacenter DC1
      ghost.infra.esxi_vm_snapshot:
        vm_name: db1
        datacenter: DC1
        folder: lab
        name: before-upgrade
        memory: true
      register: snap

    - name: Show the VM's snapshot tree
      ansible.builtin.debug:
        msg: "{{ snap.snapshots | map(attribute='name') | list }}, current {{ snap.snapshot.name }}"

    - name: Remove that snapshot again
      ghost.infra.esxi_vm_snapshot:
        vm_name: lab/db1
        datacenter: DC1
        name: before-upgrade
        state: absent

    - name: Remove every snapshot of the VM
      ghost.infra.esxi_vm_snapshot:
        vm_name: lab/db1
        datacenter: DC1
        state: absent
        all: true
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot O(name) after the task (as it would be, in check mode). Empty when it does not
      exist, as after O(state=absent).
    - A snapshot about to be created in check mode has no RV(snapshot.id), RV(snapshot.moid) or
      RV(snapshot.created) yet (null).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the snapshot.
      returned: success
      type: str
      sample: golden
    id:
      description: Id of the snapshot, unique within the VM.
      returned: success
      type: int
      sample: 3
    moid:
      description: Managed object ID of the snapshot.
      returned: success
      type: str
      sample: snapshot-1207
    description:
      description: Description of the snapshot (empty when none).
      returned: success
      type: str
      sample: Configured and tested, before the exercise
    created:
      description: When the snapshot was taken, ISO 8601 in UTC, to the second.
      returned: success
      type: str
      sample: "2025-01-01T12:00:00Z"
    power_state:
      description:
        - Power state the snapshot recorded, which a revert brings the VM back to.
        - V(poweredOff) unless the snapshot holds the memory of a running (V(poweredOn)) or
          suspended (V(suspended)) VM.
      returned: success
      type: str
      sample: poweredOff
    quiesced:
      description: Whether the guest was quiesced for the snapshot.
      returned: success
      type: bool
      sample: false
    current:
      description: Whether it is the VM's current snapshot (the one a new snapshot goes below).
      returned: success
      type: bool
      sample: true
    parent_id:
      description: RV(snapshot.id) of the parent snapshot; null for a snapshot at the root.
      returned: success
      type: int
      sample: 1
snapshots:
  description:
    - The VM's snapshot tree after the task (as it would be, in check mode), flattened depth
      first, a parent before its children; RV(snapshots[].parent_id) links them.
    - Each element has the fields of RV(snapshot).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the snapshot.
      returned: success
      type: str
      sample: golden
    id:
      description: Id of the snapshot, unique within the VM.
      returned: success
      type: int
      sample: 3
    moid:
      description: Managed object ID of the snapshot.
      returned: success
      type: str
      sample: snapshot-1207
    description:
      description: Description of the snapshot (empty when none).
      returned: success
      type: str
      sample: ""
    created:
      description: When the snapshot was taken, ISO 8601 in UTC, to the second.
      returned: success
      type: str
      sample: "2025-01-01T12:00:00Z"
    power_state:
      description: Power state the snapshot recorded.
      returned: success
      type: str
      sample: poweredOff
    quiesced:
      description: Whether the guest was quiesced for the snapshot.
      returned: success
      type: bool
      sample: false
    current:
      description: Whether it is the VM's current snapshot.
      returned: success
      type: bool
      sample: true
    parent_id:
      description: Id of the parent snapshot; null at the root.
      returned: success
      type: int
      sample: null
vm:
  description: The VM after the task (as it would be, in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the VM.
      returned: success
      type: str
      sample: web1
    moid:
      description: Managed object ID of the VM.
      returned: success
      type: str
      sample: vm-1042
    power_state:
      description: V(poweredOn), V(poweredOff) or V(suspended).
      returned: success
      type: str
      sample: poweredOn
changes:
  description: What changed (or would change in check mode).
  returned: always
  type: list
  elements: str
  sample: ["revert to snapshot 'golden'", "power_state: poweredOff -> poweredOn"]
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.61
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import snapshot_runner  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.argspec import vsphere_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import PYVMOMI  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.snapshot_client import SnapshotClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.snapshot_spec import STATES  # noqa: E402


def main():
    argument_spec = vsphere_argument_spec()
    argument_spec.update({
        "vm_name": {"type": "str", "required": True},
        "datacenter": {"type": "str"},
        "folder": {"type": "str"},
        "state": {"type": "str", "choices": list(STATES), "default": "present"},
        "name": {"type": "str"},
        "description": {"type": "str"},
        "memory": {"type": "bool", "default": False},
        "quiesce": {"type": "bool", "default": False},
        "remove_children": {"type": "bool", "default": False},
        "all": {"type": "bool", "default": False},
        "power_on": {"type": "bool", "default": False},
    })
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    require_libraries(module, PYVMOMI)

    run(module, lambda: snapshot_runner.esxi_vm_snapshot(
        module.params, check_mode=module.check_mode, diff=module._diff, connect=SnapshotClient.connect))


if __name__ == "__main__":
    main()
