# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Creating a VM on a standalone ESXi host, where CloneVM_Task does not exist: the plan.
Private to ghost.infra; pure (no ansible and no pyVmomi import).

A host agent (hostd, ``about.apiType == "HostAgent"``) answers CloneVM_Task with NotSupported.
What it does implement is the sequence a clone is made of: make the VM's folder
(FileManager.MakeDirectory), copy each disk (VirtualDiskManager.CopyVirtualDisk_Task, which also
collapses a snapshot chain into one disk), grow it (ExtendVirtualDisk_Task) and register a new
VM with the source's hardware and the copied disks (Folder.CreateVM_Task). copy_plan() turns a
clone request (spec.clone_request) and the source's record into that sequence; the client
(copy_client.py) carries it out and undoes it on failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import GUESTINFO_PREFIX, POWERED_OFF

# Devices Folder.CreateVM_Task adds to every VM by itself; copying them would add a second one.
DEFAULT_DEVICE_TYPES = frozenset([
    "VirtualIDEController", "VirtualPS2Controller", "VirtualPCIController", "VirtualSIOController",
    "VirtualKeyboard", "VirtualPointingDevice", "VirtualMachineVideoCard", "VirtualMachineVMCIDevice",
])

# extraConfig keys the host writes for one VM (its swap file, NVRAM, generated MACs, tools
# state, migration logs): the new VM gets its own, never the source's.
HOST_GENERATED_KEYS = re.compile(
    r"^(sched\.swap\.derivedName|nvram|uuid\.|vc\.uuid|migrate\.|vmotion\.|checkpoint\.|softPowerOff"
    r"|monitor\.phys_bits_used|toolsInstallManager\.|vmware\.tools\.|guestInfo\.detailed\.data"
    r"|guestOS\.detailed\.data|ethernet\d+\.generatedAddress|scsi\d+:\d+\.redo|sata\d+:\d+\.redo"
    r"|nvme\d+:\d+\.redo)")

# disk_format option -> (VirtualDiskManager diskType, backing thinProvisioned, eagerlyScrub).
DISK_FORMATS = {
    "thin": ("thin", True, False),
    "thick": ("preallocated", False, False),
    "eager_zeroed_thick": ("eagerZeroedThick", False, True),
}


def datastore_path(datastore, path=""):
    """``[datastore] path``, as vSphere names files."""
    return "[%s] %s" % (datastore, path) if path else "[%s]" % datastore


def disk_file_name(vm_name, index):
    """The file name vSphere gives a new VM's disk ``index``: ``web1.vmdk``, ``web1_1.vmdk``..."""
    return "%s.vmdk" % vm_name if index == 0 else "%s_%d.vmdk" % (vm_name, index)


def leftover_files(plan):
    """The file names an interrupted create_by_copy() of ``plan`` can leave in its folder: each
    disk's descriptor and extent (``web1.vmdk``, ``web1-flat.vmdk``). No .vmx: the VM's files
    appear only with CreateVM_Task, which registers the VM (found by its name on a re-run)."""
    names = set()
    for disk in plan["disks"]:
        base = disk["dest"].rsplit("/", 1)[-1]
        names.add(base)
        names.add(base[:-len(".vmdk")] + "-flat.vmdk")
    return names


def foreign_files(plan, files):
    """Those of ``files`` (names in the VM's folder) that an interrupted create of ``plan`` did not
    leave: a folder holding any of them is not ours to remove."""
    ours = leftover_files(plan)
    return sorted(f for f in files if f not in ours)


def refusals(template, *, linked_clone):
    """Why the source cannot be copied on a standalone host (checked before anything is made)."""
    if linked_clone:
        raise GhostError("a linked clone needs vCenter (CloneVM_Task); a standalone ESXi host cannot make "
                         "one. Use linked_clone: false (the disks are copied)", option="linked_clone")
    if template.get("power_state") not in (None, POWERED_OFF):
        raise GhostError("'%s' is %s: a standalone ESXi host cannot copy the disks of a running VM (that "
                         "needs vCenter). Power it off first, or clone from a template"
                         % (template["name"], template["power_state"]), option="template")
    if not template.get("disks"):
        raise GhostError("'%s' has no virtual disk to copy" % template["name"], option="template")
    for disk in template["disks"]:
        if not disk.get("file"):
            raise GhostError("'%s' has a disk without a file (%s); only file-backed disks can be copied"
                             % (template["name"], disk.get("label")), option="template")


def copy_plan(request, template, *, datastore_name, disk_format=None):
    """What copy_client.create_by_copy() does for ``request`` (spec.clone_request).

    Returns ``{"directory", "vmx_path", "disks": [{key, source, dest, capacity_kb, grow_kb}],
    "disk_type", "thin", "eagerly_scrub", "extra_config"}``: the VM folder on ``datastore_name``,
    one copy per disk of ``template`` (the first disk grown when the request says so), the
    VirtualDiskManager disk type (thin unless ``disk_format`` says otherwise) and the
    extraConfig of the new VM (the source's, less what the host generates per VM, with the
    request's keys; keys the request clears with "" are left out).
    """
    refusals(template, linked_clone=request.get("linked_clone"))
    name = request["name"]
    disk_type, thin, scrub = DISK_FORMATS[disk_format or "thin"]
    grow = request.get("disk") or {}
    disks = []
    for index, disk in enumerate(sorted(template["disks"], key=lambda d: d["key"])):
        grow_kb = grow.get("capacity_kb") if grow.get("key") == disk["key"] else None
        disks.append({
            "key": disk["key"],
            "source": disk["file"],
            "dest": datastore_path(datastore_name, "%s/%s" % (name, disk_file_name(name, index))),
            "capacity_kb": grow_kb or disk.get("capacity_kb"),
            "grow_kb": grow_kb,
        })
    return {
        "directory": datastore_path(datastore_name, name),
        "vmx_path": datastore_path(datastore_name, "%s/%s.vmx" % (name, name)),
        "disks": disks,
        "disk_type": disk_type,
        "thin": thin,
        "eagerly_scrub": scrub,
        "extra_config": new_extra_config(template.get("extra_config"), request.get("extra_config"),
                                         from_template=bool(template.get("template"))),
    }


def new_extra_config(source_extra, request_extra, *, from_template):
    """The extraConfig of a VM made from a source with ``source_extra``: the source's keys less
    the host-generated ones, then ``request_extra`` (keys set to "" are removed).

    A VM that is not a template is some running machine's identity: from it only keys outside
    guestinfo are kept, so the copy carries no guestinfo the task did not give it."""
    out = {}
    for key, value in (source_extra or {}).items():
        if HOST_GENERATED_KEYS.match(key):
            continue
        if not from_template and key.startswith(GUESTINFO_PREFIX):
            continue
        out[key] = value
    for key, value in (request_extra or {}).items():
        if value == "":
            out.pop(key, None)
        else:
            out[key] = value
    return out


def identity_clears(source_extra, request_extra):
    """For a clone (vCenter) of a VM that is not a template: the source's guestinfo keys the
    task does not set, mapped to "" so the clone does not keep them (CloneVM copies
    extraConfig)."""
    return {key: "" for key in (source_extra or {})
            if key.startswith(GUESTINFO_PREFIX) and key not in (request_extra or {})}


def new_key(index):
    """A temporary device key for a device added by CreateVM_Task (negative, unique)."""
    return -(100 + index)
