# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere calls of esxi_vm_snapshot (pyVmomi). Private to ghost.infra; no compatibility promise.

SnapshotClient is the session of copy_client.VmClient (login, logout, the inventory read that
finds a VM by name, power on and off) with the snapshot calls added: one RetrievePropertiesEx
for a VM's whole snapshot tree and power state, and the snapshot tasks. Like the client it
builds on, it never touches AnsibleModule, returns plain data and raises GhostError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient

# A VM's name, power state and snapshot tree (VirtualMachineSnapshotInfo: currentSnapshot and
# rootSnapshotList, every level of the tree in the one value).
SNAPSHOT_PROPERTIES = ("name", "runtime.powerState", "snapshot")


class SnapshotClient(VmClient):
    """A logged-in session with the snapshot calls. ``with SnapshotClient.connect(...) as c:``."""

    def read_snapshots(self, moid):
        """``{"name", "power_state", "snapshot"}`` of VM ``moid`` in ONE RetrievePropertiesEx,
        ``snapshot`` being the VirtualMachineSnapshotInfo in soapxml's plain form (None without
        snapshots); None when the VM is gone."""
        try:
            found = self._vm_properties("Failed to read the snapshots of VM %s" % moid, [moid], SNAPSHOT_PROPERTIES)
        except GhostError as exc:
            if "ManagedObjectNotFound" not in str(exc):
                raise
            return None
        props = found.get(moid)
        if props is None:
            return None
        return {"name": props.get("name"), "power_state": props.get("runtime.powerState"),
                "snapshot": props.get("snapshot") or None}

    def _snapshot_task(self, what, snapshot_moid, start):
        """Start a task with ``start(snapshot)`` on snapshot ``snapshot_moid`` and wait for it."""
        snapshot = self._ref("vm.Snapshot", snapshot_moid)
        self._wait_task(self._call(what, start, snapshot), what)

    def create_snapshot(self, moid, *, vm_name, name, description, memory, quiesce):
        """Snapshot VM ``moid`` below its current snapshot (CreateSnapshot_Task)."""
        what = "Failed to create snapshot '%s' of VM '%s'" % (name, vm_name)
        self._vm_task(what, moid, lambda vm: vm.CreateSnapshot_Task(
            name=name, description=description or "", memory=bool(memory), quiesce=bool(quiesce)))

    def remove_snapshot(self, snapshot_moid, *, vm_name, name, remove_children):
        """Remove one snapshot (RemoveSnapshot_Task); its children move up unless
        ``remove_children``. The disks are consolidated."""
        what = "Failed to remove snapshot '%s' of VM '%s'" % (name, vm_name)
        self._snapshot_task(what, snapshot_moid, lambda snapshot: snapshot.RemoveSnapshot_Task(
            removeChildren=bool(remove_children), consolidate=True))

    def remove_all_snapshots(self, moid, vm_name):
        """Remove every snapshot of VM ``moid`` (RemoveAllSnapshots_Task), consolidating its disks."""
        what = "Failed to remove the snapshots of VM '%s'" % vm_name
        self._vm_task(what, moid, lambda vm: vm.RemoveAllSnapshots_Task(consolidate=True))

    def revert_to_snapshot(self, snapshot_moid, *, vm_name, name):
        """Revert the VM to a snapshot (RevertToSnapshot_Task). vSphere leaves the VM in the
        power state the snapshot recorded; callers check rather than trust that."""
        what = "Failed to revert VM '%s' to snapshot '%s'" % (vm_name, name)
        self._snapshot_task(what, snapshot_moid, lambda snapshot: snapshot.RevertToSnapshot_Task())

    def suspend(self, moid, name):
        self._vm_task("Failed to suspend VM '%s'" % name, moid, lambda vm: vm.SuspendVM_Task())
