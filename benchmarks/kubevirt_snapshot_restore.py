#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Snapshot + restore of a KubeVirt VM: ghost.infra's two modules vs kubernetes.core.k8s + k8s_info waits.

Not a test: prints wall time and API calls per round, in alternating rounds. Both sides do the
same steps on the testbed's API server (KubeVirt played by its stand-in controller), in a
namespace of the benchmark's own, on a running VM:

- ghost.infra: ``kubevirt_vm_snapshot`` (waits until readyToUse), ``kubevirt_vm_restore`` (stops
  the VM, restores, starts it again and waits until it is ready);
- kubernetes.core (what a playbook without ghost.infra writes): ``k8s`` creates the
  VirtualMachineSnapshot, ``k8s_info`` polls it every second until readyToUse; ``k8s`` patches the
  VM to runStrategy Halted, ``k8s_info`` polls until its VirtualMachineInstance is gone; ``k8s``
  creates the VirtualMachineRestore, ``k8s_info`` polls until complete; ``k8s`` patches the VM
  back to Always, ``k8s_info`` polls until it is ready.

API calls are counted by an HTTPS proxy of the benchmark's own in front of the API server
(tests/integration/faults/apiproxy.py): every request of the playbook, watches included.

    make testbed-up && source .testbed/env.sh
    tools/in-stage $PWD/.venv/bin/python benchmarks/kubevirt_snapshot_restore.py [--rounds 3] [--quick]
        [--json out.json]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time

import kubernetes
from _report import Report, add_arguments, alternate, rounds

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration", "faults"))
from apiproxy import ApiProxy  # noqa: E402  (shared with the fault tests)

KV = ("kubevirt.io", "v1", "virtualmachines")
SNAP = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
RESTORE = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores")
TEMPLATE = {"spec": {"domain": {"cpu": {"cores": 1}, "resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}
VM = "vm1"

OURS = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Snapshot
      ghost.infra.kubevirt_vm_snapshot:
        name: "snap-{{ n }}"
        namespace: "{{ ns }}"
        vm_name: vm1
        wait_timeout: 300
    - name: Restore
      ghost.infra.kubevirt_vm_restore:
        name: "restore-{{ n }}"
        namespace: "{{ ns }}"
        vm_name: vm1
        snapshot_name: "snap-{{ n }}"
        wait_timeout: 300
"""

ANCHOR = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Snapshot
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        definition:
          apiVersion: snapshot.kubevirt.io/v1beta1
          kind: VirtualMachineSnapshot
          metadata: {name: "snap-{{ n }}"}
          spec: {source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm1}}
    - name: Wait until the snapshot is ready
      kubernetes.core.k8s_info:
        api_version: snapshot.kubevirt.io/v1beta1
        kind: VirtualMachineSnapshot
        namespace: "{{ ns }}"
        name: "snap-{{ n }}"
      register: snap
      until: snap.resources and (snap.resources[0].status | default({})).readyToUse | default(false)
      retries: 300
      delay: 1
    - name: Stop the VM
      kubernetes.core.k8s:
        api_version: kubevirt.io/v1
        kind: VirtualMachine
        namespace: "{{ ns }}"
        name: vm1
        state: patched
        definition: {spec: {runStrategy: Halted}}
    - name: Wait until its instance is gone
      kubernetes.core.k8s_info:
        api_version: kubevirt.io/v1
        kind: VirtualMachineInstance
        namespace: "{{ ns }}"
        name: vm1
      register: vmi
      until: not vmi.resources
      retries: 300
      delay: 1
    - name: Restore
      kubernetes.core.k8s:
        namespace: "{{ ns }}"
        definition:
          apiVersion: snapshot.kubevirt.io/v1beta1
          kind: VirtualMachineRestore
          metadata: {name: "restore-{{ n }}"}
          spec:
            target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm1}
            virtualMachineSnapshotName: "snap-{{ n }}"
    - name: Wait until the restore is complete
      kubernetes.core.k8s_info:
        api_version: snapshot.kubevirt.io/v1beta1
        kind: VirtualMachineRestore
        namespace: "{{ ns }}"
        name: "restore-{{ n }}"
      register: restore
      until: restore.resources and (restore.resources[0].status | default({})).complete | default(false)
      retries: 300
      delay: 1
    - name: Start the VM again
      kubernetes.core.k8s:
        api_version: kubevirt.io/v1
        kind: VirtualMachine
        namespace: "{{ ns }}"
        name: vm1
        state: patched
        definition: {spec: {runStrategy: Always}}
    - name: Wait until it is ready
      kubernetes.core.k8s_info:
        api_version: kubevirt.io/v1
        kind: VirtualMachine
        namespace: "{{ ns }}"
        name: vm1
      register: vm
      until: vm.resources and (vm.resources[0].status | default({})).ready | default(false)
      retries: 300
      delay: 1
"""


def need(name):
    value = os.environ.get(name)
    if not value:
        sys.exit("%s is not set: make testbed-up && source .testbed/env.sh" % name)
    return value


def wait_until(what, check, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    sys.exit("timed out waiting for %s" % what)


class Bench:
    def __init__(self, kubeconfig, proxy, tmp):
        self.api = kubernetes.config.new_client_from_config(config_file=kubeconfig)
        self.core = kubernetes.client.CoreV1Api(self.api)
        self.custom = kubernetes.client.CustomObjectsApi(self.api)
        self.ns = "bench-kv-%s" % secrets.token_hex(3)
        self.proxy = proxy
        self.kubeconfig = proxy.kubeconfig(kubeconfig, os.path.join(tmp, "kubeconfig"))
        self.tmp = tmp
        self.round = 0
        self.calls = {}

    def setup(self):
        self.core.create_namespace({"metadata": {"name": self.ns}})
        self.custom.create_namespaced_custom_object(*KV[:2], self.ns, KV[2], {
            "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": VM},
            "spec": {"runStrategy": "Always", "template": TEMPLATE}})
        wait_until("VM %s/%s ready" % (self.ns, VM), self.vm_ready)

    def vm_ready(self):
        vm = self.custom.get_namespaced_custom_object(*KV[:2], self.ns, KV[2], VM)
        return (vm.get("status") or {}).get("ready")

    def teardown(self):
        try:
            self.core.delete_namespace(self.ns)
        finally:
            self.api.close()

    def side(self, label, play):
        """One round of one side: its wall time; its API calls are kept by label."""
        self.round += 1
        path = os.path.join(self.tmp, "play.yml")
        with open(path, "w") as handle:
            handle.write(play)
        env = dict(os.environ, K8S_AUTH_KUBECONFIG=self.kubeconfig, KUBECONFIG=self.kubeconfig, ANSIBLE_NOCOLOR="1",
                   ANSIBLE_DEPRECATION_WARNINGS="0")
        self.proxy.take()
        started = time.monotonic()
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                               path, "-e", json.dumps({"ns": self.ns, "n": self.round}),
                               "-e", "ansible_python_interpreter=%s" % sys.executable],
                              env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        if proc.returncode != 0:
            sys.exit("%s failed:\n%s" % (label, proc.stdout[-4000:]))
        self.calls.setdefault(label, []).append(len(self.proxy.take()))
        wait_until("VM ready after the round", self.vm_ready)
        return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    args = add_arguments(parser, rounds=3, quick_rounds=1).parse_args()
    kubeconfig = need("K8S_AUTH_KUBECONFIG")
    with open(kubeconfig) as handle:
        import yaml  # pylint: disable=import-outside-toplevel

        server = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]
    report = Report("kubevirt_snapshot_restore",
                    "KubeVirt snapshot + restore: ghost.infra vs kubernetes.core.k8s + k8s_info waits", args)
    with tempfile.TemporaryDirectory() as tmp, ApiProxy(server) as proxy:
        bench = Bench(kubeconfig, proxy, tmp)
        try:
            bench.setup()
            ours, theirs = alternate(rounds(args), lambda: bench.side("ours", OURS),
                                     lambda: bench.side("anchor", ANCHOR))
        finally:
            bench.teardown()
    labels = ("ghost.infra.kubevirt_vm_snapshot + kubevirt_vm_restore",
              "kubernetes.core.k8s + k8s_info (poll every 1 s)")
    report.compare("snapshot + restore of a running VM (playbook wall time)", unit="s",
                   ours=(labels[0], ours), anchor=(labels[1], theirs))
    report.compare("snapshot + restore: API requests (watches included)", unit="calls",
                   ours=(labels[0], bench.calls["ours"]), anchor=(labels[1], bench.calls["anchor"]))
    report.write()


if __name__ == "__main__":
    main()
