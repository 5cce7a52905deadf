# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cluster registry against the testbed's kube-apiserver and the vcluster stand-in's API
server (both real): joins with both stores, separate controllers seeing one Kubernetes store,
one context of a multi-context kubeconfig, a changed kubeconfig replaced with a diff of names,
pre-warm failures (401, wrong CA, refused, black hole) that leave each store byte for byte
as it was within the bound, and cluster_info's one timeout for 20 clusters of which 5 never
answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import subprocess
import time

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._registry import spec, stores

from registry_helpers import folder_bytes, kubectl, secrets_in

PREWARM_TIMEOUT = 3


def read_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def kubeconfig_with(path, *, server=None, token=None, ca_pem=None):
    """The kubeconfig at ``path`` as text, with another server, token or CA."""
    document = read_yaml(path)
    if server:
        document["clusters"][0]["cluster"]["server"] = server
    if token:
        document["users"][0]["user"]["token"] = token
    if ca_pem:
        document["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return yaml.safe_dump(document)


def other_ca(tmp_path):
    """A CA certificate the testbed's API servers were not signed by."""
    key, cert = tmp_path / "other-ca.key", tmp_path / "other-ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=not-the-testbed-ca", "-days", "1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert.read_bytes()


def by_id(result):
    return {c["id"]: c for c in result["clusters"]}


def test_folder_store_joins_both_api_servers(controller, clusters):
    ctl = controller("a")
    first = ctl.module("cluster_join", {"id": "testbed", "kubeconfig": clusters["testbed"], "labels": {"env": "lab"}})
    assert not first["failed"] and first["changed"], first["_output"][-2000:]
    assert first["prewarm"]["ok"] and first["prewarm"]["server_version"].startswith("v1.")
    assert first["prewarm"]["namespace_count"] >= 1
    virtual = ctl.module("cluster_join", {"id": "virtual", "kubeconfig": clusters["virtual"]}, check_mode=True)
    assert virtual["changed"] and folder_bytes(ctl.store).keys() == {
        os.path.join(ctl.store, "testbed.json"), os.path.join(ctl.store, "testbed.yaml")}
    virtual = ctl.module("cluster_join", {"id": "virtual", "kubeconfig": clusters["virtual"]}, diff=True)
    assert virtual["changed"] and virtual["cluster"]["server"] == os.environ["GHOST_VCLUSTER_API"]
    again = ctl.module("cluster_join", {"id": "testbed", "kubeconfig": clusters["testbed"], "labels": {"env": "lab"}})
    assert not again["failed"] and not again["changed"]
    for path, (_data, mode) in folder_bytes(ctl.store).items():
        assert mode & 0o777 == 0o600, path
    assert os.stat(ctl.store).st_mode & 0o777 == 0o700
    info = ctl.module("cluster_info", {})
    found = by_id(info)
    assert sorted(found) == ["testbed", "virtual"]
    assert found["testbed"]["reachable"] and found["virtual"]["reachable"], info["clusters"]
    assert found["testbed"]["server_version"].startswith("v1.") and found["virtual"]["server_version"].startswith("v1.")
    assert found["testbed"]["node_count"] >= 1 and found["testbed"]["labels"] == {"env": "lab"}
    for token in (read_yaml(clusters["testbed"])["users"][0]["user"]["token"],
                  read_yaml(clusters["virtual"])["users"][0]["user"]["token"]):
        assert token not in first["_output"] + virtual["_output"] + info["_output"]


def test_context_picks_one_of_a_multi_context_kubeconfig_and_a_changed_one_is_replaced(controller, clusters):
    ctl = controller("a")
    both, virtual = read_yaml(clusters["testbed"]), read_yaml(clusters["virtual"])
    for key in ("clusters", "users", "contexts"):
        both[key] += virtual[key]
    assert both["current-context"] != virtual["contexts"][0]["name"]
    path = os.path.join(ctl.root, "both.kubeconfig")
    with open(path, "w") as handle:
        handle.write(yaml.safe_dump(both))
    picked = ctl.module("cluster_join", {"id": "picked", "kubeconfig": path, "context": virtual["contexts"][0]["name"]})
    assert picked["changed"] and picked["cluster"]["server"] == os.environ["GHOST_VCLUSTER_API"], picked["_output"][-2000:]
    stored = read_yaml(picked["cluster"]["kubeconfig_path"])
    assert [c["name"] for c in stored["contexts"]] == [virtual["contexts"][0]["name"]] and len(stored["users"]) == 1
    wrong = ctl.module("cluster_join", {"id": "picked", "kubeconfig": path, "context": "nope"})
    assert wrong["failed"] and "context" in wrong["msg"] and "no context 'nope'" in wrong["msg"], wrong["msg"]
    # The same cluster under another user name: the kubeconfig is replaced, the diff names names only.
    user_name = virtual["users"][0]["name"]
    virtual["users"][0]["name"] = virtual["contexts"][0]["context"]["user"] = "ghost-it-renamed-user"
    renamed = os.path.join(ctl.root, "renamed.kubeconfig")
    with open(renamed, "w") as handle:
        handle.write(yaml.safe_dump(virtual))
    before = folder_bytes(ctl.store)[picked["cluster"]["kubeconfig_path"]][0]
    code, output = ctl.playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ghost.infra.cluster_join:
        id: picked
        kubeconfig_content: "{{ lookup('ansible.builtin.file', '%s') }}"
      diff: true
      register: replaced
    - ansible.builtin.copy:
        dest: %s/replaced.json
        content: "{{ replaced | to_json }}"
        mode: "0600"
""" % (renamed, ctl.root))
    assert code == 0, output[-3000:]
    with open(os.path.join(ctl.root, "replaced.json")) as handle:
        replaced = json.load(handle)
    assert replaced["changed"], replaced
    assert replaced["diff"]["before"]["user_name"] == user_name
    assert replaced["diff"]["after"]["user_name"] == "ghost-it-renamed-user"
    assert replaced["diff"]["after"]["credentials"] == "replaced"
    assert sorted(replaced["diff"]["after"]) == ["cluster_name", "context", "credentials", "expires_at", "id", "labels",
                                                 "name", "server", "ttl", "user_name"]
    after = folder_bytes(ctl.store)[picked["cluster"]["kubeconfig_path"]]
    assert after[0] != before and b"ghost-it-renamed-user" in after[0] and after[1] & 0o777 == 0o600
    assert virtual["users"][0]["user"]["token"] not in output + json.dumps(replaced)


def test_kubernetes_store_is_shared_by_controllers_with_nothing_in_common(controller, clusters, registry_namespace):
    store = "k8s:" + registry_namespace
    join_a = controller("a").playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ghost.infra.cluster_join:
        id: testbed
        kubeconfig: %s
        store: %s
""" % (clusters["testbed"], store))
    assert join_a[0] == 0, join_a[1][-3000:]
    join_b = controller("b").playbook("""
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ghost.infra.cluster_join:
        id: virtual
        kubeconfig: %s
        store: %s
""" % (clusters["virtual"], store))
    assert join_b[0] == 0, join_b[1][-3000:]
    reader = controller("c")
    info = reader.module("cluster_info", {"store": store})
    found = by_id(info)
    assert sorted(found) == ["testbed", "virtual"], info["_output"][-2000:]
    assert all(c["reachable"] and c["server_version"].startswith("v1.") for c in found.values()), info["clusters"]
    assert found["virtual"]["store"] == "Secrets in namespace %s" % registry_namespace
    assert not os.path.exists(os.path.join(reader.home, ".ghost"))
    stored = secrets_in(registry_namespace)
    assert sorted(stored) == ["ghost-cluster-testbed", "ghost-cluster-virtual"]
    # One merged kubeconfig on the third controller reaches both clusters by context.
    merged = reader.module("kubeconfig", {"store": store, "dest": os.path.join(reader.root, "merged.yaml")})
    assert merged["changed"] and merged["contexts"] == ["testbed", "virtual"]
    assert os.stat(merged["path"]).st_mode & 0o777 == 0o600
    for context in ("testbed", "virtual"):
        proc = kubectl("--kubeconfig", merged["path"], "--context", context, "get", "namespaces", "-o", "name")
        assert "namespace/default" in proc.stdout
    assert not reader.module("kubeconfig", {"store": store, "dest": merged["path"]})["changed"]
    # Re-joining from another controller is no change; leaving removes the Secret.
    assert not controller("d").module("cluster_join", {"id": "testbed", "kubeconfig": clusters["testbed"],
                                                       "store": store})["changed"]
    gone = controller("e").module("cluster_join", {"id": "virtual", "state": "absent", "store": store})
    assert gone["changed"] and sorted(secrets_in(registry_namespace)) == ["ghost-cluster-testbed"]


@pytest.mark.parametrize("store_kind", ["folder", "k8s"])
def test_failed_prewarm_leaves_the_store_byte_for_byte(controller, clusters, registry_namespace, black_hole,
                                                       tmp_path, store_kind):
    ctl = controller("a")
    store = "k8s:" + registry_namespace if store_kind == "k8s" else None
    args = {"store": store} if store else {}
    seeded = ctl.module("cluster_join", dict(args, id="virtual", kubeconfig=clusters["virtual"]))
    assert seeded["changed"], seeded["_output"][-2000:]

    def snapshot():
        return secrets_in(registry_namespace) if store else folder_bytes(ctl.store)

    hole = black_hole()
    cases = {
        "unauthorized": kubeconfig_with(clusters["testbed"], token="ghost-it-wrong-token-0123456789"),
        "tls": kubeconfig_with(clusters["testbed"], ca_pem=other_ca(tmp_path)),
        "refused": kubeconfig_with(clusters["testbed"], server="https://127.0.0.1:1"),
        "timeout": kubeconfig_with(clusters["testbed"], server="https://127.0.0.1:%d" % hole.port),
    }
    for cause, content in cases.items():
        for cluster_id in ("testbed", "virtual"):  # a new id, and a re-join of an existing one
            before = snapshot()
            result = ctl.module("cluster_join", dict(args, id=cluster_id, kubeconfig_content=content,
                                                     prewarm_timeout=PREWARM_TIMEOUT))
            assert result["failed"] and result["cause"] == cause, (cause, result["msg"])
            assert "the pre-warm failed (%s)" % cause in result["msg"]
            assert result["duration"] <= PREWARM_TIMEOUT + 1, (cause, result["duration"])
            assert snapshot() == before, cause
            assert "ghost-it-wrong-token" not in result["_output"]


def test_cluster_info_bounds_twenty_clusters_with_five_black_holes(controller, clusters, black_hole):
    ctl = controller("a")
    folder = stores.FolderStore(ctl.store)
    source = read_yaml(clusters["testbed"])
    holes = [black_hole() for _index in range(5)]
    for index in range(20):
        document = yaml.safe_load(yaml.safe_dump(source))
        if index % 4 == 3:
            document["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % holes[index // 4].port
        selected = spec.select_context(document, None, "kubeconfig")
        record = spec.record(cluster_id="c%02d" % index, described=spec.describe(selected), added=None,
                             now="2025-01-01T00:00:00Z", prewarm=None)
        folder.put("c%02d" % index, yaml.safe_dump(selected).encode(), record)
    timeout = 10
    started = time.monotonic()
    info = ctl.module("cluster_info", {"timeout": timeout}, timeout=120)
    wall = time.monotonic() - started
    found = by_id(info)
    dark = sorted(cid for cid, c in found.items() if not c["reachable"])
    print("cluster_info over 20 clusters, 5 black-holed: module %.2fs, ansible process %.2fs" % (info["duration"], wall))
    assert dark == ["c03", "c07", "c11", "c15", "c19"], info["clusters"]
    assert all(found[cid]["cause"] == "timeout" for cid in dark)
    assert all(found[cid]["server_version"] and found[cid]["node_count"] >= 1 for cid in found if cid not in dark)
    assert info["duration"] <= timeout + 2, info["duration"]
