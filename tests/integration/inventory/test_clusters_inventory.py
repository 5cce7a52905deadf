# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.clusters through ansible-inventory against the testbed's API server.

The test's own objects, written the way the modules write them: a registry folder filled by
ghost.infra.cluster_join (a joined cluster, and one under the registry id of the vcluster
below); a vcluster workload (Deployment labelled app=vcluster) with the lifetime annotations
ghost.infra.vcluster keeps, already expired, and its kubeconfig where that module writes it;
a cluster pool's member Leases (one locked by a holder, one available) with the labels and
annotations of the pool modules (their constants). Then a play runs kubernetes.core.k8s_info
on every registry host with ``kubeconfig: "{{ ghost_kubeconfig }}"``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import shutil
import subprocess
import sys

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool import spec as pool_spec
from ansible_collections.ghost.infra.plugins.module_utils._registry.spec import vcluster_id
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec as vcluster_spec


def kubectl(*args, stdin=None):
    proc = subprocess.run(["kubectl"] + list(args), input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)
    if proc.returncode != 0:
        pytest.fail("kubectl %s failed: %s" % (" ".join(args), proc.stderr), pytrace=False)
    return proc.stdout


def join(store, cluster_id, kubeconfig, labels, tmp):
    """ghost.infra.cluster_join, as a play runs it."""
    args = json.dumps({"id": cluster_id, "kubeconfig": kubeconfig, "store": store, "labels": labels})
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_HOME=str(tmp / "home"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "ghost.infra.cluster_join",
                           "-a", args], env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
        pytest.fail("cluster_join %s failed: %s %s" % (cluster_id, proc.stdout[-2000:], proc.stderr[-2000:]),
                    pytrace=False)


@pytest.fixture(scope="module")
def clusters(testbed, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clusters")
    tag = secrets.token_hex(3)
    lab = {"ns": "ghost-inv-cl-%s" % tag, "vcluster": "vc%s" % tag, "pool": "pinv%s" % tag, "joined": "inv-%s" % tag,
           "registry": str(tmp / "registry"), "kubeconfig_dir": str(tmp / "kubeconfigs"), "tmp": tmp}
    lab["vc_id"] = vcluster_id(lab["vcluster"], lab["ns"])
    kubeconfig = os.environ["K8S_AUTH_KUBECONFIG"]
    join(lab["registry"], lab["joined"], kubeconfig, {"team": "a"}, tmp)
    join(lab["registry"], lab["vc_id"], kubeconfig, {"team": "b"}, tmp)
    # Where ghost.infra.vcluster keeps the vcluster's kubeconfig.
    lab["vc_kubeconfig"] = vcluster_spec.kubeconfig_path(lab["kubeconfig_dir"], lab["ns"], lab["vcluster"])
    os.makedirs(os.path.dirname(lab["vc_kubeconfig"]), mode=0o700)
    shutil.copy(kubeconfig, lab["vc_kubeconfig"])
    kubectl("create", "namespace", lab["ns"])
    try:
        labels = dict(item.split("=", 1) for item in vcluster_spec.APP_SELECTOR.split(","))
        workload = {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": lab["vcluster"], "namespace": lab["ns"],
                                 "labels": dict(labels, release=lab["vcluster"]),
                                 "annotations": {vcluster_spec.CREATED_AT: "2026-01-01T00:00:00Z", vcluster_spec.TTL: "1h",
                                                 vcluster_spec.EXPIRES_AT: "2026-01-01T01:00:00Z"}},
                    "spec": {"replicas": 0, "selector": {"matchLabels": {"release": lab["vcluster"]}},
                             "template": {"metadata": {"labels": {"release": lab["vcluster"]}},
                                          "spec": {"containers": [{"name": "syncer", "image": "none"}]}}}}
        members = []
        for index, (state, holder) in enumerate(((lease_spec.LOCKED, "job-%s" % tag), (lease_spec.AVAILABLE, None)), 1):
            member = "%s-%d" % (lab["pool"], index)
            members.append({
                "apiVersion": pool_spec.API_VERSION, "kind": pool_spec.LEASE,
                "metadata": {"name": "%s.member.%s" % (lab["pool"], member), "namespace": lab["ns"],
                             "labels": {pool_spec.LABEL_POOL: lab["pool"], pool_spec.LABEL_OBJECT: pool_spec.OBJECT_MEMBER,
                                        pool_spec.LABEL_MEMBER: member},
                             "annotations": {lease_spec.A_STATE: state,
                                             pool_spec.ANNOTATION_MEMBER: json.dumps({"namespace": member, "vms": []})}},
                "spec": dict({"holderIdentity": holder, "leaseDurationSeconds": 3600} if holder else {}),
            })
        kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": [workload] + members}))
        yield lab
    finally:
        subprocess.run(["kubectl", "delete", "namespace", lab["ns"], "--wait=false"], capture_output=True, timeout=120,
                       check=False)


def source(lab, extra=""):
    return """\
plugin: ghost.infra.clusters
store: %s
namespaces: [%s]
kubeconfig_dir: %s
keyed_groups:
  - key: cluster_registry.labels.team | default('none')
    prefix: team
%s""" % (lab["registry"], lab["ns"], lab["kubeconfig_dir"], extra)


def test_registry_vclusters_and_pool_members(clusters, ansible_inventory, source_file, helpers):
    listed = ansible_inventory(source_file("clusters", source(clusters)), "--list")
    assert listed.returncode == 0 and "WARNING" not in listed.stderr, listed.stderr
    hostvars = listed.json["_meta"]["hostvars"]
    pool, joined, vc_id = clusters["pool"], clusters["joined"], clusters["vc_id"]
    assert sorted(hostvars) == sorted([joined, vc_id, "%s-%s-1" % (pool, pool), "%s-%s-2" % (pool, pool)])
    groups = helpers.tree(listed.json)
    assert groups["registry"] == sorted([joined, vc_id])
    assert groups["vcluster"] == [vc_id] and groups["expired"] == [vc_id]
    assert groups["pool_" + pool] == sorted(["%s-%s-1" % (pool, pool), "%s-%s-2" % (pool, pool)])
    assert groups["pool_state_locked"] == ["%s-%s-1" % (pool, pool)]
    assert groups["pool_state_available"] == ["%s-%s-2" % (pool, pool)]
    assert groups["team_a"] == [joined] and groups["team_b"] == [vc_id]
    assert hostvars[joined]["ghost_kubeconfig"] == os.path.join(clusters["registry"], joined + ".yaml")
    vc = hostvars[vc_id]
    assert vc["cluster_vcluster"]["ttl"] == "1h" and vc["cluster_expired"] is True
    assert vc["cluster_vcluster"]["kubeconfig_path"] == clusters["vc_kubeconfig"]
    locked = hostvars["%s-%s-1" % (pool, pool)]["cluster_pool_member"]
    assert (locked["state"], locked["holder"], locked["pool"]) == ("locked", "job-" + pool[4:], pool)
    assert all(hv["ansible_connection"] == "local" for hv in hostvars.values())
    text = listed.stdout + listed.stderr
    assert "client-key-data" not in text and "token:" not in text


def test_a_play_reaches_each_registry_cluster_through_ghost_kubeconfig(clusters, source_file, tmp_path):
    play = tmp_path / "play.yml"
    play.write_text("""\
- hosts: registry
  gather_facts: false
  tasks:
    - kubernetes.core.k8s_info:
        kind: Namespace
        name: default
        kubeconfig: "{{ ghost_kubeconfig }}"
      register: found
    - ansible.builtin.assert:
        that: found.resources | length == 1
""")
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           "-i", str(source_file("clusters", source(clusters, "sources: [registry]\n"))), str(play),
                           "-e", "ansible_python_interpreter=%s" % sys.executable], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "ok=2" in proc.stdout and proc.stdout.count("ok=2") == 2


def test_a_fresh_cache_reads_nothing_and_a_down_host_cluster_warns(clusters, ansible_inventory, source_file, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(os.environ["K8S_AUTH_KUBECONFIG"], str(kubeconfig))
    registry = tmp_path / "registry"
    shutil.copytree(clusters["registry"], str(registry))
    lab = dict(clusters, registry=str(registry))
    env = {"K8S_AUTH_KUBECONFIG": str(kubeconfig)}
    path = source_file("clusters", source(lab, "cache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                               "cache_connection: %s\n" % (tmp_path / "cache")))
    first = ansible_inventory(path, "--list", env=env)
    assert first.returncode == 0 and "WARNING" not in first.stderr, first.stderr
    kubeconfig.unlink()
    shutil.rmtree(str(registry))
    second = ansible_inventory(path, "--list", env=env)
    assert second.returncode == 0 and "WARNING" not in second.stderr, second.stderr
    assert second.json == first.json
    flushed = ansible_inventory(path, "--list", "--flush-cache", env=env)
    assert "ghost.infra.clusters: cannot read the host cluster: Failed to connect to the Kubernetes API" in flushed.stderr
    strict = source_file("clusters", source(lab, "strict: true\n"), name="strict")
    failed = ansible_inventory(strict, "--list", env=dict(env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    assert failed.returncode != 0 and "cannot read the host cluster" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_the_kubernetes_store_lists_the_registry_without_a_kubeconfig_file(testbed, ansible_inventory, source_file, tmp_path):
    """The registry as Secrets (store=k8s:NAMESPACE, what AWX jobs share) gives the same hosts,
    groups and labels as the folder store; the kubeconfig stays in its Secret (ghost_kubeconfig
    is null) and no credential reaches the output."""
    tag = secrets.token_hex(3)
    namespace, cluster_id = "ghost-inv-reg-%s" % tag, "invk-%s" % tag
    kubectl("create", "namespace", namespace)
    try:
        join("k8s:" + namespace, cluster_id, os.environ["K8S_AUTH_KUBECONFIG"], {"team": "k"}, tmp_path)
        text = """\
plugin: ghost.infra.clusters
store: k8s:%s
sources: [registry]
keyed_groups:
  - key: cluster_registry.labels.team | default('none')
    prefix: team
""" % namespace
        listed = ansible_inventory(source_file("clusters", text), "--list")
        assert listed.returncode == 0 and "WARNING" not in listed.stderr, listed.stderr
        hostvars = listed.json["_meta"]["hostvars"]
        assert sorted(hostvars) == [cluster_id]
        assert listed.json["registry"]["hosts"] == [cluster_id]
        assert listed.json["team_k"]["hosts"] == [cluster_id]
        assert hostvars[cluster_id]["ghost_kubeconfig"] is None
        assert hostvars[cluster_id]["ansible_connection"] == "local"
        output = listed.stdout + listed.stderr
        assert "client-key-data" not in output and "token:" not in output
    finally:
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"], capture_output=True, timeout=120,
                       check=False)
