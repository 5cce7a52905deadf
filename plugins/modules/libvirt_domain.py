#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_domain
short_description: Manage KVM/QEMU virtual machines built from a base image through libvirt
version_added: 0.1.0
description:
  - Defines, starts, stops, pauses and removes a libvirt domain (virtual machine).
  - Its disk is a qcow2 overlay volume whose backing store is a base image, created through
    the storage pool API, so many domains share one base image that is never written to.
  - O(cloud_init) becomes a NoCloud seed ISO volume (label C(cidata)) attached as a read-only
    CD-ROM on a virtio-scsi controller (found by cloud-init on kernels without AHCI too).
  - Only the libvirt API is used (libvirt-python); no C(virt-install), C(qemu-img) or
    C(genisoimage) runs, so remote URIs such as C(qemu+ssh://) work.
  - The domain definition is compared with the current inactive XML by its managed parts
    (type, vCPUs, memory, firmware, kernel, disks, NICs, serial console); other parts, such as
    devices added by hand, are kept as they are.
  - Options that describe the domain apply when it is created; on an existing domain, an option
    that is not set keeps the current value.
  - Changes to a running domain go to its persistent definition and are reported as
    RV(domain.restart_required); with O(force=true) the module restarts the domain.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pycdlib >= 1.14 and PyYAML when O(cloud_init) is used
options:
  name:
    description:
      - Name of the domain. Also names its volumes (C(<name>.qcow2) and
        C(<name>-cidata-<hash>.iso)).
      - 1 to 64 letters, digits, C(.), C(_) or C(-), starting with a letter or digit.
    type: str
    required: true
  state:
    description:
      - V(present) defines the domain and leaves its power state alone (a new domain stays off).
      - V(running), V(stopped) and V(paused) also set the power state. V(stopped) asks the guest
        to shut down (ACPI) and waits O(shutdown_timeout) seconds.
      - V(absent) powers the domain off, undefines it (with its UEFI variables) and deletes the
        volumes this module created for it (overlay and seed), never the base image.
    type: str
    choices: [present, running, stopped, paused, absent]
    default: running
  vcpus:
    description:
      - Number of virtual CPUs. V(1) when the domain is created.
    type: int
  memory_mb:
    description:
      - Memory in MiB. V(1024) when the domain is created.
    type: int
  domain_type:
    description:
      - V(kvm) (hardware virtualization), V(qemu) (emulation, slow but works everywhere) or
        V(auto) (kvm when the hypervisor offers it, else qemu).
      - V(auto) when the domain is created.
    type: str
    choices: [auto, kvm, qemu]
  firmware:
    description:
      - V(bios) (SeaBIOS) or V(uefi) (OVMF, chosen by libvirt's firmware auto-selection; the
        hypervisor needs an OVMF package). V(bios) when the domain is created.
    type: str
    choices: [bios, uefi]
  autostart:
    description:
      - Start the domain when libvirtd starts. V(false) when the domain is created.
    type: bool
  base_image:
    description:
      - The image the disk is built from, as an absolute path on the hypervisor or
        C(pool/volume) (a bare volume name means a volume in O(pool)).
      - The module creates the volume C(<name>.qcow2) in O(pool), a qcow2 overlay backed by
        this image, and never writes to the image.
      - An existing overlay cannot be rebased onto another image; remove the domain first.
      - A path outside every storage pool is checked by libvirt when the overlay is created.
    type: str
  pool:
    description:
      - Storage pool for the volumes the module creates (overlay and seed). It must be active.
      - Defaults to the pool of the volumes the module made for the domain before, else
        V(default).
    type: str
  disk_gb:
    description:
      - Virtual size of the disk in GiB. Defaults to the size of O(base_image).
      - Without O(base_image), an empty qcow2 disk of this size is created.
      - Disks only grow; a smaller value than the current size is an error. A running domain's
        disk grows live.
    type: int
  interfaces:
    description:
      - Network interfaces, in order. An empty list removes all NICs.
      - Not set keeps the NICs of an existing domain (none on a new one).
    type: list
    elements: dict
    suboptions:
      network:
        description:
          - Name of a libvirt network. It must exist. Exactly one of O(interfaces[].network) and
            O(interfaces[].bridge) is required.
        type: str
      bridge:
        description:
          - Name of a host bridge.
        type: str
      mac:
        description:
          - MAC address. Without it, a stable address is derived from the domain name and the
            NIC's index (C(52:54:00) followed by three bytes of a SHA-256 hash), so re-runs and
            rebuilds never change it.
        type: str
      model:
        description:
          - Device model.
        type: str
        default: virtio
  kernel:
    description:
      - Path of a kernel on the hypervisor for direct kernel boot. V('') removes it.
      - When the hypervisor is on the host running the module (O(uri) names no host), the file
        must exist there, checked before anything is made.
    type: str
  initrd:
    description:
      - Path of an initrd on the hypervisor, with O(kernel). V('') removes it. Checked as O(kernel).
    type: str
  cmdline:
    description:
      - Kernel command line, with O(kernel), for example C(root=/dev/vda console=ttyS0).
        V('') removes it.
    type: str
  console_log:
    description:
      - Path of a file on the hypervisor that receives the serial console (appended to).
        V('') switches back to a pty console.
    type: str
  wait_for_ip:
    description:
      - After the domain runs, wait until one of its NICs has an address (see O(ip_source)).
        Needs O(state=running) and a NIC.
    type: bool
    default: false
  ip_source:
    description:
      - Where the addresses in RV(domain.interfaces[].addresses) come from, the libvirt
        C(virDomainInterfaceAddresses) sources.
      - V(lease) reads the DHCP leases of libvirt networks (dnsmasq; nothing for a static
        address or a host bridge). V(agent) asks the QEMU guest agent in the guest (any
        address, static ones too; needs C(qemu-guest-agent) running there). V(arp) reads the
        host's ARP table (any address the guest has used on a bridge the host is on).
      - V(auto) asks V(lease), then V(agent), then V(arp), and takes the first that knows an
        address.
    type: str
    choices: [auto, lease, agent, arp]
    default: auto
  wait_for:
    description:
      - What to wait for after the domain runs (each for up to O(wait_timeout) seconds), in
        this order. Needs O(state=running).
      - V(ip) is O(wait_for_ip=true).
      - V(cloud_init) waits until cloud-init finished in the guest, reading its
        C(/run/cloud-init/result.json) through the QEMU guest agent (C(qemu-guest-agent) must
        run in the guest and allow C(guest-file-open) and C(guest-file-read)). The result is
        RV(cloud_init); when cloud-init reports errors, the task fails listing them (with
        RV(cloud_init) in the result).
      - Nothing is awaited in check mode.
    type: list
    elements: str
    choices: [ip, cloud_init]
    default: []
  wait_timeout:
    description:
      - Seconds to wait for an address with O(wait_for_ip), and for each of O(wait_for).
    type: int
    default: 300
  shutdown_timeout:
    description:
      - Seconds to wait for the guest to power off after an ACPI shutdown request.
      - When it is still running, the module fails unless O(force=true), which powers it off.
    type: int
    default: 120
  reset_token:
    description:
      - Reset the domain to its golden state. The module powers it off, deletes its overlay disk
        with everything the guest wrote, and creates it again from the base image (same size).
        Its next boot is a first boot, so cloud-init runs again from the NoCloud seed (rebuilt
        when O(cloud_init) is given). The instant equivalent of restoring a KubeVirt snapshot; the
        base image is never written to.
      - The reset happens when the token differs from the one recorded in the domain's
        C(<metadata>) by the last reset (or by its creation). A re-run of the same task does
        not reset again; give a new value (a counter, a build number) for the next reset, or
        a value that changes every run, for example C("{{ now().isoformat() }}"), to reset
        every time. A domain created with the option records the token and is not reset.
      - Adding the option to an existing domain that has no token recorded resets it.
      - The power state afterwards follows O(state) (with V(present), the state it had).
        Only a domain whose disk this module created can be reset.
      - 1 to 128 printable ASCII characters, not starting or ending with a blank.
    type: str
  strict_resources:
    description:
      - Before anything is created or changed, the module compares what the run takes with what
        the hypervisor has, and names the numbers. Memory is checked when the run starts the
        domain (or restarts it with more memory) and is always refused when it exceeds the host's
        free memory plus its page cache.
      - vCPUs above the host's CPUs (checked when the run defines, changes or starts the domain)
        and disks whose virtual size exceeds the storage pool's free space (checked when the run
        creates or grows them) are overcommitment that works until the guests use it all. They
        give a warning, or with V(true) an error.
    type: bool
    default: false
  force:
    description:
      - Power the domain off when it ignores the ACPI shutdown for O(shutdown_timeout) seconds.
      - Restart a running domain whose definition changed, instead of reporting
        RV(domain.restart_required).
    type: bool
    default: false
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_LIBVIRT
  - ghost.infra.libvirt
  - ghost.infra.cloud_init
  - ghost.infra.lifetime
attributes:
  check_mode:
    support: full
    details:
      - Check mode only reads. A O(base_image) path that no storage pool lists yet is not
        looked at (that takes a pool refresh or a temporary pool); the module warns and a
        real run checks it.
  diff_mode:
    support: full
    details:
      - The diff shows the power state, autostart, the expiry and the domain XML before and
        after (cloud-init documents are not part of the XML; the seed appears by hash and
        instance ID).
  platform:
    platforms: posix
notes:
  - The O(cloud_init) seed's network settings apply to the first NIC, matched by its MAC
    address. The seed volume is named after its content; when the seed changes, a new volume
    (with a new instance ID, so cloud-init runs again) replaces the old one, which is deleted.
  - Volumes are only deleted when the module recorded them as its own (in the domain's
    C(<metadata>)).
  - If a run fails after creating volumes, it deletes them again; a new domain that cannot
    start is removed again.
  - Free memory is read as libvirt reports it for the whole host (free, buffers and page
    cache), not the sum of NUMA nodes; memory that running guests have been given but not yet
    touched counts as free.
  - When two runs create the same domain at once, one defines it; the other fails with an
    error naming the domain (run it again to converge) and deletes no volume the domain uses.
  - Guests see the first virtio NIC as C(enp1s0) (q35 machine).
  - The expiry (O(ttl), O(expires_at)) is kept as the attributes C(expires-at), C(ttl) and
    C(renewed-at) of the module's element in the domain's C(<metadata>) (namespace
    C(https://github.com/ghost-infra/ghost.infra/libvirt/1)). A new domain gets it in its first
    definition; a new expiry on an existing domain is a metadata update of its persistent and,
    while it runs, its live definition, never a restart.
seealso:
  - module: ghost.infra.libvirt_domain_info
  - module: ghost.infra.cloud_init_seed
  - name: libvirt domain XML format
    description: The definition this module writes.
    link: https://libvirt.org/formatdomain.html
"""

EXAMPLES = r"""
- name: A VM from an Ubuntu cloud image, with cloud-init
  ghost.infra.libvirt_domain:
    name: web1
    base_image: default/noble-server-cloudimg-amd64.img
    disk_gb: 20
    vcpus: 2
    memory_mb: 2048
    interfaces:
      - network: default
    cloud_init:
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
      packages: [qemu-guest-agent]
      runcmd:
        - systemctl enable --now qemu-guest-agent
    wait_for_ip: true
    wait_for: [cloud_init]
  register: web1

- name: Show its address
  ansible.builtin.debug:
    msg: "{{ web1.domain.interfaces[0].addresses }}"

- name: On a remote KVM host, with defaults for every libvirt task
  module_defaults:
    group/ghost.infra.libvirt:
      uri: qemu+ssh://root@kvm1.example.com/system
  block:
    - name: More memory; restart now rather than report restart_required
      ghost.infra.libvirt_domain:
        name: web1
        memory_mb: 4096
        force: true

- name: A lab VM that expires 8 hours after this task (re-running it does not push that back)
  ghost.infra.libvirt_domain:
    name: lab1
    base_image: default/noble-server-cloudimg-amd64.img
    ttl: 8h
    max_ttl: 7d

- name: Give it a day more, counted from now (a running domain is not restarted)
  ghost.infra.libvirt_domain:
    name: lab1
    ttl: 1d

- name: Direct kernel boot with the serial console in a file
  ghost.infra.libvirt_domain:
    name: appliance1
    domain_type: qemu
    base_image: /var/lib/libvirt/images/appliance.qcow2
    kernel: /var/lib/libvirt/boot/vmlinuz
    initrd: /var/lib/libvirt/boot/initrd.img
    cmdline: root=/dev/vda console=ttyS0
    console_log: /var/log/libvirt/qemu/appliance1-console.log

- name: Stop it, powering it off if the guest ignores ACPI for a minute
  ghost.infra.libvirt_domain:
    name: appliance1
    state: stopped
    shutdown_timeout: 60
    force: true

- name: Back to the golden image before each test run (a new token resets, the same one does not)
  ghost.infra.libvirt_domain:
    name: web1
    reset_token: "{{ test_run_id }}"

- name: Remove a VM and the volumes made for it
  ghost.infra.libvirt_domain:
    name: web1
    state: absent
"""

RETURN = r"""
domain:
  description:
    - The domain after the run (in check mode, as it would be).
    - After O(state=absent) only RV(domain.name), RV(domain.uuid) and RV(domain.state).
  returned: always
  type: dict
  contains:
    name:
      description: Domain name.
      type: str
      sample: web1
    uuid:
      description: Domain UUID (V(null) for a domain check mode would create).
      type: str
      sample: 4f0c1b8e-4b1a-4c9e-9d7e-2f5a3c6b7d8e
    state:
      description: Power state, V(running), V(paused), V(stopped) or V(absent).
      type: str
      sample: running
    domain_type:
      description: V(kvm) or V(qemu).
      type: str
      sample: kvm
    vcpus:
      description: Number of virtual CPUs in the persistent definition.
      type: int
      sample: 2
    memory_mb:
      description: Memory in MiB in the persistent definition.
      type: int
      sample: 2048
    firmware:
      description: V(bios) or V(uefi).
      type: str
      sample: bios
    autostart:
      description: Whether libvirtd starts the domain.
      type: bool
      sample: false
    kernel:
      description: Kernel for direct kernel boot, or V(null).
      type: str
      sample: null
    console_log:
      description: File receiving the serial console, or V(null).
      type: str
      sample: null
    disks:
      description: Disks and CD-ROMs.
      type: list
      elements: dict
      contains:
        path:
          description: Path of the image on the hypervisor.
          type: str
          sample: /var/lib/libvirt/images/web1.qcow2
        format:
          description: Image format.
          type: str
          sample: qcow2
        backing:
          description: Backing image of an overlay, or V(null).
          type: str
          sample: /var/lib/libvirt/images/noble-server-cloudimg-amd64.img
        device:
          description: V(disk) or V(cdrom).
          type: str
          sample: disk
        target:
          description: Device name in the guest's definition.
          type: str
          sample: vda
        bus:
          description: Bus of the device.
          type: str
          sample: virtio
    interfaces:
      description: Network interfaces.
      type: list
      elements: dict
      contains:
        mac:
          description: MAC address.
          type: str
          sample: "52:54:00:3a:9c:1e"
        type:
          description: V(network) or V(bridge) (or another libvirt type for NICs added by hand).
          type: str
          sample: network
        network:
          description: libvirt network, or V(null).
          type: str
          sample: default
        bridge:
          description: Host bridge, or V(null).
          type: str
          sample: null
        model:
          description: Device model.
          type: str
          sample: virtio
        addresses:
          description: IP addresses of a running domain's NIC, from the source O(ip_source) names.
          type: list
          elements: str
          sample: [192.168.122.57]
    cloud_init_instance_id:
      description: Instance ID in the attached NoCloud seed, or V(null).
      type: str
      sample: iid-3f2a9c1d0b7e4a55
    restart_required:
      description:
        - The domain runs with an older definition than its persistent one; the change takes
          effect at the next start (or now with O(force=true)).
      type: bool
      sample: false
    expires_at:
      description: When the domain expires (RFC 3339, UTC), or V(null) when it has no expiry.
      type: str
      sample: "2026-12-01T20:00:00Z"
    expired:
      description: Whether RV(domain.expires_at) has passed (C(playbooks/reap.yml) removes it then).
      type: bool
      sample: false
    ttl:
      description: The TTL the expiry was last set from, or V(null) (none, or an O(expires_at)).
      type: str
      sample: 8h
actions:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create volume default/web1.qcow2, write NoCloud seed default/web1-cidata-5d41402abc4b.iso, define, start]
cloud_init:
  description: What cloud-init reported in the guest when it finished (O(wait_for=cloud_init)).
  returned: when O(wait_for) has V(cloud_init), outside check mode
  type: dict
  contains:
    status:
      description: V(done), or V(error) (then the task failed).
      type: str
      sample: done
    errors:
      description: The errors cloud-init recorded in its stages.
      type: list
      elements: str
      sample: []
    datasource:
      description: The datasource cloud-init used.
      type: str
      sample: DataSourceNoCloud [seed=/dev/sr0][dsmode=net]
reset:
  description: The golden-reset record kept in the domain's C(<metadata>) (see O(reset_token)).
  returned: when O(reset_token) is set and O(state) is not V(absent)
  type: dict
  contains:
    token:
      description: The token of the last reset (or of the creation).
      type: str
      sample: build-42
    count:
      description: How many resets the domain has had since it was created.
      type: int
      sample: 3
    performed:
      description: Whether this run reset the domain (in check mode, whether it would).
      type: bool
      sample: true
deleted_volumes:
  description: Volumes deleted with the domain, as C(pool/volume).
  returned: when O(state=absent) and the domain existed
  type: list
  elements: str
  sample: [default/web1.qcow2, default/web1-cidata-5d41402abc4b.iso]
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 1.84
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run, unmask  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import PYCDLIB  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.secrets import secret_values, visible_values  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import YAML  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import CONTENT_OPTION_PATHS, cloud_init_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.argspec import libvirt_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import LibvirtClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.runner import ensure_domain  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.spec import (  # noqa: E402
    DOMAIN_TYPES, FIRMWARES, IP_SOURCES, STATES, WAITS, check_local_files,
)


def argument_spec():
    spec = libvirt_argument_spec()
    spec.update(cloud_init_argument_spec())
    spec.update({
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "running", "choices": list(STATES)},
        "vcpus": {"type": "int"},
        "memory_mb": {"type": "int"},
        "domain_type": {"type": "str", "choices": list(DOMAIN_TYPES)},
        "firmware": {"type": "str", "choices": list(FIRMWARES)},
        "autostart": {"type": "bool"},
        "base_image": {"type": "str"},
        "pool": {"type": "str"},
        "disk_gb": {"type": "int"},
        "interfaces": {
            "type": "list", "elements": "dict",
            "options": {
                "network": {"type": "str"},
                "bridge": {"type": "str"},
                "mac": {"type": "str"},
                "model": {"type": "str", "default": "virtio"},
            },
            "mutually_exclusive": [("network", "bridge")],
            "required_one_of": [("network", "bridge")],
        },
        "kernel": {"type": "str"},
        "initrd": {"type": "str"},
        "cmdline": {"type": "str"},
        "console_log": {"type": "str"},
        "wait_for_ip": {"type": "bool", "default": False},
        "ip_source": {"type": "str", "default": "auto", "choices": list(IP_SOURCES)},
        "wait_for": {"type": "list", "elements": "str", "default": [], "choices": list(WAITS)},
        "wait_timeout": {"type": "int", "default": 300},
        "shutdown_timeout": {"type": "int", "default": 120},
        "reset_token": {"type": "str", "no_log": False},  # a marker, not a secret
        "strict_resources": {"type": "bool", "default": False},
        "force": {"type": "bool", "default": False},
    })
    spec.update({key: dict(option) for key, option in lifetime.ARGUMENT_SPEC.items()})
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=list(lifetime.MUTUALLY_EXCLUSIVE))
    module.no_log_values.update(secret_values(module.params["cloud_init"]))
    unmask(module, visible_values(module.params["cloud_init"]), options=CONTENT_OPTION_PATHS)
    required = [LIBVIRT]
    if module.params["cloud_init"] is not None:
        required += [PYCDLIB, YAML]
    require_libraries(module, *required)
    client = LibvirtClient(module.params["uri"])

    def action():
        try:
            check_local_files(module.params)
            return ensure_domain(client, module.params, check_mode=module.check_mode,
                                 diff=module._diff)
        finally:
            client.close()

    run(module, action)


if __name__ == "__main__":
    main()
