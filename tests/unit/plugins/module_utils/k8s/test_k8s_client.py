# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Kubernetes client base over a Mock K8sService (KubeVirt's client tests cover get/create/patch/wait too)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest.mock import Mock

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.client import K8sClient, ref, to_dict
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException


class ApiError(Exception):
    def __init__(self, status, message):
        super(ApiError, self).__init__("(%d)" % status)
        self.status = status
        self.body = json.dumps({"kind": "Status", "message": message, "code": status}).encode()


class Client(K8sClient):
    API_VERSIONS = {"Secret": "v1", "Namespace": "v1", "Widget": "example.com/v1"}


def instance(obj):
    return Mock(to_dict=Mock(return_value=obj))


def make():
    svc = Mock()
    return Client(svc), svc


def test_ref_and_to_dict():
    assert ref("ns", "a") == "ns/a"
    assert ref(None, "ns-a") == "ns-a"
    assert to_dict(None) is None
    assert to_dict(instance({"a": 1})) == {"a": 1}
    assert to_dict({"a": 1}) == {"a": 1}


def test_default_waiter():
    client, unused = make()
    assert isinstance(client.waiter, Waiter)
    waiter = Waiter()
    assert Client(Mock(), waiter=waiter).waiter is waiter


def test_missing_kind_is_reported_once_and_not_wrapped_again():
    client, svc = make()
    svc.find_resource.side_effect = CoreException("Failed to find exact match for example.com/v1.Widget")
    with pytest.raises(GhostError) as err:
        client.get("Widget", "ns", "w")
    assert str(err.value) == ("The Kubernetes API does not serve example.com/v1 Widget: "
                              "Failed to find exact match for example.com/v1.Widget")


def test_list_returns_dicts_and_names_the_namespace_on_failure():
    client, svc = make()
    svc.client.get.return_value = instance({"items": [instance({"metadata": {"name": "a"}}), {"metadata": {"name": "b"}}]})
    assert client.list("Secret", "ns", "app=x") == [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]
    svc.client.get.assert_called_with(svc.find_resource.return_value, namespace="ns", label_selector="app=x")
    svc.client.get.side_effect = ApiError(403, "secrets is forbidden")
    with pytest.raises(GhostError) as err:
        client.list("Secret", "ns")
    assert str(err.value) == "Failed to list Secrets in namespace 'ns': secrets is forbidden (HTTP 403)"
    with pytest.raises(GhostError) as err:
        client.list("Secret")
    assert str(err.value) == "Failed to list Secrets: secrets is forbidden (HTTP 403)"


def test_get_of_a_cluster_scoped_object_names_it_alone():
    client, svc = make()
    svc.client.get.side_effect = ApiError(500, "etcd timeout")
    with pytest.raises(GhostError) as err:
        client.get("Namespace", None, "lab")
    assert str(err.value) == "Failed to read Namespace 'lab': etcd timeout (HTTP 500)"


def test_create_with_exist_ok_takes_a_conflict_as_done():
    client, svc = make()
    svc.client.create.side_effect = ApiError(409, "already exists")
    assert client.create({"kind": "Namespace", "metadata": {"name": "lab"}}, exist_ok=True) is None
    with pytest.raises(GhostError) as err:
        client.create({"kind": "Namespace", "metadata": {"name": "lab"}})
    assert str(err.value) == "Failed to create Namespace 'lab': it was created by someone else at the same time"


def test_patch_failure_uses_the_callers_verb():
    client, svc = make()
    svc.client.patch.side_effect = ApiError(422, "invalid annotation")
    with pytest.raises(GhostError) as err:
        client.patch("Secret", "ns", "s", {"metadata": {"annotations": {"a": "b"}}}, verb="annotate")
    assert str(err.value) == "Failed to annotate Secret 'ns/s': invalid annotation (HTTP 422)"


def test_delete_says_whether_there_was_something():
    client, svc = make()
    assert client.delete("Secret", "ns", "s") is True
    svc.client.delete.side_effect = ApiError(404, "not found")
    assert client.delete("Secret", "ns", "s") is False


def test_namespace_exists():
    client, svc = make()
    assert client.namespace_exists("lab") is True
    svc.find_resource.assert_called_with("Namespace", "v1", fail=True)
    svc.client.get.side_effect = ApiError(404, 'namespaces "lab" not found')
    assert client.namespace_exists("lab") is False
    svc.client.get.side_effect = ApiError(403, "forbidden")  # may not read namespaces: cannot tell
    assert client.namespace_exists("lab") is True
