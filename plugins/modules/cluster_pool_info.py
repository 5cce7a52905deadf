#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_pool_info
short_description: Stats, members and wait queue of a cluster pool
version_added: 0.1.0
description:
  - Reads a pool declared with M(ghost.infra.cluster_pool) in one list call and returns its
    counts per state (total, available, locked, resetting, dirty, error; expired leases; queue
    length), every member (state, holder, lock time, expiry, last reset, last health check, error
    reason) and the wait queue in order.
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
options:
  pool:
    description:
      - Name of the pool.
    type: str
    required: true
extends_documentation_fragment:
  - ghost.infra.cluster_pool
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.INFO_MODULE
  - ghost.infra._attributes.ACTIONGROUP_CLUSTER_POOL
attributes:
  platform:
    platforms: all
seealso:
  - module: ghost.infra.cluster_pool
  - module: ghost.infra.cluster_pool_lease
"""

EXAMPLES = r"""
- name: How busy is the pool?
  ghost.infra.cluster_pool_info:
    pool: cks
  register: cks

- name: Show it
  ansible.builtin.debug:
    msg: "{{ cks.stats.available }} of {{ cks.stats.total }} available, {{ cks.stats.waiting }} waiting"
"""

RETURN = r"""
exists:
  description: Whether the pool is declared.
  returned: always
  type: bool
  sample: true
pool:
  description: The declaration (see M(ghost.infra.cluster_pool)'s C(pool)); V(null) when the pool does not exist.
  returned: always
  type: dict
  sample: {"name": "cks", "namespace": "ghost-pools", "kind": "kubevirt", "members": ["cluster1", "cluster2"]}
stats:
  description: Members per state, expired leases not yet reclaimed, live entries of the queue. V(null) without pool.
  returned: always
  type: dict
  contains:
    total:
      description: Members.
      type: int
      sample: 3
    available:
      description: Free members.
      type: int
      sample: 1
    locked:
      description: Held members.
      type: int
      sample: 1
    dirty:
      description: Released or reclaimed, waiting for a reset.
      type: int
      sample: 0
    resetting:
      description: Being reset.
      type: int
      sample: 1
    error:
      description: Failed reset or health check.
      type: int
      sample: 0
    expired:
      description: Locked (or resetting) members whose lease expired, for the maintenance playbook to reclaim.
      type: int
      sample: 0
    waiting:
      description: Owners waiting in the queue (with a live heartbeat).
      type: int
      sample: 2
members:
  description: Every member, sorted by id (see M(ghost.infra.cluster_pool_lease)'s C(member), without C(kubeconfig_path)).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "cluster1", "state": "locked", "holder": "session-4711", "locked_since": "2025-01-01T12:00:00.000000Z",
            "expires": "2025-01-01T14:00:00.000000Z", "error": null}]
queue:
  description: The wait queue in order, dead entries included (V(alive) false) until the next writer drops them.
  returned: always
  type: list
  elements: dict
  contains:
    owner:
      description: Who waits.
      type: str
      sample: session-4712
    since:
      description: When it joined the queue.
      type: str
      sample: "2025-01-01T12:00:01.000000Z"
    member:
      description: The member it asked for, if any.
      type: str
      sample: null
    position:
      description: 1 for the next to be served; V(null) for a dead entry.
      type: int
      sample: 1
    alive:
      description: Whether its heartbeat is current.
      type: bool
      sample: true
    heartbeat:
      description: Its last heartbeat.
      type: str
      sample: "2025-01-01T12:00:11.000000Z"
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 0.05
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.argspec import pool_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import PoolClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import pool_info  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import utcnow  # noqa: E402


def argument_spec():
    options = pool_argument_spec()
    options["pool"] = {"type": "str", "required": True}
    return options


def main():
    run_k8s_module(argument_spec(), lambda module: pool_info(PoolClient(connect(module)), module.params, now=utcnow))


if __name__ == "__main__":
    main()
