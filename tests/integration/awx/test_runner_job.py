# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/site.yml as an AWX job: ansible-runner on a private data dir laid out as AWX lays it.

- ``project/``: the project checkout (this collection); ``inventory/``: inventories/local;
  ``requirements_collections/``: the collections AWX installs for the project (ghost.infra).
- ``env/envvars``: the credentials, only as environment variables, named as AWX's credential
  types inject them: VMware vCenter (VMWARE_HOST, VMWARE_USER, VMWARE_PASSWORD,
  VMWARE_VALIDATE_CERTS), OpenShift or Kubernetes API Bearer Token (K8S_AUTH_HOST,
  K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL, K8S_AUTH_SSL_CA_CERT pointing at a file in the private
  data dir), and custom credential types for VMWARE_PORT and LIBVIRT_DEFAULT_URI; plus the job
  template's extra environment (where the testbed keeps its images, chart and API addresses).
  ansible-runner itself starts with none of the testbed's variables (no kubeconfig anywhere).
- ``env/extravars``: what a survey passes (a prefix, counts, a TTL, the state).

Three jobs: create (changes, no failed event), the same again (no change at all), and
site_state=absent (everything removed, checked through libvirt and the API server). No event
may carry a credential: the vSphere password, the bearer token, or any kubeconfig credential.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import uuid

import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(COLLECTION / 'tests' / 'integration'))
from test_targets import credentials_in  # noqa: E402  pylint: disable=wrong-import-position

# The job template's extra environment: where the testbed keeps what the inventory refers to.
JOB_ENV = ('GHOST_BASE_IMAGE', 'GHOST_LIBVIRT_DOMAIN_TYPE', 'GHOST_VSPHERE_TEMPLATE', 'GHOST_VCLUSTER_API',
           'GHOST_VCLUSTER_CHART_DIR', 'GHOST_VCLUSTER_VALUES', 'VCLUSTER_SKIP_VERSION_CHECK')


def _bearer_token_credential(kubeconfig, ca_path):
    """What AWX's Kubernetes Bearer Token credential injects, from the testbed's admin kubeconfig."""
    config = yaml.safe_load(pathlib.Path(kubeconfig).read_text())
    cluster = config['clusters'][0]['cluster']
    user = config['users'][0]['user']
    if cluster.get('certificate-authority-data'):
        import base64  # pylint: disable=import-outside-toplevel
        ca_path.write_bytes(base64.b64decode(cluster['certificate-authority-data']))
    else:
        shutil.copy(cluster['certificate-authority'], ca_path)
    ca_path.chmod(0o600)
    assert user.get('token'), 'the testbed admin kubeconfig has no bearer token'
    return {'K8S_AUTH_HOST': cluster['server'], 'K8S_AUTH_API_KEY': user['token'], 'K8S_AUTH_VERIFY_SSL': 'True',
            'K8S_AUTH_SSL_CA_CERT': str(ca_path)}


def _private_data_dir(root, testbed):
    pdd = root / 'job'
    (pdd / 'env').mkdir(parents=True)
    (pdd / 'project').symlink_to(COLLECTION)
    shutil.copytree(COLLECTION / 'inventories' / 'local', pdd / 'inventory')
    (pdd / 'requirements_collections' / 'ansible_collections' / 'ghost').mkdir(parents=True)
    (pdd / 'requirements_collections' / 'ansible_collections' / 'ghost' / 'infra').symlink_to(COLLECTION)
    envvars = {
        # VMware vCenter credential
        'VMWARE_HOST': testbed['VMWARE_HOST'], 'VMWARE_USER': testbed['VMWARE_USER'],
        'VMWARE_PASSWORD': testbed['VMWARE_PASSWORD'], 'VMWARE_VALIDATE_CERTS': 'False',
        # custom credential types
        'VMWARE_PORT': testbed['VMWARE_PORT'], 'LIBVIRT_DEFAULT_URI': testbed['LIBVIRT_DEFAULT_URI'],
        'ANSIBLE_COLLECTIONS_PATH': str(pdd / 'requirements_collections'),
        'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_PIPELINING': '1',
    }
    envvars.update(_bearer_token_credential(testbed['K8S_AUTH_KUBECONFIG'], pdd / 'env' / 'k8s-ca.crt'))
    envvars.update({name: testbed[name] for name in JOB_ENV if testbed.get(name)})
    (pdd / 'env' / 'envvars').write_text(yaml.safe_dump(envvars))
    (pdd / 'env' / 'envvars').chmod(0o600)
    (pdd / 'env' / 'settings').write_text(yaml.safe_dump({'job_timeout': 1800, 'idle_timeout': 900}))
    return pdd, envvars


def _run_job(pdd, ident, extravars, testbed):
    (pdd / 'env' / 'extravars').write_text(yaml.safe_dump(extravars))
    # As on an AWX node: nothing of the testbed in the environment, only what envvars holds.
    env = {'PATH': os.pathsep.join([str(BIN), os.path.join(testbed['GHOST_CACHE'], 'bin'), '/usr/sbin', '/usr/bin', '/sbin', '/bin']),
           'HOME': os.environ.get('HOME', '/root'), 'LANG': 'C.UTF-8'}
    proc = subprocess.run([str(BIN / 'ansible-runner'), 'run', str(pdd), '-p', 'playbooks/site.yml', '--ident', ident],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3600, check=False)
    artifacts = pdd / 'artifacts' / ident
    files = sorted((artifacts / 'job_events').glob('*.json'), key=lambda p: int(p.name.split('-', 1)[0]))
    events = [json.loads(p.read_text()) for p in files]
    status = (artifacts / 'status').read_text().strip() if (artifacts / 'status').exists() else 'missing'
    return proc, status, events


def _failures(events):
    return ['%s: %s' % (e['event_data'].get('task', '?'), (e.get('stdout') or '')[-600:]) for e in events
            if e['event'] in ('runner_on_failed', 'runner_item_on_failed', 'runner_on_unreachable')]


def _changed(events):
    stats = [e for e in events if e['event'] == 'playbook_on_stats']
    assert len(stats) == 1, 'no playbook_on_stats event'
    return stats[0]['event_data'].get('changed') or {}


def _check_no_secret(events, secrets):
    for event in events:
        text = json.dumps(event)
        leaked = [name for name, value in secrets.items() if value and value in text]
        assert not leaked, 'event %s (%s) carries %s' % (event['counter'], event['event'], leaked)
        found = credentials_in(event.get('stdout') or '')
        assert not found, 'event %s stdout carries %s' % (event['counter'], found)


def test_site_as_an_awx_job(testbed, tmp_path):
    prefix = 'awx' + uuid.uuid4().hex[:4]
    survey = {'site_prefix': prefix, 'site_fleet_kvm': 1, 'site_fleet_esx': 1, 'site_vcluster_ttl': '1h', 'site_state': 'present'}
    pdd, envvars = _private_data_dir(tmp_path, testbed)
    secrets = {'VMWARE_PASSWORD': envvars['VMWARE_PASSWORD'], 'K8S_AUTH_API_KEY': envvars['K8S_AUTH_API_KEY']}
    try:
        proc, status, events = _run_job(pdd, 'create', survey, testbed)
        assert status == 'successful', '%s\n%s' % (status, '\n'.join(_failures(events)) or proc.stdout[-3000:])
        assert not _failures(events)
        changed = _changed(events)
        # The network and pool, the two VMs (one async wave), the vcluster and its namespace.
        assert changed.get('localhost', 0) >= 4, changed
        # A no_log result is censored in its event; its line still says changed.
        tasks = {e['event_data'].get('task') for e in events
                 if e['event'] in ('runner_on_ok', 'runner_item_on_ok') and (e.get('stdout') or '').lstrip().startswith('changed:')}
        assert {'Networks', 'Storage pools', 'Wait for the jobs of this wave'} <= tasks, tasks
        assert [t for t in tasks if t.startswith('Create or upgrade with its time-to-live')], tasks
        _check_no_secret(events, secrets)

        proc, status, events = _run_job(pdd, 'again', survey, testbed)
        assert status == 'successful', '%s\n%s' % (status, '\n'.join(_failures(events)) or proc.stdout[-3000:])
        changed_tasks = [e['event_data'].get('task') for e in events if (e.get('stdout') or '').lstrip().startswith('changed:')]
        assert _changed(events).get('localhost', 0) == 0, changed_tasks
        _check_no_secret(events, secrets)
    finally:
        proc, status, events = _run_job(pdd, 'absent', dict(survey, site_state='absent'), testbed)
    assert status == 'successful', '%s\n%s' % (status, '\n'.join(_failures(events)) or proc.stdout[-3000:])
    _check_no_secret(events, secrets)

    listing = subprocess.run(['virsh', '--connect', testbed['LIBVIRT_DEFAULT_URI'], 'list', '--all', '--name'],
                             capture_output=True, text=True, check=True).stdout.split()
    assert not [d for d in listing if d.startswith(prefix)], listing
    networks = subprocess.run(['virsh', '--connect', testbed['LIBVIRT_DEFAULT_URI'], 'net-list', '--all', '--name'],
                              capture_output=True, text=True, check=True).stdout.split()
    assert 'ghost-site-net' not in networks
    namespaces = subprocess.run([os.path.join(testbed['GHOST_CACHE'], 'bin', 'kubectl'), '--kubeconfig', testbed['K8S_AUTH_KUBECONFIG'],
                                 'get', 'statefulsets,deployments', '-A', '-l', 'app=vcluster', '-o', 'name'],
                                capture_output=True, text=True, check=True).stdout
    assert not re.search(r'\b%s-review\b' % prefix, namespaces), namespaces
