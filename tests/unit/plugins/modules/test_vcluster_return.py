# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""vcluster's RETURN ``vcluster`` and vcluster_info's RETURN ``vclusters`` against every builder of
that view: a vcluster after a run or as check mode plans it (spec.vcluster_view over
spec.summary), a deleted one (spec.absent_view) and the info listing (runner.list_vclusters)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vcluster import runner, spec

NOW = datetime.datetime(2025, 6, 1, 8, 0, 0, tzinfo=datetime.timezone.utc)
WORKLOAD = {
    "kind": "StatefulSet",
    "metadata": {"name": "review-42", "namespace": "ghostcluster", "creationTimestamp": "2025-06-01T07:00:00Z",
                 "labels": {"app": "vcluster", "release": "review-42", "chart": "vcluster-0.30.0"},
                 "annotations": {spec.CREATED_AT: "2025-06-01T07:00:00Z", spec.TTL: "2h",
                                 spec.EXPIRES_AT: "2025-06-01T09:00:00Z", spec.CONFIG_HASH: "sha256:00"}},
    "spec": {"replicas": 1},
}
POD = {"metadata": {"name": "review-42-0", "namespace": "ghostcluster",
                    "labels": {"app": "vcluster", "release": "review-42"}},
       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
PATH = "/home/me/.ghost/kubeconfigs/ghostcluster/review-42.yaml"


def found():
    summary = spec.summary("review-42", "ghostcluster", workload=WORKLOAD, pods=[POD], now=NOW, kubeconfig_path=PATH)
    summary["config_hash"] = "sha256:00"  # the runner's diff-only key; the view drops it
    return summary


def present():
    return spec.vcluster_view(found(), kubeconfig_path=PATH, server="https://localhost:8443")


def planned():
    # check mode, nothing there yet: the runner's planned summary
    after = {"name": "review-42", "namespace": "ghostcluster", "status": None, "chart_version": None,
             "expired": False, "created_at": "2025-06-01T08:00:00Z", "ttl": "2h",
             "expires_at": "2025-06-01T10:00:00Z", "config_hash": "sha256:00"}
    return spec.vcluster_view(after, kubeconfig_path=None)


class ListingApi:
    """What list_vclusters() reads from the host cluster."""

    def workloads(self, namespace=None, name=None):
        return [dict(WORKLOAD)]

    def pods(self, namespace=None, name=None):
        return [POD]


@pytest.mark.parametrize("build", [present, planned], ids=lambda f: f.__name__)
def test_vcluster_returns_what_it_documents(build, return_schema):
    # kubeconfig: only with return_kubeconfig=true, added to the result after masking
    return_schema.assert_matches(build(), return_schema.doc("vcluster")["vcluster"]["contains"],
                                 optional=("kubeconfig",))


@pytest.mark.parametrize("before", [found(), {}], ids=["deleted", "only-a-local-kubeconfig"])
def test_vcluster_absent_returns_what_it_documents(before, return_schema):
    omitted = ("server", "kubeconfig")  # documented for state=present
    if not before:
        omitted += ("status", "created_at", "ttl", "expires_at", "expired", "chart_version")
    view = spec.absent_view(before, "review-42", "ghostcluster", PATH)
    return_schema.assert_matches(view, return_schema.doc("vcluster")["vcluster"]["contains"], optional=omitted)


def test_vcluster_info_returns_what_it_documents(return_schema):
    vclusters = runner.list_vclusters(ListingApi(), {"name": None, "namespace": None}, now=NOW)["vclusters"]
    assert vclusters[0]["status"] == "running" and vclusters[0]["ttl"] == "2h"
    return_schema.assert_matches(vclusters, return_schema.doc("vcluster_info")["vclusters"]["contains"])


def test_both_modules_document_the_same_vcluster(return_schema):
    module_only = {"server", "kubeconfig"}  # what exporting the kubeconfig adds
    info_only = {"kubeconfig_fresh", "reachable"}  # what vcluster_info checks of the local kubeconfig
    assert set(return_schema.doc("vcluster")["vcluster"]["contains"]) - module_only == \
        set(return_schema.doc("vcluster_info")["vclusters"]["contains"]) - info_only
