# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: cloud_init_render
short_description: cloud-init configuration as plain documents
version_added: 0.1.0
author:
  - ghost.infra contributors (@ghost-infra)
description:
  - Renders a dict shaped like the C(cloud_init) option of M(ghost.infra.cloud_init_seed) into
    the plain cloud-init documents, for other delivery methods (a NoCloud directory, an HTTP
    seed, another hypervisor) or to look at what a VM will get.
  - The same input always gives the same documents, byte for byte.
positional: _input
options:
  _input:
    description:
      - The C(cloud_init) settings, see the O(ghost.infra.cloud_init_seed#module:cloud_init)
        option for every key.
      - May also hold C(name), the VM name, used as the default host name.
    type: dict
    required: true
  name:
    description:
      - VM name, the default host name. Overrides C(name) in O(_input).
    type: str
  backend:
    description:
      - Which first NIC the network settings match when C(interface) is not set, driver
        C(vmxnet3) named C(ens192) for V(esxi), C(virtio_net) named C(enp1s0) for V(libvirt).
    type: str
    choices: [esxi, libvirt]
    default: libvirt
  mac_address:
    description:
      - MAC address of the VM's NIC. When set and C(interface) is not, the network config
        matches the NIC by MAC instead of by name.
    type: str
seealso:
  - plugin: ghost.infra.cloud_init_guestinfo
    plugin_type: filter
  - module: ghost.infra.cloud_init_seed
"""

EXAMPLES = r"""
- name: Write a NoCloud seed directory
  vars:
    seed: >-
      {{ {'ip': '192.0.2.30/24', 'gateway': '192.0.2.1', 'packages': ['nginx']}
         | ghost.infra.cloud_init_render(name='web4') }}
  ansible.builtin.copy:
    dest: "/srv/nocloud/web4/{{ item.file }}"
    content: "{{ seed[item.key] }}"
    mode: "0600"
  loop:
    - {file: meta-data, key: meta_data}
    - {file: user-data, key: user_data}
    - {file: network-config, key: network_config}

- name: Show the user-data an ESXi VM would get
  ansible.builtin.debug:
    msg: "{{ ({'name': 'web5', 'runcmd': ['echo hi']} | ghost.infra.cloud_init_render(backend='esxi')).user_data }}"
"""

RETURN = r"""
_value:
  description: The rendered documents.
  type: dict
  contains:
    instance_id:
      description: The instance ID written to the meta-data.
      type: str
      sample: iid-3f2a9c1d0b7e4a55
    meta_data:
      description: The C(meta-data) document (YAML).
      type: str
      sample: "instance-id: iid-3f2a9c1d0b7e4a55\nlocal-hostname: web4\n"
    user_data:
      description:
        - The C(user-data) document, C(#cloud-config) YAML, or a MIME multipart message when
          C(user_data) added another format such as a shell script.
      type: str
      sample: "#cloud-config\nhostname: web4\n"
    network_config:
      description: The C(network-config) document, netplan version 2 (YAML).
      type: str
      sample: "ethernets:\n  primary:\n    dhcp4: true\n    match:\n      driver: virtio_net\n    set-name: enp1s0\nversion: 2\n"
    vendor_data:
      description: The C(vendor-data) document, or V(null) without vendor data.
      type: str
      sample: null
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.spec import split_name  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import BACKEND_NICS, render_documents  # noqa: E402


def cloud_init_render(data, name=None, backend="libvirt", mac_address=None):
    """The plain documents for a ``cloud_init`` dict (see DOCUMENTATION)."""
    try:
        if backend not in BACKEND_NICS:
            raise GhostError("must be one of %s, got %r" % (", ".join(sorted(BACKEND_NICS)),
                                                            backend), option="backend")
        cloud_init, name = split_name(data, name)
        documents = render_documents(cloud_init, name=name, mac_address=mac_address,
                                     backend=backend)
        return documents.as_dict()
    except GhostError as exc:
        raise AnsibleFilterError("cloud_init_render: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"cloud_init_render": cloud_init_render}
