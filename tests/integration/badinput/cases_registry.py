# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of the cluster registry (cluster_join, cluster_info, kubeconfig) and workspace
(placeholders: see bad_campaign.py). The default folder store is under the run's HOME; a case
gives ``store: "@DIR@/store"`` where a store of its own is needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

JOIN = {"id": "@NAME@", "store": "@DIR@/store", "prewarm_timeout": 60}
WS = {"name": "@NAME@", "namespace": "@NAME@", "image": "nginxinc/nginx-unprivileged:1.27", "wait": False}
KUBECONFIG_WITH_SECRET = ("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n"
                          "users:\n- name: u\n  user: {token: @SECRET@}\ncontexts: []\ncurrent-context: missing\n")


def join(**extra):
    return dict(JOIN, **extra)


def ws(**extra):
    return dict(WS, **extra)


CASES = [
    # cluster_join
    Case("cluster_join-id-invalid", "cluster_join", join(id="GB@TOKEN@_Cluster", kubeconfig="@KUBECONFIG@"), "id",
         r"DNS-1123|lower|label"),
    Case("cluster_join-id-too-long", "cluster_join", join(id="@NAME@" + "i" * 60, kubeconfig="@KUBECONFIG@"), "id",
         r"63|at most|too long", note="id of 71 characters"),
    Case("cluster_join-content-not-yaml", "cluster_join",
         join(kubeconfig_content="apiVersion: v1\nusers: [{name: u, user: {token: @SECRET@}\n"),
         "kubeconfig_content", r"YAML|JSON|parse|not a kubeconfig|invalid",
         note="kubeconfig_content: broken YAML holding a token (secret)"),
    Case("cluster_join-content-no-context", "cluster_join", join(kubeconfig_content=KUBECONFIG_WITH_SECRET),
         "kubeconfig_content", r"context", note="kubeconfig_content: current-context missing (token: secret)"),
    Case("cluster_join-join-file-missing", "cluster_join", join(join_file="@DIR@/no-such-join.json"), "join_file",
         r"not found|does not exist|no such|cannot read"),
    Case("cluster_join-join-file-malformed", "cluster_join", join(join_file="@DIR@/join.json"), "join_file",
         r"JSON|YAML|parse|invalid|cluster.kubeconfig", files={"join.json": '{"cluster": {"kubeconfig": ['}),
    Case("cluster_join-join-file-no-kubeconfig", "cluster_join", join(join_file="@DIR@/join.json"), "join_file",
         r"cluster.kubeconfig|kubeconfig", files={"join.json": '{"cluster": {"name": "x", "token": "@SECRET@"}}'},
         note="join_file: no cluster.kubeconfig (a token beside: secret)"),
    Case("cluster_join-kubeconfig-missing", "cluster_join", join(kubeconfig="@DIR@/no-such-kubeconfig"), "kubeconfig",
         r"not found|does not exist|no such|cannot read"),
    Case("cluster_join-two-sources", "cluster_join",
         join(kubeconfig="@KUBECONFIG@", kubeconfig_content=KUBECONFIG_WITH_SECRET), "kubeconfig",
         r"mutually exclusive|only one|one of"),
    Case("cluster_join-prewarm-negative", "cluster_join", join(kubeconfig="@KUBECONFIG@", prewarm_timeout=-1),
         "prewarm_timeout", r"positive|at least|negative"),
    Case("cluster_join-store-namespace-invalid", "cluster_join", join(kubeconfig="@KUBECONFIG@", store="k8s:Bad_NS"),
         "store", r"DNS-1123|namespace|invalid"),
    Case("cluster_join-store-under-file", "cluster_join", join(kubeconfig="@KUBECONFIG@", store="@DIR@/afile/store"),
         "store", r"not a directory|cannot|exists|create", files={"afile": "x"}),
    Case("cluster_join-store-auth-secret", "cluster_join",
         join(kubeconfig="@KUBECONFIG@", store="k8s:@NS@",
              store_auth={"host": "@APISERVER@", "api_key": "@SECRET@", "validate_certs": False}),
         None, r"401|Unauthorized", note="store_auth.api_key: a wrong token (secret)"),
    # cluster_info, kubeconfig
    Case("cluster_info-timeout-negative", "cluster_info", {"store": "@DIR@", "timeout": -3}, "timeout",
         r"positive|at least|negative"),
    Case("kubeconfig-ids-invalid", "kubeconfig", {"ids": ["Bad_ID"], "store": "@DIR@", "dest": "@DIR@/kc.yaml"},
         "ids", r"DNS-1123|label|not found|invalid"),
    Case("kubeconfig-dest-is-dir", "kubeconfig", {"store": "@DIR@", "dest": "@DIR@"}, "dest",
         r"directory|not a file|regular"),
    # workspace
    Case("workspace-name-invalid", "workspace", ws(name="1gb@TOKEN@-ws"), "name", r"DNS-1035|letter|label"),
    Case("workspace-name-too-long", "workspace", ws(name="@NAME@" + "w" * 50), "name", r"53|at most|too long",
         note="name of 61 characters"),
    Case("workspace-port-out-of-range", "workspace", ws(ports=[70000]), "ports", r"65535|range"),
    Case("workspace-ports-not-int", "workspace", ws(ports=["http"]), "ports", r"int"),
    Case("workspace-storage-unit", "workspace", ws(storage="10XB"), "storage", r"quantity|size|unit|invalid"),
    Case("workspace-run-as-negative", "workspace", ws(run_as_user=-5), "run_as_user", r"negative|at least|positive"),
    Case("workspace-cluster-unknown", "workspace", ws(cluster="@NAME@-cl", store="@DIR@"), "cluster",
         r"not found|does not exist|no cluster|unknown"),
    Case("workspace-password-with-bad-namespace", "workspace", ws(namespace="Bad_NS", password="@SECRET@"),
         "namespace", r"DNS-1123|label|invalid", note="namespace invalid; password (secret)"),
    Case("workspace-env-not-string", "workspace", ws(env={"A": {"b": 1}}), "env", r"string"),
    # expiry (ttl / expires_at): refused before anything is made
    Case("workspace-ttl-invalid", "workspace", ws(ttl="30"), "ttl", r"not a valid TTL|unit"),
    Case("workspace-expires-at-invalid", "workspace", ws(expires_at="tomorrow"), "expires_at", r"RFC 3339"),
    Case("cluster_join-ttl-invalid", "cluster_join", join(kubeconfig="@KUBECONFIG@", ttl="30"), "ttl",
         r"not a valid TTL|unit"),
    Case("cluster_join-expires-at-invalid", "cluster_join", join(kubeconfig="@KUBECONFIG@", expires_at="tomorrow"),
         "expires_at", r"RFC 3339"),
]
