# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An API server that goes away during an acquire: a clear error, a re-run that converges, never two holders.

The shared API server is not restarted: a TCP proxy of the test's own sits in front of it and
goes down (listener closed, connections reset) between the acquire's read and its write, or
loses the reply to the write after the API server stored it. A dead port stands for an API
server that is down before the run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket

import pytest
import yaml
from pool_helpers import FlakyProxy, pool_client

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.pool_runner import ensure_pool
from ansible_collections.ghost.infra.plugins.module_utils._pool.runner import ensure_lease, utcnow

pytestmark = pytest.mark.timeout(600)


def api_port(kubeconfig):
    with open(kubeconfig) as handle:
        server = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]
    return int(re.search(r":(\d+)$", server).group(1))


@pytest.fixture
def pool_of_two(pool_env):
    members = [pool_env.member(1), pool_env.member(2)]
    for member in members:
        pool_env.kubevirt_member(member)
    ensure_pool(pool_env.client(), pool_env.declare_params(members), now=utcnow)
    return members


@pytest.fixture
def proxy(pool_env):
    flaky = FlakyProxy(api_port(pool_env.kubeconfig))
    yield flaky
    flaky.down()


def holders(env):
    return {m: lease.spec.holder_identity for m, lease in env.member_leases().items() if lease.spec.holder_identity}


def through(proxy, env, before_write):
    """A PoolClient through the proxy; ``before_write(obj)`` runs before each PUT of a member."""
    api = pool_client(proxy.kubeconfig(env.kubeconfig, str(env.tmp / "proxy-kubeconfig")))
    put = api.replace

    def replace(obj, *, verb="update"):
        if ".member." in obj["metadata"]["name"]:
            before_write(obj)
        return put(obj, verb=verb)
    api.replace = replace
    return api


def test_api_server_down_before_the_run_is_a_clear_error(pool_env, pool_of_two):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    with open(pool_env.kubeconfig) as handle:
        config = yaml.safe_load(handle)
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:%d" % port
    path = pool_env.tmp / "dead-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    env = dict(pool_env.env(), K8S_AUTH_KUBECONFIG=str(path))
    proc = pool_env.playbook("cluster_pool_acquire.yml", {
        "cluster_pool_name": pool_env.pool, "cluster_pool_namespace": pool_env.namespace, "cluster_pool_owner": "s1"},
        check=False, env=env)
    assert proc.returncode != 0
    # The connection is made by the collection's Kubernetes base (_k8s/service.connect), which checks /version.
    assert re.search(r'"msg": "Failed to connect to the Kubernetes API: .*127\.0\.0\.1.*%d.*Connection refused' % port,
                     proc.stdout), proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout
    assert holders(pool_env) == {}


def test_api_server_gone_between_read_and_write(pool_env, pool_of_two, proxy):
    api = through(proxy, pool_env, lambda obj: proxy.down())
    with pytest.raises(GhostError) as err:
        ensure_lease(api, pool_env.lease_params("s1"), now=utcnow)
    message = str(err.value)
    assert re.match(r"Failed to acquire Lease '%s/%s\.member\.%s-\d': the Kubernetes API server did not answer "
                    r"\((connection refused|connection reset by peer|connection aborted|remote end closed connection)\)\. "
                    r"Whether the write reached the API server is unknown; run again: an owner that holds a member gets "
                    r"that same member back, never a second one$" % (pool_env.namespace, pool_env.pool, pool_env.namespace),
                    message), message
    assert holders(pool_env) == {}            # the write never reached the API server
    proxy.up()
    again = ensure_lease(through(proxy, pool_env, lambda obj: None), pool_env.lease_params("s1"), now=utcnow)
    assert again["changed"] and holders(pool_env) == {again["member"]["id"]: "s1"}


def test_reply_lost_after_the_write_landed(pool_env, pool_of_two, proxy):
    armed = []

    def lose_reply(obj):
        if not armed:
            armed.append(obj["metadata"]["name"])
            proxy.lose_next_response()
    api = through(proxy, pool_env, lose_reply)
    try:
        first = ensure_lease(api, pool_env.lease_params("s1"), now=utcnow)
        print("reply lost: the run converged by itself (%d conflicts, changed=%s)" % (first["conflicts"], first["changed"]))
    except GhostError as exc:   # the client gave up instead of retrying: the error says what to do
        first = None
        print("reply lost: %s" % exc)
        assert "run again" in str(exc)
    assert proxy.lost == 1, "no reply was lost"
    held = holders(pool_env)
    assert list(held.values()) == ["s1"]       # stored once, though its reply was lost
    again = ensure_lease(through(proxy, pool_env, lambda obj: None), pool_env.lease_params("s1"), now=utcnow)
    assert not again["changed"] and again["member"]["id"] == list(held)[0]
    if first is not None:   # the client retried the PUT, got 409 for its own write, and recognised it
        assert first["changed"] and first["member"]["id"] == again["member"]["id"]
    assert holders(pool_env) == held
    history = lease_spec.history(pool_env.client().get_lease(pool_env.namespace, "%s.member.%s" % (pool_env.pool, list(held)[0])))
    assert [h["event"] for h in history] == ["acquire"]
