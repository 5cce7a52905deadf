# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere calls that make a VM without CloneVM_Task, for standalone ESXi hosts (pyVmomi).
Private to ghost.infra; no compatibility promise.

VmClient is client.VsphereClient plus create_by_copy(): it carries out copy_spec.copy_plan()
(MakeDirectory, CopyVirtualDisk_Task per disk, ExtendVirtualDisk_Task, CreateVM_Task with the
guestinfo keys in extraConfig, so the first boot sees them) and, when a step fails, removes what
the earlier steps made before raising a GhostError that names the step. Like the client it builds
on, it never touches AnsibleModule.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import copy_spec, records
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import PYVMOMI, VsphereClient
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import as_list

# Properties of the source read (as pyVmomi objects: their devices go into the new VM's spec).
SOURCE_PROPERTIES = ("config",)

# VirtualDiskManager adapterType per controller family (it only names the descriptor's
# ddb.adapterType; the VM's own controller decides what the guest sees).
ADAPTER_TYPES = (("VirtualIDEController", "ide"), ("ParaVirtualSCSIController", "lsiLogic"),
                 ("VirtualBusLogicController", "busLogic"), ("VirtualSCSIController", "lsiLogic"))


class VmClient(VsphereClient):
    """A logged-in session that can also create VMs on a standalone host. ``with VmClient.connect(...)``."""

    def _source_config(self, moid, what):
        """The source VM's ``config`` (pyVmomi VirtualMachineConfigInfo) in one call."""
        vm = self._ref("VirtualMachine", moid)
        config = self._call(what, lambda: vm.config)
        if config is None:
            raise GhostError("%s: the source has no configuration (is it inaccessible?)" % what)
        return config

    def _adapter_type(self, config, disk):
        by_key = {d.key: d for d in config.hardware.device or []}
        controller = by_key.get(disk.controllerKey)
        for type_name, adapter in ADAPTER_TYPES:
            if controller is not None and isinstance(controller, getattr(PYVMOMI.require().vim.vm.device, type_name)):
                return adapter
        return "lsiLogic"

    def _device_changes(self, config, plan, request):
        """The new VM's devices: the source's (less those CreateVM adds itself) with new keys,
        disks backed by the copies and NICs with new MACs (on the requested network)."""
        vim = PYVMOMI.require().vim
        dev = vim.vm.device
        devices = [d for d in config.hardware.device or []
                   if type(d).__name__.split(".")[-1] not in copy_spec.DEFAULT_DEVICE_TYPES]
        keys = {d.key: copy_spec.new_key(i) for i, d in enumerate(devices)}
        copies = {d["key"]: d for d in plan["disks"]}
        nic_network = (request.get("nic") or {}).get("network")
        nic_key = (request.get("nic") or {}).get("key")
        changes = []
        for device in devices:
            old_key = device.key
            device.key = keys[old_key]
            if device.controllerKey in keys:
                device.controllerKey = keys[device.controllerKey]
            if isinstance(device, dev.VirtualDisk):
                copy = copies[old_key]
                device.backing = dev.VirtualDisk.FlatVer2BackingInfo(
                    fileName=copy["dest"], diskMode=getattr(device.backing, "diskMode", None) or "persistent",
                    thinProvisioned=plan["thin"], eagerlyScrub=plan["eagerly_scrub"])
                device.capacityInKB = int(copy["capacity_kb"])
                device.capacityInBytes = int(copy["capacity_kb"]) * 1024
            elif isinstance(device, dev.VirtualEthernetCard):
                # A generated address: the host gives the new VM its own MAC.
                device.macAddress = None
                device.addressType = "generated"
                if old_key == nic_key and nic_network:
                    device.backing = self._nic_backing(nic_network)
            changes.append(dev.VirtualDeviceSpec(operation="add", device=device))
        return changes

    def _create_spec(self, config, plan, request):
        vim = PYVMOMI.require().vim
        return vim.vm.ConfigSpec(
            name=request["name"], guestId=config.guestId, version=config.version,
            numCPUs=int(request.get("cpu") or config.hardware.numCPU),
            memoryMB=int(request.get("memory_mb") or config.hardware.memoryMB),
            numCoresPerSocket=config.hardware.numCoresPerSocket if not request.get("cpu") else None,
            firmware=config.firmware, annotation=config.annotation,
            cpuHotAddEnabled=config.cpuHotAddEnabled, cpuHotRemoveEnabled=config.cpuHotRemoveEnabled,
            memoryHotAddEnabled=config.memoryHotAddEnabled,
            # The full .vmx path: with only "[datastore]" the host would pick a folder of its own
            # ("web1_1", as the one made for the disks exists).
            files=vim.vm.FileInfo(vmPathName=plan["vmx_path"]),
            extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in sorted(plan["extra_config"].items())],
            deviceChange=self._device_changes(config, plan, request))

    def _vm_at(self, what, datacenter, vmx_path):
        """The VM registered with the .vmx file ``vmx_path``, or None."""
        return self._call(what, self.content.searchIndex.FindByDatastorePath, datacenter=datacenter, path=vmx_path)

    def _undo(self, made, datacenter, vmx_path):
        """Remove what create_by_copy made: the VM if CreateVM_Task registered it before failing
        (found by its .vmx path), then the folder (folder deletes are recursive, so the copied
        disks go with it). Returns what could not be removed."""
        if not made:
            return []
        left = []
        try:
            vm = self._vm_at("find the half-made VM", datacenter, vmx_path)
            if vm is not None:
                self.destroy(vm._moId, vmx_path)
        except GhostError:
            left.append("the VM registered as %s" % vmx_path)
        for _kind, path in reversed(made):
            try:
                self._file_task("remove %s" % path, lambda m, p=path: m.DeleteDatastoreFile_Task(
                    name=p, datacenter=datacenter), manager="fileManager")
            except GhostError as exc:
                if "FileNotFound" not in str(exc):
                    left.append(path)
        return left

    def _file_task(self, what, start, *, manager):
        """Start a FileManager/VirtualDiskManager task and wait for it (through the
        PropertyCollector: pyVmomi cannot read these tasks' info through the typed accessor)."""
        mgr = getattr(self.content, manager)
        return self._wait_task(self._call(what, start, mgr), what)

    def _make_directory(self, step, plan, dc):
        self._call(step, self.content.fileManager.MakeDirectory, name=plan["directory"], datacenter=dc,
                   createParentDirectories=False)

    def _remove_leftover(self, step, plan, dc, datastore):
        """Delete the VM folder of ``plan`` when no VM is registered there and it holds only the
        disks an interrupted create copies (copy_spec.leftover_files); else refuse, naming what
        is in it. One datastore search; only on this rare path."""
        if self._vm_at(step, dc, plan["vmx_path"]) is not None:
            raise GhostError("%s: a VM is registered there (%s)" % (step, plan["vmx_path"]))
        browser = self._call(step, lambda: self._ref("Datastore", datastore).browser)
        spec = PYVMOMI.require().vim.host.DatastoreBrowser.SearchSpec(matchPattern=["*"])
        found = self._wait_task(self._call(step, browser.SearchDatastore_Task, datastorePath=plan["directory"],
                                           searchSpec=spec), step) or {}
        files = [f.get("path") for f in as_list(found.get("file")) if isinstance(f, dict)]
        foreign = copy_spec.foreign_files(plan, files)
        if foreign:
            raise GhostError("%s: it holds files this module did not leave there (%s); remove the folder "
                             "or choose another name" % (step, ", ".join(foreign)))
        self._file_task(step, lambda m: m.DeleteDatastoreFile_Task(name=plan["directory"], datacenter=dc),
                        manager="fileManager")

    def create_by_copy(self, request, plan):
        """Make VM ``request["name"]`` from ``request["template"]`` by copying its disks (copy_spec.copy_plan
        ``plan``). Returns the new VM's moid. On failure, removes what it made and raises a
        GhostError naming the failed step and what (if anything) it could not remove."""
        name = request["name"]
        dc = self._ref("Datacenter", request["datacenter"])
        config = self._source_config(request["template"], "Failed to read the source of VM '%s'" % name)
        made = []
        step = "make the folder %s" % plan["directory"]
        try:
            try:
                self._make_directory(step, plan, dc)
            except GhostError as exc:
                if "FileAlreadyExists" not in str(exc):
                    raise
                # No VM has this name (the runner looked), yet its folder is there: what a run
                # killed between these steps leaves. Removed when it holds nothing else.
                step = "remove the folder %s an interrupted create left" % plan["directory"]
                self._remove_leftover(step, plan, dc, request["datastore"])
                step = "make the folder %s" % plan["directory"]
                self._make_directory(step, plan, dc)
            made.append(("directory", plan["directory"]))
            for disk in plan["disks"]:
                step = "copy disk %s to %s" % (disk["source"], disk["dest"])
                source_disk = [d for d in config.hardware.device if d.key == disk["key"]][0]
                vdm_spec = PYVMOMI.require().vim.VirtualDiskManager.VirtualDiskSpec(
                    diskType=plan["disk_type"], adapterType=self._adapter_type(config, source_disk))
                self._file_task(step, lambda m, d=disk, s=vdm_spec: m.CopyVirtualDisk_Task(
                    sourceName=d["source"], sourceDatacenter=dc, destName=d["dest"], destDatacenter=dc,
                    destSpec=s, force=False), manager="virtualDiskManager")
                if disk["grow_kb"]:
                    step = "grow disk %s to %s KB" % (disk["dest"], disk["grow_kb"])
                    self._file_task(step, lambda m, d=disk: m.ExtendVirtualDisk_Task(
                        name=d["dest"], datacenter=dc, newCapacityKb=int(d["grow_kb"]), eagerZero=False),
                        manager="virtualDiskManager")
            step = "register the VM (CreateVM_Task)"
            spec = self._create_spec(config, plan, request)
            folder = self._ref("Folder", request["folder"])
            pool = self._ref("ResourcePool", request["pool"])
            task = self._call(step, folder.CreateVM_Task, config=spec, pool=pool)
            return records.moid_of(self._wait_task(task, step))
        except GhostError as exc:
            left = self._undo(made, dc, plan["vmx_path"])
            cleanup = ("removed what it had made" if made else "nothing had been made") if not left else (
                "could not remove %s: remove it by hand" % ", ".join(left))
            raise GhostError("Failed to create VM '%s' on the standalone host at step '%s': %s; %s"
                             % (name, step, _cause(exc, step), cleanup))


def _cause(exc, step):
    text = str(exc)
    return text[len(step) + 2:] if text.startswith(step + ": ") else text
