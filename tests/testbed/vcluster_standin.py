# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the one visible duty of a vcluster pod: publishing Secret ``vc-<name>``.

No vcluster pod can run in the testbed (no container runtime). Once the pod of a vcluster
(labels ``app=vcluster``, ``release=<name>``) is Ready -- KWOK makes it so -- this daemon writes
Secret ``vc-<name>`` (key ``config``) in the vcluster's namespace with a kubeconfig for a real API
server: the testbed's "virtual" kube-apiserver (same etcd, own prefix). Each vcluster gets its own
credentials there: a ServiceAccount ``vc-<namespace>-<name>`` bound to cluster-admin and a token
issued for it. The Secret is owned by the vcluster's workload -- a StatefulSet, or a Deployment
when the chart runs without a volume claim -- so deleting the vcluster garbage-collects it; the
ServiceAccount (and so its token) is removed once that workload is gone. All vclusters share the
one virtual API server.

Usage (from tests/): python -m testbed.vcluster_standin --kubeconfig HOST --virtual-kubeconfig VIRTUAL [--ready-file FILE]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import hashlib

import kubernetes
import yaml

from .standin_common import LOG, RELIST_SECONDS, Runtime, api_client, setup_logging, to_dict

SWEEP = ('sweep', None, None)
SA_NAMESPACE = 'kube-system'
OWNER_LABEL = 'standin.ghost.infra/vcluster'
TOKEN_SECONDS = 10 * 365 * 24 * 3600


def sa_name(namespace, name):
    full = 'vc-%s-%s' % (namespace, name)
    if len(full) <= 63:
        return full
    return full[:52] + '-' + hashlib.sha256(full.encode()).hexdigest()[:10]


def pod_ready(pod):
    return any(c.get('type') == 'Ready' and c.get('status') == 'True' for c in (pod.get('status') or {}).get('conditions') or [])


class Standin:
    def __init__(self, kubeconfig, virtual_kubeconfig, ready_file=None):
        self.host = api_client(kubeconfig)
        self.virtual = api_client(virtual_kubeconfig)
        with open(virtual_kubeconfig) as f:
            vcfg = yaml.safe_load(f)
        self.virtual_cluster = vcfg['clusters'][0]['cluster']
        self.host_core = kubernetes.client.CoreV1Api(self.host)
        self.host_apps = kubernetes.client.AppsV1Api(self.host)
        self.v_core = kubernetes.client.CoreV1Api(self.virtual)
        self.v_rbac = kubernetes.client.RbacAuthorizationV1Api(self.virtual)
        self.runtime = Runtime(self.reconcile, workers=4, ready_file=ready_file)

    def start(self):
        def list_fn():
            pods = self.host_core.list_pod_for_all_namespaces(label_selector='app=vcluster', _request_timeout=(5, 30))
            return [to_dict(self.host, p) for p in pods.items], pods.metadata.resource_version

        def watch_fn(rv):
            return kubernetes.watch.Watch().stream(self.host_core.list_pod_for_all_namespaces, label_selector='app=vcluster',
                                                   resource_version=rv, timeout_seconds=RELIST_SECONDS, deserialize=False,
                                                   _request_timeout=(5, RELIST_SECONDS + 10))

        def keys_for(pod):
            meta = pod.get('metadata') or {}
            release = (meta.get('labels') or {}).get('release')
            return [('pod', meta.get('namespace'), meta.get('name')), SWEEP] if release else [SWEEP]

        self.runtime.watch('pods', list_fn, watch_fn, keys_for)
        self.runtime.run()

    def reconcile(self, key):
        if key == SWEEP:
            self.sweep()
            return 30.0
        _kind, ns, name = key
        try:
            pod = to_dict(self.host, self.host_core.read_namespaced_pod(name, ns))
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        if pod['metadata'].get('deletionTimestamp') or not pod_ready(pod):
            return None
        release = pod['metadata']['labels']['release']
        secret_name = 'vc-' + release
        try:
            self.host_core.read_namespaced_secret(secret_name, ns)
            return None  # already published (a real vcluster would not rewrite it either)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 404:
                raise
        owner = self.workload(ns, release)
        if owner is None:
            return 2.0  # the pod outlived its workload, or the informer is ahead of us; look again
        token = self.issue_token(ns, release)
        kubeconfig = self.kubeconfig(token)
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(
                name=secret_name, namespace=ns,
                labels={'vcluster.loft.sh/standin': 'true'},
                owner_references=[kubernetes.client.V1OwnerReference(api_version='apps/v1', kind=owner.kind, name=release,
                                                                     uid=owner.metadata.uid)]),
            type='Opaque',
            data={'config': base64.b64encode(kubeconfig.encode()).decode(),
                  'certificate-authority': self.virtual_cluster.get('certificate-authority-data', '')})
        try:
            self.host_core.create_namespaced_secret(ns, body)
            LOG.info('published Secret %s/%s for vcluster %s', ns, secret_name, release)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
        return None

    def workload(self, ns, release):
        """The vcluster's StatefulSet or Deployment (both named after the release), or None."""
        for read, kind in ((self.host_apps.read_namespaced_stateful_set, 'StatefulSet'),
                           (self.host_apps.read_namespaced_deployment, 'Deployment')):
            try:
                obj = read(release, ns)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status == 404:
                    continue
                raise
            obj.kind = kind
            return obj
        return None

    def issue_token(self, ns, release):
        name = sa_name(ns, release)
        labels = {OWNER_LABEL: 'true', OWNER_LABEL + '-namespace': ns[:63], OWNER_LABEL + '-name': release[:63]}
        try:
            self.v_core.create_namespaced_service_account(SA_NAMESPACE, kubernetes.client.V1ServiceAccount(
                metadata=kubernetes.client.V1ObjectMeta(name=name, labels=labels)))
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
        try:
            self.v_rbac.create_cluster_role_binding(kubernetes.client.V1ClusterRoleBinding(
                metadata=kubernetes.client.V1ObjectMeta(name=name, labels=labels),
                role_ref=kubernetes.client.V1RoleRef(api_group='rbac.authorization.k8s.io', kind='ClusterRole', name='cluster-admin'),
                subjects=[kubernetes.client.RbacV1Subject(kind='ServiceAccount', name=name, namespace=SA_NAMESPACE)]))
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
        request = kubernetes.client.AuthenticationV1TokenRequest(spec=kubernetes.client.V1TokenRequestSpec(
            audiences=[], expiration_seconds=TOKEN_SECONDS))
        result = self.v_core.create_namespaced_service_account_token(name, SA_NAMESPACE, request)
        return result.status.token

    def kubeconfig(self, token):
        cluster = {'server': self.virtual_cluster['server']}
        if self.virtual_cluster.get('certificate-authority-data'):
            cluster['certificate-authority-data'] = self.virtual_cluster['certificate-authority-data']
        # Names as in the Secret a real vcluster writes.
        return yaml.safe_dump({
            'apiVersion': 'v1', 'kind': 'Config', 'current-context': 'Default', 'preferences': {},
            'clusters': [{'name': 'local', 'cluster': cluster}],
            'contexts': [{'name': 'Default', 'context': {'cluster': 'local', 'user': 'user'}}],
            'users': [{'name': 'user', 'user': {'token': token}}],
        }, default_flow_style=False)

    def sweep(self):
        """Revoke credentials of vclusters whose workload is gone."""
        sas = self.v_core.list_namespaced_service_account(SA_NAMESPACE, label_selector=OWNER_LABEL + '=true')
        for sa in sas.items:
            labels = sa.metadata.labels or {}
            ns, release = labels.get(OWNER_LABEL + '-namespace'), labels.get(OWNER_LABEL + '-name')
            if self.workload(ns, release) is not None:
                continue
            LOG.info('vcluster %s/%s is gone: revoking %s', ns, release, sa.metadata.name)
            for delete in (lambda n=sa.metadata.name: self.v_rbac.delete_cluster_role_binding(n),
                           lambda n=sa.metadata.name: self.v_core.delete_namespaced_service_account(n, SA_NAMESPACE)):
                try:
                    delete()
                except kubernetes.client.rest.ApiException as exc:
                    if exc.status != 404:
                        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kubeconfig', required=True)
    parser.add_argument('--virtual-kubeconfig', required=True)
    parser.add_argument('--ready-file')
    args = parser.parse_args()
    setup_logging('vcluster-standin')
    LOG.info('starting')
    Standin(args.kubeconfig, args.virtual_kubeconfig, args.ready_file).start()


if __name__ == '__main__':
    main()
