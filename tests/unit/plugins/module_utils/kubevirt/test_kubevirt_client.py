# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""KubeVirtClient (the Kubernetes client base with the KubeVirt kinds) over a Mock kubernetes.core K8sService."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from unittest.mock import Mock

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._k8s.waiter import Waiter
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import SNAPSHOT, VM
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException


class ApiError(Exception):
    """Shaped like kubernetes.dynamic.exceptions.DynamicApiError: status and a JSON body."""

    def __init__(self, status, message):
        super(ApiError, self).__init__("(%d)" % status)
        self.status = status
        self.body = json.dumps({"kind": "Status", "message": message, "code": status}).encode()


def core_error(status, message, verb="create"):
    cause = ApiError(status, message)
    try:
        raise CoreException("Failed to %s object: %s" % (verb, cause.body)) from cause
    except CoreException as exc:
        return exc


class Clock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make(svc=None):
    svc = svc or Mock()
    clock = Clock()
    return KubeVirtClient(svc, waiter=Waiter(sleep=clock.sleep, clock=clock)), svc, clock


def instance(obj):
    return Mock(to_dict=Mock(return_value=obj))


def test_resources_are_looked_up_once_per_kind():
    client, svc, unused = make()
    svc.client.get.return_value = None
    client.get(VM, "ns", "a")
    client.get(VM, "ns", "b")
    svc.find_resource.assert_called_once_with("VirtualMachine", "kubevirt.io/v1", fail=True)


def test_missing_api_says_what_to_install():
    client, svc, unused = make()
    svc.find_resource.side_effect = CoreException("Failed to find exact match for snapshot.kubevirt.io/v1beta1.VirtualMachineSnapshot")
    with pytest.raises(GhostError) as err:
        client.get(SNAPSHOT, "ns", "s")
    assert "does not serve snapshot.kubevirt.io/v1beta1 VirtualMachineSnapshot" in str(err.value)
    assert "Snapshot feature gate" in str(err.value)


def test_get_returns_dict_or_none():
    client, svc, unused = make()
    svc.client.get.return_value = instance({"metadata": {"name": "a"}})
    assert client.get(VM, "ns", "a") == {"metadata": {"name": "a"}}
    svc.client.get.assert_called_with(svc.find_resource.return_value, name="a", namespace="ns")
    svc.client.get.return_value = None
    assert client.get(VM, "ns", "a") is None
    svc.client.get.side_effect = ApiError(404, 'virtualmachines.kubevirt.io "a" not found')
    assert client.get(VM, "ns", "a") is None


def test_get_error_carries_the_api_message():
    client, svc, unused = make()
    svc.client.get.side_effect = core_error(403, 'virtualmachines.kubevirt.io "a" is forbidden', "retrieve")
    with pytest.raises(GhostError) as err:
        client.get(VM, "ns", "a")
    assert str(err.value) == "Failed to read VirtualMachine 'ns/a': virtualmachines.kubevirt.io \"a\" is forbidden (HTTP 403)"


def test_create_returns_the_object():
    client, svc, unused = make()
    svc.client.create.return_value = instance({"metadata": {"name": "s", "uid": "1"}})
    definition = {"kind": SNAPSHOT, "metadata": {"name": "s", "namespace": "ns"}}
    assert client.create(definition) == {"metadata": {"name": "s", "uid": "1"}}
    assert svc.client.create.call_args[0][1] is definition


def test_create_conflict_is_an_error():
    client, svc, unused = make()
    svc.client.create.side_effect = ApiError(409, 'virtualmachinesnapshots.snapshot.kubevirt.io "s" already exists')
    with pytest.raises(GhostError) as err:
        client.create({"kind": SNAPSHOT, "metadata": {"name": "s", "namespace": "ns"}})
    assert "created by someone else" in str(err.value)


def test_create_rejected_by_webhook():
    client, svc, unused = make()
    svc.client.create.side_effect = core_error(422, "admission webhook denied: VirtualMachine 'x' does not exist")
    with pytest.raises(GhostError) as err:
        client.create({"kind": SNAPSHOT, "metadata": {"name": "s", "namespace": "ns"}})
    assert str(err.value) == ("Failed to create VirtualMachineSnapshot 'ns/s': admission webhook denied: "
                              "VirtualMachine 'x' does not exist (HTTP 422)")


def test_patch_is_a_merge_patch():
    client, svc, unused = make()
    svc.client.patch.return_value = instance({"spec": {"runStrategy": "Halted"}})
    assert client.patch(VM, "ns", "cp", {"spec": {"runStrategy": "Halted"}}) == {"spec": {"runStrategy": "Halted"}}
    args, kwargs = svc.client.patch.call_args
    assert args[1:] == ({"spec": {"runStrategy": "Halted"}},)
    assert kwargs == {"name": "cp", "namespace": "ns", "content_type": "application/merge-patch+json"}


def test_delete_ignores_not_found_only():
    client, svc, unused = make()
    client.delete(SNAPSHOT, "ns", "s")
    svc.client.delete.assert_called_once_with(svc.find_resource.return_value, name="s", namespace="ns")
    svc.client.delete.side_effect = ApiError(404, "not found")
    client.delete(SNAPSHOT, "ns", "s")
    svc.client.delete.side_effect = ApiError(409, "conflict")
    with pytest.raises(GhostError) as err:
        client.delete(SNAPSHOT, "ns", "s")
    assert str(err.value) == "Failed to delete VirtualMachineSnapshot 'ns/s': conflict (HTTP 409)"


def test_wait_polls_until_the_predicate_holds():
    client, svc, clock = make()
    states = iter([{"status": {}}, {"status": {}}, {"status": {"ready": True}}])
    svc.client.get.side_effect = lambda resource, name, namespace: instance(next(states))
    done, obj, elapsed = client.wait(VM, "ns", "cp", until=lambda o: (o or {}).get("status", {}).get("ready"), timeout=30)
    assert done is True
    assert obj == {"status": {"ready": True}}
    assert clock.sleeps == [0.25, 0.5]
    assert elapsed == pytest.approx(0.75)


def test_wait_for_gone_sees_none():
    client, svc, unused = make()
    svc.client.get.side_effect = [instance({"a": 1}), None]
    done, obj, unused_elapsed = client.wait(VM, "ns", "cp", until=lambda o: o is None, timeout=30)
    assert done is True and obj is None


def test_wait_is_bounded_and_returns_the_last_state():
    client, svc, clock = make()
    svc.client.get.return_value = instance({"status": {"phase": "InProgress"}})
    done, obj, elapsed = client.wait(SNAPSHOT, "ns", "s", until=lambda o: False, timeout=10)
    assert done is False
    assert obj == {"status": {"phase": "InProgress"}}
    assert elapsed == pytest.approx(10)
    assert max(clock.sleeps) == 2.0
    assert sum(clock.sleeps) == pytest.approx(10)


def test_wait_with_no_time_left_checks_once():
    client, svc, clock = make()
    svc.client.get.return_value = None
    done, unused, unused_elapsed = client.wait(VM, "ns", "cp", until=lambda o: o is not None, timeout=0)
    assert done is False
    assert clock.sleeps == []
    assert svc.client.get.call_count == 1
