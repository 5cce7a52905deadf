# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Expiry (ttl) of workspaces and of registrations in the cluster registry, on the testbed's
real API server.

A registration made with ``ttl: 1s`` carries the lifetime record where its store keeps it (the
JSON record of the folder store, read as a file; the annotations of the Secret store, read with
kubectl); two seconds later cluster_info and the ghost.infra.clusters inventory call it expired
and put it in group ``expired``; the same ttl again is no change (it stays expired: the expiry
is counted from the renewal, not pushed back by every run); a new ttl renews it. The same for a
workspace: its Deployment carries the annotations (read with kubectl) and workspace_info lists
it as expired.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import os
import re
import secrets
import subprocess
import sys
import time

import pytest

from registry_helpers import kubectl

LIFETIME_KEYS = ("ghost.infra/ttl", "ghost.infra/expires-at", "ghost.infra/renewed-at")


def _unwrap(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def inventory(ctl, store):
    """``ansible-inventory --list`` of a ghost.infra.clusters source reading only ``store``."""
    path = os.path.join(ctl.root, "reg.ghost.infra.clusters.yml")
    with open(path, "w") as handle:
        handle.write("plugin: ghost.infra.clusters\nsources: [registry]\nstrict: true\nstore: %s\n" % store)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", path, "--list"],
                          env=dict(ctl.env, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0 and "WARNING" not in proc.stderr, proc.stderr[-3000:]
    return json.loads(proc.stdout, object_hook=_unwrap)


def stored_record(store, ctl, cluster_id):
    """The registration's lifetime as its store holds it, read without the collection."""
    if store.startswith("k8s:"):
        secret = json.loads(kubectl("get", "secret", "-n", store[4:], "ghost-cluster-" + cluster_id, "-o", "json").stdout)
        annotations = secret["metadata"]["annotations"]
        return {key: annotations.get(key) for key in LIFETIME_KEYS}
    with open(os.path.join(ctl.store, cluster_id + ".json")) as handle:
        record = json.load(handle)
    return {"ghost.infra/ttl": record.get("ttl"), "ghost.infra/expires-at": record.get("expires_at"),
            "ghost.infra/renewed-at": record.get("renewed_at")}


def wait_past(moment):
    """Sleep until the RFC 3339 ``moment`` has passed by a second (expiries have second resolution)."""
    deadline = calendar.timegm(time.strptime(moment, "%Y-%m-%dT%H:%M:%SZ")) + 1.05
    time.sleep(max(0.0, deadline - time.time()))


@pytest.mark.parametrize("kind", ["folder", "k8s"])
def test_a_registration_expires_and_a_new_ttl_renews_it(kind, controller, clusters, registry_namespace):
    ctl = controller(kind)
    store = "k8s:" + registry_namespace if kind == "k8s" else ctl.store
    cluster_id = "ttl-%s" % secrets.token_hex(3)
    join = {"id": cluster_id, "kubeconfig": clusters["testbed"], "store": store, "ttl": "1s"}
    made = ctl.module("cluster_join", join)
    assert not made["failed"] and made["changed"], made["_output"][-3000:]
    assert made["cluster"]["ttl"] == "1s" and made["cluster"]["expires_at"]
    stored = stored_record(store, ctl, cluster_id)
    assert stored["ghost.infra/ttl"] == "1s" and stored["ghost.infra/expires-at"] == made["cluster"]["expires_at"]
    assert stored["ghost.infra/renewed-at"]
    wait_past(made["cluster"]["expires_at"])

    info = ctl.module("cluster_info", {"store": store, "id": cluster_id, "health": False})
    assert not info["failed"], info["_output"][-3000:]
    assert [(c["id"], c["expired"], c["ttl"]) for c in info["clusters"]] == [(cluster_id, True, "1s")]
    listed = inventory(ctl, store)
    hostvars = listed["_meta"]["hostvars"][cluster_id]
    assert hostvars["cluster_expired"] is True and hostvars["cluster_expires_at"] == made["cluster"]["expires_at"]
    assert cluster_id in listed["expired"]["hosts"]

    again = ctl.module("cluster_join", join)
    assert not again["failed"] and not again["changed"], again["_output"][-3000:]
    assert again["cluster"]["expired"] is True and stored_record(store, ctl, cluster_id) == stored

    renewed = ctl.module("cluster_join", dict(join, ttl="1h"), diff=True)
    assert not renewed["failed"] and renewed["changed"], renewed["_output"][-3000:]
    assert renewed["cluster"]["expired"] is False and renewed["cluster"]["ttl"] == "1h"
    # ad hoc output prints the diff as text (the callback drops it from the result it prints)
    out = renewed["_output"]
    assert re.search(r'^-.*ttl.*1s', out, re.M) and re.search(r'^\+.*ttl.*1h', out, re.M), out[-3000:]
    assert stored_record(store, ctl, cluster_id)["ghost.infra/ttl"] == "1h"
    listed = inventory(ctl, store)
    assert cluster_id not in (listed.get("expired") or {}).get("hosts", [])
    assert listed["_meta"]["hostvars"][cluster_id]["cluster_expired"] is False


def test_a_workspace_expires_and_a_new_ttl_renews_it(controller, clusters):
    ctl = controller("ws")
    namespace = "ghost-it-wsttl-%s" % secrets.token_hex(4)
    ws = {"name": "short", "namespace": namespace, "image": "nginxinc/nginx-unprivileged:1.27", "wait": False,
          "ttl": "1s", "kubeconfig": clusters["testbed"]}
    try:
        made = ctl.module("workspace", ws)
        assert not made["failed"] and made["changed"], made["_output"][-3000:]
        assert made["workspace"]["ttl"] == "1s" and made["workspace"]["expired"] is False
        deploy = json.loads(kubectl("get", "deployment", "-n", namespace, "short", "-o", "json").stdout)
        annotations = deploy["metadata"]["annotations"]
        assert annotations["ghost.infra/ttl"] == "1s" and annotations["ghost.infra/renewed-at"]
        assert annotations["ghost.infra/expires-at"] == made["workspace"]["expires_at"]
        wait_past(made["workspace"]["expires_at"])

        info = ctl.module("workspace_info", {"namespace": namespace, "kubeconfig": clusters["testbed"]})
        assert not info["failed"], info["_output"][-3000:]
        assert [(w["name"], w["namespace"], w["flavor"], w["ttl"], w["expired"]) for w in info["workspaces"]] == [
            ("short", namespace, "nginx", "1s", True)]
        everywhere = ctl.module("workspace_info", {"kubeconfig": clusters["testbed"]})
        assert ("short", namespace, True) in [(w["name"], w["namespace"], w["expired"]) for w in everywhere["workspaces"]]
        assert "PASSWORD" not in json.dumps(everywhere["workspaces"])

        again = ctl.module("workspace", ws)
        assert not again["failed"] and not again["changed"], again["_output"][-3000:]
        assert again["workspace"]["expired"] is True

        renewed = ctl.module("workspace", dict(ws, ttl="1h"))
        assert not renewed["failed"] and renewed["changed"], renewed["_output"][-3000:]
        assert renewed["workspace"]["expired"] is False and renewed["workspace"]["ttl"] == "1h"
        deploy = json.loads(kubectl("get", "deployment", "-n", namespace, "short", "-o", "json").stdout)
        assert deploy["metadata"]["annotations"]["ghost.infra/ttl"] == "1h"
    finally:
        kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False)
