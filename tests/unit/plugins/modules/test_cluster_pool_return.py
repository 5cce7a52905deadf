# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cluster pool modules' RETURN blocks against what their runners return."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, spec

NOW = datetime.datetime(2025, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)


def locked_member():
    obj = spec.lease_object("ghost-pools", "cks.member.c1", spec.object_labels("cks", "member", "c1"), {})
    obj = lease_spec.declare(obj, {"namespace": "c1", "vms": [{"role": "worker", "name": "c1-wk", "snapshot": "wk-snap"}]}, NOW)
    return lease_spec.acquire(obj, "s1", 60, NOW)


def test_lease_member_view_matches_return(return_schema):
    doc = return_schema.doc("cluster_pool_lease")
    view = lease_spec.member_view(locked_member(), NOW)
    view["kubeconfig_path"] = None
    return_schema.assert_matches(view, doc["member"]["contains"])
    assert sorted(doc) == ["api_calls", "conflicts", "duration", "member", "owner", "pool", "waited"]


def test_info_stats_match_return(return_schema):
    doc = return_schema.doc("cluster_pool_info")
    return_schema.assert_matches(lease_spec.stats([locked_member()], 0, NOW), doc["stats"]["contains"])
    assert sorted(doc) == ["duration", "exists", "members", "pool", "queue", "stats"]


def test_pool_view_matches_return(return_schema):
    doc = return_schema.doc("cluster_pool")
    decl = spec.validate_declaration({"name": "cks", "members": 2, "vms": [{"role": "worker", "name": "{member}-wk"}]})
    view = spec.declaration_view(decl)
    view["member_states"] = {}
    return_schema.assert_matches(view, doc["pool"]["contains"])
