#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cluster_pool_lease
short_description: Acquire, renew or release a member of a cluster pool
version_added: 0.1.0
description:
  - Leases one member (a cluster) of a pool declared with M(ghost.infra.cluster_pool) to an
    O(owner) (a session id), renews that lease, or releases it. The pool's state is held by the host
    cluster as C(coordination.k8s.io/v1) C(Lease) objects, so any number of Ansible runs, AWX nodes
    and controllers can share one pool with no server of their own.
  - "Acquire reads the whole pool in one list call, picks a free member and writes the owner and
    the state C(locked) with the C(resourceVersion) it read. When another acquirer wrote that
    member first, the API server refuses the write (409 Conflict), and the module reads again and
    picks the next member: two owners never hold the same member."
  - The same owner again gets the same member back, with C(changed=false); that renews the lease
    (from now, for O(duration)).
  - "With O(wait=true), an owner that finds no member joins the pool's wait queue (kept in the host
    cluster, in arrival order) and is served when a member becomes available, before anybody who
    came later: no starvation. A queued owner keeps a heartbeat; one whose run was killed drops out
    of the queue 30 seconds later."
  - "Release (O(state=absent)) is refused unless O(owner) holds the member, with who holds it and
    since when. It marks the member C(dirty); O(reset=inline) then resets it from its golden
    snapshots (or recreates its vcluster) in the same task, O(reset=janitor) leaves that to the
    maintenance playbook (M(ghost.infra.cluster_pool_maintain))."
  - A lease that is not renewed within O(duration) is reclaimed by the maintenance playbook. Its
    owner is then told so (by an error when it tries to renew, by a warning when it releases)
    instead of being handed another member silently.
  - Connects like M(kubernetes.core.k8s) (same options, same C(K8S_AUTH_*) environment variables).
author:
  - ghost.infra contributors (@ghost-infra)
options:
  pool:
    description:
      - Name of the pool.
    type: str
    required: true
  owner:
    description:
      - Who holds the lease, for example the session id. At most 128 printable characters.
    type: str
    required: true
  state:
    description:
      - V(present) acquires a member for O(owner), or renews the lease O(owner) holds.
      - V(absent) releases the member O(owner) holds (nothing to do when it holds none).
    type: str
    choices: [present, absent]
    default: present
  member:
    description:
      - Ask for this member (its id). When O(owner) already holds another one, the task fails.
      - With O(state=absent), the member to release; refused when O(owner) does not hold it.
    type: str
  duration:
    description:
      - How long the lease lasts without renewal, from now. Seconds, or a number with a unit
        (V(30m), V(2h), V(1d)); at least 10 seconds.
      - Default is the pool's C(duration). A renewal without O(duration) keeps the lease's duration.
    type: str
  wait:
    description:
      - When no member is available, wait in the pool's queue (at most O(wait_timeout) seconds).
      - With V(false) the task fails at once with "no member available" and the pool's counts.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait in the queue with O(wait=true). The owner leaves the queue when it runs out.
    type: int
    default: 300
  reset:
    description:
      - What happens after a release. V(inline) resets the member in this task (the task then takes
        as long as the reset); V(janitor) leaves the member C(dirty) for M(ghost.infra.cluster_pool_maintain).
      - A failed inline reset does not fail the release; the member is C(error) with the reason and
        the task warns.
    type: str
    choices: [inline, janitor]
    default: inline
  kubeconfig_dest:
    description:
      - Where to write the member's kubeconfig (mode 0600) when it has one (vcluster pools, or a
        C(kubeconfig_secret) declared on the pool). Default
        C(~/.ghost/pools/<namespace>/<pool>/<member>.yaml). A release removes the file.
    type: path
extends_documentation_fragment:
  - ghost.infra.cluster_pool
  - kubernetes.core.k8s_auth_options
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_CLUSTER_POOL
attributes:
  check_mode:
    support: full
    details:
      - Reports the member it would acquire or release; never waits and writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: ghost.infra.cluster_pool
  - module: ghost.infra.cluster_pool_info
  - module: ghost.infra.cluster_pool_maintain
"""

EXAMPLES = r"""
- name: Give session 4711 a cluster, waiting up to 10 minutes in the queue
  ghost.infra.cluster_pool_lease:
    pool: cks
    owner: session-4711
    duration: 2h
    wait_timeout: 600
  register: lease

- name: Use it
  ansible.builtin.debug:
    msg: "{{ lease.member.id }} (VMs {{ lease.member.vms | map(attribute='name') | join(', ') }}) until {{ lease.member.expires }}"

- name: Heartbeat (renew the same lease; changed=false)
  ghost.infra.cluster_pool_lease:
    pool: cks
    owner: session-4711

- name: End of the session; the maintenance playbook resets the cluster
  ghost.infra.cluster_pool_lease:
    pool: cks
    owner: session-4711
    state: absent
    reset: janitor
"""

RETURN = r"""
member:
  description:
    - The member O(owner) holds (after a release, the member as left; in check mode, the member it would take).
    - V(null) when O(owner) holds none, or in check mode when none is available.
  returned: always
  type: dict
  contains:
    id:
      description: Member id (also the name of its namespace).
      type: str
      sample: cluster2
    namespace:
      description: The member's namespace, where its VMs or its vcluster live.
      type: str
      sample: cluster2
    state:
      description: V(available), V(locked), V(dirty), V(resetting) or V(error).
      type: str
      sample: locked
    holder:
      description: Owner holding the lease while V(locked).
      type: str
      sample: session-4711
    janitor:
      description: Who resets the member while V(resetting).
      type: str
      sample: "janitor:3f2a9c1e0b7d"
    locked_since:
      description: When the holder acquired it (C(spec.acquireTime)).
      type: str
      sample: "2025-01-01T12:00:00.123456Z"
    renewed:
      description: Last renewal (C(spec.renewTime)).
      type: str
      sample: "2025-01-01T12:30:00.000000Z"
    expires:
      description: When the lease (or the janitor's hold) expires unless renewed.
      type: str
      sample: "2025-01-01T14:30:00.000000Z"
    expired:
      description: Whether it has expired (the maintenance playbook reclaims it).
      type: bool
      sample: false
    error:
      description: Why the last reset or health check failed (state V(error)).
      type: str
      sample: "VM cp: the restore failed (Failure: disk gone)"
    reset_attempts:
      description: Failed resets since the last successful one.
      type: int
      sample: 0
    last_reset:
      description: When the last reset succeeded.
      type: str
      sample: "2025-01-01T11:58:00.000000Z"
    last_health_check:
      description: The last health check, C({at, healthy, detail}).
      type: dict
      sample: {"at": "2025-01-01T11:59:00.000000Z", "healthy": true, "detail": "cp Running, wk Running"}
    reclaimed:
      description: The last lease reclaimed from this member, C({owner, acquired, expired, reclaimed}).
      type: dict
      sample: {"owner": "session-4710", "acquired": "2025-01-01T09:00:00.000000Z",
               "expired": "2025-01-01T11:00:00.000000Z", "reclaimed": "2025-01-01T11:01:00.000000Z"}
    vms:
      description: The member's VMs and their golden snapshots (kubevirt pools).
      type: list
      elements: dict
      sample: [{"role": "control-plane", "name": "cluster2-cp", "snapshot": "cp-snap"}]
    vcluster:
      description: Name of the member's vcluster (vcluster pools).
      type: str
      sample: cluster2
    transitions:
      description: How many times the member changed hands (C(spec.leaseTransitions)).
      type: int
      sample: 7
    kubeconfig_path:
      description: Path of the member's kubeconfig file (0600), when it has one; never its content.
      type: str
      sample: /home/awx/.ghost/pools/ghost-pools/cks/cluster2.yaml
pool:
  description: The pool's name.
  returned: always
  type: str
  sample: cks
owner:
  description: The owner.
  returned: always
  type: str
  sample: session-4711
waited:
  description: Seconds from the first read of the pool to the acquire (time spent in the queue included).
  returned: always
  type: float
  sample: 0.021
conflicts:
  description: Writes the API server refused because somebody else wrote first (each followed by a new read).
  returned: always
  type: int
  sample: 0
api_calls:
  description: Kubernetes API requests the module made for the lease (reset and kubeconfig reads included).
  returned: always
  type: int
  sample: 2
duration:
  description: Seconds the module took, including waiting and an inline reset.
  returned: always
  type: float
  sample: 0.09
"""

# Imports follow the documentation strings, as ansible-test validate-modules requires.
from ansible_collections.ghost.infra.plugins.module_utils._k8s.module import run_k8s_module  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.argspec import pool_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import connect_pool  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow  # noqa: E402


def argument_spec():
    options = pool_argument_spec()
    options.update({
        "pool": {"type": "str", "required": True},
        "owner": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "member": {"type": "str"},
        "duration": {"type": "str"},
        "wait": {"type": "bool", "default": True},
        "wait_timeout": {"type": "int", "default": 300},
        "reset": {"type": "str", "choices": ["inline", "janitor"], "default": "inline"},
        "kubeconfig_dest": {"type": "path"},
    })
    return options


def main():
    def action(module):
        api = connect_pool(module)

        def reset_inline(api, declaration, obj):
            # Imported here: only a release with reset=inline needs the KubeVirt and vcluster code
            # (~60 ms of imports every acquire would pay, 20 times over when 20 acquire at once).
            from ansible_collections.ghost.infra.plugins.module_utils._pool.reset import Janitor  # pylint: disable=import-outside-toplevel

            janitor = Janitor(api, now=utcnow, auth=module.params)
            return janitor.reset(declaration, obj) or api.get_lease(obj["metadata"]["namespace"], obj["metadata"]["name"])
        return ensure_lease(api, module.params, check_mode=module.check_mode, resetter=reset_inline)

    run_k8s_module(argument_spec(), action)


if __name__ == "__main__":
    main()
