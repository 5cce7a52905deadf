# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared attribute documentation. Private to ghost.infra (leading underscore)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Every module: check mode and diff are supported unless the module says otherwise.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # Read-only modules: nothing to change, nothing to diff.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
"""

    # One fragment per action group so module_defaults: group/ghost.infra.<name> is documented.
    ACTIONGROUP_VSPHERE = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ghost.infra.vsphere) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ghost.infra.vsphere
"""

    ACTIONGROUP_LIBVIRT = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ghost.infra.libvirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ghost.infra.libvirt
"""

    ACTIONGROUP_KUBEVIRT = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ghost.infra.kubevirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ghost.infra.kubevirt
"""

    ACTIONGROUP_VCLUSTER = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ghost.infra.vcluster) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ghost.infra.vcluster
"""

    ACTIONGROUP_CLUSTER_POOL = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/ghost.infra.cluster_pool) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - ghost.infra.cluster_pool
"""
