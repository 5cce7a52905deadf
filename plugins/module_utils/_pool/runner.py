# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What cluster_pool_lease does: acquire, renew and release a member. Private to ghost.infra.

Takes the pool API (``client.PoolClient``, a fake in unit tests) and the checked options, never
the module. Acquire is Boskos's loop with the queue in the cluster:

1. read the whole pool in one list call;
2. the owner already holds a member: renew it (``changed=false``);
3. ``queue_spec.pick`` says which member the owner may take (none while earlier waiters are
   owed the free ones); PUT it as locked with the resourceVersion just read;
4. 409: another acquirer won that write; go back to 1 and pick again;
5. nothing to take: fail at once (``wait=false``), or join the queue (a heartbeat Lease plus a
   compare-and-swap append to the queue object) and block on a watch of the members until one
   changes, renewing the heartbeat, then go back to 1.

Release is owner-checked (the holder, and since when, is named in a refusal) and marks the
member dirty; ``reset=inline`` then resets it (``reset.py``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import random
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import kubeconfig, lease_spec, phases, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict

MAX_CONFLICTS = 50   # lost writes in a row before a run without wait gives up


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def validate_lease_params(params):
    """The cluster_pool_lease options, checked; GhostError names the option at fault."""
    options = dict(params)
    options["pool"] = spec.validate_pool_name(params.get("pool"), "pool")
    options["namespace"] = spec.validate_label(params.get("namespace") or spec.DEFAULT_NAMESPACE, "namespace",
                                               "namespace")
    options["owner"] = spec.validate_owner(params.get("owner"))
    if params.get("member") is not None:
        spec.validate_label(params["member"], "member", "member id")
    options["duration"] = (spec.parse_duration(params["duration"], "duration", minimum=10)
                           if params.get("duration") not in (None, "") else None)
    timeout = params.get("wait_timeout")
    if timeout is None:
        timeout = options["wait_timeout"] = 300
    if timeout < 0:
        raise GhostError("must be 0 or more seconds, got %s" % timeout, option="wait_timeout")
    return options


def _timing(run):
    return {"waited": round(run.waited, 3), "conflicts": run.conflicts,
            "api_calls": sum(run.api.calls.values()) - run.calls_before}


class LeaseRun:
    """One cluster_pool_lease run: the options, the API, the clocks and what happened so far."""

    def __init__(self, api, options, *, check_mode, now, sleep, clock, home, resetter):
        self.api = api
        self.options = options
        self.ns = options["namespace"]
        self.pool = options["pool"]
        self.owner = options["owner"]
        self.check_mode = check_mode
        self.now = now
        self.sleep = sleep
        self.clock = clock
        self.home = home
        self.resetter = resetter
        self.conflicts = 0
        self.waited = 0.0
        self.joined = False
        self.last_heartbeat = None
        self.attempted = None   # acquireTime of our last acquire write, to recognise it when its reply is lost
        self.warnings = []
        self.calls_before = sum(api.calls.values())

    # ------------------------------------------------------------ reading

    def read(self):
        pool = self.api.read_pool(self.ns, self.pool)
        if pool.declaration is None:
            raise GhostError("Failed to find pool '%s' in namespace '%s': declare it with ghost.infra.cluster_pool "
                             "first" % (self.pool, self.ns), option="pool")
        member = self.options.get("member")
        if member and member not in [lease_spec.member_id(m) for m in pool.members]:
            raise GhostError("'%s' is not a member of pool '%s' (members: %s)" % (
                member, self.pool, ", ".join(lease_spec.member_id(m) for m in pool.members) or "none"), option="member")
        return pool

    def duration(self, pool):
        if self.options.get("duration"):
            return self.options["duration"]
        declared = spec.loads(((pool.declaration.get("metadata") or {}).get("annotations") or {}).get(
            spec.ANNOTATION_POOL), {})
        return declared.get("duration") or 7200

    def declaration(self, pool):
        return spec.loads(((pool.declaration.get("metadata") or {}).get("annotations") or {}).get(spec.ANNOTATION_POOL), {})

    def member_obj(self, pool, member):
        for obj in pool.members:
            if lease_spec.member_id(obj) == member:
                return obj
        return None

    def unavailable(self, pool, pick):
        waiting = queue_spec.live(queue_spec.entries(pool.queue), pool.waiters, pool.members, self.now())
        counts = lease_spec.stats(pool.members, len(waiting), self.now())
        wanted = self.options.get("member")
        if wanted:
            obj = self.member_obj(pool, wanted)
            state = lease_spec.state_of(obj)
            why = "it is %s" % state + (", held by %s" % lease_spec.describe_holder(obj) if state == lease_spec.LOCKED else "")
            return "member %s of pool '%s' is not available: %s" % (wanted, self.pool, why)
        ahead = " and %d acquirer%s queued before" % (pick.ahead, "" if pick.ahead == 1 else "s") if pick.ahead else ""
        return "no member available in pool '%s' (%s)%s" % (self.pool, lease_spec.describe_stats(counts), ahead)

    # ------------------------------------------------------------ acquire

    def acquire(self):
        deadline = self.clock() + (self.options["wait_timeout"] if self.options.get("wait") else 0)
        started = self.clock()
        while True:
            pool = self.read()
            held = lease_spec.holding(pool.members, self.owner)
            if held is not None and (held.get("spec") or {}).get("acquireTime") == self.attempted:
                # Our own write landed though its reply was lost (the client retried and got 409).
                self.waited = self.clock() - started
                self.leave_queue(pool)
                return self.result(True, held, pool)
            if held is not None:
                return self.renew(pool, held)
            self.refuse_reclaimed(pool)
            pick = queue_spec.pick(pool.members, queue_spec.entries(pool.queue), pool.waiters, owner=self.owner,
                                   member=self.options.get("member"), now=self.now())
            if pick.member:
                if self.check_mode:
                    return self.result(True, self.member_obj(pool, pick.member), pool, would="acquire")
                wanted = lease_spec.acquire(self.member_obj(pool, pick.member), self.owner, self.duration(pool), self.now())
                self.attempted = wanted["spec"]["acquireTime"]
                try:
                    obj = self.api.replace(wanted, verb="acquire")
                except Conflict:
                    self.lost_race(pool)
                    continue
                except GhostError as exc:
                    raise GhostError("%s. Whether the write reached the API server is unknown; run again: an owner "
                                     "that holds a member gets that same member back, never a second one" % exc,
                                     details=_timing(self))
                self.waited = self.clock() - started
                self.leave_queue(pool)
                return self.result(True, obj, pool)
            if self.check_mode:
                self.warnings.append("%s; a real run would %s" % (
                    self.unavailable(pool, pick), "wait for one" if self.options.get("wait") else "fail"))
                return self.result(True, None, pool)
            if not self.options.get("wait"):
                raise GhostError(self.unavailable(pool, pick), details=_timing(self))
            if self.clock() >= deadline:
                self.leave_queue(pool)
                raise GhostError("%s after waiting %ds" % (self.unavailable(pool, pick), self.options["wait_timeout"]),
                                 details=_timing(self))
            if not self.joined:
                self.join_queue(pool)
                continue
            self.heartbeat(pool)
            self.api.wait_for_member_change(self.ns, self.pool, pool.resource_version,
                                            min(deadline - self.clock(), queue_spec.WAITER_RENEW),
                                            wanted=lambda obj: lease_spec.state_of(obj) == lease_spec.AVAILABLE,
                                            count=queue_spec.wakeups_needed(pick, pool.members))

    def lost_race(self, pool):
        """Another acquirer wrote the member first: read again (with a few ms of jitter when it keeps happening)."""
        self.conflicts += 1
        if not self.options.get("wait") and self.conflicts >= MAX_CONFLICTS:
            raise GhostError("Failed to acquire a member of pool '%s': lost %d races for a member in a row" % (
                self.pool, self.conflicts))
        if self.conflicts > 3:
            self.sleep(random.uniform(0, 0.01 * min(self.conflicts, 10)))

    def refuse_reclaimed(self, pool):
        """The owner's lease was reclaimed (not renewed in time): say so instead of handing out another member."""
        obj = lease_spec.reclaimed_from(pool.members, self.owner)
        if obj is None:
            return
        record = lease_spec.member_view(obj, self.now())["reclaimed"]
        raise GhostError(
            "the lease of %s on member %s of pool '%s' expired at %s (not renewed within its duration) and the member "
            "was reclaimed at %s and reset%s; whatever the session kept on it is gone. Release it (state=absent) to "
            "acknowledge, then acquire again" % (
                self.owner, lease_spec.member_id(obj), self.pool, record.get("expired"), record.get("reclaimed"),
                "; it is now held by %s" % lease_spec.describe_holder(obj)
                if lease_spec.state_of(obj) == lease_spec.LOCKED else ""))

    def renew(self, pool, held):
        wanted = self.options.get("member")
        if wanted and wanted != lease_spec.member_id(held):
            raise GhostError("%s already holds member %s of pool '%s'; release it before asking for %s" % (
                self.owner, lease_spec.member_id(held), self.pool, wanted), option="member")
        if self.check_mode:
            return self.result(False, held, pool)
        while True:
            try:
                obj = self.api.replace(lease_spec.renew(held, self.owner, self.options.get("duration"), self.now()),
                                       verb="renew the lease on")
                break
            except Conflict:
                self.conflicts += 1
                held = self.api.get_lease(self.ns, held["metadata"]["name"])
                if held is None or lease_spec.holding([held], self.owner) is None:
                    raise GhostError("Failed to renew the lease of %s on pool '%s': the member was taken from it "
                                     "meanwhile; run again" % (self.owner, self.pool))
        self.leave_queue(pool)
        return self.result(False, obj, pool)

    # ------------------------------------------------------------ the queue

    def _queue(self, pool):
        if pool.queue is not None:
            return pool.queue
        created = self.api.create(spec.lease_object(self.ns, spec.queue_object_name(self.pool),
                                                    spec.object_labels(self.pool, spec.OBJECT_QUEUE), {}), exist_ok=True)
        return created or self.api.get_lease(self.ns, spec.queue_object_name(self.pool))

    def _keep(self, waiters):
        """Which queue entries a writer of the queue keeps: all but those of dead waiters."""
        now = self.now()
        limit = datetime.timedelta(seconds=queue_spec.WAITER_TTL)

        def keep(entry):
            waiter = waiters.get(entry["owner"])
            if waiter is not None:
                return queue_spec.waiter_alive(waiter, now)
            since = lease_spec.parse_time(entry.get("since"))
            return since is None or now - since < limit   # maybe joined after our read
        return keep

    def _write_queue(self, pool, change):
        """Compare-and-swap ``change(entries) -> entries`` onto the queue object (re-read on conflict)."""
        queue = self._queue(pool)
        while True:
            current = queue_spec.entries(queue)
            wanted = change(current)
            if wanted == current:
                return queue
            try:
                return self.api.replace(queue_spec.with_entries(queue, wanted), verb="update the queue")
            except Conflict:
                self.conflicts += 1
                queue = self.api.get_lease(self.ns, spec.queue_object_name(self.pool)) or self._queue(pool._replace(queue=None))

    def join_queue(self, pool):
        """Heartbeat first, then the place in the queue: an entry never exists without its waiter."""
        self.heartbeat(pool, force=True)
        keep = self._keep(pool.waiters)
        member = self.options.get("member")
        self._write_queue(pool, lambda entries: queue_spec.join([e for e in entries if e["owner"] == self.owner or keep(e)],
                                                                self.owner, member, self.now()))
        self.joined = True

    def heartbeat(self, pool, *, force=False):
        """Create or renew the owner's waiter Lease (at most every WAITER_RENEW seconds)."""
        if not force and self.last_heartbeat is not None and self.clock() - self.last_heartbeat < queue_spec.WAITER_RENEW:
            return
        name = spec.waiter_object_name(self.pool, self.owner)
        now = lease_spec.format_micro(self.now())
        lease = {"holderIdentity": self.owner, "leaseDurationSeconds": queue_spec.WAITER_TTL, "renewTime": now}
        current = pool.waiters.get(self.owner)
        for _attempt in range(5):
            if current is None:
                body = spec.lease_object(self.ns, name, spec.object_labels(self.pool, spec.OBJECT_WAITER), {},
                                         dict(lease, acquireTime=now))
                if self.api.create(body, exist_ok=True) is not None:
                    break
                current = self.api.get_lease(self.ns, name)
                continue
            body = dict(current, spec=dict(current.get("spec") or {}, **lease))
            try:
                self.api.replace(body, verb="renew the waiter")
                break
            except Conflict:
                current = self.api.get_lease(self.ns, name)
        self.last_heartbeat = self.clock()

    def leave_queue(self, pool):
        """Out of the queue (dropping dead entries on the way), then the heartbeat deleted."""
        queued = any(e["owner"] == self.owner for e in queue_spec.entries(pool.queue))
        if not (self.joined or queued or self.owner in pool.waiters):
            return
        keep = self._keep(pool.waiters)
        self._write_queue(pool, lambda entries: queue_spec.leave(entries, self.owner, keep))
        self.api.delete(spec.LEASE, self.ns, spec.waiter_object_name(self.pool, self.owner))
        self.joined = False

    # ------------------------------------------------------------ release

    def release(self):
        pool = self.read()
        held = lease_spec.holding(pool.members, self.owner)
        wanted = self.options.get("member")
        if wanted and (held is None or lease_spec.member_id(held) != wanted):
            obj = self.member_obj(pool, wanted)
            if lease_spec.state_of(obj) == lease_spec.LOCKED:
                raise GhostError("Failed to release member %s of pool '%s': it is held by %s, not by %s; only its "
                                 "holder can release it" % (wanted, self.pool, lease_spec.describe_holder(obj), self.owner))
        if held is None:
            return self.release_nothing(pool)
        if self.check_mode:
            return self.result(True, held, pool, would="release")
        while True:
            try:
                obj = self.api.replace(lease_spec.release(held, self.owner, self.now()), verb="release")
                break
            except Conflict:
                self.conflicts += 1
                held = self.api.get_lease(self.ns, held["metadata"]["name"])
                if held is None or lease_spec.holding([held], self.owner) is None:
                    return self.release_nothing(self.read())
        kubeconfig.remove(kubeconfig.default_path(self.options, lease_spec.member_id(obj), self.home))
        if self.options.get("reset") == "inline":
            obj = self.resetter(self.api, self.declaration(pool), obj)
            if lease_spec.state_of(obj) == lease_spec.ERROR:
                self.warnings.append("member %s was released but its reset failed: %s; the maintenance playbook "
                                     "retries it" % (lease_spec.member_id(obj), lease_spec.member_view(obj, self.now())["error"]))
        return self.result(True, obj, pool)

    def release_nothing(self, pool):
        """The owner holds nothing: leave the queue if it is in it; tell it when its lease was reclaimed."""
        lost = lease_spec.reclaimed_from(pool.members, self.owner)
        queued = any(e["owner"] == self.owner for e in queue_spec.entries(pool.queue)) or self.owner in pool.waiters
        if lost is not None:
            record = lease_spec.member_view(lost, self.now())["reclaimed"]
            self.warnings.append(
                "%s held no member of pool '%s': its lease on member %s expired at %s and was reclaimed at %s" % (
                    self.owner, self.pool, lease_spec.member_id(lost), record.get("expired"), record.get("reclaimed")))
            if not self.check_mode:
                self._forget(lost)
        if queued and not self.check_mode:
            self.leave_queue(pool)
        return self.result(queued, None, pool)

    def _forget(self, obj):
        for _attempt in range(5):
            try:
                self.api.replace(lease_spec.forget_reclaimed(obj, self.now()), verb="acknowledge the reclaimed lease on")
                return
            except Conflict:
                obj = self.api.get_lease(self.ns, obj["metadata"]["name"])
                if obj is None or lease_spec.reclaimed_from([obj], self.owner) is None:
                    return

    # ------------------------------------------------------------ result

    def result(self, changed, obj, pool, would=None):
        view = lease_spec.member_view(obj, self.now()) if obj is not None else None
        if view is not None:
            if would == "acquire":
                view.update(state=lease_spec.LOCKED, holder=self.owner)
            elif would == "release":
                view.update(state=lease_spec.DIRTY, holder=None)
            view["kubeconfig_path"] = None
            if self.options["state"] == "present":
                view["kubeconfig_path"] = kubeconfig.export(self.api, self.declaration(pool), obj, self.options,
                                                            home=self.home, check_mode=self.check_mode)
        result = {"changed": bool(changed), "pool": self.pool, "owner": self.owner, "member": view}
        result.update(_timing(self))
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result


def ensure_lease(api, params, *, check_mode=False, now=utcnow, sleep=time.sleep, clock=time.monotonic, home=None,
                 resetter=None):
    """state=present: acquire or renew ``owner``'s member; state=absent: release it. Returns the result dict.

    ``resetter(api, declaration, member_obj) -> member_obj`` runs the inline reset after a release.
    """
    options = validate_lease_params(params)
    run = LeaseRun(api, options, check_mode=check_mode, now=now, sleep=sleep, clock=clock, home=home,
                   resetter=resetter)
    try:
        if options.get("state", "present") == "present":
            return run.acquire()
        return run.release()
    finally:
        phases.write(owner=run.owner, conflicts=run.conflicts, api_calls=sum(api.calls.values()) - run.calls_before)
