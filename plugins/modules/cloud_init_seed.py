#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cloud_init_seed
short_description: Write a cloud-init NoCloud seed ISO
version_added: 0.1.0
description:
  - Renders the O(cloud_init) option into cloud-init documents and writes them as a NoCloud
    seed ISO (ISO9660 with Joliet and Rock Ridge, volume label C(cidata)) holding
    C(meta-data), C(user-data), C(network-config) and, when given, C(vendor-data).
  - Attach the ISO to a VM as a CD-ROM and cloud-init configures the guest on first boot.
  - The ISO is built in Python with pycdlib; no C(genisoimage) or C(cloud-localds) is needed.
    The same input gives the same bytes, so a re-run reports no change.
  - The file is written atomically (a temporary file in the same directory, renamed over
    O(dest)).
  - O(cloud_init) is required when O(state=present). Its network settings apply to the first
    virtio NIC (matched by driver, named C(enp1s0)) unless O(cloud_init.interface) or
    O(cloud_init.network_config) says otherwise.
author:
  - ghost.infra contributors (@ghost-infra)
requirements:
  - pycdlib >= 1.14
  - PyYAML
options:
  dest:
    description:
      - Path of the ISO file. Its directory must exist.
    type: path
    required: true
  name:
    description:
      - Name of the VM, the default of O(cloud_init.hostname).
    type: str
  state:
    description:
      - V(present) writes the seed, V(absent) removes O(dest).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - Permissions of O(dest) as an octal string such as V('0600'). Symbolic modes are not
        supported.
      - The default keeps the file private, as a seed can hold a password hash.
    type: raw
    default: '0600'
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra.cloud_init
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows hashes, the instance ID, meta-data, network config and the user data
        with passwords, password hashes, private keys and file contents masked; scripts are
        only described by type, size and hash.
  platform:
    support: full
    platforms: posix
seealso:
  - plugin: ghost.infra.cloud_init_render
    plugin_type: filter
  - plugin: ghost.infra.cloud_init_guestinfo
    plugin_type: filter
  - name: cloud-init NoCloud datasource
    description: How cloud-init reads a C(cidata) volume.
    link: https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html
"""

EXAMPLES = r"""
- name: Write a seed with a static address for a libvirt VM
  ghost.infra.cloud_init_seed:
    dest: /var/lib/libvirt/images/web1-seed.iso
    name: web1
    cloud_init:
      fqdn: web1.lab.example
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
      ip: 192.0.2.10/24
      gateway: 192.0.2.1
      dns: [192.0.2.53]
      search_domains: [lab.example]
      packages: [qemu-guest-agent]
      runcmd:
        - systemctl enable --now qemu-guest-agent

- name: DHCP, a password hash and an extra shell script
  ghost.infra.cloud_init_seed:
    dest: /var/lib/libvirt/images/db1-seed.iso
    name: db1
    cloud_init:
      user: admin
      # A fixed salt keeps the hash, and so the seed, the same from run to run
      # (the password_hash filter needs passlib on the controller).
      password_hash: "{{ vault_admin_password | ansible.builtin.password_hash('sha512', 'db1salt') }}"
      user_data: |
        #!/bin/bash
        echo "first boot of $(hostname)" > /etc/motd

- name: Remove the seed once the VM is provisioned
  ghost.infra.cloud_init_seed:
    dest: /var/lib/libvirt/images/web1-seed.iso
    state: absent
"""

RETURN = r"""
path:
  description: Path of the seed ISO.
  returned: always
  type: str
  sample: /var/lib/libvirt/images/web1-seed.iso
instance_id:
  description: The cloud-init instance ID in the seed's meta-data.
  returned: when O(state=present)
  type: str
  sample: iid-3f2a9c1d0b7e4a55
sha256:
  description: SHA-256 of the ISO's bytes (of what would be written, in check mode).
  returned: when O(state=present)
  type: str
  sample: 5d41402abc4b2a76b9719d911017c592ae4f3b8a1c2d3e4f5a6b7c8d9e0f1a2b
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.04
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run, unmask  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import PYCDLIB  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.secrets import secret_values, visible_values  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.runner import ensure_seed  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.serialize import YAML  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import CONTENT_OPTION_PATHS, cloud_init_argument_spec  # noqa: E402


def main():
    argument_spec = cloud_init_argument_spec()
    argument_spec.update({
        "dest": {"type": "path", "required": True},
        "name": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "mode": {"type": "raw", "default": "0600"},
    })
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ("cloud_init",))],
    )
    module.no_log_values.update(secret_values(module.params["cloud_init"]))
    unmask(module, visible_values(module.params["cloud_init"]), options=CONTENT_OPTION_PATHS)
    require_libraries(module, PYCDLIB, YAML)
    params = module.params
    run(module, lambda: ensure_seed(
        dest=params["dest"], state=params["state"], cloud_init=params["cloud_init"],
        name=params["name"], mode=params["mode"], check_mode=module.check_mode,
        diff=module._diff))


if __name__ == "__main__":
    main()
