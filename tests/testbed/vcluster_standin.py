# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for the one visible duty of a vcluster pod: publishing Secret ``vc-<name>``.

No vcluster pod can run in the testbed (no container runtime). Once the pod of a vcluster
(labels ``app=vcluster``, ``release=<name>``) is Ready -- KWOK makes it so -- this daemon writes
Secret ``vc-<name>`` in the vcluster's namespace the way a real vcluster (v0.30,
pkg/setup/controllers.go, pkg/util/kubeconfig) does:

- the kubeconfig (key ``config``) says ``server: https://localhost:<controlPlane.proxy.port,
  8443>`` -- the port inside the pod, which nothing outside reaches -- unless the chart values
  (Secret ``vc-config-<name>``, key ``config.yaml``, which the chart renders and the pod reads)
  set ``exportKubeConfig.server``; ``exportKubeConfig.insecure`` drops the CA for
  ``insecure-skip-tls-verify``, ``exportKubeConfig.context`` names the context;
- the user authenticates with a client certificate and key (``client-certificate-data``,
  ``client-key-data``), never a token; the Secret also carries ``certificate-authority``,
  ``client-certificate``, ``client-key`` and an empty ``token`` like the real one.

The certificate is issued for the testbed's "virtual" kube-apiserver (same etcd, own prefix,
client certificates signed by the testbed CA): user ``vc-<namespace>-<name>``, bound to
cluster-admin there by a ClusterRoleBinding. So when the values set ``exportKubeConfig.server``
to that apiserver's address, the published kubeconfig really works. All vclusters share the one
virtual API server. The Secret is owned by the vcluster's workload -- a StatefulSet, or a
Deployment when the chart runs without a volume claim -- so deleting the vcluster
garbage-collects it; the binding (and so the certificate's rights) is removed once that workload
is gone. A new pod (a helm upgrade restarts it) publishes again when the values changed what the
kubeconfig says.

Usage (from tests/): python -m testbed.vcluster_standin --kubeconfig HOST --virtual-kubeconfig VIRTUAL
    --ca-cert CA --ca-key CA_KEY [--ready-file FILE]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import hashlib

import kubernetes
import yaml

from . import pki
from .standin_common import LOG, RELIST_SECONDS, Runtime, api_client, setup_logging, to_dict

SWEEP = ('sweep', None, None)
SA_NAMESPACE = 'kube-system'
OWNER_LABEL = 'standin.ghost.infra/vcluster'
DEFAULT_PORT = 8443


def sa_name(namespace, name):
    full = 'vc-%s-%s' % (namespace, name)
    if len(full) <= 63:
        return full
    return full[:52] + '-' + hashlib.sha256(full.encode()).hexdigest()[:10]


def pod_ready(pod):
    return any(c.get('type') == 'Ready' and c.get('status') == 'True' for c in (pod.get('status') or {}).get('conditions') or [])


def _dig(document, *keys):
    for key in keys:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def export_settings(values):
    """What the chart values say the published kubeconfig holds: server, insecure, context."""
    port = _dig(values, 'controlPlane', 'proxy', 'port') or DEFAULT_PORT
    return {
        'server': _dig(values, 'exportKubeConfig', 'server') or 'https://localhost:%s' % port,
        'insecure': bool(_dig(values, 'exportKubeConfig', 'insecure')),
        'context': _dig(values, 'exportKubeConfig', 'context') or 'Default',
    }


def published_settings(kubeconfig):
    """The same three settings, read back from a published kubeconfig (None when unreadable)."""
    try:
        data = yaml.safe_load(kubeconfig)
        cluster = data['clusters'][0]['cluster']
        return {'server': cluster.get('server'), 'insecure': bool(cluster.get('insecure-skip-tls-verify')),
                'context': data.get('current-context')}
    except (yaml.YAMLError, KeyError, IndexError, TypeError, AttributeError):
        return None


class Standin:
    def __init__(self, kubeconfig, virtual_kubeconfig, ca_cert, ca_key, ready_file=None):
        self.host = api_client(kubeconfig)
        self.virtual = api_client(virtual_kubeconfig)
        with open(virtual_kubeconfig) as f:
            vcfg = yaml.safe_load(f)
        self.virtual_cluster = vcfg['clusters'][0]['cluster']
        self.ca_cert, self.ca_key = ca_cert, ca_key
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

    def read_secret(self, ns, name):
        try:
            return self.host_core.read_namespaced_secret(name, ns)
        except kubernetes.client.rest.ApiException as exc:
            if exc.status == 404:
                return None
            raise

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
        # The pod reads its configuration from the Secret the chart renders from the values.
        config = self.read_secret(ns, 'vc-config-' + release)
        if config is None or not (config.data or {}).get('config.yaml'):
            return 2.0  # a real vcluster pod does not start without it either
        wanted = export_settings(yaml.safe_load(base64.b64decode(config.data['config.yaml'])) or {})
        secret_name = 'vc-' + release
        current = self.read_secret(ns, secret_name)
        published = (current.data or {}).get('config') if current is not None else None
        if published and published_settings(base64.b64decode(published)) == wanted:
            return None  # already published as the values say
        owner = self.workload(ns, release)
        if owner is None:
            return 2.0  # the pod outlived its workload, or the informer is ahead of us; look again
        user = self.grant(ns, release)
        cert, key = pki.issue_client_cert(self.ca_cert, self.ca_key, user)
        ca_data = self.virtual_cluster.get('certificate-authority-data', '')
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(
                name=secret_name, namespace=ns,
                labels={'app': 'vcluster', 'vcluster-name': release, 'vcluster.loft.sh/standin': 'true'},
                owner_references=[kubernetes.client.V1OwnerReference(api_version='apps/v1', kind=owner.kind, name=release,
                                                                     uid=owner.metadata.uid)]),
            type='Opaque',
            data={'config': base64.b64encode(self.kubeconfig(wanted, cert, key).encode()).decode(),
                  'certificate-authority': ca_data,
                  'client-certificate': base64.b64encode(cert).decode(),
                  'client-key': base64.b64encode(key).decode(),
                  'token': ''})
        if current is None:
            try:
                self.host_core.create_namespaced_secret(ns, body)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status != 409:
                    raise
                return 0.5  # written meanwhile: compare again
        else:
            body.metadata.resource_version = current.metadata.resource_version
            self.host_core.replace_namespaced_secret(secret_name, ns, body)
        LOG.info('published Secret %s/%s for vcluster %s (server %s)', ns, secret_name, release, wanted['server'])
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

    def grant(self, ns, release):
        """Bind user ``vc-<ns>-<release>`` to cluster-admin on the virtual API server; returns the user."""
        name = sa_name(ns, release)
        labels = {OWNER_LABEL: 'true', OWNER_LABEL + '-namespace': ns[:63], OWNER_LABEL + '-name': release[:63]}
        try:
            self.v_rbac.create_cluster_role_binding(kubernetes.client.V1ClusterRoleBinding(
                metadata=kubernetes.client.V1ObjectMeta(name=name, labels=labels),
                role_ref=kubernetes.client.V1RoleRef(api_group='rbac.authorization.k8s.io', kind='ClusterRole', name='cluster-admin'),
                subjects=[kubernetes.client.RbacV1Subject(kind='User', name=name, api_group='rbac.authorization.k8s.io')]))
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise
        return name

    def kubeconfig(self, wanted, cert, key):
        cluster = {'server': wanted['server']}
        if wanted['insecure']:
            cluster['insecure-skip-tls-verify'] = True
        elif self.virtual_cluster.get('certificate-authority-data'):
            cluster['certificate-authority-data'] = self.virtual_cluster['certificate-authority-data']
        # Names as in the Secret a real vcluster writes.
        return yaml.safe_dump({
            'apiVersion': 'v1', 'kind': 'Config', 'current-context': wanted['context'], 'preferences': {},
            'clusters': [{'name': 'local', 'cluster': cluster}],
            'contexts': [{'name': wanted['context'], 'context': {'cluster': 'local', 'user': 'user'}}],
            'users': [{'name': 'user', 'user': {'client-certificate-data': base64.b64encode(cert).decode(),
                                                'client-key-data': base64.b64encode(key).decode()}}],
        }, default_flow_style=False)

    def sweep(self):
        """Revoke the rights of vclusters whose workload is gone (and tokens an older stand-in issued)."""
        owned = OWNER_LABEL + '=true'
        leftovers = [(b.metadata, self.v_rbac.delete_cluster_role_binding)
                     for b in self.v_rbac.list_cluster_role_binding(label_selector=owned).items]
        leftovers += [(sa.metadata, lambda n: self.v_core.delete_namespaced_service_account(n, SA_NAMESPACE))
                      for sa in self.v_core.list_namespaced_service_account(SA_NAMESPACE, label_selector=owned).items]
        for meta, delete in leftovers:
            labels = meta.labels or {}
            ns, release = labels.get(OWNER_LABEL + '-namespace'), labels.get(OWNER_LABEL + '-name')
            if self.workload(ns, release) is not None:
                continue
            LOG.info('vcluster %s/%s is gone: revoking %s', ns, release, meta.name)
            try:
                delete(meta.name)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status != 404:
                    raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--kubeconfig', required=True)
    parser.add_argument('--virtual-kubeconfig', required=True)
    parser.add_argument('--ca-cert', required=True, help='CA whose client certificates the virtual API server accepts')
    parser.add_argument('--ca-key', required=True)
    parser.add_argument('--ready-file')
    args = parser.parse_args()
    setup_logging('vcluster-standin')
    LOG.info('starting')
    Standin(args.kubeconfig, args.virtual_kubeconfig, args.ca_cert, args.ca_key, args.ready_file).start()


if __name__ == '__main__':
    main()
