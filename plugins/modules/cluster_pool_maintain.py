#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_pool_maintain
short_description: Reclaim expired leases and reset dirty members of a cluster pool
version_added: 0.1.0
description:
  - One maintenance pass over a pool declared with M(ghost.infra.cluster_pool), the reaper and
    janitor of Boskos, meant for a cron job or an AWX schedule (C(playbooks/cluster_pool_maintain.yml)).
  - "Reap: a C(locked) member whose lease was not renewed in time (its holder is gone) becomes
    C(dirty), recording whose lease was reclaimed, so that owner is told when it comes back; a
    member whose reset did not finish within the pool's C(reset_timeout) becomes C(error). Queue
    entries of owners whose heartbeat stopped are dropped."
  - "Reset: C(dirty) members, and C(error) members that failed fewer than O(max_reset_attempts)
    times, are reset (kubevirt pools: every VM restored from its golden snapshot and started;
    vcluster pools: the vcluster deleted and created again), then health-checked: C(available)
    on success, C(error) with the reason otherwise."
  - "Health check (O(health_check=true)): C(available) members whose VMs are not ready, or whose
    API does not answer, become C(error)."
  - Every write is a compare-and-swap on the member's C(Lease); a holder renewing at the same
    moment wins over the reaper, and two maintenance runs never reset the same member.
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
options:
  pool:
    description:
      - Name of the pool.
    type: str
    required: true
  reap:
    description:
      - Reclaim expired leases and timed-out resets, and drop dead queue entries.
    type: bool
    default: true
  reset:
    description:
      - Reset C(dirty) members (and C(error) members, with O(retry_errors)).
    type: bool
    default: true
  retry_errors:
    description:
      - Reset C(error) members again, up to O(max_reset_attempts) failed attempts in a row.
    type: bool
    default: true
  max_reset_attempts:
    description:
      - Failed resets in a row after which an C(error) member is left alone (reported as
        C(given-up)); default the pool's C(max_reset_attempts).
    type: int
  health_check:
    description:
      - Health-check C(available) members.
    type: bool
    default: false
  parallel:
    description:
      - Members reset at the same time.
    type: int
    default: 4
extends_documentation_fragment:
  - ghost.infra.cluster_pool
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_CLUSTER_POOL
attributes:
  check_mode:
    support: full
    details:
      - Reports what it would reclaim and reset (health checks run, read-only); writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: ghost.infra.cluster_pool
  - module: ghost.infra.cluster_pool_lease
  - module: ghost.infra.cluster_pool_info
"""

EXAMPLES = r"""
- name: Reclaim, reset, retry, check
  ghost.infra.cluster_pool_maintain:
    pool: cks
    health_check: true
  register: maintenance

- name: Print the stats
  ansible.builtin.debug:
    var: maintenance.stats
"""

RETURN = r"""
pool:
  description: The pool's name.
  returned: always
  type: str
  sample: cks
actions:
  description:
    - What the pass did (in check mode, would do), one entry per member and action. C(action) is
      V(reclaimed) (with C(holder), C(expired)), V(reset-timed-out) (C(janitor)), V(queue-cleaned)
      (C(dropped) owners), V(reset) or V(reset-failed) (C(state), C(error), C(attempts)),
      V(would-reset), V(given-up) (C(attempts), C(error)), V(health-checked) (C(healthy), C(detail)).
  returned: always
  type: list
  elements: dict
  sample: [{"member": "cluster2", "action": "reclaimed", "holder": "session-4711", "expired": "2025-01-01T14:00:00.000000Z"},
           {"member": "cluster2", "action": "reset", "state": "available", "error": null, "attempts": 0}]
stats:
  description: The pool's counts afterwards (see M(ghost.infra.cluster_pool_info)).
  returned: always
  type: dict
  sample: {"total": 3, "available": 2, "locked": 1, "dirty": 0, "resetting": 0, "error": 0, "expired": 0, "waiting": 0}
members:
  description: Every member afterwards (see M(ghost.infra.cluster_pool_info)).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "cluster1", "state": "available", "error": null, "last_reset": "2025-01-01T14:01:00.000000Z"}]
duration:
  description: Seconds the module took.
  returned: always
  type: float
  sample: 12.5
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._k8s.service import connect  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.argspec import pool_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import PoolClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.maintain_runner import maintain  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.reset import Janitor  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import utcnow  # noqa: E402


def argument_spec():
    options = pool_argument_spec()
    options.update({
        "pool": {"type": "str", "required": True},
        "reap": {"type": "bool", "default": True},
        "reset": {"type": "bool", "default": True},
        "retry_errors": {"type": "bool", "default": True},
        "max_reset_attempts": {"type": "int"},
        "health_check": {"type": "bool", "default": False},
        "parallel": {"type": "int", "default": 4},
    })
    return options


def main():
    def action(module):
        api = PoolClient(connect(module))
        return maintain(api, Janitor(api, now=utcnow, auth=module.params), module.params,
                        check_mode=module.check_mode, now=utcnow)

    run_k8s_module(argument_spec(), action)


if __name__ == "__main__":
    main()
