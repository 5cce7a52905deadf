# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of the cluster pool modules (placeholders: see bad_campaign.py). Pools would live
in the run's own namespace @NS@; leases are named after the pool, so none may appear."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

POOL = {"name": "@NAME@", "namespace": "@NS@", "members": ["@NAME@-m1"],
        "vms": [{"name": "{member}-cp", "role": "control-plane"}]}
LEASE = {"pool": "@NAME@", "namespace": "@NS@", "owner": "gb-owner", "wait": False}


def pool(**extra):
    return dict(POOL, **extra)


def lease(**extra):
    return dict(LEASE, **extra)


CASES = [
    Case("cluster_pool-name-invalid", "cluster_pool", pool(name="GB@TOKEN@_Pool"), "name", r"DNS-1123|label|lower"),
    Case("cluster_pool-duration-format", "cluster_pool", pool(duration="2 fortnights"), "duration",
         r"duration|seconds|unit"),
    Case("cluster_pool-duration-too-short", "cluster_pool", pool(duration="1s"), "duration", r"out of range|at least"),
    Case("cluster_pool-members-not-list", "cluster_pool", pool(members={"a": 1}), "members", r"list|member"),
    Case("cluster_pool-reset-timeout-negative", "cluster_pool", pool(reset_timeout=-1), "reset_timeout",
         r"out of range|at least|negative"),
    Case("cluster_pool-vms-role-unknown", "cluster_pool", pool(vms=[{"name": "cp", "role": "boss"}]), "role",
         r"one of"),
    Case("cluster_pool-api-key-wrong", "cluster_pool",
         pool(host="@APISERVER@", api_key="@SECRET@", validate_certs=False, kubeconfig="@DIR@/none"),
         None, r"401|Unauthorized", note="api_key: a wrong token (secret)"),
    Case("cluster_pool_lease-owner-empty", "cluster_pool_lease", lease(owner=""), "owner", r"empty|required"),
    Case("cluster_pool_lease-owner-too-long", "cluster_pool_lease", lease(owner="o" * 200), "owner",
         r"128|at most|too long"),
    Case("cluster_pool_lease-pool-unknown", "cluster_pool_lease", lease(), "pool",
         r"not found|does not exist|failed to find"),
    Case("cluster_pool_lease-wait-timeout-negative", "cluster_pool_lease", lease(wait=True, wait_timeout=-1),
         "wait_timeout", r"positive|at least|or more"),
    Case("cluster_pool_lease-duration-format", "cluster_pool_lease", lease(duration="forever"), "duration",
         r"duration|seconds|unit"),
    Case("cluster_pool_maintain-parallel-zero", "cluster_pool_maintain",
         {"pool": "@NAME@", "namespace": "@NS@", "parallel": 0}, "parallel", r"at least|positive"),
]
