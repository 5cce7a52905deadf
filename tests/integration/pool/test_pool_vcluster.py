# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A vcluster pool of 2 members through the playbooks: the real vcluster CLI and helm with the
chart of the testbed, KWOK for the pods, the vcluster stand-in publishing each kubeconfig for the
testbed's second (virtual) kube-apiserver. Acquire hands out a 0600 kubeconfig that reaches the
virtual API; release deletes and creates the vcluster again, with new credentials."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import subprocess

import kubernetes
import pytest
import yaml

pytestmark = pytest.mark.timeout(1500)


def version_through(path):
    with open(path) as handle:
        config = yaml.safe_load(handle)
    client = kubernetes.config.new_client_from_config_dict(config)
    try:
        return kubernetes.client.VersionApi(client).get_code(_request_timeout=10).git_version
    finally:
        client.close()


def test_vcluster_pool(pool_env, testbed):
    env = pool_env.env()
    subprocess.run(["vcluster", "telemetry", "disable"], env=env, check=True, capture_output=True, timeout=60)
    members = [pool_env.member(1), pool_env.member(2)]
    pool_env.made.extend(members)
    vcluster = {"chart_dir": testbed["GHOST_VCLUSTER_CHART_DIR"], "values_files": [testbed["GHOST_VCLUSTER_VALUES"]],
                "server": testbed["GHOST_VCLUSTER_API"]}
    common = {"cluster_pool_name": pool_env.pool, "cluster_pool_namespace": pool_env.namespace}
    pool_env.playbook("cluster_pool_bootstrap.yml", dict(common, cluster_pool_kind="vcluster", cluster_pool_members=members,
                                                         cluster_pool_vcluster=vcluster, cluster_pool_reset_timeout=400),
                      timeout=900)
    dest = str(pool_env.tmp / "held" / "kubeconfig.yaml")
    got = pool_env.playbook("cluster_pool_acquire.yml", dict(common, cluster_pool_owner="s1", cluster_pool_wait=False,
                                                             cluster_pool_kubeconfig_dest=dest))
    member = re.search(r"s1 holds (\S+) until", got.stdout).group(1)
    assert member in members and "kubeconfig: %s" % dest in got.stdout
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    assert "client-key-data" not in got.stdout and "BEGIN" not in got.stdout
    assert version_through(dest).startswith("v1.")
    secret_before = pool_env.core.read_namespaced_secret("vc-%s" % member, member).metadata.uid
    released = pool_env.playbook("cluster_pool_release.yml", dict(common, cluster_pool_owner="s1",
                                                                  cluster_pool_kubeconfig_dest=dest), timeout=900)
    assert "%s is available" % member in released.stdout, released.stdout[-3000:]
    assert not os.path.exists(dest)
    secret_after = pool_env.core.read_namespaced_secret("vc-%s" % member, member).metadata.uid
    assert secret_after != secret_before                    # the vcluster was made again
    again = pool_env.playbook("cluster_pool_acquire.yml", dict(common, cluster_pool_owner="s2", cluster_pool_wait=False,
                                                               cluster_pool_member=member, cluster_pool_kubeconfig_dest=dest))
    assert "s2 holds %s" % member in again.stdout
    assert version_through(dest).startswith("v1.")
    pool_env.playbook("cluster_pool_release.yml", dict(common, cluster_pool_owner="s2", cluster_pool_reset="janitor"))
    removed = pool_env.playbook("cluster_pool_bootstrap.yml", dict(common, cluster_pool_kind="vcluster",
                                                                   cluster_pool_members=members, cluster_pool_state="absent",
                                                                   cluster_pool_delete_namespaces=True))
    assert re.search(r"changed=[1-9]", removed.stdout)
