#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_pool
short_description: Manage libvirt storage pools (directory and LVM volume group)
version_added: 0.1.0
description:
  - Defines, builds, starts and removes a persistent libvirt storage pool of type V(dir) (a
    directory of image files) or V(logical) (an LVM volume group).
  - O(state=present) leaves the pool defined, built and active. A V(dir) pool's directory is
    created through C(virStoragePool.build) when it is missing (an existing directory is kept
    as it is). A V(logical) pool uses an existing volume group; when libvirt's discovery finds
    none of that name, it is created on O(source_devices), and libvirt refuses devices that
    already hold data (C(VIR_STORAGE_POOL_BUILD_NO_OVERWRITE)).
  - The definition is compared with the current one by the fields the module manages (type,
    path, volume group, devices), not as text. A pool cannot move to other storage in place, so a
    different O(type), O(path), O(volume_group) or O(source_devices) for an existing pool is
    refused (remove the pool and create it again).
  - O(state=absent) refuses to remove a pool that holds volumes unless O(delete_volumes=true).
  - Only the libvirt API is used, so remote URIs such as C(qemu+ssh://) work; paths are paths
    on the hypervisor.
author:
  - ghost.infra contributors (@ghost-infra)
options:
  name:
    description:
      - Name of the pool. 1 to 64 letters, digits, C(.), C(_) or C(-), starting with a letter or
        digit.
    type: str
    required: true
  state:
    description:
      - V(present) defines, builds and starts the pool.
      - V(absent) deletes its volumes (only with O(delete_volumes=true); a pool that holds
        volumes is refused otherwise), stops it, removes a V(dir) pool's directory when it is
        empty and undefines the pool. A V(logical) pool's volume group is kept (removing it is
        an LVM task).
      - An inactive pool is started to list its volumes; one that cannot start (its storage is
        gone) is only undefined, with a warning.
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - V(dir) or V(logical). V(dir) when the pool is created.
    type: str
    choices: [dir, logical]
  path:
    description:
      - The directory of a V(dir) pool, required to create one.
      - For a V(logical) pool the path is always C(/dev/<volume_group>); it need not be set.
      - A path on the hypervisor, taken as it is (no C(~) or variable expansion).
    type: str
  volume_group:
    description:
      - The LVM volume group of a V(logical) pool. Defaults to the pool's name.
    type: str
  source_devices:
    description:
      - Block devices (physical volumes) of a V(logical) pool, used to create its volume group
        when it does not exist yet. An existing volume group is used as it is; if this option
        is set, it must list that group's devices.
    type: list
    elements: str
  autostart:
    description:
      - Start the pool when libvirtd starts.
      - When not set, an existing pool keeps its setting; a new one gets V(true).
    type: bool
  delete_volumes:
    description:
      - With O(state=absent), delete the pool's volumes (every file in a V(dir) pool's
        directory, every logical volume of a V(logical) pool) before removing the pool.
      - Without it a pool that holds volumes is not removed, and the task fails listing them.
    type: bool
    default: false
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_LIBVIRT
  - ghost.infra.libvirt
attributes:
  check_mode:
    support: full
    details:
      - Check mode only reads. It does not start an inactive pool to list its volumes for
        O(state=absent); it warns instead.
  diff_mode:
    support: full
    details:
      - The diff shows whether the pool is active, autostart and its persistent definition (XML)
        before and after.
  platform:
    platforms: posix
notes:
  - A new V(dir) directory gets libvirt's default mode C(0711), owned by the user libvirtd runs
    as.
  - The V(logical) type needs the LVM tools (C(pvs), C(vgcreate)) on the hypervisor.
seealso:
  - module: ghost.infra.libvirt_network
  - module: ghost.infra.libvirt_domain
  - name: libvirt storage pool XML format
    description: The definition this module writes.
    link: https://libvirt.org/formatstorage.html
"""

EXAMPLES = r"""
- name: A directory pool for VM disks and images
  ghost.infra.libvirt_pool:
    name: images
    path: /srv/libvirt/images

- name: A pool on an existing LVM volume group vg_guests
  ghost.infra.libvirt_pool:
    name: guests
    type: logical
    volume_group: vg_guests

- name: A new volume group on an empty disk (libvirt refuses a disk that holds data)
  ghost.infra.libvirt_pool:
    name: fast
    type: logical
    source_devices:
      - /dev/nvme1n1

- name: Remove a scratch pool with every volume in it
  ghost.infra.libvirt_pool:
    name: scratch
    state: absent
    delete_volumes: true
"""

RETURN = r"""
pool:
  description:
    - The pool after the run (in check mode, as it would be).
    - After O(state=absent), RV(pool.state) is V(absent) and the other fields are empty.
  returned: always
  type: dict
  contains:
    name:
      description: Pool name.
      type: str
      sample: images
    uuid:
      description: Pool UUID (V(null) for a pool check mode would create, or one that never
        existed).
      type: str
      sample: 7f3c1b0e-2d4a-4e5f-9a8b-1c2d3e4f5a6b
    state:
      description: V(present) or V(absent).
      type: str
      sample: present
    type:
      description: V(dir) or V(logical) (or another libvirt pool type of a pool defined by
        hand).
      type: str
      sample: dir
    path:
      description: The pool's directory (C(/dev/<volume_group>) for a V(logical) pool).
      type: str
      sample: /srv/libvirt/images
    volume_group:
      description: LVM volume group of a V(logical) pool, else V(null).
      type: str
      sample: null
    source_devices:
      description: Devices named in a V(logical) pool's definition.
      type: list
      elements: str
      sample: []
    active:
      description: Whether the pool is active (started).
      type: bool
      sample: true
    autostart:
      description: Whether libvirtd starts the pool.
      type: bool
      sample: true
    capacity:
      description: Size of the pool's storage in bytes, as of libvirt's last refresh (V(null)
        when inactive or in check mode for a new pool).
      type: int
      sample: 270553174016
    allocation:
      description: Bytes allocated in the pool's storage (V(null) as for RV(pool.capacity)).
      type: int
      sample: 24720728064
    available:
      description: Bytes free for new volumes (V(null) as for RV(pool.capacity)).
      type: int
      sample: 245832445952
    volumes:
      description: Number of volumes in the pool (V(null) when it is inactive).
      type: int
      sample: 3
actions:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [define, build (create directory /srv/libvirt/images), start, set autostart on]
duration:
  description: Seconds the task took.
  returned: always
  type: float
  sample: 0.12
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.argspec import libvirt_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.pool import PoolClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.pool_runner import ensure_pool  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.pool_spec import STATES, TYPES  # noqa: E402


def argument_spec():
    spec = libvirt_argument_spec()
    spec.update({
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": list(STATES)},
        "type": {"type": "str", "choices": list(TYPES)},
        "path": {"type": "str"},
        "volume_group": {"type": "str"},
        "source_devices": {"type": "list", "elements": "str"},
        "autostart": {"type": "bool"},
        "delete_volumes": {"type": "bool", "default": False},
    })
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    require_libraries(module, LIBVIRT)
    client = PoolClient(module.params["uri"])

    def action():
        try:
            return ensure_pool(client, module.params, check_mode=module.check_mode,
                               diff=module._diff)
        finally:
            client.close()

    run(module, action)


if __name__ == "__main__":
    main()
