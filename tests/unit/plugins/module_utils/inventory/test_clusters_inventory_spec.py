# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/clusters_spec.py: one host per cluster across registry, vclusters and pools,
groups (registry, vcluster, expired, pool_*), ghost_kubeconfig and ansible_connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import clusters_spec

REGISTRY = {"store": "folder /home/u/.ghost/clusters", "entries": [
    {"id": "prod-eu", "record": {"name": "prod-eu", "source": "join", "server": "https://prod:6443", "labels": {"team": "a"}},
     "kubeconfig_path": "/home/u/.ghost/clusters/prod-eu.yaml"},
    {"id": "vc-lab-dev", "record": {"name": "lab/dev", "source": "vcluster", "server": "https://dev:443"},
     "kubeconfig_path": "/home/u/.ghost/kubeconfigs/lab/dev.yaml"},
]}
VCLUSTERS = [
    {"name": "dev", "namespace": "lab", "status": "Running", "ttl": "2h", "expires_at": "2026-01-01T00:00:00Z",
     "expired": True, "kubeconfig_path": "/home/u/.ghost/kubeconfigs/lab/dev.yaml", "kubeconfig_fresh": True},
    {"name": "qa", "namespace": "lab", "status": "Running", "ttl": None, "expires_at": None, "expired": False,
     "kubeconfig_path": None, "kubeconfig_fresh": False},
]
POOLS = [
    {"id": "cluster-1", "pool": "ci", "pool_namespace": "ghost-pools", "state": "locked", "holder": "job-7",
     "kubeconfig_path": "/home/u/.ghost/pools/ghost-pools/ci/cluster-1.yaml"},
    {"id": "cluster-2", "pool": "ci", "pool_namespace": "ghost-pools", "state": "available", "holder": None,
     "kubeconfig_path": None},
]


def options(**overrides):
    base = {"sources": ["registry", "vclusters", "pools"], "names": [], "exclude_names": [],
            "hostvars_prefix": "cluster_"}
    base.update(overrides)
    return base


def by_name(hosts):
    return {h["name"]: h for h in hosts}


def test_one_host_per_cluster_with_its_groups_and_kubeconfig():
    hosts, warnings = clusters_spec.hosts({"registry": REGISTRY, "vclusters": VCLUSTERS, "pools": POOLS}, options())
    assert warnings == []
    found = by_name(hosts)
    assert sorted(found) == ["ci-cluster-1", "ci-cluster-2", "prod-eu", "vc-lab-dev", "vc-lab-qa"]
    assert found["prod-eu"]["groups"] == ["registry"]
    # The vcluster the vcluster module recorded in the registry: one host, both views.
    dev = found["vc-lab-dev"]
    assert dev["groups"] == ["expired", "registry", "vcluster"]
    assert dev["vars"]["cluster_registry"]["source"] == "vcluster" and dev["vars"]["cluster_vcluster"]["ttl"] == "2h"
    assert dev["vars"]["cluster_expired"] is True
    assert dev["vars"]["ghost_kubeconfig"] == "/home/u/.ghost/kubeconfigs/lab/dev.yaml"
    assert found["vc-lab-qa"]["groups"] == ["vcluster"] and found["vc-lab-qa"]["vars"]["ghost_kubeconfig"] is None
    assert found["ci-cluster-1"]["groups"] == ["pool_ci", "pool_member", "pool_state_locked"]
    assert found["ci-cluster-1"]["vars"]["cluster_pool_member"]["holder"] == "job-7"
    assert found["ci-cluster-2"]["groups"] == ["pool_ci", "pool_member", "pool_state_available"]
    for host in hosts:
        assert host["vars"]["ansible_connection"] == "local"
        assert host["vars"]["cluster_expired"] is (host["name"] == "vc-lab-dev")


def test_sources_not_read_add_nothing_and_filters_apply():
    hosts, _warnings = clusters_spec.hosts({"registry": REGISTRY}, options(sources=["registry"]))
    assert sorted(by_name(hosts)) == ["prod-eu", "vc-lab-dev"]
    assert "cluster_vcluster" not in by_name(hosts)["vc-lab-dev"]["vars"]
    hosts, _warnings = clusters_spec.hosts({"vclusters": VCLUSTERS, "pools": POOLS},
                                           options(names=["vc-*", "ci-*"], exclude_names=["*-qa"], hostvars_prefix=""))
    assert sorted(by_name(hosts)) == ["ci-cluster-1", "ci-cluster-2", "vc-lab-dev"]
    assert "vcluster" in by_name(hosts)["vc-lab-dev"]["vars"]


def test_a_long_vcluster_id_is_the_registry_s_shortened_one():
    long_ns = "n" * 40
    hosts, _warnings = clusters_spec.hosts({"vclusters": [dict(VCLUSTERS[1], namespace=long_ns, name="m" * 30)]}, options())
    assert len(hosts[0]["name"]) <= 63 and hosts[0]["name"].startswith("vc-nnnn")


@pytest.mark.parametrize("sources, message", [
    ([], "sources: must name at least one source (choices: registry, vclusters, pools)"),
    (["registry", "vcluster"], "sources: unknown source 'vcluster' (choices: registry, vclusters, pools)"),
])
def test_bad_sources(sources, message):
    with pytest.raises(GhostError) as err:
        clusters_spec.hosts({}, options(sources=sources))
    assert str(err.value) == message


def test_an_expired_registration_is_in_group_expired_with_its_expiry():
    registry = {"store": "Secrets in namespace reg", "entries": [
        {"id": "loaner", "record": {"name": None, "source": "join", "server": "https://l:6443", "ttl": "1s"},
         "kubeconfig_path": None, "expiry": {"expires_at": "2026-12-01T12:00:01Z", "expired": True, "ttl": "1s"}},
        {"id": "kept", "record": {"source": "join", "server": "https://k:6443", "ttl": "7d"},
         "kubeconfig_path": None, "expiry": {"expires_at": "2026-12-08T12:00:00Z", "expired": False, "ttl": "7d"}},
        dict(REGISTRY["entries"][1], expiry={"expires_at": "2026-12-08T12:00:00Z", "expired": False, "ttl": "7d"}),
    ]}
    found = by_name(clusters_spec.hosts({"registry": registry, "vclusters": VCLUSTERS}, options())[0])
    loaner = found["loaner"]
    assert loaner["groups"] == ["expired", "registry"]
    assert (loaner["vars"]["cluster_expired"], loaner["vars"]["cluster_expires_at"]) == (True, "2026-12-01T12:00:01Z")
    assert loaner["vars"]["cluster_registry"]["ttl"] == "1s" and loaner["vars"]["cluster_registry"]["expired"] is True
    assert found["kept"]["groups"] == ["registry"] and found["kept"]["vars"]["cluster_expired"] is False
    assert found["kept"]["vars"]["cluster_expires_at"] == "2026-12-08T12:00:00Z"
    # Registered and a vcluster: the earliest expiry, expired when either is.
    dev = found["vc-lab-dev"]
    assert dev["vars"]["cluster_expired"] is True and dev["vars"]["cluster_expires_at"] == "2026-01-01T00:00:00Z"
    assert "expired" in dev["groups"]
    assert found["vc-lab-qa"]["vars"]["cluster_expires_at"] is None
