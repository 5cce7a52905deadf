# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure pool rules: declaration checks, the lease state machine, expiry, stats, queue order."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.lease_spec import (
    AVAILABLE, DIRTY, ERROR, LOCKED, RESETTING,
)

NOW = datetime.datetime(2025, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def later(seconds):
    return NOW + datetime.timedelta(seconds=seconds)


def member(mid, state=AVAILABLE, holder=None, renewed=NOW, duration=60, rv="1", **annotations):
    ann = {lease_spec.A_STATE: state}
    ann.update(annotations)
    obj = spec.lease_object("ghost-pools", spec.member_object_name("p", mid), spec.object_labels("p", "member", mid), ann)
    obj["metadata"]["resourceVersion"] = rv
    if holder:
        obj["spec"] = {"holderIdentity": holder, "renewTime": lease_spec.format_micro(renewed),
                       "acquireTime": lease_spec.format_micro(renewed), "leaseDurationSeconds": duration}
    return obj


def waiter(owner, renewed=NOW, ttl=30):
    return {"metadata": {"name": spec.waiter_object_name("p", owner)},
            "spec": {"holderIdentity": owner, "renewTime": lease_spec.format_micro(renewed), "leaseDurationSeconds": ttl}}


# ---------------------------------------------------------------- declaration

def params(**given):
    out = {"name": "cks", "members": 3,
           "vms": [{"role": "control-plane", "name": "{member}-cp"}, {"role": "worker", "name": "{member}-wk"}]}
    out.update(given)
    return out


def test_members_count_becomes_cluster_ids():
    assert spec.validate_declaration(params())["members"] == ["cluster1", "cluster2", "cluster3"]
    assert spec.member_ids(["a", "b"]) == ["a", "b"]
    assert spec.member_ids("2", prefix="lab") == ["lab1", "lab2"]


@pytest.mark.parametrize("members, message", [
    (0, "members: must be between 1 and 100"),
    (101, "members: must be between 1 and 100"),
    (["a", "a"], "members: member ids must be unique: a given more than once"),
    (["Not_Valid"], "members: 'Not_Valid' is not a valid member id"),
    ([], "members: give a number of members or a non-empty list"),
    (True, "members: give a number of members"),
])
def test_bad_members_name_the_option(members, message):
    with pytest.raises(GhostError) as err:
        spec.validate_declaration(params(members=members))
    assert str(err.value).startswith(message)


def test_declaration_defaults_and_snapshots():
    decl = spec.validate_declaration(params())
    assert decl["snapshots"] == {"control-plane": "cp-snap", "worker": "wk-snap"}
    assert decl["namespace"] == "ghost-pools" and decl["templates_namespace"] == "vm-templates"
    assert decl["duration"] == 7200 and decl["max_reset_attempts"] == 3 and decl["reset_timeout"] == 600
    assert spec.member_vm_names(decl, "cluster2") == [
        {"role": "control-plane", "name": "cluster2-cp", "snapshot": "cp-snap"},
        {"role": "worker", "name": "cluster2-wk", "snapshot": "wk-snap"}]


@pytest.mark.parametrize("given, message", [
    ({"kind": "xen"}, "kind: 'xen' is not one of kubevirt, vcluster"),
    ({"vms": [{"role": "boss", "name": "x"}]}, "vms[0].role: 'boss' is not a role"),
    ({"vms": [{"role": "worker", "name": "{member}_WK"}]}, "vms[0].name: "),
    ({"vms": [{"role": "worker", "name": "a"}, {"role": "worker", "name": "b"}]}, "vms: each role at most once"),
    ({"vms": [], "vm_selector": None}, "vms: a kubevirt pool needs its member VMs"),
    ({"vm_selector": {"worker": "app=wk"}}, "vms: give either vms or vm_selector, not both"),
    ({"snapshots": {"worker": "x" * 64}}, "snapshots.worker: "),
    ({"duration": "2 hours"}, "duration: '2 hours' is not a duration"),
    ({"duration": 5}, "duration: 5 is out of range"),
    ({"labels": {"ghost.infra/pool": "x"}}, "labels: ghost.infra/pool is set by the module"),
    ({"labels": {"cks.io/cluster-pool": "not valid!"}}, "labels: 'not valid!' is not a valid value"),
    ({"name": "Pool"}, "name: 'Pool' is not a valid pool name"),
    ({"members": ["ghost-pools"]}, "members: the pool's namespace 'ghost-pools' cannot also be a member"),
    ({"vcluster": {"values": {}}}, "vcluster: only a vcluster pool takes vcluster options"),
])
def test_bad_declarations_name_the_option(given, message):
    with pytest.raises(GhostError) as err:
        spec.validate_declaration(params(**given))
    assert str(err.value).startswith(message)


def test_vcluster_pool_has_no_vms_and_a_published_kubeconfig():
    decl = spec.validate_declaration({"name": "vc", "kind": "vcluster", "members": ["vc1"],
                                      "vcluster": {"server": "https://127.0.0.1:16444"}})
    assert decl["vms"] == [] and decl["snapshots"] == {}
    assert spec.member_record(decl, "vc1", []) == {
        "namespace": "vc1", "vms": [], "vcluster": "vc1", "kubeconfig": {"name": "vc-vc1", "key": "config"}}
    with pytest.raises(GhostError, match="vms: a vcluster pool has no VMs"):
        spec.validate_declaration({"name": "vc", "kind": "vcluster", "members": 1, "vms": [{"role": "worker", "name": "w"}]})
    with pytest.raises(GhostError, match="vcluster: 'bogus' is not a vcluster option"):
        spec.validate_declaration({"name": "vc", "kind": "vcluster", "members": 1, "vcluster": {"bogus": 1}})


def test_vm_selector_must_match_exactly_one():
    decl = spec.validate_declaration(params(vms=None, vm_selector={"control-plane": "role=cp", "worker": "role=wk"}))
    assert spec.select_vms(decl, "c1", {"control-plane": ["vm-x7"], "worker": ["vm-q2"]}) == [
        {"role": "control-plane", "name": "vm-x7", "snapshot": "cp-snap"},
        {"role": "worker", "name": "vm-q2", "snapshot": "wk-snap"}]
    with pytest.raises(GhostError, match="member c1: vm_selector worker 'role=wk' matches VirtualMachines a, b"):
        spec.select_vms(decl, "c1", {"control-plane": ["x"], "worker": ["b", "a"]})
    with pytest.raises(GhostError, match="matches no VirtualMachine in namespace c1"):
        spec.select_vms(decl, "c1", {"control-plane": ["x"]})


def test_object_names_and_selectors():
    assert spec.member_object_name("cks", "cluster1") == "cks.member.cluster1"
    assert spec.queue_object_name("cks") == "cks.queue"
    assert spec.waiter_object_name("cks", "s1") == spec.waiter_object_name("cks", "s1") != spec.waiter_object_name("cks", "s2")
    assert spec.pool_selector("cks", "member") == "ghost.infra/pool=cks,ghost.infra/object=member"


@pytest.mark.parametrize("value, seconds", [(300, 300), ("300", 300), ("30m", 1800), ("2h", 7200), ("1d12h", 129600)])
def test_durations(value, seconds):
    assert spec.parse_duration(value, "duration") == seconds
    assert spec.parse_duration(spec.format_duration(seconds), "duration") == seconds


def test_owner_checks():
    assert spec.validate_owner("session-4711") == "session-4711"
    for bad in ("", " x", "x" * 129, "a\nb", None):
        with pytest.raises(GhostError, match="owner: "):
            spec.validate_owner(bad)


# ---------------------------------------------------------------- state machine

def test_acquire_renew_release_cycle():
    obj = member("c1")
    locked = lease_spec.acquire(obj, "s1", 120, NOW)
    view = lease_spec.member_view(locked, NOW)
    assert (view["state"], view["holder"], view["transitions"]) == (LOCKED, "s1", 1)
    assert view["expires"] == "2025-01-01T12:02:00.000000Z" and not view["expired"]
    assert locked["metadata"]["resourceVersion"] == "1"   # the PUT carries what was read
    renewed = lease_spec.renew(locked, "s1", None, later(100))
    assert lease_spec.member_view(renewed, later(200))["expired"] is False
    assert lease_spec.member_view(renewed, later(220))["expired"] is True
    assert renewed["spec"]["acquireTime"] == locked["spec"]["acquireTime"]
    dirty = lease_spec.release(renewed, "s1", later(150))
    assert lease_spec.state_of(dirty) == DIRTY and "holderIdentity" not in dirty["spec"]
    assert [h["event"] for h in lease_spec.history(dirty)] == ["acquire", "release"]


def test_illegal_transitions_are_refused():
    locked = lease_spec.acquire(member("c1"), "s1", 60, NOW)
    with pytest.raises(GhostError, match="cannot acquire member c1: it is locked"):
        lease_spec.acquire(locked, "s2", 60, NOW)
    with pytest.raises(GhostError, match="cannot release member c1: s2 does not hold it"):
        lease_spec.release(locked, "s2", NOW)
    with pytest.raises(GhostError, match="cannot renew the lease on member c1: s2 does not hold it"):
        lease_spec.renew(locked, "s2", 60, NOW)
    with pytest.raises(GhostError, match="cannot reclaim member c1: its lease has not expired"):
        lease_spec.expire(locked, later(30))
    with pytest.raises(GhostError, match="cannot reset member c1: it is locked"):
        lease_spec.start_reset(locked, "janitor:x", 600, NOW)


def test_expiry_reclaims_and_records_the_owner():
    locked = lease_spec.acquire(member("c1"), "s1", 60, NOW)
    dirty = lease_spec.expire(locked, later(61))
    view = lease_spec.member_view(dirty, later(61))
    assert view["state"] == DIRTY and view["holder"] is None
    assert view["reclaimed"] == {"owner": "s1", "acquired": "2025-01-01T12:00:00.000000Z",
                                 "expired": "2025-01-01T12:01:00.000000Z", "reclaimed": "2025-01-01T12:01:01.000000Z"}
    assert lease_spec.reclaimed_from([dirty], "s1") is dirty
    assert lease_spec.reclaimed_from([lease_spec.forget_reclaimed(dirty, later(70))], "s1") is None


def test_reset_success_failure_and_attempt_limit():
    dirty = lease_spec.release(lease_spec.acquire(member("c1"), "s1", 60, NOW), "s1", NOW)
    resetting = lease_spec.start_reset(dirty, "janitor:a", 600, NOW)
    assert lease_spec.member_view(resetting, NOW)["janitor"] == "janitor:a"
    with pytest.raises(GhostError, match="janitor:b is not resetting it"):
        lease_spec.finish_reset(resetting, "janitor:b", NOW)
    failed = lease_spec.fail_reset(resetting, "janitor:a", "VM cp: disk gone", later(5))
    view = lease_spec.member_view(failed, later(5))
    assert (view["state"], view["error"], view["reset_attempts"]) == (ERROR, "VM cp: disk gone", 1)
    again = lease_spec.fail_reset(lease_spec.start_reset(failed, "janitor:b", 600, NOW), "janitor:b", "still", NOW)
    assert lease_spec.member_view(again, NOW)["reset_attempts"] == 2
    with pytest.raises(GhostError, match="its reset failed 2 times"):
        lease_spec.start_reset(again, "janitor:c", 600, NOW, max_attempts=2)
    done = lease_spec.finish_reset(lease_spec.start_reset(again, "janitor:c", 600, NOW, max_attempts=3), "janitor:c", later(9))
    view = lease_spec.member_view(done, later(9))
    assert (view["state"], view["error"], view["reset_attempts"], view["last_reset"]) == (
        AVAILABLE, None, 0, "2025-01-01T12:00:09.000000Z")


def test_a_janitor_that_stopped_is_taken_over_after_its_timeout():
    resetting = lease_spec.start_reset(member("c1", DIRTY), "janitor:a", 600, NOW)
    with pytest.raises(GhostError, match="its reset has not timed out"):
        lease_spec.expire_reset(resetting, later(599))
    failed = lease_spec.expire_reset(resetting, later(601))
    assert lease_spec.member_view(failed, later(601))["error"] == (
        "the reset by janitor:a did not finish before 2025-01-01T12:10:00.000000Z")


def test_health_check_records_or_fails():
    ok = lease_spec.record_health(member("c1"), True, "cp Running", NOW)
    assert lease_spec.state_of(ok) == AVAILABLE
    assert lease_spec.member_view(ok, NOW)["last_health_check"] == {"at": "2025-01-01T12:00:00.000000Z", "healthy": True,
                                                                    "detail": "cp Running"}
    bad = lease_spec.record_health(member("c1"), False, "VM cp is not ready", NOW)
    assert lease_spec.member_view(bad, NOW)["error"] == "health check failed: VM cp is not ready"


def test_history_is_bounded():
    obj = member("c1")
    for i in range(lease_spec.HISTORY_MAX + 5):
        obj = lease_spec.release(lease_spec.acquire(obj, "s%d" % i, 60, NOW), "s%d" % i, NOW)
        obj["metadata"]["annotations"][lease_spec.A_STATE] = AVAILABLE
    assert len(lease_spec.history(obj)) == lease_spec.HISTORY_MAX


def test_stats_and_their_description():
    members = [member("a"), member("b", LOCKED, "s1"), member("c", LOCKED, "s2", renewed=NOW - datetime.timedelta(hours=1)),
               member("d", RESETTING, "janitor:x"), member("e", ERROR)]
    counts = lease_spec.stats(members, 4, NOW)
    assert counts == {"total": 5, "available": 1, "locked": 2, "dirty": 0, "resetting": 1, "error": 1, "expired": 1,
                      "waiting": 4}
    assert lease_spec.describe_stats(counts) == "5 members: 1 available, 2 locked, 1 resetting, 1 error; 4 waiting"


def test_times_parse_both_precisions():
    assert lease_spec.parse_time("2025-01-01T12:00:00Z") == NOW
    assert lease_spec.parse_time("2025-01-01T12:00:00.000000Z") == NOW
    assert lease_spec.parse_time("garbage") is None


# ---------------------------------------------------------------- queue

def test_newcomer_takes_a_free_member_when_nobody_waits():
    members = [member("a", LOCKED, "s0"), member("b"), member("c")]
    pick = queue_spec.pick(members, [], {}, owner="s1", now=NOW)
    assert pick.member in ("b", "c") and pick.ahead == 0 and not pick.queued


def test_newcomers_spread_over_free_members():
    members = [member(m) for m in "abcdefgh"]
    picks = {queue_spec.pick(members, [], {}, owner="s%d" % i, now=NOW).member for i in range(20)}
    assert len(picks) > 3


def test_waiters_are_served_first_in_arrival_order():
    members = [member("a"), member("b", LOCKED, "s0")]
    queue = [{"owner": "w1", "since": "x", "member": None}, {"owner": "w2", "since": "y", "member": None}]
    waiters = {"w1": waiter("w1"), "w2": waiter("w2")}
    assert queue_spec.pick(members, queue, waiters, owner="w1", now=NOW) == (("a", 0, True))
    assert queue_spec.pick(members, queue, waiters, owner="w2", now=NOW) == ((None, 1, True))
    # A newcomer does not overtake the waiters: it comes after both.
    assert queue_spec.pick(members, queue, waiters, owner="s9", now=NOW) == ((None, 2, False))


def test_dead_and_served_waiters_hold_nobody_up():
    members = [member("a"), member("b", LOCKED, "w2")]
    queue = [{"owner": "w1", "member": None}, {"owner": "w2", "member": None}, {"owner": "w3", "member": None}]
    waiters = {"w1": waiter("w1", renewed=NOW - datetime.timedelta(seconds=31)), "w2": waiter("w2"), "w3": waiter("w3")}
    # w1's heartbeat expired, w2 holds b already: w3 is first.
    assert queue_spec.pick(members, queue, waiters, owner="w3", now=NOW) == (("a", 0, True))
    assert [e["owner"] for e in queue_spec.live(queue, waiters, members, NOW)] == ["w3"]


def test_a_specific_request_waits_for_its_member_without_blocking_others():
    members = [member("a", LOCKED, "s0"), member("b")]
    queue = [{"owner": "w1", "member": "a"}, {"owner": "w2", "member": None}]
    waiters = {"w1": waiter("w1"), "w2": waiter("w2")}
    assert queue_spec.pick(members, queue, waiters, owner="w1", now=NOW).member is None
    assert queue_spec.pick(members, queue, waiters, owner="w2", now=NOW).member == "b"


def test_any_request_leaves_a_named_member_to_whoever_asked_for_it():
    members = [member("a"), member("b")]
    queue = [{"owner": "w1", "member": None}, {"owner": "w2", "member": "a"}]
    waiters = {"w1": waiter("w1"), "w2": waiter("w2")}
    assert queue_spec.pick(members, queue, waiters, owner="w1", now=NOW).member == "b"
    assert queue_spec.pick(members, queue, waiters, owner="w2", now=NOW).member == "a"


def test_a_waiter_wakes_when_enough_members_came_free():
    members = [member("a"), member("b", LOCKED, "s0"), member("c", LOCKED, "s1")]
    assert queue_spec.wakeups_needed(queue_spec.Pick(None, 0, True), members) == 1
    assert queue_spec.wakeups_needed(queue_spec.Pick(None, 4, True), members) == 4   # 4 ahead, 1 free owed to them
    assert queue_spec.wakeups_needed(queue_spec.Pick(None, 1, True), members) == 1


def test_join_and_leave_keep_order():
    queue = queue_spec.join([], "w1", None, NOW)
    queue = queue_spec.join(queue, "w2", "a", NOW)
    queue = queue_spec.join(queue, "w1", "b", NOW)      # re-join keeps the place
    assert [(e["owner"], e["member"]) for e in queue] == [("w1", "b"), ("w2", "a")]
    assert [e["owner"] for e in queue_spec.leave(queue, "w1", lambda e: True)] == ["w2"]
    assert queue_spec.leave(queue, "nobody", lambda e: e["owner"] != "w2") == [queue[0]]
    obj = queue_spec.with_entries(spec.lease_object("ns", "p.queue", {}, {}), queue)
    assert queue_spec.entries(obj) == queue
