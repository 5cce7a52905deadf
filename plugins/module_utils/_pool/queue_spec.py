# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The wait queue and which member an acquirer takes. Private to ghost.infra; pure.

The queue lives in the cluster, so every controller sees the same order:

- the queue object ``<pool>.queue`` holds the ordered entries ``[{"owner", "since", "member"}]``
  in its annotation ``ghost.infra/queue``; joining appends with a PUT carrying the
  resourceVersion read, so two joiners can never get the same place (the second gets 409,
  re-reads and appends after the first): arrival order is the order of successful appends,
  decided by the API server, not by anybody's clock;
- each queued owner keeps a heartbeat, its waiter Lease ``<pool>.waiter.<hash>``
  (``renewTime + leaseDurationSeconds``). An entry whose waiter is gone or expired (its process
  was killed) is skipped by everyone and dropped by the next writer of the queue.

``pick`` is what every acquirer computes from one list of the pool: walk the live entries in
order, give each the next free member (an entry asking for a specific member gets that one or
nothing), and see what is left for the caller. The caller, if not queued, comes after every
live entry: a newcomer never overtakes a waiter, which is what makes the queue FIFO and free of
starvation (Boskos ranks requests the same way, but in one server's memory). Entries whose
owner already holds a member (served, not yet gone from the queue) are skipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import copy
import hashlib

from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, spec

A_QUEUE = "ghost.infra/queue"
WAITER_TTL = 30          # seconds a waiter lives without a heartbeat
WAITER_RENEW = 10        # seconds between heartbeats

Pick = collections.namedtuple("Pick", ["member", "ahead", "queued"])


def entries(queue_obj):
    """The queue entries in order (empty without a queue object)."""
    if not queue_obj:
        return []
    found = spec.loads(((queue_obj.get("metadata") or {}).get("annotations") or {}).get(A_QUEUE), [])
    return [e for e in found if isinstance(e, dict) and e.get("owner")]


def with_entries(queue_obj, new_entries):
    """A copy of the queue object holding ``new_entries``."""
    new = copy.deepcopy(queue_obj)
    new.get("metadata", {}).pop("managedFields", None)
    new["metadata"].setdefault("annotations", {})[A_QUEUE] = spec.dumps(new_entries)
    return new


def waiter_alive(waiter_obj, now):
    return waiter_obj is not None and not lease_spec.is_expired(waiter_obj, now)


def live(queue, waiters, members, now):
    """The entries that still wait: heartbeat alive and no member held yet."""
    holders = {(m.get("spec") or {}).get("holderIdentity") for m in members
               if lease_spec.state_of(m) == lease_spec.LOCKED}
    return [e for e in queue if e["owner"] not in holders and waiter_alive(waiters.get(e["owner"]), now)]


def join(queue, owner, member, now):
    """``queue`` with ``owner`` at the end (kept in place, its member updated, when already queued)."""
    out = [dict(e) for e in queue]
    for entry in out:
        if entry["owner"] == owner:
            entry["member"] = member
            return out
    out.append({"owner": owner, "since": lease_spec.format_micro(now), "member": member})
    return out


def leave(queue, owner, keep):
    """``queue`` without ``owner`` and without the entries ``keep(entry)`` rejects (dead ones)."""
    return [dict(e) for e in queue if e["owner"] != owner and keep(e)]


def position(queue, owner):
    for index, entry in enumerate(queue):
        if entry["owner"] == owner:
            return index
    return None


def _spread(owner, count):
    """Where a newcomer starts among ``count`` free members, from its owner: newcomers arriving
    together try different members instead of all racing for the first."""
    return int(hashlib.sha256(owner.encode("utf-8")).hexdigest()[:8], 16) % count


def wakeups_needed(pick_result, members):
    """How many members must become available before a waiter can be served: one per live entry
    ahead of it, less the free members (those are owed to the entries ahead). Waking only then,
    instead of at every release, spares the pool a read by every waiter per release; a waiter
    ahead that dies is noticed at the next heartbeat, which reads the pool anyway."""
    free = sum(1 for m in members if lease_spec.state_of(m) == lease_spec.AVAILABLE
               and not (m.get("spec") or {}).get("holderIdentity"))
    return max(1, pick_result.ahead + 1 - free)


def pick(members, queue, waiters, *, owner, member=None, now):
    """Which member ``owner`` may take now.

    ``members`` are member objects, ``queue`` the entries, ``waiters`` owner -> waiter object.
    Returns ``Pick(member, ahead, queued)``: the member id to acquire (None: wait), the number
    of live entries before the caller, whether the caller is in the queue.
    """
    free = sorted(lease_spec.member_id(m) for m in members
                  if lease_spec.state_of(m) == lease_spec.AVAILABLE and not (m.get("spec") or {}).get("holderIdentity"))
    waiting = live(queue, waiters, members, now)
    queued = position(waiting, owner) is not None
    order = waiting if queued else waiting + [{"owner": owner, "member": member, "newcomer": True}]
    wanted_later = collections.Counter(e.get("member") for e in order if e.get("member"))
    taken = set()
    for index, entry in enumerate(order):
        if entry.get("member"):
            wanted_later[entry["member"]] -= 1
            choice = entry["member"] if entry["member"] in free and entry["member"] not in taken else None
        else:
            left = [m for m in free if m not in taken]
            # Leave the members that later entries asked for by name to them when there is a choice.
            preferred = [m for m in left if not wanted_later.get(m)] or left
            choice = None
            if preferred:
                choice = preferred[_spread(owner, len(preferred))] if entry.get("newcomer") else preferred[0]
        if entry["owner"] == owner:
            return Pick(choice, index, queued)
        if choice:
            taken.add(choice)
    return Pick(None, len(waiting), queued)  # not reached: the caller is always in ``order``
