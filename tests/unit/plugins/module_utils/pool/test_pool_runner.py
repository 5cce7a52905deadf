# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_pool_lease's runner against the in-memory API (compare-and-swap like the API server)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
import time

import pytest
from pool_fakes import FakePoolApi, declare_params, populate

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow


def lease(api, clock, owner, home, **given):
    params = {"pool": "cks", "namespace": "ghost-pools", "owner": owner, "state": "present", "wait": False,
              "wait_timeout": 5, "reset": "janitor", "member": None, "duration": None, "kubeconfig_dest": None}
    params.update(given)
    return ensure_lease(api, params, now=clock.now, sleep=clock.sleep, clock=clock.monotonic, home=str(home),
                        resetter=given.pop("resetter", None))


def states(api):
    return {lease_spec.member_id(m): (lease_spec.state_of(m), (m.get("spec") or {}).get("holderIdentity"))
            for m in api.read_pool("ghost-pools", "cks").members}


def test_acquire_then_same_owner_gets_the_same_member_unchanged(pool_api, clock, tmp_path):
    first = lease(pool_api, clock, "s1", tmp_path)
    assert first["changed"] and first["member"]["state"] == "locked" and first["member"]["holder"] == "s1"
    assert first["api_calls"] == 2 and first["conflicts"] == 0        # one list, one PUT
    clock.advance(100)
    again = lease(pool_api, clock, "s1", tmp_path)
    assert not again["changed"] and again["member"]["id"] == first["member"]["id"]
    assert again["member"]["renewed"] == "2025-01-01T12:01:40.000000Z"
    assert again["member"]["expires"] == "2025-01-01T14:01:40.000000Z"   # the pool's 2h from the renewal


def test_wait_false_fails_at_once_with_counts(pool_api, clock, tmp_path):
    for owner in ("s1", "s2", "s3"):
        lease(pool_api, clock, owner, tmp_path)
    with pytest.raises(GhostError) as err:
        lease(pool_api, clock, "s4", tmp_path)
    assert str(err.value) == "no member available in pool 'cks' (3 members: 3 locked)"


def test_unknown_pool_and_member_are_clear(pool_api, clock, tmp_path):
    with pytest.raises(GhostError, match="pool: Failed to find pool 'nope' in namespace 'ghost-pools'"):
        lease(pool_api, clock, "s1", tmp_path, pool="nope")
    with pytest.raises(GhostError, match=r"member: 'cluster9' is not a member of pool 'cks' \(members: cluster1, cluster2, cluster3\)"):
        lease(pool_api, clock, "s1", tmp_path, member="cluster9")
    with pytest.raises(GhostError, match="duration: '2 hours' is not a duration"):
        lease(pool_api, clock, "s1", tmp_path, duration="2 hours")


def test_specific_member_and_refusals_name_the_holder(pool_api, clock, tmp_path):
    lease(pool_api, clock, "s1", tmp_path, member="cluster2")
    with pytest.raises(GhostError) as err:
        lease(pool_api, clock, "s2", tmp_path, member="cluster2")
    assert str(err.value) == ("member cluster2 of pool 'cks' is not available: it is locked, held by s1 since "
                              "2025-01-01T12:00:00.000000Z (lease expires 2025-01-01T14:00:00.000000Z)")
    with pytest.raises(GhostError) as err:
        lease(pool_api, clock, "s2", tmp_path, member="cluster2", state="absent")
    assert "Failed to release member cluster2 of pool 'cks': it is held by s1 since 2025-01-01T12:00:00.000000Z" in str(err.value)
    with pytest.raises(GhostError, match="member: s1 already holds member cluster2 of pool 'cks'"):
        lease(pool_api, clock, "s1", tmp_path, member="cluster3")


def test_release_marks_dirty_and_a_second_release_changes_nothing(pool_api, clock, tmp_path):
    held = lease(pool_api, clock, "s1", tmp_path)["member"]["id"]
    released = lease(pool_api, clock, "s1", tmp_path, state="absent")
    assert released["changed"] and released["member"]["state"] == "dirty"
    assert states(pool_api)[held] == ("dirty", None)
    again = lease(pool_api, clock, "s1", tmp_path, state="absent")
    assert not again["changed"] and again["member"] is None


def test_inline_reset_runs_after_release(pool_api, clock, tmp_path):
    lease(pool_api, clock, "s1", tmp_path)
    seen = []

    def resetter(api, declaration, obj):
        seen.append((declaration["kind"], lease_spec.state_of(obj)))
        return api.replace(lease_spec.fail_reset(api.replace(lease_spec.start_reset(obj, "janitor:t", 60, clock.now())),
                                                 "janitor:t", "VM cp: disk gone", clock.now()))
    result = lease(pool_api, clock, "s1", tmp_path, state="absent", reset="inline", resetter=resetter)
    assert seen == [("kubevirt", "dirty")]
    assert result["member"]["state"] == "error" and result["member"]["error"] == "VM cp: disk gone"
    assert "its reset failed: VM cp: disk gone; the maintenance playbook retries it" in result["warnings"][0]


def test_check_mode_writes_nothing(pool_api, clock, tmp_path):
    before = dict(pool_api.calls)
    result = ensure_lease(pool_api, {"pool": "cks", "owner": "s1", "wait": True, "wait_timeout": 5, "state": "present"},
                          check_mode=True, now=clock.now, clock=clock.monotonic, sleep=clock.sleep, home=str(tmp_path))
    assert result["changed"] and result["member"]["state"] == "locked" and result["member"]["holder"] == "s1"
    assert all(v == "available" for v, unused in states(pool_api).values())
    assert pool_api.calls["replace"] == before.get("replace", 0)


def test_reclaimed_owner_is_told_not_handed_another_member(pool_api, clock, tmp_path):
    held = lease(pool_api, clock, "s1", tmp_path, duration="60")["member"]["id"]
    clock.advance(61)
    obj = [m for m in pool_api.read_pool("ghost-pools", "cks").members if lease_spec.member_id(m) == held][0]
    pool_api.replace(lease_spec.expire(obj, clock.now()))
    with pytest.raises(GhostError) as err:
        lease(pool_api, clock, "s1", tmp_path)
    assert ("the lease of s1 on member %s of pool 'cks' expired at 2025-01-01T12:01:00.000000Z (not renewed within its "
            "duration) and the member was reclaimed at 2025-01-01T12:01:01.000000Z" % held) in str(err.value)
    released = lease(pool_api, clock, "s1", tmp_path, state="absent")
    assert not released["changed"] and "its lease on member %s expired" % held in released["warnings"][0]
    assert lease(pool_api, clock, "s1", tmp_path)["changed"]     # acknowledged: may acquire again


def test_wait_times_out_and_leaves_the_queue(pool_api, clock, tmp_path):
    for owner in ("s1", "s2", "s3"):
        lease(pool_api, clock, owner, tmp_path)
    with pytest.raises(GhostError) as err:
        lease(pool_api, clock, "w1", tmp_path, wait=True, wait_timeout=25)
    assert str(err.value) == "no member available in pool 'cks' (3 members: 3 locked; 1 waiting) after waiting 25s"
    pool = pool_api.read_pool("ghost-pools", "cks")
    assert queue_spec.entries(pool.queue) == [] and pool.waiters == {}


def test_a_conflict_rereads_and_takes_another_member(pool_api, clock, tmp_path):
    stolen = []

    def steal(obj):
        # Another acquirer writes the same member between our read and our PUT, once.
        if not stolen and lease_spec.state_of(obj) == "locked":
            current = pool_api.get_lease("ghost-pools", obj["metadata"]["name"])
            pool_api.before_replace = None
            pool_api.replace(lease_spec.acquire(current, "thief", 60, clock.now()))
            stolen.append(lease_spec.member_id(obj))
    pool_api.before_replace = steal
    result = lease(pool_api, clock, "s1", tmp_path)
    assert result["conflicts"] == 1 and result["member"]["id"] != stolen[0]
    assert states(pool_api)[stolen[0]] == ("locked", "thief")


def race(api, owners, *, wait, hold=0.0, timeout=20):
    """Each owner acquires in its own thread (real time); returns {owner: result or error}."""
    results = {}
    barrier = threading.Barrier(len(owners))

    def run(owner):
        barrier.wait()
        try:
            results[owner] = ensure_lease(api, {"pool": "cks", "owner": owner, "wait": wait, "wait_timeout": timeout,
                                                "state": "present", "reset": "janitor"}, now=utcnow, home="/nonexistent")
        except GhostError as exc:
            results[owner] = exc
    threads = [threading.Thread(target=run, args=(o,)) for o in owners]
    for thread in threads:
        thread.start()
    return threads, results


@pytest.fixture
def live_api():
    api = FakePoolApi(None)
    populate(api)
    ensure_pool(api, declare_params(), now=utcnow)
    return api


def test_twenty_threads_three_members_never_double_assign(live_api):
    owners = ["s%02d" % i for i in range(20)]
    threads, results = race(live_api, owners, wait=False)
    for thread in threads:
        thread.join(30)
    won = {o: r["member"]["id"] for o, r in results.items() if isinstance(r, dict)}
    assert len(won) == 3 and len(set(won.values())) == 3
    lost = [r for r in results.values() if isinstance(r, GhostError)]
    assert len(lost) == 17 and all("no member available in pool 'cks'" in str(e) for e in lost)
    # Every stored version of every member: a lock only ever follows a free state.
    for name, versions in live_api.history.items():
        if ".member." in name:
            for before, after in zip(versions, versions[1:]):
                if lease_spec.state_of(after) == "locked" and lease_spec.state_of(before) == "locked":
                    assert before["spec"]["holderIdentity"] == after["spec"]["holderIdentity"], name


def test_waiters_are_served_in_queue_order(live_api):
    first = ["s1", "s2", "s3"]
    threads, results = race(live_api, first, wait=False)
    for thread in threads:
        thread.join(10)
    waiters = []
    for index in range(5):   # join the queue one after the other: a known arrival order
        owner = "w%d" % index
        more, out = race(live_api, [owner], wait=True, timeout=30)
        waiters.append((owner, more, out))
        deadline = time.time() + 5
        while owner not in [e["owner"] for e in queue_spec.entries(live_api.read_pool("ghost-pools", "cks").queue)]:
            assert time.time() < deadline, "%s never joined the queue" % owner
            time.sleep(0.02)
    served = []
    holders = list(first)
    for unused in range(5):
        owner = holders.pop(0)
        ensure_lease(live_api, {"pool": "cks", "owner": owner, "state": "absent", "reset": "janitor"}, now=utcnow)
        member = [m for m in live_api.read_pool("ghost-pools", "cks").members if lease_spec.state_of(m) == "dirty"][0]
        live_api.replace(lease_spec.finish_reset(live_api.replace(lease_spec.start_reset(member, "janitor:t", 60, utcnow())),
                                                 "janitor:t", utcnow()))
        deadline = time.time() + 10
        while True:
            done = [w for w, unused, out in waiters if w in out and w not in served]
            if done:
                served.extend(done)
                holders.extend(done)
                break
            assert time.time() < deadline, "nobody was served after a release"
            time.sleep(0.02)
    for _owner, more, _results in waiters:
        for thread in more:
            thread.join(10)
    assert served == ["w0", "w1", "w2", "w3", "w4"]
    pool = live_api.read_pool("ghost-pools", "cks")
    assert queue_spec.entries(pool.queue) == [] and pool.waiters == {}


def test_own_write_whose_reply_was_lost_counts_as_acquired(pool_api, clock, tmp_path):
    """The client retries a PUT whose reply was lost; the retry gets 409 because the first one landed."""
    put = pool_api.replace
    retried = []

    def replace(obj, *, verb="update"):
        stored = put(obj, verb=verb)
        if verb == "acquire" and not retried:
            retried.append(obj)
            return put(obj, verb=verb)     # the same body again: 409 now
        return stored
    pool_api.replace = replace
    result = lease(pool_api, clock, "s1", tmp_path)
    assert result["changed"] and result["conflicts"] == 1 and result["member"]["holder"] == "s1"
    assert [s for s, unused in states(pool_api).values()].count("locked") == 1
