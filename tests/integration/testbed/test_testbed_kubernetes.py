# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes control plane + KWOK, the pinned CLIs, and vcluster through the stand-in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import subprocess
import uuid

import kubernetes
import yaml

VERSIONS_ENV = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'testbed', 'versions.env')


def pinned(name):
    with open(VERSIONS_ENV) as f:
        return re.search(r'^%s=(\S+)' % name, f.read(), re.M).group(1)


def test_readyz(kubectl):
    assert kubectl('get', '--raw', '/readyz').stdout.strip() == 'ok'


def test_version_is_pinned(kubectl):
    assert kubectl('version', '-o', 'yaml').stdout.count(pinned('KUBERNETES_VERSION')) >= 2  # client and server


def test_fake_node_ready(k8s, testbed):
    nodes = kubernetes.client.CoreV1Api(k8s).list_node().items
    assert [n.metadata.name for n in nodes] == [testbed['GHOST_K8S_NODE']]
    ready = [c.status for c in nodes[0].status.conditions if c.type == 'Ready']
    assert ready == ['True']
    assert not nodes[0].spec.taints


def _labels(name):
    return kubernetes.client.V1LabelSelector(match_labels={'app': name})


def _pod_template(name):
    return kubernetes.client.V1PodTemplateSpec(
        metadata=kubernetes.client.V1ObjectMeta(labels={'app': name}),
        spec=kubernetes.client.V1PodSpec(containers=[kubernetes.client.V1Container(name='main', image='registry.invalid/none:1')]))


def test_deployment_becomes_available(k8s, namespace, wait_until):
    apps = kubernetes.client.AppsV1Api(k8s)
    apps.create_namespaced_deployment(namespace, kubernetes.client.V1Deployment(
        metadata=kubernetes.client.V1ObjectMeta(name='web'),
        spec=kubernetes.client.V1DeploymentSpec(replicas=2, selector=_labels('web'), template=_pod_template('web'))))

    def available():
        d = apps.read_namespaced_deployment('web', namespace)
        conds = {c.type: c.status for c in d.status.conditions or []}
        return d.status.available_replicas == 2 and conds.get('Available') == 'True'
    wait_until('Deployment Available', available, 60)


def test_statefulset_becomes_ready(k8s, namespace, wait_until):
    apps = kubernetes.client.AppsV1Api(k8s)
    apps.create_namespaced_stateful_set(namespace, kubernetes.client.V1StatefulSet(
        metadata=kubernetes.client.V1ObjectMeta(name='db'),
        spec=kubernetes.client.V1StatefulSetSpec(replicas=1, service_name='db', selector=_labels('db'), template=_pod_template('db'))))
    wait_until('StatefulSet ready', lambda: apps.read_namespaced_stateful_set('db', namespace).status.ready_replicas == 1, 60)


def test_cli_versions(testbed):
    helm = subprocess.run(['helm', 'version', '--short'], capture_output=True, text=True, check=True).stdout
    assert helm.startswith(pinned('HELM_VERSION') + '+') or helm.strip() == pinned('HELM_VERSION')
    vcluster = subprocess.run(['vcluster', '--version'], capture_output=True, text=True, check=True).stdout
    assert vcluster.split()[-1].lstrip('v') == pinned('VCLUSTER_VERSION').lstrip('v')
    assert os.path.isfile(os.path.join(testbed['GHOST_VCLUSTER_CHART_DIR'], 'Chart.yaml'))


def test_vcluster_create_connect_delete(k8s, namespace, kubectl, testbed, tmp_path, wait_until):
    name = 'vc-' + uuid.uuid4().hex[:6]
    core = kubernetes.client.CoreV1Api(k8s)
    create = subprocess.run(['vcluster', 'create', name, '-n', namespace, '--connect=false',
                             '--local-chart-dir', testbed['GHOST_VCLUSTER_CHART_DIR'], '-f', testbed['GHOST_VCLUSTER_VALUES'],
                             # Like a real vcluster, the stand-in publishes https://localhost:8443 unless told.
                             '--set', 'exportKubeConfig.server=' + testbed['GHOST_VCLUSTER_API']],
                            capture_output=True, text=True, timeout=300, check=False)
    assert create.returncode == 0, create.stdout + create.stderr
    try:
        secret = wait_until('Secret vc-%s' % name, lambda: _secret(core, namespace, 'vc-' + name), 90)
        kubeconfig = tmp_path / 'vcluster.kubeconfig'
        kubeconfig.write_bytes(base64.b64decode(secret.data['config']))
        assert yaml.safe_load(kubeconfig.read_text())['clusters'][0]['cluster']['server'] == testbed['GHOST_VCLUSTER_API']
        namespaces = kubectl('get', 'namespaces', '-o', 'name', kubeconfig=str(kubeconfig)).stdout.split()
        assert 'namespace/default' in namespaces and 'namespace/kube-system' in namespaces
        # The virtual cluster is not the host cluster: the test namespace only exists on the host.
        assert 'namespace/' + namespace not in namespaces
        listed = subprocess.run(['vcluster', 'list', '--output', 'json'], capture_output=True, text=True, timeout=120, check=False)
        assert name in listed.stdout, listed.stdout + listed.stderr
    finally:
        delete = subprocess.run(['vcluster', 'delete', name, '-n', namespace], capture_output=True, text=True, timeout=300, check=False)
    assert delete.returncode == 0, delete.stdout + delete.stderr
    wait_until('vcluster StatefulSet gone', lambda: not kubernetes.client.AppsV1Api(k8s).list_namespaced_stateful_set(namespace).items, 60)
    wait_until('Secret vc-%s garbage-collected' % name, lambda: _secret(core, namespace, 'vc-' + name) is None, 60)
    # Its credentials for the virtual cluster are revoked as well.
    wait_until('vcluster token revoked', lambda: kubectl('get', 'namespaces', kubeconfig=str(kubeconfig), check=False).returncode != 0, 60)


def _secret(core, namespace, name):
    try:
        return core.read_namespaced_secret(name, namespace)
    except kubernetes.client.rest.ApiException as exc:
        if exc.status == 404:
            return None
        raise
