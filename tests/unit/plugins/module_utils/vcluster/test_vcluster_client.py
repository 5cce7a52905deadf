# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Host-cluster data the vcluster client reads: helm's release Secrets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip
import json

from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client


def secret(payload, version="1", status="deployed"):
    # helm's secrets driver stores base64(gzip(JSON)); the API adds its own base64.
    return {"metadata": {"name": "sh.helm.release.v1.vc.v" + version,
                         "labels": {"owner": "helm", "name": "vc", "version": version, "status": status}},
            "data": {"release": base64.b64encode(base64.b64encode(payload)).decode()}}


def release(chart):
    return json.dumps({"name": "vc", "chart": {"metadata": {"name": chart, "version": "0.30.0"}}}).encode()


def test_helm_release_chart():
    assert client.helm_release_chart(secret(gzip.compress(release("vcluster")))) == "vcluster"
    assert client.helm_release_chart(secret(release("vcluster"))) == "vcluster"  # not compressed
    assert client.helm_release_chart(secret(b"\x1f\x8bnot gzip")) is None
    assert client.helm_release_chart({"data": {}}) is None


class Listing:
    """A VclusterClient whose list() returns fixed release Secrets."""

    def __init__(self, secrets):
        self.secrets = secrets

    def list(self, kind, namespace=None, label_selector=None):
        assert (kind, label_selector) == ("Secret", "owner=helm,name=vc")
        return self.secrets


def helm_release(secrets):
    return client.VclusterClient.helm_release(Listing(secrets), "ns", "vc")


def test_helm_release_newest_revision_of_a_vcluster_chart():
    found = helm_release([secret(gzip.compress(release("vcluster")), "1", "superseded"),
                          secret(gzip.compress(release("vcluster")), "2", "failed")])
    assert found == {"status": "failed", "revision": 2, "chart": "vcluster"}
    assert helm_release([]) is None
    # Another chart's release of the same name is not a vcluster's: never uninstalled by the module.
    assert helm_release([secret(gzip.compress(release("my-app")))]) is None
