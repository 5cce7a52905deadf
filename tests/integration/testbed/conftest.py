# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the tests of the testbed itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time
import uuid

import kubernetes
import pytest


def _wait_until(what, check, timeout=60, interval=0.25):
    """Poll ``check()`` until it returns something true; fail the test with ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail('timed out after %ss waiting for %s (last: %r)' % (timeout, what, last))


@pytest.fixture(scope='session')
def wait_until():
    """``wait_until(what, check, timeout=60)``: poll ``check()`` until true, else fail the test."""
    return _wait_until


@pytest.fixture(scope='session')
def k8s(testbed):
    """An ApiClient for the testbed's admin kubeconfig."""
    cfg = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=testbed['K8S_AUTH_KUBECONFIG'], client_configuration=cfg)
    return kubernetes.client.ApiClient(cfg)


@pytest.fixture
def namespace(k8s):
    """A fresh namespace for one test, deleted afterwards."""
    core = kubernetes.client.CoreV1Api(k8s)
    name = 'tb-' + uuid.uuid4().hex[:8]
    core.create_namespace(kubernetes.client.V1Namespace(metadata=kubernetes.client.V1ObjectMeta(name=name)))
    _wait_until('default ServiceAccount in ' + name, lambda: core.list_namespaced_service_account(name).items, 30)
    yield name
    core.delete_namespace(name)


@pytest.fixture
def kubectl(testbed):
    def run(*args, kubeconfig=None, check=True, stdin=None):
        env = dict(os.environ, KUBECONFIG=kubeconfig or testbed['KUBECONFIG'])
        result = subprocess.run(['kubectl'] + list(args), capture_output=True, text=True, env=env, input=stdin, timeout=120, check=False)
        if check:
            assert result.returncode == 0, 'kubectl %s: %s' % (' '.join(args), result.stderr)
        return result
    return run
