# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures of the registry tests against the testbed's two real API servers.

- ``controller``: ``controller(name)`` is a separate "machine": its own HOME and Ansible temp
  folder, nothing shared on disk with another; ``.module(...)`` runs one ghost.infra module
  through ``ansible localhost -m`` and ``.playbook(text)`` runs ansible-playbook there.
- ``registry_namespace``: a fresh ``ghost-it-reg-*`` namespace for the Kubernetes store,
  deleted afterwards.
- ``black_hole``: a TCP listener that accepts and never answers (a dead VPN, a firewall that
  swallows packets after the handshake).
- ``clusters``: kubeconfig paths of the testbed's API server and of the vcluster stand-in's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import secrets

import pytest

from registry_helpers import BlackHole, Controller, kubectl


@pytest.fixture
def controller(testbed, tmp_path):
    made = []

    def make(name):
        made.append(Controller(str(tmp_path / name)))
        return made[-1]
    return make


@pytest.fixture
def registry_namespace(testbed):
    name = "ghost-it-reg-%s" % secrets.token_hex(4)
    yield name
    kubectl("delete", "namespace", name, "--ignore-not-found", "--wait=false", check=False)


@pytest.fixture
def black_hole():
    made = []

    def make():
        made.append(BlackHole())
        return made[-1]
    yield make
    for hole in made:
        hole.close()


@pytest.fixture
def clusters(testbed):
    """``{"testbed": path, "virtual": path}``: admin kubeconfigs of the two real API servers."""
    virtual = os.path.join(os.environ["GHOST_TESTBED_DIR"], "kube", "virtual-admin.kubeconfig")
    assert os.path.isfile(virtual), "the testbed has no %s (is the vcluster-apiserver part of it?)" % virtual
    return {"testbed": os.environ["K8S_AUTH_KUBECONFIG"], "virtual": virtual}
