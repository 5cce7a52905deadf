# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A member's lease and state machine. Private to ghost.infra; pure (plain dicts in and out).

A member is one Lease object (``spec.py`` says why). Its states, after Boskos
(free -> busy -> dirty -> cleaning -> free):

    available --acquire--> locked --release--> dirty --start_reset--> resetting --finish_reset--> available
                             |  ^                ^                        |
                        renew+--+    expire (reaper: not renewed)     fail_reset --> error --start_reset (retry)
                                                 +-- expire_reset (janitor gone) --+

``spec.holderIdentity`` is the owner (a session id) while ``locked`` and the janitor while
``resetting``; ``renewTime + leaseDurationSeconds`` is when the lease expires. Annotations hold
the state, the error reason, reset attempts, last reset and health check, the record of a
reclaimed lease (who lost it, when) and a short history of transitions.

Every transition takes the object as read (with its ``resourceVersion``) and returns the body to
PUT: the API server applies it only if nobody wrote the object in between (else 409), so a
transition is decided on exactly the state it was computed from. Illegal transitions raise
GhostError. Times are aware UTC datetimes passed in by the caller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import spec

AVAILABLE = "available"
LOCKED = "locked"
DIRTY = "dirty"
RESETTING = "resetting"
ERROR = "error"
STATES = (AVAILABLE, LOCKED, DIRTY, RESETTING, ERROR)

A_STATE = "ghost.infra/state"
A_ERROR = "ghost.infra/error"
A_ATTEMPTS = "ghost.infra/reset-attempts"
A_LAST_RESET = "ghost.infra/last-reset"
A_HEALTH = "ghost.infra/last-health-check"
A_RECLAIMED = "ghost.infra/reclaimed"
A_HISTORY = "ghost.infra/history"
HISTORY_MAX = 40
JANITOR_PREFIX = "janitor:"

MICRO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# ---------------------------------------------------------------- time

def format_micro(moment):
    """Kubernetes MicroTime: RFC 3339 UTC with microseconds."""
    return moment.astimezone(datetime.timezone.utc).strftime(MICRO_FORMAT)


def parse_time(value):
    """An aware datetime from a MicroTime or Time string, or None."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def format_time(moment):
    return format_micro(moment) if moment else None


# ---------------------------------------------------------------- reading

def _annotations(obj):
    return (obj.get("metadata") or {}).get("annotations") or {}


def state_of(obj):
    state = _annotations(obj).get(A_STATE)
    return state if state in STATES else AVAILABLE


def expiry(obj):
    """When the lease held on ``obj`` expires (None without holder or times)."""
    lease = obj.get("spec") or {}
    if not lease.get("holderIdentity"):
        return None
    renewed = parse_time(lease.get("renewTime")) or parse_time(lease.get("acquireTime"))
    duration = lease.get("leaseDurationSeconds")
    if renewed is None or not isinstance(duration, int):
        return None
    return renewed + datetime.timedelta(seconds=duration)


def is_expired(obj, now):
    moment = expiry(obj)
    return moment is not None and moment <= now


def member_id(obj):
    return ((obj.get("metadata") or {}).get("labels") or {}).get(spec.LABEL_MEMBER)


def member_view(obj, now):
    """A member as modules return it."""
    ann = _annotations(obj)
    lease = obj.get("spec") or {}
    record = spec.loads(ann.get(spec.ANNOTATION_MEMBER), {})
    state = state_of(obj)
    holder = lease.get("holderIdentity") or None
    expires = expiry(obj)
    attempts = ann.get(A_ATTEMPTS)
    return {
        "id": member_id(obj),
        "namespace": record.get("namespace") or member_id(obj),
        "state": state,
        "holder": holder if state == LOCKED else None,
        "janitor": holder if state == RESETTING else None,
        "locked_since": lease.get("acquireTime") if state == LOCKED else None,
        "renewed": lease.get("renewTime") if holder else None,
        "expires": format_time(expires),
        "expired": bool(expires is not None and expires <= now),
        "error": ann.get(A_ERROR) or None,
        "reset_attempts": int(attempts) if attempts and attempts.isdigit() else 0,
        "last_reset": ann.get(A_LAST_RESET) or None,
        "last_health_check": spec.loads(ann.get(A_HEALTH), None),
        "reclaimed": spec.loads(ann.get(A_RECLAIMED), None),
        "vms": record.get("vms") or [],
        "vcluster": record.get("vcluster"),
        "transitions": lease.get("leaseTransitions") or 0,
    }


def history(obj):
    return spec.loads(_annotations(obj).get(A_HISTORY), [])


# ---------------------------------------------------------------- writing

def _next(obj, event, *, now, state=None, holder=None, by=None):
    """A copy of ``obj`` for the transition ``event``, with a history entry."""
    new = copy.deepcopy(obj)
    meta = new.setdefault("metadata", {})
    meta.pop("managedFields", None)
    ann = meta.setdefault("annotations", {})
    if state is not None:
        ann[A_STATE] = state
    entries = spec.loads(ann.get(A_HISTORY), [])
    entry = {"at": format_micro(now), "event": event}
    if holder:
        entry["holder"] = holder
    if by:
        entry["by"] = by
    entries.append(entry)
    ann[A_HISTORY] = spec.dumps(entries[-HISTORY_MAX:])
    new.setdefault("spec", {})
    return new


def _hold(new, holder, duration, now, *, transition):
    lease = new["spec"]
    if transition:
        lease["leaseTransitions"] = int(lease.get("leaseTransitions") or 0) + 1
        lease["acquireTime"] = format_micro(now)
    lease["holderIdentity"] = holder
    lease["renewTime"] = format_micro(now)
    lease["leaseDurationSeconds"] = int(duration)


def _free(new):
    lease = new["spec"]
    for key in ("holderIdentity", "acquireTime", "renewTime", "leaseDurationSeconds"):
        lease.pop(key, None)


def _refuse(obj, what, why):
    return GhostError("cannot %s member %s: %s" % (what, member_id(obj), why))


def acquire(obj, owner, duration, now):
    """available -> locked by ``owner`` for ``duration`` seconds."""
    if state_of(obj) != AVAILABLE or (obj.get("spec") or {}).get("holderIdentity"):
        raise _refuse(obj, "acquire", "it is %s" % state_of(obj))
    new = _next(obj, "acquire", now=now, state=LOCKED, holder=owner)
    _hold(new, owner, duration, now, transition=True)
    return new


def renew(obj, owner, duration, now):
    """locked by ``owner`` -> the same, renewed now (``duration`` None keeps it). No history entry."""
    lease = obj.get("spec") or {}
    if state_of(obj) != LOCKED or lease.get("holderIdentity") != owner:
        raise _refuse(obj, "renew the lease on", "%s does not hold it" % owner)
    new = copy.deepcopy(obj)
    new.get("metadata", {}).pop("managedFields", None)
    new["spec"]["renewTime"] = format_micro(now)
    if duration is not None:
        new["spec"]["leaseDurationSeconds"] = int(duration)
    return new


def release(obj, owner, now):
    """locked by ``owner`` -> dirty (no holder)."""
    lease = obj.get("spec") or {}
    if state_of(obj) != LOCKED or lease.get("holderIdentity") != owner:
        raise _refuse(obj, "release", "%s does not hold it" % owner)
    new = _next(obj, "release", now=now, state=DIRTY, holder=owner)
    _free(new)
    return new


def expire(obj, now):
    """The reaper: locked but not renewed in time -> dirty, recording whose lease was reclaimed."""
    lease = obj.get("spec") or {}
    if state_of(obj) != LOCKED or not is_expired(obj, now):
        raise _refuse(obj, "reclaim", "its lease has not expired")
    owner = lease.get("holderIdentity")
    new = _next(obj, "expire", now=now, state=DIRTY, holder=owner)
    new["metadata"]["annotations"][A_RECLAIMED] = spec.dumps({
        "owner": owner, "acquired": lease.get("acquireTime"), "expired": format_time(expiry(obj)),
        "reclaimed": format_micro(now)})
    _free(new)
    return new


def forget_reclaimed(obj, now):
    """Drop the record of a reclaimed lease once its owner was told (a release by that owner)."""
    new = _next(obj, "reclaim-acknowledged", now=now,
                holder=(spec.loads(_annotations(obj).get(A_RECLAIMED), {}) or {}).get("owner"))
    new["metadata"]["annotations"].pop(A_RECLAIMED, None)
    return new


def janitor_id(run_id):
    return JANITOR_PREFIX + run_id


def start_reset(obj, janitor, timeout, now, *, max_attempts=None):
    """dirty (or error with attempts left) -> resetting, held by ``janitor`` for ``timeout`` seconds."""
    state = state_of(obj)
    if state == ERROR and max_attempts is not None and member_view(obj, now)["reset_attempts"] >= max_attempts:
        raise _refuse(obj, "reset", "its reset failed %d times" % max_attempts)
    if state not in (DIRTY, ERROR):
        raise _refuse(obj, "reset", "it is %s" % state)
    new = _next(obj, "reset-start", now=now, state=RESETTING, by=janitor)
    _hold(new, janitor, timeout, now, transition=True)
    return new


def finish_reset(obj, janitor, now):
    """resetting by ``janitor`` -> available; error and attempts cleared, last reset now."""
    _check_janitor(obj, janitor, "finish the reset of")
    new = _next(obj, "reset-done", now=now, state=AVAILABLE, by=janitor)
    ann = new["metadata"]["annotations"]
    ann[A_LAST_RESET] = format_micro(now)
    ann.pop(A_ERROR, None)
    ann[A_ATTEMPTS] = "0"
    _free(new)
    return new


def fail_reset(obj, janitor, reason, now):
    """resetting by ``janitor`` -> error with ``reason``; one more failed attempt."""
    _check_janitor(obj, janitor, "record the failed reset of")
    return _to_error(obj, reason, now, event="reset-failed", by=janitor)


def expire_reset(obj, now):
    """resetting, but its janitor stopped before the deadline -> error (counts as a failed attempt)."""
    if state_of(obj) != RESETTING or not is_expired(obj, now):
        raise _refuse(obj, "take over the reset of", "its reset has not timed out")
    janitor = (obj.get("spec") or {}).get("holderIdentity")
    return _to_error(obj, "the reset by %s did not finish before %s" % (janitor, format_time(expiry(obj))), now,
                     event="reset-timed-out", by=janitor)


def _to_error(obj, reason, now, *, event, by):
    new = _next(obj, event, now=now, state=ERROR, by=by)
    ann = new["metadata"]["annotations"]
    ann[A_ERROR] = reason[:1000]
    ann[A_ATTEMPTS] = str(member_view(obj, now)["reset_attempts"] + 1)
    _free(new)
    return new


def _check_janitor(obj, janitor, what):
    if state_of(obj) != RESETTING or (obj.get("spec") or {}).get("holderIdentity") != janitor:
        raise _refuse(obj, what, "%s is not resetting it (it is %s)" % (janitor, state_of(obj)))


def record_health(obj, healthy, detail, now):
    """available -> available with the check recorded, or -> error with the reason."""
    if state_of(obj) != AVAILABLE:
        raise _refuse(obj, "record a health check of", "it is %s" % state_of(obj))
    check = {"at": format_micro(now), "healthy": bool(healthy), "detail": detail}
    if healthy:
        new = copy.deepcopy(obj)
        new.get("metadata", {}).pop("managedFields", None)
        new["metadata"].setdefault("annotations", {})[A_HEALTH] = spec.dumps(check)
        return new
    new = _next(obj, "health-check-failed", now=now, state=ERROR)
    ann = new["metadata"]["annotations"]
    ann[A_HEALTH] = spec.dumps(check)
    ann[A_ERROR] = ("health check failed: %s" % detail)[:1000]
    return new


def declare(obj, record, now):
    """A member object with the member record of ``spec.member_record`` (new: available)."""
    if obj is None:
        raise GhostError("declare needs the object to start from")
    new = copy.deepcopy(obj)
    new.get("metadata", {}).pop("managedFields", None)
    ann = new["metadata"].setdefault("annotations", {})
    ann[spec.ANNOTATION_MEMBER] = spec.dumps(record)
    ann.setdefault(A_STATE, AVAILABLE)
    return new


# ---------------------------------------------------------------- the pool as a whole

def holding(members, owner):
    """The member object ``owner`` holds (locked), or None."""
    for obj in members:
        if state_of(obj) == LOCKED and (obj.get("spec") or {}).get("holderIdentity") == owner:
            return obj
    return None


def reclaimed_from(members, owner):
    """The member whose last reclaimed lease was ``owner``'s, or None."""
    for obj in members:
        record = spec.loads(_annotations(obj).get(A_RECLAIMED), None)
        if record and record.get("owner") == owner:
            return obj
    return None


def describe_holder(obj):
    """'<holder> since <acquireTime> (lease expires <time>)' for refusal messages."""
    lease = obj.get("spec") or {}
    return "%s since %s (lease expires %s)" % (
        lease.get("holderIdentity"), lease.get("acquireTime") or "unknown", format_time(expiry(obj)) or "never")


def stats(members, waiting, now):
    """Counts per state (the seed's ClusterPoolStats) plus expired leases and the queue length."""
    out = {"total": len(members), "waiting": waiting, "expired": 0}
    for state in STATES:
        out[state] = 0
    for obj in members:
        out[state_of(obj)] += 1
        if state_of(obj) in (LOCKED, RESETTING) and is_expired(obj, now):
            out["expired"] += 1
    return out


def describe_stats(counts):
    """'3 members: 2 locked, 1 resetting; 4 waiting' for messages."""
    parts = ["%d %s" % (counts[s], s) for s in STATES if counts.get(s)]
    text = "%d member%s: %s" % (counts["total"], "" if counts["total"] == 1 else "s", ", ".join(parts) or "none")
    if counts.get("waiting"):
        text += "; %d waiting" % counts["waiting"]
    return text
