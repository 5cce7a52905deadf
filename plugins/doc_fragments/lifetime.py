# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The expiry options; mirrors module_utils/_common/lifetime.py ARGUMENT_SPEC 1:1."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  ttl:
    description:
      - How long the resource may live, such as V(30m), V(8h), V(7d) or V(1d12h) (units s, m, h,
        d, w; at most V(365d)). It expires that long after the run that set this TTL; nothing is
        deleted by itself; C(playbooks/reap.yml) removes what has expired.
      - Re-running with the same TTL changes nothing (the expiry is not pushed back on every run);
        a different TTL renews it, counted from that run, and reports a change.
      - Without O(ttl) and O(expires_at), a stored expiry is kept as it is.
    type: str
  expires_at:
    description:
      - When the resource expires, an RFC 3339 date-time with a time zone, such as
        V(2026-12-31T18:00:00Z). Stored in UTC to the second.
    type: str
  max_ttl:
    description:
      - Refuse an expiry further than this from now (same format as O(ttl)), so a playbook can
        bound what its users ask for.
    type: str
"""
