# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The AWX way: the inventory source files in inventories/examples/ run as AWX runs them,
with nothing but the environment variables AWX's credential types inject, against the testbed;
and ``ansible-doc -t inventory`` documents each plugin with examples that are valid sources."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import subprocess
import sys

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT
from ansible_collections.ghost.infra.plugins.module_utils._registry.spec import vcluster_id

EXAMPLES = os.path.join(os.getcwd(), "inventories", "examples")
# Variables a test must not inherit: the testbed's own way to reach the backends.
TESTBED_ONLY = ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "LIBVIRT_DEFAULT_URI") + tuple(
    k for k in os.environ if k.startswith(("VMWARE_", "K8S_AUTH_")))


def awx_env(testbed, extra):
    env = {k: v for k, v in os.environ.items() if k not in TESTBED_ONLY}
    env.update(extra)
    return env


def run(args, env, tmp_path):
    env = dict(env, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_HOME=str(tmp_path / "home"))
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), args[0])] + list(args[1:]), env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def injected(testbed, plugin):
    """What AWX's credential for ``plugin`` injects, with the testbed's values."""
    if plugin == "vsphere":  # credential type "VMware vCenter" (+ the port, in source variables)
        return {"VMWARE_HOST": testbed["VMWARE_HOST"], "VMWARE_USER": testbed["VMWARE_USER"],
                "VMWARE_PASSWORD": testbed["VMWARE_PASSWORD"], "VMWARE_VALIDATE_CERTS": "false",
                "VMWARE_PORT": testbed["VMWARE_PORT"]}
    if plugin in ("kubevirt", "clusters"):  # credential type "OpenShift or Kubernetes API Bearer Token"
        kube = os.path.join(testbed["GHOST_TESTBED_DIR"], "kube")
        with open(os.path.join(kube, "tokens.json")) as handle:
            token = json.load(handle)["admin"]
        with open(testbed["K8S_AUTH_KUBECONFIG"]) as handle:
            server = [line.split("server:", 1)[1].strip() for line in handle if "server:" in line][0]
        return {"K8S_AUTH_HOST": server, "K8S_AUTH_API_KEY": token, "K8S_AUTH_VERIFY_SSL": "true",
                "K8S_AUTH_SSL_CA_CERT": os.path.join(kube, "ca.crt")}
    return {"LIBVIRT_DEFAULT_URI": testbed["LIBVIRT_DEFAULT_URI"]}  # a custom credential type


def unwrap(obj):
    return obj["__ansible_unsafe"] if set(obj) == {"__ansible_unsafe"} else obj


def backend_names(testbed, plugin):
    """The host names the backend holds now, read without the plugin."""
    if plugin == "libvirt":
        conn = LIBVIRT.require().open(testbed["LIBVIRT_DEFAULT_URI"])
        try:
            return {"localhost_" + d.name() for d in conn.listAllDomains()}
        finally:
            conn.close()
    if plugin == "clusters":  # the default registry folder, vclusters and pool members of the host cluster
        folder = os.path.expanduser("~/.ghost/clusters")
        names = {n[:-len(".json")] for n in (os.listdir(folder) if os.path.isdir(folder) else [])
                 if n.endswith(".json") and not n.startswith(".")}
        for kind in ("deployments", "statefulsets"):
            for obj in kubectl_items(kind, "app=vcluster"):
                if obj["metadata"].get("labels", {}).get("release"):
                    names.add(vcluster_id(obj["metadata"]["labels"]["release"], obj["metadata"]["namespace"]))
        for lease in kubectl_items("leases", "ghost.infra/object=member"):
            labels = lease["metadata"]["labels"]
            names.add("%s-%s" % (labels["ghost.infra/pool"], labels["ghost.infra/member"]))
        return names
    return {"%s_%s" % (v["metadata"]["namespace"], v["metadata"]["name"]) for v in kubectl_items("vm")}


def kubectl_items(kind, selector=None):
    args = ["kubectl", "get", kind, "-A", "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout)["items"]


@pytest.fixture
def own_host(testbed):
    """A domain (defined, not started) and a KubeVirt VM of the test, so neither backend is
    empty; yields their host names, removes them afterwards."""
    tag = secrets.token_hex(3)
    domain, namespace = "ghost-inv-awx-%s" % tag, "ghost-inv-awx-%s" % tag
    conn = LIBVIRT.require().open(testbed["LIBVIRT_DEFAULT_URI"])
    dom = conn.defineXML("<domain type='%s'><name>%s</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>"
                         "<os><type arch='x86_64'>hvm</type></os></domain>"
                         % (os.environ.get("GHOST_LIBVIRT_DOMAIN_TYPE") or "kvm", domain))
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "awx", "namespace": namespace},
          "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}}
    try:
        subprocess.run(["kubectl", "create", "namespace", namespace], capture_output=True, timeout=60, check=True)
        subprocess.run(["kubectl", "apply", "-f", "-"], input=json.dumps(vm), text=True, capture_output=True,
                       timeout=60, check=True)
        yield {"libvirt": "localhost_" + domain, "kubevirt": "%s_awx" % namespace}
    finally:
        dom.undefine()
        conn.close()
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"], capture_output=True, timeout=60,
                       check=False)


@pytest.mark.parametrize("plugin", ["vsphere", "libvirt", "kubevirt", "clusters"])
def test_example_source_with_the_variables_awx_injects(testbed, tmp_path, own_host, plugin):
    source = os.path.join(EXAMPLES, "%s.ghost.infra.%s.yml" % (plugin, plugin))
    env = awx_env(testbed, injected(testbed, plugin))
    before = backend_names(testbed, plugin) if plugin != "vsphere" else set()
    listed = run(["ansible-inventory", "-i", source, "--list"], env, tmp_path)
    after = backend_names(testbed, plugin) if plugin != "vsphere" else set()
    assert listed.returncode == 0, listed.stderr
    assert "WARNING" not in listed.stderr, listed.stderr
    data = json.loads(listed.stdout, object_hook=unwrap)
    graph = run(["ansible-inventory", "-i", source, "--graph"], env, tmp_path)
    assert graph.returncode == 0 and "WARNING" not in graph.stderr, graph.stderr
    hostvars = data["_meta"]["hostvars"]
    if plugin == "vsphere":
        assert "ubuntu-22.04-template" in hostvars and any(g.startswith("dc_") for g in data)
        assert all(hv["ansible_user"] == "ubuntu" for hv in hostvars.values())
    else:
        # Other tests create and remove domains and VMs meanwhile: what existed before and after
        # the run must be listed, and nothing that existed at neither time.
        assert before & after <= set(hostvars) <= before | after
        if plugin in own_host:
            assert own_host[plugin] in hostvars
        if plugin == "clusters":
            assert all(hv["ansible_connection"] == "local" for hv in hostvars.values())
    for secret in (testbed.get("VMWARE_PASSWORD"), env.get("K8S_AUTH_API_KEY")):
        if secret:
            assert secret not in listed.stdout + listed.stderr + graph.stdout + graph.stderr


@pytest.mark.parametrize("plugin", ["vsphere", "libvirt", "kubevirt", "clusters"])
def test_ansible_doc_documents_the_plugin_with_examples_that_are_valid_sources(testbed, tmp_path, plugin):
    fqcn = "ghost.infra." + plugin
    shown = run(["ansible-doc", "-t", "inventory", fqcn], dict(os.environ), tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "plugin" in shown.stdout and "keyed_groups" in shown.stdout and "cache_timeout" in shown.stdout
    doc = json.loads(run(["ansible-doc", "-t", "inventory", "--json", fqcn], dict(os.environ), tmp_path).stdout)[fqcn]
    options = set(doc["doc"]["options"])
    examples = [e for e in yaml.safe_load_all(doc["examples"]) if e]
    assert len(examples) >= 3
    for example in examples:
        assert example["plugin"] == fqcn
        assert set(example) <= options, set(example) - options
    # The first example is the minimal one: with the testbed's variables it runs as it is.
    path = tmp_path / ("doc.%s.yml" % fqcn)
    path.write_text(yaml.safe_dump(examples[0]))
    listed = run(["ansible-inventory", "-i", str(path), "--graph"], dict(os.environ), tmp_path)
    assert listed.returncode == 0 and "WARNING" not in listed.stderr, listed.stderr
