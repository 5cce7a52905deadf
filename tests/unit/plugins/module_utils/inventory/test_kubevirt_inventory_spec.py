# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_inventory/kubevirt_spec.py: ansible_host from several SSH Services or the VM instance's
interfaces, run strategies, groups by namespace, run strategy and pool, option checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import kubevirt_spec


def vm(name, namespace="lab", *, strategy="Always", running=None, labels=None):
    return {"name": name, "namespace": namespace, "uid": "uid-%s-%s" % (namespace, name), "labels": {"env": "lab"},
            "run_strategy": strategy, "running": running, "template_labels": dict(labels or {"app": name}),
            "printable_status": "Running", "ready": True, "created": True}


def vmi(name, namespace="lab", *, labels=None, node="node-1", interfaces=None):
    return {"name": name, "namespace": namespace, "uid": "vmi-" + name,
            "labels": dict(labels or {"app": name}, **{"vm.kubevirt.io/name": name}), "phase": "Running",
            "node": node, "interfaces": interfaces if interfaces is not None else [
                {"name": "default", "interface_name": "eth0", "mac": "52:54:00:00:00:01", "ip_address": "10.244.0.5",
                 "ip_addresses": ["10.244.0.5", "fd00::5"]}]}


def service(name, kind, ports, *, selector=None, namespace="lab", ingress=(), cluster_ip="10.96.0.20"):
    return {"name": name, "namespace": namespace, "uid": "svc-" + name, "labels": {}, "type": kind,
            "selector": selector if selector is not None else {"app": "web"}, "cluster_ip": cluster_ip,
            "ingress": list(ingress), "ports": [dict(p) for p in ports]}


NODE = {"name": "node-1", "addresses": [{"type": "Hostname", "address": "node-1"},
                                        {"type": "InternalIP", "address": "192.0.2.31"}]}


def options(**overrides):
    base = {"namespaces": [], "label_selector": None, "names": [], "exclude_names": [],
            "ansible_host_sources": ["service", "interface"], "service_port_names": ["ssh"],
            "service_types": ["LoadBalancer", "NodePort"], "network_name": None, "pool_groups": True,
            "name_format": "{namespace}_{name}", "hostvars_prefix": "kubevirt_"}
    base.update(overrides)
    return base


def one(read, **overrides):
    hosts, warnings = kubevirt_spec.hosts(read, options(**overrides))
    assert len(hosts) == 1 and warnings == []
    return hosts[0]


def test_interface_address_names_groups_and_hostvars():
    host = one({"vms": [vm("web")], "vmis": [vmi("web")]})
    assert host["name"] == "lab_web"
    assert host["groups"] == ["kubevirt_namespace_lab", "kubevirt_run_strategy_always"]
    hv = host["vars"]
    assert hv["ansible_host"] == "10.244.0.5" and "ansible_port" not in hv
    assert hv["kubevirt_address_source"] == "interface" and hv["kubevirt_service"] is None
    assert hv["kubevirt_node"] == "node-1" and hv["kubevirt_phase"] == "Running"
    assert sorted(hv) == sorted(["ansible_host"] + ["kubevirt_" + k for k in (
        "name", "namespace", "uid", "labels", "run_strategy", "printable_status", "ready", "phase", "node",
        "interfaces", "services", "pool", "address_source", "service")])


def test_several_ssh_services_by_port_name_then_type():
    services = [
        service("web-http", "LoadBalancer", [{"name": "http", "port": 80, "node_port": 30080}], ingress=["198.51.100.9"]),
        service("web-ssh-np", "NodePort", [{"name": "ssh", "port": 22, "node_port": 30022}]),
        service("web-ssh-lb", "LoadBalancer", [{"name": "ssh", "port": 22, "node_port": 31022}], ingress=["198.51.100.7"]),
        service("web-ssh2", "LoadBalancer", [{"name": "ssh-alt", "port": 2222, "node_port": 32222}],
                ingress=["198.51.100.8"]),
        service("other", "LoadBalancer", [{"name": "ssh", "port": 22}], selector={"app": "db"}, ingress=["198.51.100.1"]),
    ]
    read = {"vms": [vm("web")], "vmis": [vmi("web")], "services": services, "nodes": [NODE]}
    hv = one(read)["vars"]
    assert (hv["ansible_host"], hv["ansible_port"], hv["kubevirt_service"]) == ("198.51.100.7", 22, "web-ssh-lb")
    assert [s["name"] for s in hv["kubevirt_services"]] == ["web-http", "web-ssh-lb", "web-ssh-np", "web-ssh2"]
    hv = one(read, service_types=["NodePort", "LoadBalancer"])["vars"]
    assert (hv["ansible_host"], hv["ansible_port"], hv["kubevirt_service"]) == ("192.0.2.31", 30022, "web-ssh-np")
    hv = one(read, service_port_names=["ssh-alt", "ssh"])["vars"]
    assert (hv["ansible_host"], hv["ansible_port"], hv["kubevirt_service"]) == ("198.51.100.8", 2222, "web-ssh2")
    hv = one(read, ansible_host_sources=["interface", "service"])["vars"]
    assert (hv["ansible_host"], hv["kubevirt_address_source"]) == ("10.244.0.5", "interface")
    assert "ansible_port" not in hv


def test_a_load_balancer_without_address_falls_back_to_its_node_port_then_the_next_source():
    services = [service("web-ssh", "LoadBalancer", [{"name": "ssh", "port": 22, "node_port": 31022}])]
    hv = one({"vms": [vm("web")], "vmis": [vmi("web")], "services": services, "nodes": [NODE]})["vars"]
    assert (hv["ansible_host"], hv["ansible_port"]) == ("192.0.2.31", 31022)
    hv = one({"vms": [vm("web")], "vmis": [vmi("web")], "services": services, "nodes": []})["vars"]
    assert (hv["ansible_host"], hv["kubevirt_address_source"]) == ("10.244.0.5", "interface")


def test_cluster_ip_only_when_asked():
    services = [service("web-ssh", "ClusterIP", [{"name": "ssh", "port": 22}])]
    read = {"vms": [vm("web")], "vmis": [vmi("web", interfaces=[])], "services": services}
    assert "ansible_host" not in one(read)["vars"]
    hv = one(read, service_types=["ClusterIP"])["vars"]
    assert (hv["ansible_host"], hv["ansible_port"]) == ("10.96.0.20", 22)
    headless = [service("web-ssh", "ClusterIP", [{"name": "ssh", "port": 22}], cluster_ip="None")]
    assert "ansible_host" not in one(dict(read, services=headless), service_types=["ClusterIP"])["vars"]


def test_stopped_vm_matches_services_by_its_template_labels():
    services = [service("web-ssh", "LoadBalancer", [{"name": "ssh", "port": 22}], ingress=["198.51.100.7"])]
    host = one({"vms": [vm("web", strategy="Halted")], "vmis": [], "services": services})
    assert host["vars"]["ansible_host"] == "198.51.100.7" and host["vars"]["kubevirt_phase"] is None
    assert "kubevirt_run_strategy_halted" in host["groups"]


def test_network_name_picks_the_interface():
    interfaces = [{"name": "default", "ip_address": "10.244.0.5", "ip_addresses": []},
                  {"name": "lab-net", "ip_address": None, "ip_addresses": ["fe80::1", "192.0.2.77/24"]}]
    read = {"vms": [vm("web")], "vmis": [vmi("web", interfaces=interfaces)]}
    assert one(read, ansible_host_sources=["interface"], network_name="lab-net")["vars"]["ansible_host"] == "192.0.2.77"
    assert "ansible_host" not in one(read, ansible_host_sources=["interface"], network_name="nope")["vars"]


@pytest.mark.parametrize("strategy, running, expected", [
    ("RerunOnFailure", None, "RerunOnFailure"), (None, True, "Always"), (None, False, "Halted"), (None, None, "Halted"),
])
def test_run_strategy_from_legacy_running(strategy, running, expected):
    assert kubevirt_spec.run_strategy({"run_strategy": strategy, "running": running}) == expected


def test_pool_groups_names_and_filters():
    read = {"vms": [vm("cp-0", "cluster-1"), vm("web"), vm("web", "other"), vm("tmp-x")],
            "vmis": [], "pools": {"cluster-1": "ci"}}
    hosts, _warnings = kubevirt_spec.hosts(read, options(exclude_names=["tmp-*"]))
    by_name = {h["name"]: h for h in hosts}
    assert sorted(by_name) == ["cluster-1_cp-0", "lab_web", "other_web"]
    assert "kubevirt_pool_ci" in by_name["cluster-1_cp-0"]["groups"]
    assert by_name["cluster-1_cp-0"]["vars"]["kubevirt_pool"] == "ci"
    hosts, warnings = kubevirt_spec.hosts(read, options(name_format="{name}", names=["web"]))
    assert sorted(h["name"] for h in hosts) == ["web_uid-lab-web", "web_uid-other-web"]
    assert warnings == ["several VMs would be named 'web' (set name_format); their hosts are named 'web_<uid>'"]


@pytest.mark.parametrize("overrides, message", [
    ({"ansible_host_sources": ["pod"]}, "ansible_host_sources: unknown source 'pod' (choices: service, interface)"),
    ({"service_types": ["ExternalName"]},
     "service_types: unknown Service type 'ExternalName' (choices: LoadBalancer, NodePort, ClusterIP)"),
    ({"service_port_names": []},
     "service_port_names: must name at least one port (such as ssh) while ansible_host_sources lists service"),
    ({"name_format": "{vm}"}, "name_format: unknown field '{vm}' in '{vm}' (fields: {namespace}, {name}, {uid})"),
])
def test_bad_options_name_the_option(overrides, message):
    with pytest.raises(GhostError) as err:
        kubevirt_spec.hosts({}, options(**overrides))
    assert str(err.value) == message
