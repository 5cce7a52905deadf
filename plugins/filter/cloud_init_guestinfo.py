# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: cloud_init_guestinfo
short_description: cloud-init configuration as VMware guestinfo keys
version_added: 0.1.0
author:
  - ghost.infra contributors (@ghost-infra)
description:
  - Renders a dict shaped like the C(cloud_init) option of M(ghost.infra.cloud_init_seed) into
    the VMware C(guestinfo) keys cloud-init's VMware datasource reads, for use with any module
    that sets a VM's advanced settings (extraConfig).
  - C(guestinfo.metadata), C(guestinfo.userdata) and, when there is vendor data,
    C(guestinfo.vendordata), each gzip+base64 encoded with its C(.encoding) key. The network
    config travels inside the metadata document as C(network) and C(network.encoding).
  - The same input always gives the same values, so re-applying them changes nothing.
  - The network settings apply to the first VMXNET3 NIC (matched by driver, or by
    O(mac_address), and named C(ens192)) unless C(interface) or C(network_config) says
    otherwise.
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
  mac_address:
    description:
      - MAC address of the VM's NIC. When set and C(interface) is not, the network config
        matches the NIC by MAC instead of by name.
    type: str
seealso:
  - plugin: ghost.infra.cloud_init_render
    plugin_type: filter
  - module: ghost.infra.cloud_init_seed
"""

EXAMPLES = r"""
- name: Seed cloud-init through guestinfo with any VMware module
  vars:
    cloud_init:
      ip: 192.0.2.20/24
      gateway: 192.0.2.1
      dns: [192.0.2.53]
      ssh_authorized_keys:
        - "{{ lookup('ansible.builtin.file', '~/.ssh/id_ed25519.pub') }}"
  community.vmware.vmware_guest:
    name: web2
    template: ubuntu-24.04
    # advanced_settings takes a list of {key, value}: exactly what dict2items gives.
    advanced_settings: "{{ cloud_init | ghost.infra.cloud_init_guestinfo(name='web2') | dict2items }}"

- name: Show the keys
  ansible.builtin.debug:
    msg: "{{ {'hostname': 'web3', 'packages': ['nginx']} | ghost.infra.cloud_init_guestinfo }}"
"""

RETURN = r"""
_value:
  description:
    - The guestinfo keys and their values, all strings.
    - C(guestinfo.vendordata) and C(guestinfo.vendordata.encoding) only when there is vendor
      data.
  type: dict
  sample:
    guestinfo.metadata: H4sIAAAAAAAC/...
    guestinfo.metadata.encoding: gzip+base64
    guestinfo.userdata: H4sIAAAAAAAC/...
    guestinfo.userdata.encoding: gzip+base64
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import encode_guestinfo  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.spec import split_name  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import render_documents  # noqa: E402


def cloud_init_guestinfo(data, name=None, mac_address=None):
    """The guestinfo keys for a ``cloud_init`` dict (see DOCUMENTATION)."""
    try:
        cloud_init, name = split_name(data, name)
        documents = render_documents(cloud_init, name=name, mac_address=mac_address,
                                     backend="esxi")
        return encode_guestinfo(documents)
    except GhostError as exc:
        raise AnsibleFilterError("cloud_init_guestinfo: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"cloud_init_guestinfo": cloud_init_guestinfo}
