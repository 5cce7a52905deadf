# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cluster_join's RETURN ``cluster`` / ``prewarm``, cluster_info's ``clusters`` and kubeconfig's keys
against what the runner returns (a real folder store, fake probes)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import yaml

from ansible_collections.ghost.infra.plugins.module_utils._registry import runner, stores

KUBECONFIG = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Config", "current-context": "a",
    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443"}}],
    "users": [{"name": "u", "user": {"token": "t0k3n-for-tests"}}],
    "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}]})


class Probes:
    @staticmethod
    def prewarm(kubeconfig, timeout):
        return {"server_version": "v1.34.4", "namespace_count": 4, "latency_ms": 3, "failure": None}

    @staticmethod
    def health(kubeconfigs, timeout):
        return {cid: {"server_version": "v1.34.4", "node_count": 1, "latency_ms": 2, "failure": None}
                for cid, _doc in kubeconfigs}


def joined(tmp_path):
    store = stores.FolderStore(str(tmp_path / "clusters"))
    options = runner.validate_join({"id": "lab", "state": "present", "kubeconfig_content": KUBECONFIG,
                                    "labels": {"env": "lab"}, "prewarm_timeout": 10})
    return store, runner.join(store, options, probes=Probes)


def test_cluster_join_returns_what_it_documents(tmp_path, return_schema):
    _store, result = joined(tmp_path)
    doc = return_schema.doc("cluster_join")
    return_schema.assert_matches(result["cluster"], doc["cluster"]["contains"])
    return_schema.assert_matches(result["prewarm"], doc["prewarm"]["contains"])


def test_cluster_info_returns_what_it_documents(tmp_path, return_schema):
    store, _result = joined(tmp_path)
    clusters = runner.info(store, {}, probes=Probes)["clusters"]
    return_schema.assert_matches(clusters, return_schema.doc("cluster_info")["clusters"]["contains"])
    # The record part of each cluster is what cluster_join returns as ``cluster``.
    join_keys = set(return_schema.doc("cluster_join")["cluster"]["contains"])
    assert join_keys <= set(return_schema.doc("cluster_info")["clusters"]["contains"])


def test_kubeconfig_returns_what_it_documents(tmp_path, return_schema):
    store, _result = joined(tmp_path)
    result = runner.export(store, {"dest": str(tmp_path / "merged.yaml")})
    doc = return_schema.doc("kubeconfig")
    assert set(result) - {"changed"} == set(doc) - {"duration"}
