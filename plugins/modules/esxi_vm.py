#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: esxi_vm
short_description: Clone, seed, power and delete VMs on vCenter or a standalone ESXi host
version_added: 0.1.0
description:
  - Clones a VM from a template with cloud-init data in VMware C(guestinfo) keys, keeps its
    size, guestinfo and power state as the task says, and deletes VMs it created.
  - Works against a vCenter Server and against a standalone ESXi host (no vCenter), through
    the vSphere API (pyVmomi).
  - A standalone ESXi host has no C(CloneVM_Task). There the module makes the new VM from the
    source's parts instead - the VM folder (C(MakeDirectory)), a copy of each disk
    (C(CopyVirtualDisk_Task), thin unless O(disk_format) says otherwise, grown to O(disk_gb)), then
    C(CreateVM_Task) with the source's hardware, new MAC addresses and the cloud-init keys in
    extraConfig - with the same options, results and idempotence. A failed step removes what
    the earlier ones made.
  - The cloud-init keys go into the extraConfig of the clone spec, so the first boot already
    sees them; there is no clone-then-reconfigure window.
  - A new VM is cloned powered off, then powered on when O(state) asks for it. When the power-on
    fails, the task fails saying that the VM was created and did not power on; a re-run finds
    the VM and powers it on.
  - Reads the inventory with one PropertyCollector call and the VM's state with another,
    whatever the size of the inventory.
  - VMs this module creates carry the extraConfig key C(ghost.infra.managed=true). It deletes
    only those, and only when they are powered off, unless O(force=true).
  - Changes that need the VM powered off (CPU or memory without hot-add, cloud-init data) are
    applied to a running VM only with O(force=true); otherwise the task fails listing them.
  - O(ttl) or O(expires_at) store an expiry in the VM's extraConfig (C(ghost.infra.expires-at),
    C(ghost.infra.ttl), C(ghost.infra.renewed-at)) beside the ownership marker, in the clone (or
    create) spec of a new VM and by a reconfigure of extraConfig only on an existing one, which
    needs no power change. A VM without the ownership marker gets an expiry only with
    O(force=true), and with a warning, as the reaper never deletes such a VM.
  - When the vSphere API does not answer, O(fallback=ssh) powers VMs on and off, restarts and
    deletes them through C(vim-cmd) over SSH on the ESXi host, and powers them off through
    C(esxcli)/C(localcli) when hostd itself hangs.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pyvmomi >= 8.0.3
  - PyYAML (for O(cloud_init))
  - the OpenSSH client C(ssh) (for O(fallback=ssh))
options:
  name:
    description:
      - Name of the VM. With O(folder), the VM in that folder; without, the only VM of that
        name in the datacenter (the task fails when there are several).
      - A path relative to the datacenter's VM folder (C(lab/web1)) sets the folder too.
      - At most 80 characters (vSphere's limit), not counting the folder.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the VM exists and has the given size and guestinfo; its power
        state is left as it is (a new VM stays powered off).
      - V(poweredon) as V(present), and powered on.
      - V(poweredoff) as V(present), and powered off (guest shutdown first, see
        O(shutdown_timeout)).
      - V(restarted) as V(poweredon), and shut down and powered on again if it was running
        (always reports a change). Changes that need power-off are applied while it is off.
      - V(absent) deletes the VM and its disks. Refused for a VM without the
        C(ghost.infra.managed=true) marker or a VM that is not powered off, unless
        O(force=true).
    type: str
    choices: [present, poweredon, poweredoff, restarted, absent]
    default: poweredon
  template:
    description:
      - Template (or VM) to clone when the VM does not exist. Required to create.
      - The name, or a path relative to the datacenter's VM folder.
      - A VM that is not a template is cloned cold with a new identity - new MAC addresses, and
        none of its guestinfo keys (so none of its cloud-init data or instance ID); give the
        copy its own O(cloud_init). On a standalone ESXi host it must be powered off (the host
        cannot copy the disks of a running VM); vCenter clones a running VM too.
      - Ignored when the VM exists.
    type: str
  datacenter:
    description:
      - Datacenter of the VM. Default is the only datacenter, or the template's.
      - A standalone ESXi host has one, C(ha-datacenter).
    type: str
  folder:
    description:
      - VM folder, as a full path (C(/DC0/vm/lab)) or relative to the datacenter's VM folder
        (C(lab)). It must exist.
      - Finds the VM in this folder and creates it there. Default is the datacenter's VM
        folder for new VMs and anywhere in the datacenter for lookups.
    type: str
  resource_pool:
    description:
      - Resource pool for a new VM, by name or by path such as C(Cluster1/Resources/lab).
      - Default is the root pool of the cluster or host that runs the template (on a
        standalone ESXi host, its only pool).
      - Only used when the VM is created.
    type: str
  datastore:
    description:
      - Datastore for a new VM. Default is the template's datastore.
      - Only used when the VM is created.
    type: str
  network:
    description:
      - Port group (standard or distributed) for the first network adapter of a new VM.
        Default is the template's.
      - Only used when the VM is created.
    type: str
  cpu:
    description:
      - Number of virtual CPUs, 1 to 768 (vSphere 8's maximum per VM). Default for a new VM is
        the template's.
    type: int
  memory_mb:
    description:
      - Memory in MiB, a multiple of 4, at most 24 TB. Default for a new VM is the template's.
    type: int
  disk_gb:
    description:
      - Size of the first virtual disk in GiB, at most 62 TB. Disks only grow; a smaller value
        than the current size is an error.
      - A linked clone's disk cannot grow (it is a delta disk on the template's snapshot).
    type: int
  linked_clone:
    description:
      - Create the VM as a linked clone of the template's current snapshot (fast and thin).
        The template must have a snapshot.
      - Needs vCenter; on a standalone ESXi host the task fails and says so.
      - Only used when the VM is created.
    type: bool
    default: false
  disk_format:
    description:
      - Provisioning of a new VM's disks. Default is V(thin) for the copies made on a standalone
        ESXi host and the source's format on vCenter.
      - Only used when the VM is created, and not for linked clones.
    type: str
    choices: [thin, thick, eager_zeroed_thick]
  guestinfo:
    description:
      - Extra guestinfo keys for the guest (read inside it with
        C(vmware-rpctool "info-get guestinfo.<key>")), as a dict of key to string value.
        Keys without the C(guestinfo.) prefix get it.
      - The keys O(cloud_init) writes may not be set here.
      - Values are never shown in results, diffs or logs. Values that cannot be secrets (such
        as V(1), V(true) or V(0600)) are not masked where they appear elsewhere in the output,
        so they do not garble unrelated values such as an IP address.
    type: dict
  wait_for_ip:
    description:
      - Wait until the guest reports an IPv4 address that is not link-local (169.254/16)
        and return it in RV(vm.ip_address). Only when the VM ends powered on.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the IP address before failing.
    type: int
    default: 300
  shutdown_timeout:
    description:
      - Seconds to wait for a guest shutdown through VMware Tools before powering off hard.
      - V(0) powers off hard at once. Without running VMware Tools the power-off is hard.
    type: int
    default: 120
  force:
    description:
      - Delete VMs without the C(ghost.infra.managed=true) marker or that are powered on
        (powered off hard first).
      - Apply changes that need power-off to a running VM. It is powered off (guest shutdown
        first), reconfigured and brought back to its power state.
      - Store an expiry (O(ttl), O(expires_at)) on a VM without the ownership marker.
    type: bool
    default: false
  fallback:
    description:
      - What to do when the vSphere API does not answer (connection refused or timed out, no
        such host, no vSphere API on the port). Login and TLS errors never fall back.
      - V(ssh) reaches O(state=poweredon), V(poweredoff), V(restarted) and V(absent) (with
        O(force=true), as ownership cannot be checked) through C(vim-cmd vmsvc/...) over SSH
        on the ESXi host. Size, placement, guestinfo and O(wait_for_ip) are not handled
        then; the result has RV(fallback=ssh), RV(fallback_tool) and warnings.
      - C(vim-cmd) needs hostd. When it does not answer within 15 seconds or cannot reach hostd,
        O(state=poweredoff) goes on with C(esxcli vm process list) and C(kill) (then C(localcli),
        the same commands bypassing hostd) - a soft kill, waiting O(shutdown_timeout) seconds,
        then hard, then force. O(state=poweredon) then succeeds only if the VM is already
        running; O(state=restarted) and O(state=absent) fail, as powering on and deleting need
        hostd. C(esxcli) lists running VMs only, so a VM it does not list counts as powered off,
        with a warning.
    type: str
    choices: [none, ssh]
    default: none
  ssh_host:
    description:
      - ESXi host to reach over SSH for O(fallback=ssh). Default is O(hostname).
    type: str
  ssh_user:
    description:
      - User on the ESXi host for O(fallback=ssh).
    type: str
    default: root
  ssh_port:
    description:
      - SSH port of the ESXi host.
    type: int
    default: 22
  ssh_private_key_file:
    description:
      - Private key for O(fallback=ssh). Default is the SSH client's own keys or agent. SSH
        runs in batch mode, so it never asks for a password.
    type: path
  ssh_known_hosts_file:
    description:
      - Known hosts file holding the ESXi host's key. Default is the SSH client's.
    type: path
  ssh_host_key_checking:
    description:
      - V(strict) only connects to a host whose key is already known.
      - V(accept-new) also records the key of a host seen for the first time.
    type: str
    choices: [strict, accept-new]
    default: strict
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_VSPHERE
  - ghost.infra.vsphere
  - ghost.infra.cloud_init
  - ghost.infra.lifetime
attributes:
  check_mode:
    support: full
    details:
      - Placement, template and sizes are checked; nothing is cloned or changed.
  diff_mode:
    support: full
    details:
      - Shows power state, size, disks, folder, the expiry (RV(vm.expires_at), RV(vm.ttl)), the
        guestinfo keys (values masked) and, with
        O(cloud_init), the cloud-init documents the VM holds and the new ones by document and
        key, with a keyed digest in place of every value that may hold a secret (C(runcmd),
        C(write_files), ...), so it tells which document and key changed, never their content.
  platform:
    platforms: vmware
notes:
  - O(cloud_init) network settings apply to the NIC C(ens192) (the first VMXNET3 adapter of an
    Ubuntu guest) unless O(cloud_init.interface) or O(cloud_init.network_config) says
    otherwise; the address in O(cloud_init.ip) is the new VM's.
  - Changing O(cloud_init) of an existing VM changes its cloud-init instance ID, so the guest
    applies the new data at its next boot.
  - Placement options (O(resource_pool), O(datastore), O(network), O(linked_clone),
    O(disk_format)) only apply when the VM is created; the module does not migrate VMs.
  - On a standalone ESXi host the VM's folder must not exist yet on the datastore; the task
    fails naming it rather than use or remove a folder it did not make.
seealso:
  - module: ghost.infra.esxi_vm_info
  - module: community.vmware.vmware_guest
    description: The broader VM module of community.vmware.
"""

EXAMPLES = r"""
- name: Create an Ubuntu VM from a template, seeded with cloud-init, and wait for its IP
  ghost.infra.esxi_vm:
    hostname: vcenter.lab.example.com
    username: administrator@vsphere.local
    password: "{{ vcenter_password }}"
    name: web1
    template: ubuntu-22.04-template
    folder: lab
    datastore: datastore1
    network: VM Network
    cpu: 2
    memory_mb: 4096
    disk_gb: 40
    linked_clone: false
    cloud_init:
      hostname: web1
      ssh_authorized_keys:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3BPsiJ5c0A6lmGvNb3X1qJ6c1Hh3+cbm5V0lQz1vXo ops@example.com
      ip: 192.0.2.10/24
      gateway: 192.0.2.1
      dns: [192.0.2.53]
    wait_for_ip: true
  register: web1

- name: Use the connection from the environment (AWX VMware credential) for several tasks
  module_defaults:
    group/ghost.infra.vsphere:
      validate_certs: false
  block:
    - name: Give the VM more memory, powering it off and on if it cannot hot-add
      ghost.infra.esxi_vm:
        name: web1
        memory_mb: 8192
        force: true

    - name: Power the VM off, through SSH if the API does not answer
      ghost.infra.esxi_vm:
        hostname: esxi1.lab.example.com
        name: web1
        state: poweredoff
        fallback: ssh
        ssh_private_key_file: ~/.ssh/esxi_ed25519

    - name: Delete the VM (only VMs this module created)
      ghost.infra.esxi_vm:
        name: web1
        state: absent
"""

RETURN = r"""
vm:
  description:
    - The VM after the task (the predicted VM in check mode). Empty after O(state=absent).
    - After O(fallback=ssh) only RV(vm.name), RV(vm.moid) and RV(vm.power_state) are known
      (through C(esxcli) - RV(vm.name), RV(vm.uuid), RV(vm.power_state); RV(vm.moid) is null).
  returned: always
  type: dict
  contains:
    name:
      description: Name of the VM.
      returned: success
      type: str
      sample: web1
    uuid:
      description: BIOS UUID (C(config.uuid)).
      returned: success
      type: str
      sample: 4221f3c8-5a4c-8ab9-2f46-cf3e1f5d2a11
    instance_uuid:
      description: vCenter instance UUID (C(config.instanceUuid)).
      returned: success
      type: str
      sample: 50219a4f-5d0a-1a7b-9d2e-84c8f4a1e0c3
    moid:
      description: Managed object ID (after the SSH fallback, the C(vim-cmd) vmid; null after the esxcli fallback).
      returned: success
      type: str
      sample: vm-1042
    power_state:
      description: V(poweredOn), V(poweredOff) or V(suspended).
      returned: success
      type: str
      sample: poweredOn
    ip_address:
      description: The guest's first IPv4 address that is not link-local, or null.
      returned: success
      type: str
      sample: 192.0.2.10
    cpu:
      description: Number of virtual CPUs.
      returned: success
      type: int
      sample: 2
    memory_mb:
      description: Memory in MiB.
      returned: success
      type: int
      sample: 4096
    disks:
      description: Virtual disks, first disk first.
      returned: success
      type: list
      elements: dict
      contains:
        label:
          description: Label of the disk in vSphere.
          type: str
          returned: success
          sample: Hard disk 1
        capacity_gb:
          description: Size in GiB.
          type: float
          returned: success
          sample: 40.0
        file:
          description: Backing file.
          type: str
          returned: success
          sample: "[datastore1] web1/web1.vmdk"
        thin:
          description: Whether the disk is thin provisioned.
          type: bool
          returned: success
          sample: true
        linked:
          description: Whether the disk is a delta disk on a parent (a linked clone's).
          type: bool
          returned: success
          sample: false
    networks:
      description: Port group of each network adapter.
      returned: success
      type: list
      elements: str
      sample: [VM Network]
    folder:
      description: Inventory path of the VM's folder.
      returned: success
      type: str
      sample: /DC0/vm/lab
    datacenter:
      description: Name of the VM's datacenter.
      returned: success
      type: str
      sample: DC0
    template:
      description: Whether it is a template.
      returned: success
      type: bool
      sample: false
    guestinfo:
      description: The VM's C(guestinfo.*) extraConfig keys; every value is masked.
      returned: success
      type: dict
      sample: {"guestinfo.metadata": "********", "guestinfo.metadata.encoding": "********"}
    managed:
      description: Whether the VM carries C(ghost.infra.managed=true) (null after the SSH fallback).
      returned: success
      type: bool
      sample: true
    expires_at:
      description: When the VM expires (RFC 3339, UTC), or null when it has no expiry (and after the SSH fallback).
      returned: success
      type: str
      sample: "2026-12-01T18:00:00Z"
    expired:
      description: Whether RV(vm.expires_at) has passed (null after the SSH fallback).
      returned: success
      type: bool
      sample: false
    ttl:
      description: The TTL the expiry was last renewed with (canonical, such as V(8h)), or null.
      returned: success
      type: str
      sample: 8h
changes:
  description: What changed (or would change in check mode); guestinfo values are masked.
  returned: always
  type: list
  elements: str
  sample: ["cpu: 2 -> 4", "ttl: None -> 8h", "power_state: poweredOn -> poweredOff"]
fallback:
  description: V(ssh) when the task ran through the SSH fallback.
  returned: when the SSH fallback was used
  type: str
  sample: ssh
fallback_tool:
  description:
    - What the SSH fallback used on the host, V(vim-cmd) (hostd answered), or V(esxcli) or
      V(localcli) (hostd did not; only running VM processes were seen and stopped).
  returned: when the SSH fallback was used
  type: str
  sample: vim-cmd
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 1.42
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run, unmask  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.secrets import secret_values  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import cloud_init_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import runner  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.argspec import vsphere_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.client import PYVMOMI  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.copy_client import VmClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.spec import STATES, UNMASKED_OPTIONS, check_params, visible_values  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.ssh import SshRunner, VimCmd  # noqa: E402


def vim_cmd(params):
    return VimCmd(SshRunner(host=params["ssh_host"] or params["hostname"], user=params["ssh_user"],
                            port=params["ssh_port"], private_key_file=params["ssh_private_key_file"],
                            known_hosts_file=params["ssh_known_hosts_file"],
                            host_key_checking=params["ssh_host_key_checking"]))


def main():
    argument_spec = vsphere_argument_spec()
    argument_spec.update(cloud_init_argument_spec())
    argument_spec.update({
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": list(STATES), "default": "poweredon"},
        "template": {"type": "str"},
        "datacenter": {"type": "str"},
        "folder": {"type": "str"},
        "resource_pool": {"type": "str"},
        "datastore": {"type": "str"},
        "network": {"type": "str"},
        "cpu": {"type": "int"},
        "memory_mb": {"type": "int"},
        "disk_gb": {"type": "int"},
        "linked_clone": {"type": "bool", "default": False},
        "disk_format": {"type": "str", "choices": ["thin", "thick", "eager_zeroed_thick"]},
        "guestinfo": {"type": "dict", "no_log": True},
        "wait_for_ip": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 300},
        "shutdown_timeout": {"type": "int", "default": 120},
        "force": {"type": "bool", "default": False},
        "fallback": {"type": "str", "choices": ["none", "ssh"], "default": "none"},
        "ssh_host": {"type": "str"},
        "ssh_user": {"type": "str", "default": "root"},
        "ssh_port": {"type": "int", "default": 22},
        "ssh_private_key_file": {"type": "path"},
        "ssh_known_hosts_file": {"type": "path"},
        "ssh_host_key_checking": {"type": "str", "choices": ["strict", "accept-new"], "default": "strict"},
    })
    argument_spec.update({key: dict(option) for key, option in lifetime.ARGUMENT_SPEC.items()})
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=list(lifetime.MUTUALLY_EXCLUSIVE),
                           supports_check_mode=True)
    module.no_log_values.update(secret_values(module.params["cloud_init"]))
    unmask(module, visible_values(module.params), options=UNMASKED_OPTIONS)
    require_libraries(module, PYVMOMI)

    def action():
        check_params(module.params)
        return runner.esxi_vm(module.params, check_mode=module.check_mode, diff=module._diff,
                              connect=VmClient.connect, vim_cmd_factory=vim_cmd)

    run(module, action)


if __name__ == "__main__":
    main()
