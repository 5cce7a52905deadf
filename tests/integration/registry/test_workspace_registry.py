# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A workspace on a cluster of the Kubernetes store, from controllers that share nothing on disk
(what AWX job templates do): its generated password is only ever a Secret reference and never
printed, even at -vvv; a second controller finds the same workspace unchanged; absent removes it.
The workspace target covers the folder store, a given password and the other exposures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import secrets

from registry_helpers import kubectl

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ghost.infra.workspace:
        cluster: lab
        store: %(store)s
        name: code
        namespace: %(namespace)s
        image: codercom/code-server:4.104.0
        exposure: loadbalancer
        state: %(state)s
        wait_timeout: 120
      register: ws
    - ansible.builtin.copy:
        dest: %(out)s
        content: "{{ ws | to_json }}"
        mode: "0600"
"""


def run(ctl, *, store, namespace, state="present"):
    """(result of the workspace task, ansible-playbook -vvv output) on controller ``ctl``."""
    out = os.path.join(ctl.root, "ws-%s.json" % secrets.token_hex(3))
    code, output = ctl.playbook(PLAY % {"store": store, "namespace": namespace, "state": state, "out": out},
                                verbosity="-vvv")
    assert code == 0, output[-4000:]
    with open(out) as handle:
        return json.load(handle), output


def test_workspace_on_a_kubernetes_store_cluster_hides_its_generated_password(
        controller, clusters, registry_namespace):
    store = "k8s:" + registry_namespace
    joined = controller("a").module("cluster_join", {"id": "lab", "kubeconfig": clusters["testbed"], "store": store})
    assert joined["changed"], joined["_output"][-2000:]
    namespace = "ghost-it-wsreg-%s" % secrets.token_hex(4)
    try:
        made, output = run(controller("b"), store=store, namespace=namespace)
        view = made["workspace"]
        assert made["changed"] and view["phase"] == "Running" and view["ready_replicas"] == 1, view
        assert view["cluster"] == "lab" and view["exposure"] == "loadbalancer" and view["node_port"]
        assert view["password_secret"] == {"name": "code-auth", "key": "PASSWORD"}
        service = json.loads(kubectl("get", "service", "code", "-n", namespace, "-o", "json").stdout)
        assert service["spec"]["type"] == "LoadBalancer" and service["spec"]["publishNotReadyAddresses"]
        encoded = kubectl("get", "secret", "code-auth", "-n", namespace, "-o", "jsonpath={.data.PASSWORD}").stdout
        password = base64.b64decode(encoded).decode()
        assert len(password) >= 16
        assert password not in output and password not in json.dumps(made)
        assert "code.%s.svc.cluster.local" % namespace in output  # -vvv printed the whole result
        # Another controller with nothing on disk finds the same workspace, password kept.
        again, output = run(controller("c"), store=store, namespace=namespace)
        assert not again["changed"], again
        assert kubectl("get", "secret", "code-auth", "-n", namespace, "-o",
                       "jsonpath={.data.PASSWORD}").stdout == encoded
        assert password not in output
        gone, _output = run(controller("d"), store=store, namespace=namespace, state="absent")
        assert gone["changed"], gone
        left = kubectl("get", "deployments,services,secrets,persistentvolumeclaims", "-n", namespace,
                       "-l", "ghost.infra/workspace", "-o", "name", check=False).stdout
        assert left.strip() == "", left
    finally:
        kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False)
