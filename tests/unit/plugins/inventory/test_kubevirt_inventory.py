# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.kubevirt inventory plugin on a stand-in reader that counts refreshes: the
K8S_AUTH_* variables AWX injects, what is read for which options, the cache, a down API."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import kubevirt_client

TOKEN = "sha256~s3cr3t-token"

READ = {
    "vms": [{"name": "web", "namespace": "team-a", "uid": "u1", "labels": {"os": "fedora"}, "run_strategy": "Always",
             "running": None, "template_labels": {"app": "web"}, "printable_status": "Running", "ready": True,
             "created": True},
            {"name": "db", "namespace": "ci-1", "uid": "u2", "labels": {}, "run_strategy": None, "running": False,
             "template_labels": {"app": "db"}, "printable_status": "Stopped", "ready": False, "created": False}],
    "vmis": [{"name": "web", "namespace": "team-a", "uid": "i1", "labels": {"app": "web"}, "phase": "Running",
              "node": "n1", "interfaces": [{"name": "default", "interface_name": None, "mac": "52:54:00:00:00:01",
                                            "ip_address": "10.244.0.5", "ip_addresses": []}]}],
    "services": [{"name": "web-ssh", "namespace": "team-a", "uid": "s1", "labels": {}, "type": "LoadBalancer",
                  "selector": {"app": "web"}, "cluster_ip": "10.96.0.9", "ingress": ["198.51.100.7"],
                  "ports": [{"name": "ssh", "port": 22, "node_port": 31022}]}],
    "nodes": [], "pools": {"ci-1": "ci"}, "warnings": [],
}


class Reader:
    def __init__(self):
        self.calls = []
        self.down = None  # the message of a failure to read, when set

    def read_vms(self, options, *, namespaces, label_selector, services, pools, connect_to=None):
        self.calls.append({"options": {k: v for k, v in options.items() if v is not None}, "namespaces": namespaces,
                           "label_selector": label_selector, "services": services, "pools": pools})
        if self.down:
            raise GhostError(self.down)
        return READ


@pytest.fixture
def reader(monkeypatch):
    fake = Reader()
    monkeypatch.setattr(kubevirt_client, "read_vms", fake.read_vms)
    for name in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_VALIDATE_CERTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.lab.example.com:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", TOKEN)
    monkeypatch.setenv("K8S_AUTH_VERIFY_SSL", "false")
    monkeypatch.setenv("K8S_AUTH_SSL_CA_CERT", "/etc/pki/lab-ca.pem")
    return fake


def test_hosts_groups_and_the_environment_awx_injects(reader, inventory_run):
    out = inventory_run("ghost.infra.kubevirt", """\
        plugin: ghost.infra.kubevirt
        keyed_groups:
          - key: kubevirt_labels.os | default('none')
            prefix: os
        """)
    assert reader.calls == [{"options": {"host": "https://api.lab.example.com:6443", "api_key": TOKEN,
                                         "validate_certs": False, "ca_cert": "/etc/pki/lab-ca.pem"},
                             "namespaces": [], "label_selector": None, "services": True, "pools": True}]
    assert sorted(out.hosts) == ["ci-1_db", "team-a_web"]
    web = out.hosts["team-a_web"]
    assert (web["ansible_host"], web["ansible_port"], web["kubevirt_service"]) == ("198.51.100.7", 22, "web-ssh")
    assert out.groups == {"kubevirt_namespace_team_a": ["team-a_web"], "kubevirt_namespace_ci_1": ["ci-1_db"],
                          "kubevirt_run_strategy_always": ["team-a_web"], "kubevirt_run_strategy_halted": ["ci-1_db"],
                          "kubevirt_pool_ci": ["ci-1_db"], "os_fedora": ["team-a_web"], "os_none": ["ci-1_db"]}


def test_no_service_read_when_services_are_no_source(reader, inventory_run):
    out = inventory_run("ghost.infra.kubevirt", """\
        plugin: ghost.infra.kubevirt
        namespaces: [team-a]
        label_selector: env=lab
        ansible_host_sources: [interface]
        pool_groups: false
        """)
    assert reader.calls[0]["namespaces"] == ["team-a"] and reader.calls[0]["label_selector"] == "env=lab"
    assert reader.calls[0]["services"] is False and reader.calls[0]["pools"] is False
    assert out.hosts["team-a_web"]["ansible_host"] == "10.244.0.5"


def test_fresh_cache_makes_no_read_and_holds_no_token(reader, inventory_run, tmp_path):
    text = "plugin: ghost.infra.kubevirt\ncache: true\ncache_plugin: jsonfile\ncache_connection: %s\n" % (tmp_path / "c")
    first = inventory_run("ghost.infra.kubevirt", text)
    second = inventory_run("ghost.infra.kubevirt", text)
    assert len(reader.calls) == 1 and second.hosts == first.hosts
    assert TOKEN not in "".join(p.read_text() + p.name for p in (tmp_path / "c").iterdir())


def test_down_api_warns_or_fails_with_strict(reader, inventory_run):
    reader.down = "Failed to connect to the Kubernetes API: Connection refused"
    out = inventory_run("ghost.infra.kubevirt", "plugin: ghost.infra.kubevirt\n")
    assert out.hosts == {}
    assert out.warnings == ["ghost.infra.kubevirt: cannot read the VirtualMachines: Failed to connect to the "
                            "Kubernetes API: Connection refused; the inventory lacks its hosts (strict: true makes "
                            "this an error)"]
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.kubevirt", "plugin: ghost.infra.kubevirt\nstrict: true\n")
    assert str(err.value) == ("ghost.infra.kubevirt: cannot read the VirtualMachines: Failed to connect to the "
                              "Kubernetes API: Connection refused")


def test_bad_option_fails_before_any_read(reader, inventory_run):
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.kubevirt", "plugin: ghost.infra.kubevirt\nservice_port_names: []\n")
    assert "service_port_names: must name at least one port" in str(err.value)
    assert reader.calls == []
