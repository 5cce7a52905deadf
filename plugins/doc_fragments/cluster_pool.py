# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cluster pool options; mirrors module_utils/_pool/argspec.py POOL_COMMON_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  namespace:
    description:
      - Namespace of the host cluster that holds the pool's state, one C(coordination.k8s.io/v1)
        C(Lease) object per member plus the pool's declaration and wait queue, all labelled
        C(ghost.infra/pool=<pool>). Every module that uses the same pool must name the same namespace.
      - M(ghost.infra.cluster_pool) creates it when missing.
    type: str
    default: ghost-pools
requirements:
  - kubernetes >= 24.2.0
  - PyYAML >= 3.11
"""
