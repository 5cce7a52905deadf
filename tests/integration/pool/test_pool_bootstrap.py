# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/cluster_pool_bootstrap.yml (the role) on the testbed: 3 labelled namespaces, 6 running
VMs, 6 golden snapshots ready to use, 3 available members; a second run changes nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from pool_helpers import SNAP, TEMPLATE

pytestmark = pytest.mark.timeout(1200)


def test_bootstrap_twice(pool_env):
    templates = "%s-tpl" % pool_env.namespace
    pool_env.namespace_create(templates)
    for name in ("cp", "wk"):
        pool_env.custom.create_namespaced_custom_object("kubevirt.io", "v1", templates, "virtualmachines", {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"runStrategy": "Halted", "template": TEMPLATE}})
    members = [pool_env.member(i) for i in (1, 2, 3)]
    pool_env.made.extend(members)
    extra = {"cluster_pool_name": pool_env.pool, "cluster_pool_namespace": pool_env.namespace,
             "cluster_pool_members": members, "cluster_pool_templates_namespace": templates,
             "cluster_pool_labels": {"cks.io/cluster-pool": "true"}}
    first = pool_env.playbook("cluster_pool_bootstrap.yml", extra, timeout=900)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]", first.stdout), first.stdout[-3000:]
    for member in members:
        labels = pool_env.core.read_namespace(member).metadata.labels
        assert labels["ghost.infra/pool"] == pool_env.pool and labels["cks.io/cluster-pool"] == "true"
        for vm in ("cp", "wk"):
            obj = pool_env.vm(member, "%s-%s" % (member, vm))
            assert obj["status"]["ready"] and obj["spec"]["runStrategy"] == "Always"
        snaps = pool_env.custom.list_namespaced_custom_object(SNAP[0], SNAP[1], member, SNAP[2])["items"]
        assert sorted(s["metadata"]["name"] for s in snaps if s["status"]["readyToUse"]) == ["cp-snap", "wk-snap"]
    leases = pool_env.member_leases()
    assert sorted(leases) == members
    assert all(lease.metadata.annotations["ghost.infra/state"] == "available" for lease in leases.values())
    second = pool_env.playbook("cluster_pool_bootstrap.yml", extra, timeout=900)
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0 ", second.stdout), second.stdout[-3000:]
