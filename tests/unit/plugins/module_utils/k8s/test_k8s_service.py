# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest.mock import Mock

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s import service
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException


class ApiError(Exception):
    def __init__(self, status, body):
        super(ApiError, self).__init__("(%d) Reason: whatever" % status)
        self.status = status
        self.body = body


def chained(outer, cause):
    try:
        raise outer from cause
    except Exception as exc:
        return exc


@pytest.mark.parametrize("exc, message", [
    (ApiError(404, json.dumps({"kind": "Status", "message": "not found"}).encode()), "not found (HTTP 404)"),
    (ApiError(500, b"plain text body"), "plain text body (HTTP 500)"),
    (chained(CoreException("Failed to create object: b'...'"), ApiError(422, json.dumps({"message": "denied"}))),
     "denied (HTTP 422)"),
    (CoreException("Could not create API client: no config"), "Could not create API client: no config"),
    (ValueError("boom"), "boom"),
    (CoreException("Failed to retrieve requested object: HTTPSConnectionPool(host='127.0.0.1', port=1): refused"),
     "HTTPSConnectionPool(host='127.0.0.1', port=1): refused"),
])
def test_api_error_message(exc, message):
    assert service.api_error_message(exc) == message


def test_http_status_follows_the_cause():
    assert service.http_status(chained(CoreException("x"), ApiError(404, b"{}"))) == 404
    assert service.http_status(ValueError("x")) is None


def test_connect_wraps_client_errors(monkeypatch):
    def broken(module):
        raise CoreException("Could not create API client: Invalid kube-config file. No configuration found.")
    monkeypatch.setattr(service, "get_api_client", broken)
    with pytest.raises(GhostError) as err:
        service.connect(Mock())
    assert str(err.value) == ("Failed to connect to the Kubernetes API: Could not create API client: "
                              "Invalid kube-config file. No configuration found.")


def test_connect_returns_a_k8s_service(monkeypatch):
    client = Mock()
    monkeypatch.setattr(service, "get_api_client", lambda module: client)
    module = Mock()
    svc = service.connect(module)
    assert isinstance(svc, service.K8sService)
    assert svc.client is client and svc.module is module


def test_kubeconfig_fault_names_what_is_wrong_with_the_file(tmp_path):
    import yaml
    from kubernetes.config import ConfigException

    missing = str(tmp_path / "nope")
    loading = CoreException("Could not create API client: Invalid kube-config file. No configuration found.")
    assert service.kubeconfig_fault(missing, loading) == "the file does not exist"
    assert service.kubeconfig_fault(str(tmp_path), loading) == "is a directory, not a kubeconfig file"
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: not-a-list\n")
    exc = CoreException("Could not create API client: Invalid kube-config file. Expected key name in %s/clusters"
                        % broken)
    assert service.kubeconfig_fault(str(broken), exc) == ("the file is not a usable kubeconfig: Expected key name in "
                                                          "the file/clusters")
    try:
        yaml.safe_load("a: [\n")
    except yaml.YAMLError as not_yaml:
        assert service.kubeconfig_fault(str(broken), not_yaml) == "the file is not YAML (line 2)"
    assert service.kubeconfig_fault(str(broken), ConfigException("Invalid kube-config file. x")).endswith(": x")
    # Not the file's fault, or no file: the caller keeps its own message.
    assert service.kubeconfig_fault(str(broken), CoreException("connection refused")) is None
    assert service.kubeconfig_fault(None, loading) is None
    assert service.kubeconfig_fault({"clusters": []}, loading) is None
