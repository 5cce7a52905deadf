# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/kubevirt_client.py over a stand-in kubernetes.core service that counts list calls:
which kinds are listed when, per namespace or once, what is kept of each object (never a VM's
spec or annotations), and a namespace list that is forbidden."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.ghost.infra.plugins.module_utils._inventory import kubevirt_client

USERDATA = "#cloud-config\npassword: s3cr3t-kubevirt"


class Forbidden(Exception):
    status = 403
    body = json.dumps({"message": 'namespaces is forbidden: User "dev" cannot list resource "namespaces"'})


class Api:
    def __init__(self, objects):
        self.objects = objects
        self.calls = []
        self.forbidden = set()

    def find_resource(self, kind, api_version, fail=False):
        return (kind, api_version)

    @property
    def client(self):
        return self

    def get(self, resource, namespace=None, label_selector=None, name=None):
        kind = resource[0]
        self.calls.append((kind, namespace, label_selector))
        if kind in self.forbidden:
            raise Forbidden()
        items = [o for o in self.objects.get(kind, []) if namespace in (None, o["metadata"].get("namespace"))]
        return {"items": items}


def vm(name, namespace):
    return {"metadata": {"name": name, "namespace": namespace, "uid": "u-" + name, "labels": {"env": "lab"},
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": USERDATA}},
            "spec": {"runStrategy": "Always", "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"volumes": [{"name": "ci", "cloudInitNoCloud": {"userData": USERDATA}}]}}},
            "status": {"printableStatus": "Running", "ready": True, "created": True}}


OBJECTS = {
    "VirtualMachine": [vm("web", "a"), vm("db", "b")],
    "VirtualMachineInstance": [{"metadata": {"name": "web", "namespace": "a", "uid": "i1", "labels": {"app": "web"}},
                                "spec": {"volumes": [{"cloudInitNoCloud": {"userData": USERDATA}}]},
                                "status": {"phase": "Running", "nodeName": "n1", "interfaces": [
                                    {"name": "default", "ipAddress": "10.244.0.5", "ipAddresses": ["10.244.0.5"],
                                     "mac": "52:54:00:00:00:01", "interfaceName": "eth0"}]}}],
    "Service": [{"metadata": {"name": "web-ssh", "namespace": "a"},
                 "spec": {"type": "NodePort", "selector": {"app": "web"}, "clusterIP": "10.96.0.9",
                          "ports": [{"name": "ssh", "port": 22, "nodePort": 30022}]}}],
    "Node": [{"metadata": {"name": "n1"}, "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.5"}]}}],
    "Namespace": [{"metadata": {"name": "b", "labels": {"ghost.infra/pool": "ci"}}}],
}


def read(api, **kwargs):
    args = {"namespaces": [], "label_selector": None, "services": True, "pools": True}
    args.update(kwargs)
    return kubevirt_client.read_vms({}, connect_to=lambda options: api, **args)


def test_one_list_per_kind_across_namespaces_and_nothing_secret_kept():
    api = Api(OBJECTS)
    out = read(api, label_selector="env=lab")
    assert api.calls == [("VirtualMachine", None, "env=lab"), ("VirtualMachineInstance", None, None),
                         ("Service", None, None), ("Node", None, None), ("Namespace", None, "ghost.infra/pool")]
    assert [v["name"] for v in out["vms"]] == ["web", "db"]
    assert out["vms"][0] == {"name": "web", "namespace": "a", "uid": "u-web", "labels": {"env": "lab"},
                             "run_strategy": "Always", "running": None, "template_labels": {"app": "web"},
                             "printable_status": "Running", "ready": True, "created": True}
    assert out["vmis"][0]["interfaces"] == [{"name": "default", "interface_name": "eth0", "mac": "52:54:00:00:00:01",
                                             "ip_address": "10.244.0.5", "ip_addresses": ["10.244.0.5"]}]
    assert out["services"][0]["ports"] == [{"name": "ssh", "port": 22, "node_port": 30022}]
    assert out["nodes"] == [{"name": "n1", "addresses": [{"type": "InternalIP", "address": "192.0.2.5"}]}]
    assert out["pools"] == {"b": "ci"} and out["warnings"] == []
    assert "s3cr3t" not in json.dumps(out)


def test_per_namespace_lists_and_no_service_or_node_read_unless_needed():
    api = Api(OBJECTS)
    out = read(api, namespaces=["a", "b"], services=False, pools=False)
    assert api.calls == [("VirtualMachine", "a", None), ("VirtualMachine", "b", None),
                         ("VirtualMachineInstance", "a", None), ("VirtualMachineInstance", "b", None)]
    assert out["services"] == [] and out["nodes"] == []
    api = Api(dict(OBJECTS, Service=[]))
    read(api, pools=False)
    assert [c[0] for c in api.calls] == ["VirtualMachine", "VirtualMachineInstance", "Service"]


def test_no_vm_no_further_list():
    api = Api({})
    assert read(api)["vms"] == []
    assert api.calls == [("VirtualMachine", None, None)]


def test_a_forbidden_namespace_list_only_loses_the_pool_groups():
    api = Api(OBJECTS)
    api.forbidden = {"Namespace"}
    out = read(api)
    assert out["pools"] == {}
    assert out["warnings"] == ['no pool groups: Failed to list Namespaces: namespaces is forbidden: User "dev" cannot '
                               'list resource "namespaces" (HTTP 403)']
