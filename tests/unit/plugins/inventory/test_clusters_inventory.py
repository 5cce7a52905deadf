# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.clusters inventory plugin on stand-in readers that count their reads:
which sources are read, one source down (warning and the others' hosts, or an error with
strict), the cache, no secret in the cache key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import clusters_client, k8s_connection

TOKEN = "sha256~store-auth-token"


class Readers:
    def __init__(self):
        self.calls = []
        self.down = {}

    def _check(self, what):
        self.calls.append(what)
        if what in self.down:
            raise GhostError(self.down[what])

    def read_registry(self, store, store_auth, open_store=None):
        self._check("registry")
        self.registry_args = (store, store_auth)
        return {"store": "folder x", "entries": [{"id": "prod", "record": {"name": "prod", "labels": {"team": "a"}},
                                                  "kubeconfig_path": "/r/prod.yaml"}]}

    def connect(self, options):
        self._check("connect")
        return "svc"

    def read_vclusters(self, svc, *, namespaces, kubeconfig_dir, now=None):
        self._check("vclusters")
        return [{"name": "dev", "namespace": "lab", "expired": True, "kubeconfig_path": "/k/lab/dev.yaml"}]

    def read_pool_members(self, svc, *, namespaces, now=None, home=None):
        self._check("pools")
        return [{"id": "m1", "pool": "ci", "state": "locked", "holder": "job", "kubeconfig_path": None}]


@pytest.fixture
def readers(monkeypatch):
    fake = Readers()
    for name in ("read_registry", "read_vclusters", "read_pool_members"):
        monkeypatch.setattr(clusters_client, name, getattr(fake, name))
    monkeypatch.setattr(k8s_connection, "connect", fake.connect)
    return fake


def test_every_source_read_once(readers, inventory_run):
    out = inventory_run("ghost.infra.clusters", """\
        plugin: ghost.infra.clusters
        store: /srv/registry
        keyed_groups:
          - key: cluster_registry.labels.team | default('none')
            prefix: team
        """)
    assert readers.calls == ["registry", "connect", "vclusters", "pools"]
    assert readers.registry_args == ("/srv/registry", None)
    assert sorted(out.hosts) == ["ci-m1", "prod", "vc-lab-dev"]
    assert out.groups == {"registry": ["prod"], "vcluster": ["vc-lab-dev"], "expired": ["vc-lab-dev"],
                          "pool_member": ["ci-m1"], "pool_ci": ["ci-m1"], "pool_state_locked": ["ci-m1"],
                          "team_a": ["prod"], "team_none": ["ci-m1", "vc-lab-dev"]}
    assert out.hosts["prod"]["ghost_kubeconfig"] == "/r/prod.yaml"
    assert all(h["ansible_connection"] == "local" for h in out.hosts.values())


def test_registry_only_never_connects_to_a_host_cluster(readers, inventory_run):
    out = inventory_run("ghost.infra.clusters", "plugin: ghost.infra.clusters\nsources: [registry]\n")
    assert readers.calls == ["registry"] and sorted(out.hosts) == ["prod"]


def test_a_source_down_warns_keeps_the_others_or_fails_with_strict(readers, inventory_run, tmp_path):
    readers.down = {"connect": "Failed to connect to the Kubernetes API: Connection refused"}
    text = "plugin: ghost.infra.clusters\ncache: true\ncache_plugin: jsonfile\ncache_connection: %s\n" % (tmp_path / "c")
    out = inventory_run("ghost.infra.clusters", text)
    assert sorted(out.hosts) == ["prod"]
    assert out.warnings == ["ghost.infra.clusters: cannot read the host cluster: Failed to connect to the Kubernetes "
                            "API: Connection refused; the inventory lacks its hosts (strict: true makes this an error)"]
    readers.down = {}
    del readers.calls[:]
    out = inventory_run("ghost.infra.clusters", text)
    assert len(out.hosts) == 3 and readers.calls == ["registry", "connect", "vclusters", "pools"]
    del readers.calls[:]
    again = inventory_run("ghost.infra.clusters", text)
    assert readers.calls == [] and again.hosts == out.hosts
    readers.down = {"pools": "Failed to list Leases: forbidden"}
    with pytest.raises(AnsibleParserError) as err:
        inventory_run("ghost.infra.clusters", "plugin: ghost.infra.clusters\nstrict: true\n")
    assert str(err.value) == "ghost.infra.clusters: cannot read the cluster pools: Failed to list Leases: forbidden"


def test_store_auth_is_never_in_the_cache(readers, inventory_run, tmp_path):
    text = ("plugin: ghost.infra.clusters\nsources: [registry]\nstore: k8s:ghost-registry\n"
            "store_auth: {api_key: %s}\ncache: true\ncache_plugin: jsonfile\ncache_connection: %s\n" % (TOKEN, tmp_path / "c"))
    inventory_run("ghost.infra.clusters", text)
    assert readers.registry_args == ("k8s:ghost-registry", {"api_key": TOKEN})
    assert TOKEN not in "".join(p.name + p.read_text() for p in (tmp_path / "c").iterdir())
