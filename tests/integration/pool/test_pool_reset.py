# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Resets of kubevirt members on the KubeVirt stand-in, and the maintenance pass.

Release -> reset from the golden snapshots -> available; a restore the stand-in fails -> error
with the reason, retried by maintenance a bounded number of times; a holder SIGKILLed mid-run
stops renewing and the maintenance playbook reclaims, resets and frees its member.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import signal
import time

import pytest
from pool_helpers import wait_until

from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.maintain_runner import maintain
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool, pool_info
from ansible_collections.ghost.infra.plugins.module_utils._pool.reset import Janitor
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow

pytestmark = pytest.mark.timeout(900)

FAIL_RESTORES = "standin.ghost.infra/fail-restores"
SESSION = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ghost.infra.cluster_pool_lease:
        pool: "{{ pool }}"
        namespace: "{{ namespace }}"
        owner: doomed
        duration: 30
        wait: false
    - ansible.builtin.pause:
        seconds: 600
"""


def janitor_release(env, owner):
    api = env.client()
    janitor = Janitor(api, now=utcnow)

    def reset(api, declaration, obj):
        return janitor.reset(declaration, obj)
    return ensure_lease(api, env.lease_params(owner, state="absent", reset="inline"), now=utcnow, resetter=reset)


def maintenance(env, **given):
    api = env.client()
    params = {"pool": env.pool, "namespace": env.namespace, "reap": True, "reset": True, "retry_errors": True,
              "max_reset_attempts": None, "health_check": False, "parallel": 4}
    params.update(given)
    return maintain(api, Janitor(api, now=utcnow), params, now=utcnow)


@pytest.fixture
def one(pool_env):
    member = pool_env.member(1)
    pool_env.kubevirt_member(member)
    ensure_pool(pool_env.client(), pool_env.declare_params([member], max_reset_attempts=2), now=utcnow)
    return member


def drift(env, member):
    """What a session does to its cluster: change the VMs' spec (the reset must undo it)."""
    for vm in ("cp", "wk"):
        env.custom.patch_namespaced_custom_object("kubevirt.io", "v1", member, "virtualmachines", "%s-%s" % (member, vm),
                                                  {"spec": {"template": {"spec": {"domain": {"cpu": {"cores": 4}}}}}})


def cores(env, member, vm):
    return env.vm(member, "%s-%s" % (member, vm))["spec"]["template"]["spec"]["domain"]["cpu"]["cores"]


def test_release_resets_from_snapshots_and_frees(pool_env, one):
    ensure_lease(pool_env.client(), pool_env.lease_params("s1"), now=utcnow)
    drift(pool_env, one)
    started = time.monotonic()
    result = janitor_release(pool_env, "s1")
    elapsed = time.monotonic() - started
    member = result["member"]
    assert member["state"] == "available", member
    assert member["last_reset"] and member["error"] is None and member["reset_attempts"] == 0
    assert cores(pool_env, one, "cp") == 1 and cores(pool_env, one, "wk") == 1
    assert all((pool_env.vm(one, "%s-%s" % (one, vm)).get("status") or {}).get("ready") for vm in ("cp", "wk"))
    events = [h["event"] for h in lease_spec.history(pool_env.client().get_lease(pool_env.namespace, "%s.member.%s" % (
        pool_env.pool, one)))]
    assert events[-4:] == ["acquire", "release", "reset-start", "reset-done"]
    print("inline reset of 2 VMs: %.1fs" % elapsed)


def test_failed_restore_is_an_error_with_its_reason_and_maintenance_retries(pool_env, one):
    ensure_lease(pool_env.client(), pool_env.lease_params("s1"), now=utcnow)
    pool_env.annotate_vm(one, "%s-wk" % one, {FAIL_RESTORES: "injected: disk gone"})
    result = janitor_release(pool_env, "s1")
    member = result["member"]
    assert member["state"] == "error" and member["reset_attempts"] == 1
    assert re.search(r"VM %s-wk: Failed to restore VirtualMachineRestore '%s/%s-wk-wk-snap': the restore failed "
                     r"\(.*injected: disk gone" % (one, one, one), member["error"]), member["error"]
    assert "its reset failed" in result["warnings"][0]
    # Nobody gets a broken cluster.
    with pytest.raises(Exception, match="no member available"):
        ensure_lease(pool_env.client(), pool_env.lease_params("s2"), now=utcnow)
    again = maintenance(pool_env)
    assert [(a["action"], a["attempts"]) for a in again["actions"]] == [("reset-failed", 2)]
    limit = maintenance(pool_env)
    assert [a["action"] for a in limit["actions"]] == ["given-up"] and not limit["changed"]
    pool_env.annotate_vm(one, "%s-wk" % one, {FAIL_RESTORES: None})
    fixed = maintenance(pool_env, max_reset_attempts=3)
    assert [(a["action"], a["state"]) for a in fixed["actions"]] == [("reset", "available")]
    assert fixed["stats"]["available"] == 1 and fixed["stats"]["error"] == 0
    assert ensure_lease(pool_env.client(), pool_env.lease_params("s2"), now=utcnow)["member"]["id"] == one


def test_health_check_catches_a_vm_that_stopped_and_the_reset_starts_it(pool_env, one):
    ok = maintenance(pool_env, health_check=True)
    assert [(a["action"], a["healthy"]) for a in ok["actions"]] == [("health-checked", True)] and not ok["changed"]
    assert ok["actions"][0]["detail"] == "%s-cp Running, %s-wk Running" % (one, one)
    pool_env.custom.patch_namespaced_custom_object("kubevirt.io", "v1", one, "virtualmachines", "%s-cp" % one,
                                                   {"spec": {"runStrategy": "Halted"}})
    wait_until("the VM to stop", lambda: not (pool_env.vm(one, "%s-cp" % one).get("status") or {}).get("ready"))
    bad = maintenance(pool_env, health_check=True, reset=False)
    assert bad["changed"] and bad["actions"][0]["healthy"] is False
    assert bad["actions"][0]["detail"] == "VirtualMachine %s/%s-cp is not ready (Stopped)" % (one, one)
    info = pool_info(pool_env.client(), {"pool": pool_env.pool, "namespace": pool_env.namespace}, now=utcnow)
    assert info["members"][0]["state"] == "error" and info["members"][0]["error"] == (
        "health check failed: VirtualMachine %s/%s-cp is not ready (Stopped)" % (one, one))
    fixed = maintenance(pool_env)
    assert [(a["action"], a["state"]) for a in fixed["actions"]] == [("reset", "available")]
    assert (pool_env.vm(one, "%s-cp" % one).get("status") or {}).get("ready")


def test_sigkilled_holder_is_reclaimed_after_its_duration(pool_env, one):
    """A session playbook acquires with a 30 s lease, works (a pause), and is killed with SIGKILL mid-run."""
    session = pool_env.tmp / "session.yml"
    session.write_text(SESSION)
    holder = pool_env.start_playbook(str(session), {"pool": pool_env.pool, "namespace": pool_env.namespace})
    wait_until("the holder to acquire", lambda: pool_env.member_leases()[one].spec.holder_identity == "doomed", timeout=120)
    assert holder.poll() is None, "the session ended before it was killed"
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(30)
    maintain_vars = {"cluster_pool_name": pool_env.pool, "cluster_pool_namespace": pool_env.namespace}
    early = pool_env.playbook("cluster_pool_maintain.yml", maintain_vars)
    assert pool_env.member_leases()[one].spec.holder_identity == "doomed", early.stdout[-2000:]   # not yet expired
    wait_until("the lease to expire", lambda: lease_spec.is_expired(
        pool_env.client().get_lease(pool_env.namespace, "%s.member.%s" % (pool_env.pool, one)), utcnow()), timeout=60)
    late = pool_env.playbook("cluster_pool_maintain.yml", maintain_vars)
    assert "%s: reclaimed holder=doomed" % one in late.stdout, late.stdout[-3000:]
    assert "%s: reset state=available attempts=0" % one in late.stdout, late.stdout[-3000:]
    assert "1 available, 0 locked" in late.stdout, late.stdout[-3000:]
    lease = pool_env.member_leases()[one]
    record = json.loads(lease.metadata.annotations["ghost.infra/reclaimed"])
    assert record["owner"] == "doomed" and lease.spec.holder_identity is None
    assert [h["event"] for h in lease_spec.history(pool_env.client().get_lease(
        pool_env.namespace, "%s.member.%s" % (pool_env.pool, one)))][-4:] == ["acquire", "expire", "reset-start", "reset-done"]
    # The killed session, back, is told what happened instead of getting another cluster.
    back = pool_env.playbook("cluster_pool_acquire.yml", {
        "cluster_pool_name": pool_env.pool, "cluster_pool_namespace": pool_env.namespace, "cluster_pool_owner": "doomed",
        "cluster_pool_wait": False}, check=False)
    assert back.returncode != 0 and "the lease of doomed on member %s" % one in back.stdout, back.stdout[-3000:]
