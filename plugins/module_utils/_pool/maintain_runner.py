# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What cluster_pool_maintain does: Boskos's reaper and janitor in one pass. Private to ghost.infra.

1. reap: a ``locked`` member whose lease was not renewed in time (its holder is gone) becomes
   ``dirty``, recording whose lease was reclaimed; a ``resetting`` member whose janitor did not
   finish in time becomes ``error`` (one failed attempt);
2. the queue: entries of dead waiters (no heartbeat) are dropped, their waiter objects deleted;
3. reset: ``dirty`` members, and ``error`` members that failed fewer than ``max_reset_attempts``
   times, are reset (in parallel, ``parallel`` at a time) by the janitor (``reset.py``);
4. health: with ``health_check``, ``available`` members are checked; a failing one becomes ``error``.

Every write is a compare-and-swap: a holder renewing at the same moment wins over the reaper
(the reaper's write is refused and the member skipped), two maintenance runs never reset the
same member. Returns what was done per member and the pool's stats afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, queue_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict


def _try(api, obj, transition):
    """Write ``transition(obj)``; None when the member changed meanwhile (somebody else acted)."""
    try:
        return api.replace(transition(obj), verb="maintain")
    except Conflict:
        return None


class Maintenance:
    """One cluster_pool_maintain run."""

    def __init__(self, api, janitor, options, *, check_mode, now):
        self.api = api
        self.janitor = janitor
        self.options = options
        self.ns = options["namespace"]
        self.name = options["pool"]
        self.check_mode = check_mode
        self.now = now
        self.actions = []

    def act(self, obj, action, **details):
        entry = {"member": lease_spec.member_id(obj) if obj else None, "action": action}
        entry.update(details)
        self.actions.append(entry)

    def read(self):
        pool = self.api.read_pool(self.ns, self.name)
        if pool.declaration is None:
            raise GhostError("Failed to find pool '%s' in namespace '%s'" % (self.name, self.ns), option="pool")
        return pool

    def reap(self, pool):
        now = self.now()
        for obj in pool.members:
            state = lease_spec.state_of(obj)
            if state == lease_spec.LOCKED and lease_spec.is_expired(obj, now):
                holder = (obj.get("spec") or {}).get("holderIdentity")
                if self.check_mode or _try(self.api, obj, lambda o: lease_spec.expire(o, now)):
                    self.act(obj, "reclaimed", holder=holder, expired=lease_spec.format_time(lease_spec.expiry(obj)))
            elif state == lease_spec.RESETTING and lease_spec.is_expired(obj, now):
                janitor = (obj.get("spec") or {}).get("holderIdentity")
                if self.check_mode or _try(self.api, obj, lambda o: lease_spec.expire_reset(o, now)):
                    self.act(obj, "reset-timed-out", janitor=janitor)

    def clean_queue(self, pool):
        """Drop dead entries and delete expired waiter objects."""
        now = self.now()
        entries = queue_spec.entries(pool.queue)
        alive = [e for e in entries if queue_spec.waiter_alive(pool.waiters.get(e["owner"]), now)]
        dead_waiters = [w for owner, w in pool.waiters.items() if not queue_spec.waiter_alive(w, now)]
        dropped = [e["owner"] for e in entries if e not in alive]
        if not dropped and not dead_waiters:
            return
        gone = set(dropped) | {(w.get("spec") or {}).get("holderIdentity") for w in dead_waiters}
        self.act(None, "queue-cleaned", dropped=sorted(gone))
        if self.check_mode:
            return
        queue = pool.queue
        for _attempt in range(10):
            if queue is None:
                break
            live_now = [e for e in queue_spec.entries(queue) if e["owner"] not in dropped]
            try:
                self.api.replace(queue_spec.with_entries(queue, live_now), verb="clean the queue")
                break
            except Conflict:
                queue = self.api.get_lease(self.ns, spec.queue_object_name(self.name))
        for waiter in dead_waiters:
            try:
                self.api.delete_exact(waiter)
            except Conflict:
                pass  # renewed meanwhile: alive after all

    def resets(self, pool, declaration):
        limit = self.options.get("max_reset_attempts") or declaration.get("max_reset_attempts") or 3
        now = self.now()
        todo = []
        for obj in pool.members:
            state = lease_spec.state_of(obj)
            attempts = lease_spec.member_view(obj, now)["reset_attempts"]
            if state == lease_spec.DIRTY:
                todo.append(obj)
            elif state == lease_spec.ERROR and self.options.get("retry_errors", True):
                if attempts < limit:
                    todo.append(obj)
                else:
                    self.act(obj, "given-up", attempts=attempts, error=lease_spec.member_view(obj, now)["error"])
        if not todo:
            return
        if self.check_mode:
            for obj in todo:
                self.act(obj, "would-reset", state=lease_spec.state_of(obj))
            return
        workers = max(1, min(len(todo), self.options.get("parallel") or 4))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as executor:
            futures = {executor.submit(self.janitor.reset, declaration, obj, max_attempts=limit): obj for obj in todo}
            for future in concurrent.futures.as_completed(futures):
                obj = futures[future]
                try:
                    final = future.result()
                except GhostError as exc:
                    self.act(obj, "reset-failed", error=str(exc))
                    continue
                if final is None:
                    continue  # another janitor took it
                view = lease_spec.member_view(final, self.now())
                self.act(obj, "reset" if view["state"] == lease_spec.AVAILABLE else "reset-failed",
                         state=view["state"], error=view["error"], attempts=view["reset_attempts"])

    def health(self, pool, declaration):
        for obj in pool.members:
            if lease_spec.state_of(obj) != lease_spec.AVAILABLE:
                continue
            healthy, detail = self.janitor.health(declaration, obj)
            if self.check_mode:
                self.act(obj, "health-checked", healthy=healthy, detail=detail)
                continue
            if _try(self.api, obj, lambda o, healthy=healthy, detail=detail: lease_spec.record_health(
                    o, healthy, detail, self.now())):
                self.act(obj, "health-checked", healthy=healthy, detail=detail)

    def run(self):
        pool = self.read()
        declaration = spec.loads(pool.declaration["metadata"]["annotations"].get(spec.ANNOTATION_POOL), {})
        if self.options.get("reap", True):
            self.reap(pool)
            self.clean_queue(pool)
            pool = self.read() if not self.check_mode else pool
        if self.options.get("reset", True):
            self.resets(pool, declaration)
            pool = self.read() if not self.check_mode else pool
        if self.options.get("health_check", False):
            self.health(pool, declaration)
            pool = self.read() if not self.check_mode else pool
        now = self.now()
        live = queue_spec.live(queue_spec.entries(pool.queue), pool.waiters, pool.members, now)
        # Giving up and a passed health check change no state.
        changed = any(a["action"] != "given-up" and a.get("healthy") is not True for a in self.actions)
        return build_result(changed, pool=self.name, actions=self.actions,
                            stats=lease_spec.stats(pool.members, len(live), now),
                            members=[lease_spec.member_view(obj, now) for obj in pool.members])


def maintain(api, janitor, params, *, check_mode=False, now):
    options = dict(params)
    options["pool"] = spec.validate_pool_name(params.get("pool"), "pool")
    options["namespace"] = spec.validate_label(params.get("namespace") or spec.DEFAULT_NAMESPACE, "namespace", "namespace")
    if options.get("max_reset_attempts") is not None and options["max_reset_attempts"] < 1:
        raise GhostError("must be at least 1", option="max_reset_attempts")
    if options.get("parallel") is not None and options["parallel"] < 1:
        raise GhostError("must be at least 1", option="parallel")
    return Maintenance(api, janitor, options, check_mode=check_mode, now=now).run()
