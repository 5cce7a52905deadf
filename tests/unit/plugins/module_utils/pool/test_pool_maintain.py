# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The maintenance pass and the declaration against the in-memory API, with a scripted janitor."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from pool_fakes import declare_params

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.maintain_runner import maintain
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool, pool_info
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease


class ScriptedJanitor:
    """Resets succeed unless the member is in ``failing``; health as ``healthy`` says."""

    def __init__(self, api, clock):
        self.api = api
        self.clock = clock
        self.failing = set()
        self.healthy = {}
        self.resets = []

    def reset(self, declaration, obj, *, max_attempts=None):
        member = lease_spec.member_id(obj)
        self.resets.append(member)
        started = self.api.replace(lease_spec.start_reset(obj, "janitor:t", 600, self.clock.now(), max_attempts=max_attempts))
        if member in self.failing:
            return self.api.replace(lease_spec.fail_reset(started, "janitor:t", "restore failed", self.clock.now()))
        return self.api.replace(lease_spec.finish_reset(started, "janitor:t", self.clock.now()))

    def health(self, declaration, obj):
        return self.healthy.get(lease_spec.member_id(obj), (True, "fine"))


def run(api, janitor, clock, check_mode=False, **given):
    params = {"pool": "cks", "namespace": "ghost-pools", "reap": True, "reset": True, "retry_errors": True,
              "max_reset_attempts": None, "health_check": False, "parallel": 2}
    params.update(given)
    return maintain(api, janitor, params, check_mode=check_mode, now=clock.now)


def acquire(api, clock, owner, **given):
    params = {"pool": "cks", "owner": owner, "wait": False, "wait_timeout": 0, "state": "present", "reset": "janitor"}
    params.update(given)
    return ensure_lease(api, params, now=clock.now, clock=clock.monotonic, sleep=clock.sleep, home="/nonexistent")


def test_expired_lease_is_reclaimed_then_reset(pool_api, clock):
    janitor = ScriptedJanitor(pool_api, clock)
    held = acquire(pool_api, clock, "s1", duration="60")["member"]["id"]
    assert run(pool_api, janitor, clock)["actions"] == []          # not expired yet: nothing to do
    clock.advance(61)
    preview = run(pool_api, janitor, clock, check_mode=True)
    assert [a["action"] for a in preview["actions"]] == ["reclaimed"] and janitor.resets == []
    done = run(pool_api, janitor, clock)
    assert [(a["member"], a["action"]) for a in done["actions"]] == [(held, "reclaimed"), (held, "reset")]
    assert done["actions"][0]["holder"] == "s1" and done["stats"]["available"] == 3 and done["changed"]


def test_errors_are_retried_up_to_the_limit(pool_api, clock):
    janitor = ScriptedJanitor(pool_api, clock)
    held = acquire(pool_api, clock, "s1")["member"]["id"]
    ensure_lease(pool_api, {"pool": "cks", "owner": "s1", "state": "absent", "reset": "janitor"}, now=clock.now)
    janitor.failing.add(held)
    attempts = [run(pool_api, janitor, clock, max_reset_attempts=2)["actions"] for unused in range(3)]
    assert [[(a["action"], a.get("attempts")) for a in actions] for actions in attempts] == [
        [("reset-failed", 1)], [("reset-failed", 2)], [("given-up", 2)]]
    janitor.failing.clear()
    assert [a["action"] for a in run(pool_api, janitor, clock, max_reset_attempts=3)["actions"]] == ["reset"]


def test_unhealthy_available_member_becomes_error(pool_api, clock):
    janitor = ScriptedJanitor(pool_api, clock)
    janitor.healthy["cluster2"] = (False, "VM cluster2-cp is not ready (Stopped)")
    result = run(pool_api, janitor, clock, health_check=True, reset=False)
    assert result["changed"] and result["stats"]["error"] == 1
    view = [m for m in result["members"] if m["id"] == "cluster2"][0]
    assert view["error"] == "health check failed: VM cluster2-cp is not ready (Stopped)"


def test_dead_waiters_are_dropped(pool_api, clock):
    for owner in ("s1", "s2", "s3"):
        acquire(pool_api, clock, owner)
    with pytest.raises(GhostError):
        acquire(pool_api, clock, "w1", wait=True, wait_timeout=5)   # leaves the queue when it gives up
    pool = pool_api.read_pool("ghost-pools", "cks")
    queue = pool_api.replace(queue_spec.with_entries(pool.queue, [{"owner": "ghost", "since": "2025-01-01T11:00:00Z"}]))
    waiter = spec.lease_object("ghost-pools", spec.waiter_object_name("cks", "ghost"), spec.object_labels("cks", "waiter"), {},
                               {"holderIdentity": "ghost", "renewTime": "2025-01-01T11:00:00.000000Z", "leaseDurationSeconds": 30})
    pool_api.create(waiter)
    assert queue_spec.entries(queue)
    result = run(pool_api, ScriptedJanitor(pool_api, clock), clock)
    assert result["actions"] == [{"member": None, "action": "queue-cleaned", "dropped": ["ghost"]}]
    pool = pool_api.read_pool("ghost-pools", "cks")
    assert queue_spec.entries(pool.queue) == [] and pool.waiters == {}


def test_declaration_problems_are_listed_before_anything_is_written(fake_api, clock):
    fake_api.add_vm("cluster1", "cluster1-cp", snapshot="cp-snap", ready=False)
    with pytest.raises(GhostError) as err:
        ensure_pool(fake_api, declare_params(members=["cluster1"]), now=clock.now)
    assert str(err.value).startswith("Failed to declare pool 'cks': member cluster1: ")
    assert "member cluster1: snapshot cluster1/cp-snap is not ready to use (phase InProgress)" in str(err.value)
    assert "member cluster1: VirtualMachine cluster1/cluster1-wk not found" in str(err.value)
    assert fake_api.objects == {}


def test_info_reports_stats_members_and_queue(pool_api, clock):
    acquire(pool_api, clock, "s1", member="cluster1")
    info = pool_info(pool_api, {"pool": "cks", "namespace": "ghost-pools"}, now=clock.now)
    assert info["exists"] and info["stats"]["locked"] == 1 and info["stats"]["available"] == 2
    assert [m["id"] for m in info["members"]] == ["cluster1", "cluster2", "cluster3"]
    assert info["members"][0]["holder"] == "s1" and info["queue"] == []
    assert info["pool"]["duration"] == "2h" and info["pool"]["members"] == ["cluster1", "cluster2", "cluster3"]
    assert not pool_info(pool_api, {"pool": "other"}, now=clock.now)["exists"]


def test_declaring_again_changes_nothing_and_growing_adds_available_members(pool_api, clock):
    assert not ensure_pool(pool_api, declare_params(), now=clock.now)["changed"]
    pool_api.add_vm("cluster4", "cluster4-cp", snapshot="cp-snap")
    pool_api.add_vm("cluster4", "cluster4-wk", snapshot="wk-snap")
    pool_api.others[("VirtualMachineSnapshot", "cluster4", "wk-snap")]["spec"]["source"]["name"] = "cluster4-wk"
    grown = ensure_pool(pool_api, declare_params(members=4), now=clock.now)
    assert grown["changed"] and grown["pool"]["member_states"]["cluster4"] == "available"
    assert pool_api.namespaces["cluster4"]["ghost.infra/pool"] == "cks"
