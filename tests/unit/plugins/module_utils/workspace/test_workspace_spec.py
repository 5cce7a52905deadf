# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The workspace's pure rules: option checks, image kinds, the objects, comparison, diff and status."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._workspace import spec


def options(**over):
    base = {"name": "alice", "namespace": "ws", "state": "present", "image": "codercom/code-server:4.104.0",
            "flavor": "auto", "ports": [8080], "env": {"TZ": "UTC", "DEBUG": True}, "password": "pw", "storage": None,
            "storage_class": None, "exposure": "clusterip", "run_as_user": 101, "wait": True, "wait_timeout": 300}
    base.update(over)
    return spec.validate(base)


@pytest.mark.parametrize("image, kind", [
    ("codercom/code-server:4.104.0", "code-server"),
    ("ghcr.io/coder/code-server@sha256:abc", "code-server"),
    ("registry.example:5000/team/code-server", "code-server"),
    ("nginxinc/nginx-unprivileged:1.27", "nginx"),
    ("nginx", "nginx"),
    ("registry.example:5000/nginx:1.27", "nginx"),
    ("jupyter/base-notebook:latest", "plain"),
    ("registry.example:5000/code-server-tools/jupyter:1", "code-server"),  # any part of the path counts
])
def test_flavor_from_the_image(image, kind):
    assert spec.flavor(image) == kind
    assert spec.flavor(image, "plain") == "plain"


@pytest.mark.parametrize("over, option, words", [
    ({"name": "Alice"}, "name", "not a valid workspace name"),
    ({"name": "a" * 54}, "name", "at most 53"),
    ({"namespace": "Bad_NS"}, "namespace", "DNS-1123"),
    ({"image": None}, "image", "required with state=present"),
    ({"ports": [0]}, "ports", "not a TCP port"),
    ({"ports": [8080, 8080]}, "ports", "once"),
    ({"env": {"PASSWORD": "x"}}, "env", "comes from the password option"),
    ({"env": {"1BAD NAME": "x"}}, "env", "not a usable environment variable name"),
    ({"storage": "5 GB"}, "storage", "not a size"),
    ({"exposure": "ingress"}, "exposure", "not one of"),
    ({"flavor": "jupyter"}, "flavor", "not one of"),
    ({"wait_timeout": 0}, "wait_timeout", "positive"),
])
def test_bad_options_name_the_option(over, option, words):
    with pytest.raises(GhostError) as info:
        options(**over)
    assert info.value.option == option and words in info.value.msg


def test_absent_needs_no_image():
    assert spec.validate({"name": "alice", "namespace": None, "state": "absent"})["namespace"] == "default"


def test_code_server_objects():
    opts = options(storage="5Gi")
    secret, claim, deployment, service = spec.desired(opts, password="pw")
    assert secret["metadata"]["name"] == "alice-auth"
    assert base64.b64decode(secret["data"]["PASSWORD"]) == b"pw"
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"] == ["--bind-addr", "0.0.0.0:8080", "--auth", "password"]
    assert container["env"][0] == {"name": "PORT", "value": "8080"}
    assert {"name": "DEBUG", "value": "true"} in container["env"]
    reference = {"secretKeyRef": {"name": "alice-auth", "key": "PASSWORD"}}
    assert container["env"][-1] == {"name": "PASSWORD", "valueFrom": reference}
    assert container["volumeMounts"] == [{"name": "data", "mountPath": "/home/coder"}]
    assert pod["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "alice-data"}}]
    assert pod["securityContext"] == {"fsGroup": 1000}
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/instance": "alice",
                                                             "ghost.infra/workspace": "alice"}
    assert service["spec"]["publishNotReadyAddresses"] is True and service["spec"]["type"] == "ClusterIP"
    assert "pw" not in repr(deployment) + repr(service)


def test_nginx_runs_unprivileged():
    opts = options(image="nginxinc/nginx-unprivileged:1.27", ports=[8080, 9090], exposure="nodeport")
    deployment = spec.deployment(opts)
    pod = deployment["spec"]["template"]["spec"]
    init = pod["initContainers"][0]
    assert init["securityContext"] == {"runAsUser": 0}
    assert init["command"] == ["sh", "-c", "chown -R 101:101 /var/cache/nginx /var/run /tmp"]
    assert pod["securityContext"] == {"fsGroup": 101}
    container = pod["containers"][0]
    assert container["securityContext"] == {"runAsUser": 101, "runAsGroup": 101, "runAsNonRoot": True,
                                            "allowPrivilegeEscalation": False}
    assert "args" not in container
    assert [v["name"] for v in pod["volumes"]] == ["cache", "run", "tmp"]
    assert all("emptyDir" in v for v in pod["volumes"])
    service = spec.service(opts)
    assert service["spec"]["type"] == "NodePort" and [p["port"] for p in service["spec"]["ports"]] == [8080, 9090]


@pytest.mark.parametrize("exposure, kind", [("clusterip", "ClusterIP"), ("nodeport", "NodePort"),
                                            ("loadbalancer", "LoadBalancer")])
def test_exposure_is_the_service_type(exposure, kind):
    service = spec.service(options(exposure=exposure))
    assert service["spec"]["type"] == kind and service["spec"]["publishNotReadyAddresses"] is True


def test_workspace_view_of_a_load_balancer():
    svc = {"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.9", "ports": [{"port": 8080, "nodePort": 30999}]},
           "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.40"}]}}}
    view = spec.workspace_view(options(exposure="loadbalancer"), deploy=None, svc=svc, server=None, cluster_id=None)
    assert view["exposure"] == "loadbalancer" and view["load_balancer"] == "198.51.100.40"
    pending = spec.workspace_view(options(exposure="loadbalancer"), deploy=None, svc=dict(svc, status={}), server=None,
                                  cluster_id=None)
    assert pending["load_balancer"] is None and pending["node_port"] == 30999


def test_plain_image_and_no_password_secret():
    opts = options(image="jupyter/base-notebook:latest")
    objects = spec.desired(opts, password=None)
    assert [o["kind"] for o in objects] == ["Deployment", "Service"]
    pod = objects[0]["spec"]["template"]["spec"]
    assert "securityContext" not in pod and "volumes" not in pod and "volumeMounts" not in pod["containers"][0]


def test_comparable_and_diff_view_mask_the_secret():
    stored = {"kind": "Secret", "metadata": {"name": "alice-auth", "resourceVersion": "7", "uid": "u",
                                             "managedFields": [{"manager": "ghost.infra"}]},
              "data": {"PASSWORD": "c2VjcmV0"}}
    deployment = {"kind": "Deployment", "metadata": {"name": "alice", "generation": 3,
                                                     "annotations": {"deployment.kubernetes.io/revision": "2"}},
                  "spec": {"replicas": 1}, "status": {"readyReplicas": 1}}
    assert spec.comparable(deployment) == {"kind": "Deployment", "metadata": {"name": "alice"}, "spec": {"replicas": 1}}
    view = spec.diff_view([stored, deployment, None])
    assert view["Secret/alice-auth"] == {"kind": "Secret", "metadata": {"name": "alice-auth"},
                                         "data": "********"}
    assert "c2VjcmV0" not in repr(view)
    assert view["Deployment/alice"]["spec"] == {"replicas": 1}


def available(generation=1, observed=1, ready=1, status="True"):
    return {"metadata": {"generation": generation},
            "status": {"observedGeneration": observed, "readyReplicas": ready,
                       "conditions": [{"type": "Available", "status": status}]}}


def test_phase():
    assert spec.phase(available()) == "Running"
    assert spec.phase(available(generation=2, observed=1)) == "Pending"  # an update not rolled out yet
    assert spec.phase(available(ready=0, status="False")) == "Pending"
    failed = available(status="False")
    failed["status"]["conditions"].append({"type": "Progressing", "status": "False",
                                           "reason": "ProgressDeadlineExceeded"})
    assert spec.phase(failed) == "Failed"


def test_workspace_view():
    svc = {"spec": {"type": "NodePort", "clusterIP": "10.96.0.7",
                    "ports": [{"port": 8080, "nodePort": 31080}]}}
    view = spec.workspace_view(options(storage="1Gi", exposure="nodeport"), deploy=available(), svc=svc,
                               server="https://127.0.0.1:16443/", cluster_id="lab")
    assert view["phase"] == "Running" and view["ready_replicas"] == 1
    assert view["service_dns"] == "alice.ws.svc.cluster.local" and view["service_ip"] == "10.96.0.7"
    assert view["node_port"] == 31080 and view["storage_claim"] == "alice-data" and view["cluster"] == "lab"
    assert view["proxy_url"] == "https://127.0.0.1:16443/api/v1/namespaces/ws/services/http:alice:8080/proxy/"
    assert view["password_secret"] == {"name": "alice-auth", "key": "PASSWORD"}
    planned = spec.workspace_view(options(), deploy=None, svc=None, server=None, cluster_id=None)
    assert planned["phase"] is None and planned["service_ip"] is None and planned["proxy_url"] is None


def test_describe_pods():
    assert spec.describe_pods([]) == "no pod yet"
    pod = {"metadata": {"name": "alice-1"},
           "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                          "reason": "Unschedulable"}]}}
    assert spec.describe_pods([pod]) == "pod alice-1 Pending (Unschedulable)"


@pytest.mark.parametrize("over, option, message", [
    ({"env": {"A": {"b": 1}}}, "env", "'A' must be a string, number or boolean, not a mapping"),
    ({"env": {"A": [1]}}, "env", "not a list"),
    ({"run_as_user": -5}, "run_as_user", "must be at least 0 and at most 2147483647 \\(a user id\\), got -5"),
])
def test_values_the_api_server_would_refuse_later(over, option, message):
    with pytest.raises(GhostError, match=message) as raised:
        options(**over)
    assert raised.value.option == option
