# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Declaring a pool, and acquire / renew / release against the real kube-apiserver.

The runners run in-process with a real PoolClient (each thread its own, as separate module runs
would have); the Lease objects are checked through a watch of our own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

import pytest
from pool_helpers import LeaseWatch

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool, pool_info
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def three(pool_env):
    """A declared 3-member kubevirt pool."""
    members = [pool_env.member(i) for i in (1, 2, 3)]
    for member in members:
        pool_env.kubevirt_member(member)
    result = ensure_pool(pool_env.client(), pool_env.declare_params(members), now=utcnow)
    assert result["changed"]
    return members


def test_declare_is_checked_first_and_idempotent(pool_env):
    members = [pool_env.member(1), pool_env.member(2)]
    pool_env.kubevirt_member(members[0])
    pool_env.namespace_create(members[1])
    api = pool_env.client()
    with pytest.raises(GhostError) as err:
        ensure_pool(api, pool_env.declare_params(members), now=utcnow)
    assert str(err.value) == (
        "Failed to declare pool '%s': member %s: VirtualMachine %s/%s-cp not found; member %s: VirtualMachine %s/%s-wk "
        "not found" % ((pool_env.pool,) + (members[1],) * 3 + (members[1],) * 3))
    assert api.read_pool(pool_env.namespace, pool_env.pool).declaration is None      # nothing half-made
    pool_env.kubevirt_member(members[1])
    check = ensure_pool(api, pool_env.declare_params(members), check_mode=True, diff=True, now=utcnow)
    assert check["changed"] and check["diff"]["before"] == {}
    assert api.read_pool(pool_env.namespace, pool_env.pool).declaration is None
    first = ensure_pool(api, pool_env.declare_params(members, labels={"cks.io/cluster-pool": "true"}), now=utcnow)
    assert first["changed"] and first["pool"]["member_states"] == dict.fromkeys(members, "available")
    again = ensure_pool(api, pool_env.declare_params(members, labels={"cks.io/cluster-pool": "true"}), now=utcnow)
    assert not again["changed"]
    for member in members:
        labels = pool_env.core.read_namespace(member).metadata.labels
        assert labels[spec.LABEL_POOL] == pool_env.pool and labels["cks.io/cluster-pool"] == "true"
    leases = pool_env.member_leases()
    assert sorted(leases) == members
    record = spec.loads(leases[members[0]].metadata.annotations[spec.ANNOTATION_MEMBER])
    assert record["vms"] == [{"role": "control-plane", "name": "%s-cp" % members[0], "snapshot": "cp-snap"},
                             {"role": "worker", "name": "%s-wk" % members[0], "snapshot": "wk-snap"}]


def test_acquire_renew_release_and_refusals(pool_env, three):
    api = pool_env.client()
    first = ensure_lease(api, pool_env.lease_params("s1", duration="60"), now=utcnow)
    held = first["member"]["id"]
    assert first["changed"] and first["member"]["holder"] == "s1" and first["api_calls"] == 2
    lease = pool_env.member_leases()[held]
    assert lease.spec.holder_identity == "s1" and lease.spec.lease_duration_seconds == 60
    again = ensure_lease(pool_env.client(), pool_env.lease_params("s1"), now=utcnow)
    assert not again["changed"] and again["member"]["id"] == held
    assert pool_env.member_leases()[held].spec.renew_time > lease.spec.renew_time
    with pytest.raises(GhostError, match="Failed to release member %s of pool '%s': it is held by s1 since " % (
            held, pool_env.pool)):
        ensure_lease(pool_env.client(), pool_env.lease_params("s2", state="absent", member=held), now=utcnow)
    others = [ensure_lease(pool_env.client(), pool_env.lease_params(o), now=utcnow)["member"]["id"] for o in ("s2", "s3")]
    assert sorted(others + [held]) == sorted(three)
    with pytest.raises(GhostError) as err:
        ensure_lease(pool_env.client(), pool_env.lease_params("s4"), now=utcnow)
    assert str(err.value) == "no member available in pool '%s' (3 members: 3 locked)" % pool_env.pool
    released = ensure_lease(pool_env.client(), pool_env.lease_params("s1", state="absent"), now=utcnow)
    assert released["changed"] and released["member"]["state"] == "dirty"
    info = pool_info(pool_env.client(), {"pool": pool_env.pool, "namespace": pool_env.namespace}, now=utcnow)
    assert info["stats"] == {"total": 3, "available": 0, "locked": 2, "dirty": 1, "resetting": 0, "error": 0,
                             "expired": 0, "waiting": 0}


def test_parallel_acquirers_never_share_a_member(pool_env, three):
    watch = LeaseWatch(pool_env)
    results = {}
    owners = ["t%02d" % i for i in range(12)]
    barrier = threading.Barrier(len(owners))

    def run(owner):
        api = pool_env.client()
        barrier.wait()
        try:
            results[owner] = ensure_lease(api, pool_env.lease_params(owner), now=utcnow)
        except GhostError as exc:
            results[owner] = exc
    threads = [threading.Thread(target=run, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    events = watch.stop()
    won = {o: r["member"]["id"] for o, r in results.items() if isinstance(r, dict)}
    assert len(won) == 3 and sorted(won.values()) == sorted(three)
    assert all("no member available" in str(r) for r in results.values() if not isinstance(r, dict))
    # From the objects' history: each member was locked once, by the owner that was told it won.
    locks = [(o["metadata"]["labels"][spec.LABEL_MEMBER], o["spec"]["holderIdentity"]) for t, o in events
             if t == "MODIFIED" and o["metadata"]["labels"].get(spec.LABEL_OBJECT) == "member"
             and lease_spec.state_of(o) == "locked"]
    assert sorted(locks) == sorted((m, o) for o, m in won.items())


def test_shrinking_refuses_a_held_member_unless_forced(pool_env, three):
    held = ensure_lease(pool_env.client(), pool_env.lease_params("s1", member=three[2]), now=utcnow)["member"]["id"]
    with pytest.raises(GhostError) as err:
        ensure_pool(pool_env.client(), pool_env.declare_params(three[:2]), now=utcnow)
    assert "removing member %s (locked, held by s1 since" % held in str(err.value)
    assert "set force=true to remove it anyway" in str(err.value)
    done = ensure_pool(pool_env.client(), pool_env.declare_params(three[:2], force=True), now=utcnow)
    assert done["changed"] and sorted(pool_env.member_leases()) == three[:2]
    assert spec.LABEL_POOL not in (pool_env.core.read_namespace(held).metadata.labels or {})
    gone = ensure_pool(pool_env.client(), {"name": pool_env.pool, "namespace": pool_env.namespace, "state": "absent"},
                       now=utcnow)
    assert gone["changed"]
    assert pool_env.leases.list_namespaced_lease(pool_env.namespace).items == []
    assert not ensure_pool(pool_env.client(), {"name": pool_env.pool, "namespace": pool_env.namespace,
                                               "state": "absent"}, now=utcnow)["changed"]
