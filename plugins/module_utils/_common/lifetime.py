# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Time-to-live of what the collection creates. Private to ghost.infra; pure.

One vocabulary for every backend: a TTL such as ``30m``, ``8h``, ``7d`` or ``1d12h``; RFC 3339
UTC timestamps with second resolution (as Kubernetes writes them); and a lifetime record
``{"ttl", "expires_at", "renewed_at"}`` that each backend stores beside its ownership marker
(ESXi extraConfig, libvirt domain metadata, a Kubernetes annotation).

The rule that keeps re-runs idempotent: the expiry is computed from the last explicit renewal,
not from "now" on every run. Creating with a TTL, or asking for a TTL other than the stored one,
is a renewal (``renewed_at`` = now, ``expires_at`` = now + TTL, ``changed``); the same TTL again
changes nothing, however late it comes. An explicit ``expires_at`` is stored as given. vclusters
keep their own rule (expiry from creation, see _vcluster/spec.py), which reads the same parser.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TTL_RE = re.compile(r"^(?:\d+[smhdw])+$")
_TTL_PART_RE = re.compile(r"(\d+)([smhdw])")
# The longest TTL: a throwaway resource that outlives a year is a mistake (and far later dates
# overflow datetime).
MAX_TTL = "365d"
MAX_TTL_SECONDS = 365 * 86400
# The keys of a lifetime record.
FIELDS = ("ttl", "expires_at", "renewed_at")
# The options of every module that sets an expiry (doc fragment ghost.infra.lifetime).
ARGUMENT_SPEC = {"ttl": {"type": "str"}, "expires_at": {"type": "str"}, "max_ttl": {"type": "str"}}
MUTUALLY_EXCLUSIVE = [("ttl", "expires_at")]


def parse_ttl(value, option="ttl"):
    """Seconds in a TTL such as ``30m``, ``2h``, ``1d`` or ``1d12h`` (units s, m, h, d, w).

    ``None`` means no TTL. Zero and unit-less numbers are rejected: a TTL always says its unit;
    so is anything longer than MAX_TTL.
    """
    if value is None:
        return None
    text = str(value).strip().lower()
    if not _TTL_RE.match(text):
        raise GhostError(
            "'%s' is not a valid TTL: use a number with a unit, such as 30m, 2h, 1d or 1d12h "
            "(units: s, m, h, d, w)" % value, option=option)
    seconds = sum(int(number) * TTL_UNITS[unit] for number, unit in _TTL_PART_RE.findall(text))
    if seconds <= 0:
        raise GhostError("'%s' is not a valid TTL: it must be longer than zero" % value, option=option)
    if seconds > MAX_TTL_SECONDS:
        raise GhostError("'%s' is too long: a TTL is at most %s" % (value, MAX_TTL), option=option)
    return seconds


def format_ttl(seconds):
    """The shortest canonical spelling of ``seconds``: 5400 -> '1h30m', 86400 -> '1d'."""
    if seconds is None:
        return None
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out.append("%d%s" % (seconds // size, unit))
            seconds %= size
    return "".join(out) or "0s"


def format_time(moment):
    """RFC 3339 UTC with second resolution, as Kubernetes writes timestamps."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.strftime(TIME_FORMAT)


def parse_time(value):
    """A timezone-aware datetime from an RFC 3339 UTC string, or None when absent or malformed."""
    if not value:
        return None
    try:
        return datetime.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def parse_rfc3339(value, option="expires_at"):
    """An aware datetime from any RFC 3339 date-time (``Z`` or an offset, fractions allowed)."""
    text = str(value).strip()
    try:
        moment = datetime.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise GhostError("'%s' is not an RFC 3339 date-time with a time zone, such as 2026-12-31T18:00:00Z"
                         % value, option=option)
    return moment.astimezone(datetime.timezone.utc)


def expires_at(created_at, ttl_seconds):
    """``created_at`` (RFC 3339) plus the TTL, or None without a TTL or creation time."""
    created = parse_time(created_at)
    if created is None or ttl_seconds is None:
        return None
    return format_time(created + datetime.timedelta(seconds=ttl_seconds))


def is_expired(expires, now):
    """True when ``expires`` (RFC 3339) is at or before ``now`` (an aware datetime)."""
    moment = parse_time(expires)
    return moment is not None and moment <= now


def wanted(record, *, ttl=None, expires=None, max_ttl=None, now):
    """The lifetime record a resource should carry after this run.

    ``record`` is what it carries (``{}`` or None for a new resource or none stored); ``ttl`` and
    ``expires`` are the module's ``ttl`` and ``expires_at`` options (at most one is set; None:
    keep what is stored); ``max_ttl`` refuses an expiry further than that from ``now``.
    Returns the record with the FIELDS that are set (``{}`` for no lifetime at all).
    """
    record = {key: value for key, value in (record or {}).items() if key in FIELDS and value}
    if ttl is not None:
        seconds = parse_ttl(ttl)
        if record.get("ttl") != format_ttl(seconds) or "expires_at" not in record:
            record = {"ttl": format_ttl(seconds), "renewed_at": format_time(now),
                      "expires_at": format_time(now + datetime.timedelta(seconds=seconds))}
        option = "ttl"
    elif expires is not None:
        record = {"expires_at": format_time(parse_rfc3339(expires))}
        option = "expires_at"
    else:
        return record
    bound = parse_ttl(max_ttl, option="max_ttl")
    moment = parse_time(record["expires_at"])
    if bound is not None and moment > now + datetime.timedelta(seconds=bound):
        raise GhostError("%s would expire at %s, later than max_ttl (%s) from now"
                         % ("a TTL of %s" % ttl if option == "ttl" else "the resource", record["expires_at"],
                            format_ttl(bound)), option=option)
    return record


def status(record, now):
    """``{"expires_at", "expired"}`` for results, hostvars and the reaper (None: no expiry)."""
    expires = (record or {}).get("expires_at") or None
    return {"expires_at": expires, "expired": is_expired(expires, now)}
