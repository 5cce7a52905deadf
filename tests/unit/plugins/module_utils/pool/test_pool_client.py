# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PoolClient over a Mock service: one list sorted into the pool's objects, CAS writes, short
messages for an API server that does not answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest.mock import Mock

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import Conflict, PoolClient, unreachable


class MaxRetryError(Exception):
    """Shaped like urllib3's: the reason is the connection error."""

    def __init__(self, reason):
        super(MaxRetryError, self).__init__("HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded "
                                            "(Caused by %r)" % reason)
        self.reason = reason


class ApiError(Exception):
    def __init__(self, status, message):
        super(ApiError, self).__init__(message)
        self.status = status
        self.body = '{"message": "%s"}' % message


def lease(name, obj, member=None, holder=None):
    out = spec.lease_object("ns", name, spec.object_labels("p", obj, member), {})
    if holder:
        out["spec"] = {"holderIdentity": holder}
    return out


def bare(obj):
    """An item as a list returns it: without apiVersion and kind."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def test_one_list_sorted_into_the_pool():
    svc = Mock()
    svc.client.client.request.return_value = {"metadata": {"resourceVersion": "42"}, "items": [bare(item) for item in (
        lease("p.member.b", "member", "b"), lease("p", "pool"), lease("p.member.a", "member", "a"),
        lease("p.queue", "queue"), lease("p.waiter.x", "waiter", holder="w1"))]}
    api = PoolClient(svc)
    pool = api.read_pool("ns", "p")
    assert [m["metadata"]["name"] for m in pool.members] == ["p.member.a", "p.member.b"]
    assert pool.declaration["metadata"]["name"] == "p" and pool.queue["metadata"]["name"] == "p.queue"
    assert list(pool.waiters) == ["w1"] and pool.resource_version == "42"
    assert all(m["kind"] == "Lease" and m["apiVersion"] == "coordination.k8s.io/v1" for m in pool.members)
    args, kwargs = svc.client.client.request.call_args
    assert args == ("GET", "/apis/coordination.k8s.io/v1/namespaces/ns/leases")
    assert kwargs["label_selector"] == "ghost.infra/pool=p"
    # The fixed path needs no discovery lookup, and one list is one API call.
    assert not svc.find_resource.called and api.calls == {"list": 1}


def test_put_and_get_of_a_lease_use_its_fixed_path():
    svc = Mock()
    api = PoolClient(svc)
    obj = lease("p.member.a", "member", "a")
    svc.client.client.request.return_value = dict(obj, metadata=dict(obj["metadata"], resourceVersion="7"))
    assert api.replace(obj)["metadata"]["resourceVersion"] == "7"
    args, kwargs = svc.client.client.request.call_args
    assert args == ("PUT", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/p.member.a") and kwargs["body"] is obj
    svc.client.client.request.side_effect = ApiError(404, "not found")
    assert api.get_lease("ns", "p.member.a") is None
    assert not svc.find_resource.called and api.calls == {"replace": 1, "get": 1}


def test_replace_maps_409_and_404_to_conflict():
    svc = Mock()
    api = PoolClient(svc)
    obj = lease("p.member.a", "member", "a")
    svc.client.client.request.side_effect = ApiError(409, "the object has been modified")
    with pytest.raises(Conflict, match="it changed since it was read"):
        api.replace(obj, verb="acquire")
    svc.client.client.request.side_effect = ApiError(403, "forbidden: User cannot update leases")
    with pytest.raises(GhostError) as err:
        api.replace(obj, verb="acquire")
    assert not isinstance(err.value, Conflict)
    assert str(err.value) == "Failed to acquire Lease 'ns/p.member.a': forbidden: User cannot update leases (HTTP 403)"


def test_an_api_server_that_does_not_answer_is_said_so_briefly():
    refused = MaxRetryError(ConnectionRefusedError(111, "Connection refused"))
    assert unreachable(refused) == "connection refused"
    reset = Exception("wrapped")
    reset.__cause__ = ConnectionResetError(104, "Connection reset by peer")
    assert unreachable(reset) == "connection reset by peer"
    assert unreachable(ApiError(500, "etcd timeout")) is None
    svc = Mock()
    svc.client.client.request.side_effect = refused
    with pytest.raises(GhostError) as err:
        PoolClient(svc).read_pool("ns", "p")
    assert str(err.value) == ("Failed to read pool 'p' (Leases in namespace 'ns'): the Kubernetes API server did not "
                              "answer (connection refused)")
    svc.find_resource.side_effect = refused
    with pytest.raises(GhostError, match="^Failed to reach the Kubernetes API: the Kubernetes API server did not answer"):
        PoolClient(svc).resource("Lease")
