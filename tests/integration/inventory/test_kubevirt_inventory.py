# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.kubevirt through ansible-inventory against the testbed's API server, where the
KubeVirt stand-in runs VirtualMachines (instances Running on the fake node, with interface
addresses).

Two namespaces of the test (the second labelled as a cluster pool member), three VMs, and two
SSH Services for one VM: a NodePort one (port ``ssh``; the node's InternalIP is 127.0.0.1) and a
LoadBalancer one (port ``ssh-alt``; its status gets an ingress address, as a load balancer
controller would write it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import shutil
import subprocess
import time

import pytest

LB_ADDRESS = "198.51.100.60"


def kubectl(*args, stdin=None):
    proc = subprocess.run(["kubectl"] + list(args), input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)
    if proc.returncode != 0:
        pytest.fail("kubectl %s failed: %s" % (" ".join(args), proc.stderr), pytrace=False)
    return proc.stdout


def vm_yaml(name, namespace, strategy, app):
    return """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: %s, namespace: %s, labels: {os: debian}}
spec:
  runStrategy: %s
  template:
    metadata: {labels: {app: %s}}
    spec:
      domain:
        devices: {interfaces: [{name: default, masquerade: {}}]}
        resources: {requests: {memory: 64Mi}}
      networks: [{name: default, pod: {}}]
---
""" % (name, namespace, strategy, app)


@pytest.fixture(scope="module")
def cluster(testbed):
    tag = secrets.token_hex(3)
    lab = {"a": "ghost-inv-%s-a" % tag, "b": "ghost-inv-%s-b" % tag, "pool": "inv%s" % tag}
    kubectl("create", "namespace", lab["a"])
    try:
        kubectl("create", "namespace", lab["b"])
        kubectl("label", "namespace", lab["b"], "ghost.infra/pool=%s" % lab["pool"])
        services = """\
apiVersion: v1
kind: Service
metadata: {name: web-ssh, namespace: %(a)s}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: ssh, port: 22, targetPort: 22}]
---
apiVersion: v1
kind: Service
metadata: {name: web-ssh-lb, namespace: %(a)s}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: ssh-alt, port: 2222, targetPort: 22}]
""" % lab
        kubectl("apply", "-f", "-", stdin=vm_yaml("web", lab["a"], "Always", "web") + vm_yaml("halted", lab["a"], "Halted", "halted")
                + vm_yaml("cp-0", lab["b"], "Always", "cp") + services)
        kubectl("patch", "service", "web-ssh-lb", "-n", lab["a"], "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {"loadBalancer": {"ingress": [{"ip": LB_ADDRESS}]}}}))
        lab["node_port"] = json.loads(kubectl("get", "service", "web-ssh", "-n", lab["a"], "-o", "json"))["spec"]["ports"][0]["nodePort"]
        deadline = time.monotonic() + 60
        while True:
            vmis = json.loads(kubectl("get", "vmi", "-A", "-o", "json"))["items"]
            ours = {(v["metadata"]["namespace"], v["metadata"]["name"]): v for v in vmis
                    if v["metadata"]["namespace"] in (lab["a"], lab["b"])}
            addresses = {k: [i.get("ipAddress") for i in (v.get("status") or {}).get("interfaces") or []] for k, v in ours.items()}
            if len(ours) == 2 and all(a and a[0] for a in addresses.values()):
                break
            if time.monotonic() > deadline:
                pytest.fail("the KubeVirt stand-in did not run the VMs within 60 s: %s" % addresses, pytrace=False)
            time.sleep(1)
        lab["web_ip"] = addresses[(lab["a"], "web")][0]
        lab["cp_ip"] = addresses[(lab["b"], "cp-0")][0]
        yield lab
    finally:
        subprocess.run(["kubectl", "delete", "namespace", lab["a"], lab["b"], "--wait=false"], capture_output=True,
                       timeout=120, check=False)


def source(cluster, extra=""):
    return """\
plugin: ghost.infra.kubevirt
namespaces: [%s, %s]
keyed_groups:
  - key: kubevirt_labels.os
    prefix: os
compose:
  vm_status: kubevirt_printable_status
%s""" % (cluster["a"], cluster["b"], extra)


def test_vms_of_two_namespaces_addresses_and_groups(cluster, ansible_inventory, source_file, helpers):
    listed = ansible_inventory(source_file("kubevirt", source(cluster)), "--list")
    assert listed.returncode == 0, listed.stderr
    hostvars = listed.json["_meta"]["hostvars"]
    a, b = cluster["a"], cluster["b"]
    assert sorted(hostvars) == sorted(["%s_web" % a, "%s_halted" % a, "%s_cp-0" % b])
    web = hostvars["%s_web" % a]
    # The NodePort Service's port is named ssh: the node's address and the node port.
    assert (web["ansible_host"], web["ansible_port"], web["kubevirt_service"]) == ("127.0.0.1", cluster["node_port"], "web-ssh")
    assert [s["name"] for s in web["kubevirt_services"]] == ["web-ssh", "web-ssh-lb"]
    assert web["kubevirt_interfaces"][0]["ip_address"] == cluster["web_ip"]
    assert web["kubevirt_run_strategy"] == "Always" and web["vm_status"] == "Running"
    cp = hostvars["%s_cp-0" % b]
    assert (cp["ansible_host"], cp["kubevirt_address_source"]) == (cluster["cp_ip"], "interface")
    assert cp["kubevirt_pool"] == cluster["pool"]
    halted = hostvars["%s_halted" % a]
    assert "ansible_host" not in halted and halted["kubevirt_phase"] is None
    groups = helpers.tree(listed.json)
    assert groups["kubevirt_namespace_" + a.replace("-", "_")] == sorted(["%s_web" % a, "%s_halted" % a])
    assert groups["kubevirt_run_strategy_always"] == sorted(["%s_web" % a, "%s_cp-0" % b])
    assert groups["kubevirt_run_strategy_halted"] == ["%s_halted" % a]
    assert groups["kubevirt_pool_" + cluster["pool"]] == ["%s_cp-0" % b]
    assert groups["os_debian"] == sorted(hostvars)
    graph = ansible_inventory(source_file("kubevirt", source(cluster)), "--graph")
    assert graph.returncode == 0 and "@kubevirt_pool_%s:" % cluster["pool"] in graph.stdout


def test_second_ssh_service_by_port_name(cluster, ansible_inventory, source_file):
    listed = ansible_inventory(source_file("kubevirt", source(cluster, "service_port_names: [ssh-alt, ssh]\n")), "--list")
    assert listed.returncode == 0, listed.stderr
    web = listed.json["_meta"]["hostvars"]["%s_web" % cluster["a"]]
    assert (web["ansible_host"], web["ansible_port"], web["kubevirt_service"]) == (LB_ADDRESS, 2222, "web-ssh-lb")
    listed = ansible_inventory(source_file("kubevirt", source(cluster, "ansible_host_sources: [interface]\n")), "--list")
    web = listed.json["_meta"]["hostvars"]["%s_web" % cluster["a"]]
    assert web["ansible_host"] == cluster["web_ip"] and "ansible_port" not in web


def test_a_fresh_cache_reads_nothing_even_with_the_credentials_gone(cluster, ansible_inventory, source_file, tmp_path):
    """The kubeconfig is a copy, removed after the first run: any API call would fail."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(os.environ["K8S_AUTH_KUBECONFIG"], str(kubeconfig))
    env = {"K8S_AUTH_KUBECONFIG": str(kubeconfig)}
    path = source_file("kubevirt", source(cluster, "cache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                                                   "cache_connection: %s\n" % (tmp_path / "cache")))
    first = ansible_inventory(path, "--list", env=env)
    assert first.returncode == 0 and "WARNING" not in first.stderr, first.stderr
    kubeconfig.unlink()
    second = ansible_inventory(path, "--list", env=env)
    assert second.returncode == 0 and "WARNING" not in second.stderr, second.stderr
    assert second.json == first.json
    flushed = ansible_inventory(path, "--list", "--flush-cache", env=env)
    assert "ghost.infra.kubevirt: cannot read the VirtualMachines: Failed to connect to the Kubernetes API" in flushed.stderr


def test_down_api_with_strict_fails_naming_it(cluster, ansible_inventory, source_file, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    with open(os.environ["K8S_AUTH_KUBECONFIG"]) as handle:
        text = handle.read()
    server = [line.split("server:", 1)[1].strip() for line in text.splitlines() if "server:" in line][0]
    kubeconfig.write_text(text.replace(server, "https://127.0.0.1:1"))
    path = source_file("kubevirt", source(cluster, "strict: true\n"))
    failed = ansible_inventory(path, "--list", env={"K8S_AUTH_KUBECONFIG": str(kubeconfig),
                                                    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert failed.returncode != 0
    assert "ghost.infra.kubevirt: cannot read the VirtualMachines: Failed to connect to the Kubernetes API" in failed.stderr
    assert "Connection refused" in failed.stderr and "Traceback" not in failed.stderr
