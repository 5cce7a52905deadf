# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shared lifetime rules: TTL parsing, timestamps, the renewal rule, max_ttl."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common import lifetime
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

NOW = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
LATER = NOW + datetime.timedelta(hours=5)


@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("8h", 28800), ("7d", 604800), ("1d12h", 129600),
                                           ("1w", 604800), (" 2H ", 7200), ("365d", 365 * 86400)])
def test_parse_ttl(text, seconds):
    assert lifetime.parse_ttl(text) == seconds


@pytest.mark.parametrize("text, message", [("30", "use a number with a unit"), ("0s", "longer than zero"),
                                           ("366d", "at most 365d"), ("-1h", "use a number with a unit")])
def test_parse_ttl_refuses(text, message):
    with pytest.raises(GhostError, match=message) as raised:
        lifetime.parse_ttl(text)
    assert raised.value.option == "ttl"


def test_a_new_ttl_is_a_renewal_and_the_same_ttl_changes_nothing():
    first = lifetime.wanted({}, ttl="8h", now=NOW)
    assert first == {"ttl": "8h", "renewed_at": "2026-12-01T12:00:00Z", "expires_at": "2026-12-01T20:00:00Z"}
    assert lifetime.wanted(first, ttl="480m", now=LATER) == first          # same TTL, later run: no change
    longer = lifetime.wanted(first, ttl="1d", now=LATER)                   # extends from this renewal
    assert longer == {"ttl": "1d", "renewed_at": "2026-12-01T17:00:00Z", "expires_at": "2026-12-02T17:00:00Z"}
    assert lifetime.wanted(longer, now=LATER) == longer                    # no option: keep what is stored
    assert lifetime.wanted(None, now=NOW) == {}


def test_expires_at_is_stored_as_given_in_utc():
    assert lifetime.wanted({"ttl": "8h", "expires_at": "x"}, expires="2026-12-02T01:30:00+02:00", now=NOW) == {
        "expires_at": "2026-12-01T23:30:00Z"}
    assert lifetime.wanted({}, expires="2026-12-02T00:00:00.5Z", now=NOW) == {"expires_at": "2026-12-02T00:00:00Z"}
    with pytest.raises(GhostError, match="not an RFC 3339 date-time") as raised:
        lifetime.wanted({}, expires="2026-12-02 00:00", now=NOW)
    assert raised.value.option == "expires_at"
    with pytest.raises(GhostError, match="not an RFC 3339"):
        lifetime.wanted({}, expires="tomorrow", now=NOW)


def test_max_ttl_refuses_an_expiry_beyond_the_bound():
    assert lifetime.wanted({}, ttl="1d", max_ttl="1d", now=NOW)["expires_at"] == "2026-12-02T12:00:00Z"
    with pytest.raises(GhostError, match=r"a TTL of 2d would expire at 2026-12-03T12:00:00Z, later than max_ttl "
                                         r"\(1d\) from now") as raised:
        lifetime.wanted({}, ttl="2d", max_ttl="1d", now=NOW)
    assert raised.value.option == "ttl"
    with pytest.raises(GhostError, match="later than max_ttl") as raised:
        lifetime.wanted({}, expires="2027-01-01T00:00:00Z", max_ttl="7d", now=NOW)
    assert raised.value.option == "expires_at"
    with pytest.raises(GhostError) as raised:
        lifetime.wanted({}, ttl="1h", max_ttl="forever", now=NOW)
    assert raised.value.option == "max_ttl"


def test_status():
    assert lifetime.status({"expires_at": "2026-12-01T12:00:00Z"}, NOW) == {"expires_at": "2026-12-01T12:00:00Z",
                                                                            "expired": True}
    assert lifetime.status({"expires_at": "2026-12-01T12:00:01Z"}, NOW)["expired"] is False
    assert lifetime.status({}, NOW) == {"expires_at": None, "expired": False}
    assert lifetime.format_ttl(5400) == "1h30m" and lifetime.format_ttl(None) is None
