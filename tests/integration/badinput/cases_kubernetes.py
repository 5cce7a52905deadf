# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad inputs of kubevirt_vm_snapshot, kubevirt_vm_restore, vcluster and vcluster_info
(placeholders: see bad_campaign.py). The host cluster is the testbed's (K8S_AUTH_KUBECONFIG);
@NS@ is a namespace of the run's own that holds no VirtualMachine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from bad_campaign import Case

SNAP = {"name": "@NAME@", "namespace": "@NS@", "vm_name": "@VM@", "wait_timeout": 30}
RESTORE = {"name": "@NAME@", "namespace": "@NS@", "vm_name": "@VM@", "snapshot_name": "@NAME@-snap",
           "wait_timeout": 30}
VC = {"name": "@NAME@", "namespace": "@NAME@", "server": "@VCLUSTER_API@", "wait_timeout": 60,
      "kubeconfig_dest": "@DIR@/vc.yaml", "chart_dir": "@VCLUSTER_CHART@", "values_files": ["@VCLUSTER_VALUES@"]}
# A kubeconfig that parses as YAML but is not one, holding a credential.
BROKEN_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: not-a-list\nusers:\n- name: u\n  user:\n    token: @SECRET@\n"
NOT_YAML = "apiVersion: v1\nclusters: [unclosed\n  token: @SECRET@\n"


def snap(**extra):
    return dict(SNAP, **extra)


def restore(**extra):
    return dict(RESTORE, **extra)


def vc(**extra):
    return dict(VC, **extra)


CASES = [
    # kubevirt_vm_snapshot
    Case("kubevirt_vm_snapshot-name-invalid", "kubevirt_vm_snapshot", snap(name="GB@TOKEN@_Snap"), "name",
         r"DNS-1123|lower|invalid"),
    Case("kubevirt_vm_snapshot-name-too-long", "kubevirt_vm_snapshot", snap(name="@NAME@" + "s" * 60), "name",
         r"at most|too long|characters", note="name of 71 characters"),
    Case("kubevirt_vm_snapshot-vm-unknown", "kubevirt_vm_snapshot", snap(vm_name="@NAME@-vm"), "vm_name",
         r"not found|does not exist"),
    Case("kubevirt_vm_snapshot-namespace-unknown", "kubevirt_vm_snapshot", snap(namespace="gb@TOKEN@-no-such-ns"),
         "namespace", r"not found|does not exist"),
    Case("kubevirt_vm_snapshot-namespace-invalid", "kubevirt_vm_snapshot", snap(namespace="Bad_NS"), "namespace",
         r"DNS-1123|lower|invalid"),
    Case("kubevirt_vm_snapshot-wait-timeout-negative", "kubevirt_vm_snapshot", snap(wait_timeout=-1), "wait_timeout",
         r"positive|at least|negative"),
    Case("kubevirt_vm_snapshot-failure-deadline", "kubevirt_vm_snapshot", snap(failure_deadline="soon"),
         "failure_deadline", r"duration"),
    Case("kubevirt_vm_snapshot-labels-not-string", "kubevirt_vm_snapshot", snap(labels={"app": ["a", "b"]}),
         "labels", r"string"),
    Case("kubevirt_vm_snapshot-kubeconfig-missing", "kubevirt_vm_snapshot", snap(kubeconfig="@DIR@/no-such-kubeconfig"),
         "kubeconfig", r"not found|does not exist|no such"),
    Case("kubevirt_vm_snapshot-kubeconfig-malformed", "kubevirt_vm_snapshot", snap(kubeconfig="@DIR@/kubeconfig"),
         "kubeconfig", r"invalid|malformed|not a|parse|load|expected",
         files={"kubeconfig": BROKEN_KUBECONFIG}, note="kubeconfig: a file with clusters: not-a-list (and a token)"),
    Case("kubevirt_vm_snapshot-kubeconfig-not-yaml", "kubevirt_vm_snapshot", snap(kubeconfig="@DIR@/kubeconfig"),
         "kubeconfig", r"invalid|malformed|YAML|parse|load",
         files={"kubeconfig": NOT_YAML}, note="kubeconfig: a file that is not YAML (with a token)"),
    Case("kubevirt_vm_snapshot-api-key-wrong", "kubevirt_vm_snapshot",
         snap(host="@APISERVER@", api_key="@SECRET@", validate_certs=False, kubeconfig="@DIR@/none"),
         None, r"401|Unauthorized", note="api_key: a wrong token (secret)"),
    Case("kubevirt_vm_snapshot-name-invalid-with-password", "kubevirt_vm_snapshot",
         snap(name="gb@TOKEN@.dots.", host="@APISERVER@", username="gb", password="@SECRET@", validate_certs=False,
              kubeconfig="@DIR@/none"),
         "name", r"DNS-1123|invalid", note="name invalid; username/password (secret)"),
    # kubevirt_vm_restore
    Case("kubevirt_vm_restore-snapshot-unknown", "kubevirt_vm_restore", restore(), "snapshot_name",
         r"not found|does not exist"),
    Case("kubevirt_vm_restore-wait-timeout-zero", "kubevirt_vm_restore", restore(wait_timeout=0), "wait_timeout",
         r"positive|at least"),
    Case("kubevirt_vm_restore-run-after-unknown", "kubevirt_vm_restore", restore(run_after_restore="maybe"),
         "run_after_restore", r"one of"),
    Case("kubevirt_vm_restore-vm-name-invalid", "kubevirt_vm_restore", restore(vm_name="VM_@TOKEN@"), "vm_name",
         r"DNS-1123|lower|invalid"),
    Case("kubevirt_vm_restore-proxy-auth-secret", "kubevirt_vm_restore",
         restore(host="@APISERVER@", api_key="@SECRET@", validate_certs=False, kubeconfig="@DIR@/none",
                 proxy_headers={"basic_auth": "gb:@SECRET@"}),
         None, r"401|Unauthorized", note="api_key and proxy_headers.basic_auth: secrets"),
    # vcluster
    Case("vcluster-name-invalid", "vcluster", vc(name="GB@TOKEN@_VC", namespace="@NAME@"), "name",
         r"DNS-1123|lower|letter"),
    Case("vcluster-name-too-long", "vcluster", vc(name="@NAME@" + "v" * 50), "name", r"53|at most|too long",
         note="name of 61 characters"),
    Case("vcluster-name-digit-first", "vcluster", vc(name="1@NAME@"), "name", r"letter"),
    Case("vcluster-namespace-invalid", "vcluster", vc(namespace="@NAME@_ns"), "namespace", r"DNS-1123|lower|invalid"),
    Case("vcluster-ttl-unit", "vcluster", vc(ttl="5x"), "ttl", r"not a valid TTL|TTL"),
    Case("vcluster-ttl-zero", "vcluster", vc(ttl="0s"), "ttl", r"longer than zero|zero"),
    Case("vcluster-ttl-too-long", "vcluster", vc(ttl="400d"), "ttl", r"too long|at most"),
    Case("vcluster-ttl-negative", "vcluster", vc(ttl="-1h"), "ttl", r"not a valid TTL|TTL"),
    Case("vcluster-wait-timeout-negative", "vcluster", vc(wait_timeout=-1), "wait_timeout", r"positive"),
    Case("vcluster-values-file-missing", "vcluster", vc(values_files=["@VCLUSTER_VALUES@", "@DIR@/no-such-values.yaml"]), "values_files",
         r"not found|does not exist|no such|cannot read"),
    Case("vcluster-values-file-malformed", "vcluster", vc(values_files=["@VCLUSTER_VALUES@", "@DIR@/values.yaml"]), "values_files",
         r"YAML|mapping|parse|invalid", files={"values.yaml": "controlPlane: [unclosed\n"}),
    Case("vcluster-binary-missing", "vcluster", vc(vcluster_binary="@DIR@/no-such-vcluster"), "vcluster_binary",
         r"not found|does not exist|no such|executable"),
    Case("vcluster-chart-dir-missing", "vcluster", vc(chart_dir="@DIR@/no-such-chart"), "chart_dir",
         r"not found|does not exist|no such|Chart.yaml"),
    Case("vcluster-server-not-url", "vcluster", vc(server="not a url"), "server", r"URL"),
    Case("vcluster-kubeconfig-dest-under-file", "vcluster", vc(kubeconfig_dest="@DIR@/afile/vc.yaml"),
         "kubeconfig_dest", r"not a directory|cannot|exists|create", files={"afile": "x"}),
    Case("vcluster-expose-with-server", "vcluster", vc(expose="ingress"), "expose", r"one of"),
    Case("vcluster-api-key-wrong", "vcluster",
         vc(host="@APISERVER@", api_key="@SECRET@", validate_certs=False, kubeconfig="@DIR@/none"),
         None, r"401|Unauthorized", note="api_key: a wrong token (secret)"),
    Case("vcluster_info-kubeconfig-malformed", "vcluster_info", {"kubeconfig": "@DIR@/kubeconfig"}, "kubeconfig",
         r"invalid|malformed|not a|parse|load|expected", files={"kubeconfig": BROKEN_KUBECONFIG},
         note="kubeconfig: clusters: not-a-list (and a token)"),
]
