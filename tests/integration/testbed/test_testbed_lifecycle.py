# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The testbed's own lifecycle: restart of one component, ``down`` then ``up``.

Each test leaves the testbed up again, so the order of test modules does not matter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

import kubernetes

DAEMONS = ('vcenter', 'esxi', 'etcd', 'kube-apiserver', 'vcluster-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok',
           'kubevirt-standin', 'vcluster-standin')


def pid_of(testbed, name):
    with open(os.path.join(testbed['GHOST_TESTBED_DIR'], 'run', name + '.pid')) as f:
        return int(f.read())


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except OSError:
        return False


def test_standin_reconnects_after_apiserver_restart(testbed, testbed_control, k8s, namespace, wait_until):
    standin = pid_of(testbed, 'kubevirt-standin')
    apiserver = pid_of(testbed, 'kube-apiserver')
    os.kill(apiserver, signal.SIGKILL)  # a crash: clients see their connections reset
    wait_until('kube-apiserver gone', lambda: not alive(apiserver), 30)
    testbed_control.up()  # restarts just the API server
    assert pid_of(testbed, 'kube-apiserver') != apiserver
    assert pid_of(testbed, 'kubevirt-standin') == standin
    api = kubernetes.client.CustomObjectsApi(k8s)
    api.create_namespaced_custom_object('kubevirt.io', 'v1', namespace, 'virtualmachines', {
        'apiVersion': 'kubevirt.io/v1', 'kind': 'VirtualMachine', 'metadata': {'name': 'after-restart'},
        'spec': {'runStrategy': 'Always', 'template': {'spec': {'domain': {'devices': {}}}}}})

    def running():
        vm = api.get_namespaced_custom_object('kubevirt.io', 'v1', namespace, 'virtualmachines', 'after-restart')
        return (vm.get('status') or {}).get('printableStatus') == 'Running'
    wait_until('VM Running after the API server restart', running, 60)


def test_down_then_up(testbed, testbed_control):
    pids = {name: pid_of(testbed, name) for name in DAEMONS}
    ours = os.path.exists(os.path.join(testbed['GHOST_TESTBED_DIR'], 'run', 'libvirtd.pid'))
    if ours:
        pids['libvirtd'] = pid_of(testbed, 'libvirtd')
        pids['virtlogd'] = pid_of(testbed, 'virtlogd')
    down = testbed_control.run('down')
    assert down.returncode == 0, down.stdout + down.stderr
    assert [name for name, pid in pids.items() if alive(pid)] == []
    status = testbed_control.run('status')
    assert status.returncode == 3, status.stdout
    lines = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines() if line.strip()}
    assert all(lines[name] == 'stopped' for name in DAEMONS), status.stdout
    if ours:
        assert lines['libvirt'] == 'stopped'
    testbed_control.up()
    status = testbed_control.run('status')
    assert status.returncode == 0, status.stdout
    assert all(pid_of(testbed, name) != pids[name] for name in DAEMONS)
