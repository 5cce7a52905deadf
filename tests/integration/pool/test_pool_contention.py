# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""20 acquirers as separate ansible-playbook processes on a 3-member pool, on the real API server.

Exactly 3 hold a member, the 17 others wait in the queue; a 21st with wait=false fails at once
with "no member available"; as holders release (with an inline reset from the golden
snapshots), the waiters are served in the order they joined the queue (members freed together
go to the first waiters together, whose writes may land in any order). What happened is read
from the Lease objects' history (a watch from the test sees every version), not from what the
playbooks printed: no version ever gives a member to a second owner, no owner ever holds two.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

import pytest
from pool_helpers import LeaseWatch, wait_until

from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import utcnow

pytestmark = pytest.mark.timeout(1500)

ACQUIRERS = 20


def replay(events):
    """Walk every version in order; return (acquisitions in order, queue join order, violations).

    Fairness with several members: when k members are free, the first k live entries of the
    queue may each take one, and their writes land in any order. So a waiter that takes a
    member is checked against what was free just before: fewer waiters ahead of it, still
    unserved, than free members (each of those is owed one); otherwise it overtook somebody.
    """
    holder_of = {}        # member -> owner (as the objects say, version after version)
    free = {}             # member -> whether it was free to take in its last version
    acquisitions, joined, violations = [], [], []
    for kind, obj in events:
        labels = obj["metadata"].get("labels") or {}
        what = labels.get(spec.LABEL_OBJECT)
        if what == "queue":
            for entry in queue_spec.entries(obj):
                if entry["owner"] not in joined:
                    joined.append(entry["owner"])
            continue
        if what != "member" or kind == "DELETED":
            continue
        member = labels[spec.LABEL_MEMBER]
        owner = (obj.get("spec") or {}).get("holderIdentity") if lease_spec.state_of(obj) == "locked" else None
        before = holder_of.get(member)
        if owner and before and owner != before:
            violations.append("%s went from %s to %s without a release" % (member, before, owner))
        if owner and owner != before:
            others = [m for m, o in holder_of.items() if o == owner and m != member]
            if others:
                violations.append("%s holds %s and %s at once" % (owner, others[0], member))
            served = {o for o, unused in acquisitions}
            if owner in joined:
                ahead = [o for o in joined[:joined.index(owner)] if o not in served]
                free_now = sum(1 for f in free.values() if f)
                if len(ahead) >= free_now:
                    violations.append("%s took %s with %d member(s) free and %s still waiting ahead of it"
                                      % (owner, member, free_now, ahead))
            acquisitions.append((owner, member))
        holder_of[member] = owner
        free[member] = (lease_spec.state_of(obj) == lease_spec.AVAILABLE
                        and not (obj.get("spec") or {}).get("holderIdentity"))
    return acquisitions, joined, violations


def lease_vars(env, owner, **more):
    extra = {"cluster_pool_name": env.pool, "cluster_pool_namespace": env.namespace, "cluster_pool_owner": owner,
             "cluster_pool_wait_timeout": 900}
    extra.update(more)
    return extra


def test_twenty_playbooks_three_members(pool_env):
    members = [pool_env.member(i) for i in (1, 2, 3)]
    for member in members:
        pool_env.kubevirt_member(member)
    ensure_pool(pool_env.client(), pool_env.declare_params(members), now=utcnow)
    watch = LeaseWatch(pool_env)
    owners = ["session-%02d" % i for i in range(ACQUIRERS)]
    procs = {o: pool_env.start_playbook("cluster_pool_acquire.yml", lease_vars(pool_env, o)) for o in owners}

    def settled():
        pool = pool_env.client().read_pool(pool_env.namespace, pool_env.pool)
        live = queue_spec.live(queue_spec.entries(pool.queue), pool.waiters, pool.members, utcnow())
        held = [m for m in pool.members if lease_spec.state_of(m) == "locked"]
        return (len(held), len(live)) == (3, ACQUIRERS - 3) and pool
    pool = wait_until("3 holders and 17 queued", settled, timeout=600, interval=1)
    holders = {(m["spec"]["holderIdentity"]): lease_spec.member_id(m) for m in pool.members}
    assert len(holders) == 3 and sorted(holders.values()) == members
    wait_until("the 3 holders' playbooks to finish", lambda: all(procs[o].poll() is not None for o in holders), timeout=120)
    assert all(procs[o].returncode == 0 for o in holders)
    assert sum(p.poll() is None for p in procs.values()) == ACQUIRERS - 3      # the others still wait

    # A newcomer that will not wait fails at once, naming the queue.
    started = time.monotonic()
    refused = pool_env.playbook("cluster_pool_acquire.yml", lease_vars(pool_env, "impatient", cluster_pool_wait=False),
                                check=False)
    assert refused.returncode != 0
    assert ("no member available in pool '%s' (3 members: 3 locked; 17 waiting) and 17 acquirers queued before" %
            pool_env.pool) in refused.stdout, refused.stdout[-3000:]
    module_time = float(re.search(r'"duration": ([0-9.]+)', refused.stdout).group(1))
    assert module_time < 2.0, "the refusal took %.2fs in the module" % module_time
    print("wait=false refused after %.2fs in the module, %.1fs for the playbook" % (module_time, time.monotonic() - started))

    # Holders release (inline reset); each freed member goes to the next in the queue.
    released = set()
    releasing = {}
    while len(released) < ACQUIRERS:
        for owner, proc in procs.items():
            if owner not in released and owner not in releasing and proc.poll() is not None:
                out = proc.communicate()[0]
                assert proc.returncode == 0, out[-3000:]
                releasing[owner] = pool_env.start_playbook("cluster_pool_release.yml", lease_vars(pool_env, owner))
        for owner, proc in list(releasing.items()):
            if proc.poll() is not None:
                out = proc.communicate()[0]
                assert proc.returncode == 0, out[-3000:]
                assert "is available" in out, out[-3000:]
                released.add(owner)
                del releasing[owner]
        time.sleep(0.5)

    events = watch.stop()
    acquisitions, joined, violations = replay(events)
    assert not violations, violations
    assert sorted(o for o, unused in acquisitions) == sorted(owners)      # each served exactly once
    waiters = [o for o, unused in acquisitions if o not in holders]
    assert len(joined) == ACQUIRERS - 3 and sorted(joined) == sorted(waiters)
    # The order of service, up to members freed together (checked version by version in replay).
    overtaken = sum(1 for i, o in enumerate(waiters) if joined.index(o) != i)
    pool = pool_env.client().read_pool(pool_env.namespace, pool_env.pool)
    assert queue_spec.entries(pool.queue) == [] and pool.waiters == {}
    assert all(lease_spec.state_of(m) == "available" for m in pool.members)
    print("%d acquisitions, %d watch events, FIFO order kept for %d waiters (%d served beside one freed with them)"
          % (len(acquisitions), len(events), len(waiters), overtaken))


def _version(member, state, owner=None):
    obj = spec.lease_object("ns", "p.member.%s" % member, spec.object_labels("p", "member", member), {lease_spec.A_STATE: state})
    if owner:
        obj["spec"] = {"holderIdentity": owner}
    return ("MODIFIED", obj)


def test_replay_catches_what_it_is_for():
    """The history check itself: a member handed over without release, an owner holding two."""
    violations = replay([_version("m1", "locked", "a"), _version("m1", "locked", "b")])[2]
    assert violations == ["m1 went from a to b without a release"]
    violations = replay([_version("m1", "locked", "a"), _version("m2", "locked", "a")])[2]
    assert violations == ["a holds m1 and m2 at once"]
    acquisitions, _joined, violations = replay([_version("m1", "locked", "a"), _version("m1", "dirty"),
                                               _version("m1", "available"), _version("m1", "locked", "b")])
    assert acquisitions == [("a", "m1"), ("b", "m1")] and not violations
