# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes part of the testbed: etcd, two kube-apiservers, controller-manager, scheduler, KWOK.

The second kube-apiserver serves a separate "virtual" cluster from the same etcd under another
prefix; the vcluster stand-in hands out credentials for it. Authentication is by static tokens
(admin, controller-manager, scheduler) plus service-account tokens; authorization is RBAC.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import secrets

import yaml

from . import pki
from .procs import http_get, insecure_context, write_private

NODE_NAME = 'kwok-node-0'
KWOK_ANNOTATION = 'kwok.x-k8s.io/node'
SERVICE_CIDR = '10.96.0.0/16'
SA_ISSUER = 'https://kubernetes.default.svc.cluster.local'
# ephemeral-storage too: charts such as vcluster's request it, and a node without it fits no such pod.
NODE_RESOURCES = {'cpu': '32', 'memory': '256Gi', 'pods': '110', 'ephemeral-storage': '200Gi'}


class Kube:
    """Paths, credentials and command lines; ``ports`` maps etcd/etcd_peer/apiserver/vapiserver/kcm/scheduler/kwok."""

    def __init__(self, state_dir, bin_dir, ports, kwok_stages=None):
        self.dir = os.path.join(state_dir, 'kube')
        self.etcd_dir = os.path.join(state_dir, 'etcd')
        self.bin = bin_dir
        self.ports = ports
        self.kwok_stages = kwok_stages
        self.admin_kubeconfig = os.path.join(state_dir, 'kubeconfig')
        self.virtual_kubeconfig = os.path.join(self.dir, 'virtual-admin.kubeconfig')
        self._tokens = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def server(self, virtual=False):
        return 'https://127.0.0.1:%d' % self.ports['vapiserver' if virtual else 'apiserver']

    # --- credentials ----------------------------------------------------------------------------

    def prepare(self):
        """Certificates, keys, token files and kubeconfigs; only what is missing is generated."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.makedirs(self.etcd_dir, mode=0o700, exist_ok=True)
        ca = pki.ensure_ca(self.path('ca.crt'), self.path('ca.key'), 'ghost-testbed-ca')
        pki.ensure_serving_cert(self.path('apiserver.crt'), self.path('apiserver.key'), ca, 'kube-apiserver',
                                ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc',
                                 'kubernetes.default.svc.cluster.local'], ['127.0.0.1', '10.96.0.1'])
        pki.ensure_signing_key(self.path('sa.key'), self.path('sa.pub'))
        pki.ensure_signing_key(self.path('virtual-sa.key'), self.path('virtual-sa.pub'))
        tokens = self.tokens()
        users = {
            'admin': ('ghost-admin', 'system:masters'),
            'kcm': ('system:kube-controller-manager', ''),
            'scheduler': ('system:kube-scheduler', ''),
        }
        write_private(self.path('tokens.csv'), ''.join('%s,%s,%s,"%s"\n' % (tokens[k], u, u, g) for k, (u, g) in users.items()))
        write_private(self.path('virtual-tokens.csv'), '%s,vcluster-admin,vcluster-admin,"system:masters"\n' % tokens['virtual-admin'])
        with open(self.path('ca.crt'), 'rb') as f:
            ca_data = f.read()
        self._kubeconfig(self.admin_kubeconfig, self.server(), ca_data, tokens['admin'], 'ghost-testbed')
        self._kubeconfig(self.path('kcm.kubeconfig'), self.server(), ca_data, tokens['kcm'], 'kcm')
        self._kubeconfig(self.path('scheduler.kubeconfig'), self.server(), ca_data, tokens['scheduler'], 'scheduler')
        self._kubeconfig(self.virtual_kubeconfig, self.server(virtual=True), ca_data, tokens['virtual-admin'], 'ghost-testbed-virtual')

    def tokens(self):
        if self._tokens is None:
            path = self.path('tokens.json')
            try:
                with open(path) as f:
                    self._tokens = json.load(f)
            except (OSError, ValueError):
                self._tokens = {}
            missing = [k for k in ('admin', 'kcm', 'scheduler', 'virtual-admin') if k not in self._tokens]
            for k in missing:
                self._tokens[k] = secrets.token_hex(24)
            if missing:
                write_private(path, json.dumps(self._tokens))
        return self._tokens

    @staticmethod
    def _kubeconfig(path, server, ca_data, token, name):
        cfg = {
            'apiVersion': 'v1', 'kind': 'Config', 'preferences': {}, 'current-context': name,
            'clusters': [{'name': name, 'cluster': {'server': server, 'certificate-authority-data': base64.b64encode(ca_data).decode()}}],
            'users': [{'name': name, 'user': {'token': token}}],
            'contexts': [{'name': name, 'context': {'cluster': name, 'user': name}}],
        }
        write_private(path, yaml.safe_dump(cfg, default_flow_style=False))

    # --- command lines --------------------------------------------------------------------------

    def argv(self, component):
        def b(name):
            return os.path.join(self.bin, name)
        p = self.ports
        if component == 'etcd':
            return [b('etcd'), '--name', 'ghost-testbed', '--data-dir', self.etcd_dir,
                    '--listen-client-urls', 'http://127.0.0.1:%d' % p['etcd'], '--advertise-client-urls', 'http://127.0.0.1:%d' % p['etcd'],
                    '--listen-peer-urls', 'http://127.0.0.1:%d' % p['etcd_peer'],
                    '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % p['etcd_peer'],
                    '--initial-cluster', 'ghost-testbed=http://127.0.0.1:%d' % p['etcd_peer'],
                    '--unsafe-no-fsync', '--quota-backend-bytes', str(2 * 1024 ** 3),
                    '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '5m', '--log-level', 'warn']
        if component in ('kube-apiserver', 'vcluster-apiserver'):
            virtual = component == 'vcluster-apiserver'
            prefix = 'virtual-' if virtual else ''
            return [b('kube-apiserver'),
                    '--etcd-servers', 'http://127.0.0.1:%d' % p['etcd'],
                    '--etcd-prefix', '/ghost-vcluster' if virtual else '/registry',
                    '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1',
                    '--secure-port', str(p['vapiserver' if virtual else 'apiserver']),
                    '--tls-cert-file', self.path('apiserver.crt'), '--tls-private-key-file', self.path('apiserver.key'),
                    '--client-ca-file', self.path('ca.crt'),
                    '--service-cluster-ip-range', SERVICE_CIDR,
                    '--service-account-issuer', SA_ISSUER,
                    '--service-account-key-file', self.path(prefix + 'sa.pub'),
                    '--service-account-signing-key-file', self.path(prefix + 'sa.key'),
                    '--token-auth-file', self.path(prefix + 'tokens.csv'),
                    '--authorization-mode', 'RBAC', '--allow-privileged=true',
                    # No kubernetes-service endpoints: 127.0.0.1 is not a valid endpoint address.
                    '--endpoint-reconciler-type', 'none',
                    '--profiling=false', '--v', '1']
        if component == 'kube-controller-manager':
            return [b('kube-controller-manager'), '--kubeconfig', self.path('kcm.kubeconfig'),
                    '--bind-address', '127.0.0.1', '--secure-port', str(p['kcm']),
                    '--service-account-private-key-file', self.path('sa.key'), '--root-ca-file', self.path('ca.crt'),
                    '--use-service-account-credentials=true', '--leader-elect=false', '--profiling=false', '--v', '1']
        if component == 'kube-scheduler':
            return [b('kube-scheduler'), '--kubeconfig', self.path('scheduler.kubeconfig'),
                    '--bind-address', '127.0.0.1', '--secure-port', str(p['scheduler']),
                    '--leader-elect=false', '--profiling=false', '--v', '1']
        if component == 'kwok':
            args = [b('kwok'), '--kubeconfig', self.admin_kubeconfig,
                    '--manage-all-nodes=false', '--manage-nodes-with-annotation-selector', '%s=fake' % KWOK_ANNOTATION,
                    '--cidr', '10.244.0.0/16', '--node-ip', '127.0.0.1', '--node-lease-duration-seconds', '40',
                    '--server-address', '127.0.0.1:%d' % p['kwok']]
            for stage in sorted(os.listdir(self.kwok_stages)) if self.kwok_stages and os.path.isdir(self.kwok_stages) else []:
                if stage.endswith(('.yaml', '.yml')):
                    args += ['--config', os.path.join(self.kwok_stages, stage)]
            return args
        raise ValueError(component)

    # --- health ---------------------------------------------------------------------------------

    def health(self, component):
        """(healthy, detail) for a running component."""
        p = self.ports
        try:
            if component == 'etcd':
                code, body = http_get('http://127.0.0.1:%d/health' % p['etcd'])
                if code == 200 and json.loads(body).get('health') == 'true':
                    return True, 'etcd ' + json.loads(http_get('http://127.0.0.1:%d/version' % p['etcd'])[1]).get('etcdserver', '?')
                return False, body.strip()
            if component in ('kube-apiserver', 'vcluster-apiserver'):
                virtual = component == 'vcluster-apiserver'
                token = self.tokens()['virtual-admin' if virtual else 'admin']
                code, body = http_get(self.server(virtual) + '/readyz', token=token, ctx=insecure_context())
                if code != 200:
                    return False, body.strip().splitlines()[-1] if body.strip() else str(code)
                version = json.loads(http_get(self.server(virtual) + '/version', token=token, ctx=insecure_context())[1])
                return True, version.get('gitVersion', '?')
            if component in ('kube-controller-manager', 'kube-scheduler'):
                port = p['kcm' if component == 'kube-controller-manager' else 'scheduler']
                code, body = http_get('https://127.0.0.1:%d/healthz' % port, ctx=insecure_context())
                return code == 200, body.strip()
            if component == 'kwok':
                code, body = http_get('http://127.0.0.1:%d/healthz' % p['kwok'])
                return code == 200, body.strip()
        except OSError as exc:
            return False, str(exc)
        raise ValueError(component)

    def address(self, component):
        p = self.ports
        return {
            'etcd': 'http://127.0.0.1:%d' % p['etcd'],
            'kube-apiserver': self.server(),
            'vcluster-apiserver': self.server(virtual=True),
            'kube-controller-manager': 'https://127.0.0.1:%d' % p['kcm'],
            'kube-scheduler': 'https://127.0.0.1:%d' % p['scheduler'],
            'kwok': 'http://127.0.0.1:%d' % p['kwok'],
        }[component]


def node_manifest():
    """The one fake node: managed by KWOK through the annotation, untainted so pods land on it."""
    return {
        'apiVersion': 'v1', 'kind': 'Node',
        'metadata': {
            'name': NODE_NAME,
            'annotations': {KWOK_ANNOTATION: 'fake', 'node.alpha.kubernetes.io/ttl': '0'},
            'labels': {'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': NODE_NAME,
                       'kubernetes.io/role': 'agent', 'node-role.kubernetes.io/agent': '', 'type': 'kwok'},
        },
        'spec': {},
        'status': {
            'allocatable': NODE_RESOURCES,
            'capacity': NODE_RESOURCES,
            'nodeInfo': {'architecture': 'amd64', 'operatingSystem': 'linux', 'kubeletVersion': 'fake', 'kubeProxyVersion': 'fake'},
        },
    }
