# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults under the KubeVirt modules: a clear error the first time, then a re-run that converges
with exactly one object of each kind.

- The API server stops while kubevirt_vm_snapshot waits for its snapshot: on an etcd +
  kube-apiserver of the test's own (fault_helpers.PrivateKube), never the testbed's shared one.
  The test then plays KubeVirt's part itself (it marks the snapshot ready).
- A 409 Conflict on the first update of the VM during kubevirt_vm_restore: injected by an HTTPS
  proxy of the test's own (apiproxy.ApiProxy) in front of the testbed's API server, whose
  KubeVirt stand-in then carries out the restore.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import secrets
import time

import kubernetes
import pytest
import yaml
from apiproxy import ApiProxy
from fault_helpers import Playbook, PrivateKube, no_traceback, task_result, wait_for
from secret_scan import Scanner, Secrets, kubeconfig_secrets

pytestmark = pytest.mark.timeout(900)
KV = ("kubevirt.io", "v1", "virtualmachines")
SNAP = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
RESTORE = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores")
TEMPLATE = {"spec": {"domain": {"cpu": {"cores": 1}, "resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}
WAIT_TIMEOUT = 30


def make_vm(custom, namespace, name, strategy):
    custom.create_namespaced_custom_object(*KV[:2], namespace, KV[2], {
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": name},
        "spec": {"runStrategy": strategy, "template": TEMPLATE}})


def snapshot_task(namespace, kubeconfig):
    return """\
        - name: Snapshot
          ghost.infra.kubevirt_vm_snapshot:
            kubeconfig: %s
            namespace: %s
            name: snap1
            vm_name: vm1
            wait_timeout: %d
        """ % (kubeconfig, namespace, WAIT_TIMEOUT)


def test_apiserver_stopped_during_snapshot(testbed, tmp_path):
    kube = PrivateKube(tmp_path / "kube")
    try:
        kube.start()
        api = kube.client()
        custom = kubernetes.client.CustomObjectsApi(api)
        kubernetes.client.CoreV1Api(api).create_namespace({"metadata": {"name": "fault-kv"}})
        make_vm(custom, "fault-kv", "vm1", "Halted")

        play = Playbook(tmp_path, snapshot_task("fault-kv", kube.kubeconfig)).start()
        started = time.monotonic()

        def snapshot_made():
            try:
                return custom.get_namespaced_custom_object(*SNAP[:2], "fault-kv", SNAP[2], "snap1")
            except kubernetes.client.ApiException:
                return None
        wait_for("the snapshot object", snapshot_made, timeout=300, interval=0.2)
        api.close()
        kube.stop_apiserver()  # the module is waiting for readyToUse now
        out, _err = play.proc.communicate(timeout=600)
        seconds = time.monotonic() - started
        first = task_result(out)
        assert first is not None and first.get("failed"), out[-3000:]
        assert not no_traceback(first, out), no_traceback(first, out)
        assert "snap1" in first["msg"], first["msg"]
        # Not a hang: at most its wait_timeout plus the module's start on a loaded machine.
        assert seconds < WAIT_TIMEOUT + 120, "the task took %.0f s" % seconds

        kube.start_apiserver()
        api = kube.client()
        custom = kubernetes.client.CustomObjectsApi(api)
        # KubeVirt's part: the snapshot is done.
        custom.patch_namespaced_custom_object_status(*SNAP[:2], "fault-kv", SNAP[2], "snap1", {"status": {
            "phase": "Succeeded", "readyToUse": True,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Operation complete"}]}})
        _seconds, again, out2 = Playbook(tmp_path, snapshot_task("fault-kv", kube.kubeconfig), name="rerun").run()
        assert again is not None and not again.get("failed"), out2[-3000:]
        assert again["changed"] is False, again
        snaps = custom.list_namespaced_custom_object(*SNAP[:2], "fault-kv", SNAP[2])["items"]
        assert [s["metadata"]["name"] for s in snaps] == ["snap1"]
        api.close()
        scan = Scanner(Secrets().add("the private API server's token", *kubeconfig_secrets(kube.kubeconfig)))
        scan.text("the first run", out)
        scan.text("the re-run", out2)
        scan.assert_clean("kubevirt_vm_snapshot with the API server stopped")
    finally:
        kube.close()


def restore_task(namespace, kubeconfig):
    return """\
        - name: Restore
          ghost.infra.kubevirt_vm_restore:
            kubeconfig: %s
            namespace: %s
            name: restore1
            vm_name: vm1
            snapshot_name: snap1
            wait_timeout: 300
        """ % (kubeconfig, namespace)


def test_conflict_on_vm_update_during_restore(testbed, tmp_path):
    namespace = "fault-409-%s" % secrets.token_hex(3)
    admin = testbed["K8S_AUTH_KUBECONFIG"]
    api = kubernetes.config.new_client_from_config(config_file=admin)
    core, custom = kubernetes.client.CoreV1Api(api), kubernetes.client.CustomObjectsApi(api)
    with open(admin) as handle:
        server = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        make_vm(custom, namespace, "vm1", "Always")

        def vm_ready():
            vm = custom.get_namespaced_custom_object(*KV[:2], namespace, KV[2], "vm1")
            return (vm.get("status") or {}).get("ready")
        wait_for("vm1 ready", vm_ready, timeout=120)
        custom.create_namespaced_custom_object(*SNAP[:2], namespace, SNAP[2], {
            "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
            "metadata": {"name": "snap1"},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": "vm1"}}})
        wait_for("snap1 ready", lambda: (custom.get_namespaced_custom_object(
            *SNAP[:2], namespace, SNAP[2], "snap1").get("status") or {}).get("readyToUse"), timeout=120)
        with ApiProxy(server) as proxy:
            kubeconfig = proxy.kubeconfig(admin, str(tmp_path / "proxy-kubeconfig"))
            proxy.fail_next({"PATCH", "PUT"}, 409, path_contains="/virtualmachines/vm1")
            _seconds, first, out = Playbook(tmp_path, restore_task(namespace, kubeconfig)).run()
            assert proxy.fired() == 1, "the restore never updated the VM:\n%s" % out[-3000:]
            assert first is not None, out[-3000:]
            assert not no_traceback(first, out), no_traceback(first, out)
            if first.get("failed"):
                assert "vm1" in first["msg"] and ("onflict" in first["msg"] or "409" in first["msg"]), first["msg"]
            _seconds, again, out2 = Playbook(tmp_path, restore_task(namespace, kubeconfig), name="rerun").run()
        assert again is not None and not again.get("failed"), out2[-3000:]
        restores = custom.list_namespaced_custom_object(*RESTORE[:2], namespace, RESTORE[2])["items"]
        assert [r["metadata"]["name"] for r in restores] == ["restore1"], restores
        assert restores[0].get("status", {}).get("complete") is True
        wait_for("vm1 ready after the restore", vm_ready, timeout=120)
        scan = Scanner(Secrets.from_testbed(testbed))
        scan.text("the first run", out)
        scan.text("the re-run", out2)
        scan.assert_clean("kubevirt_vm_restore after a 409")
    finally:
        core.delete_namespace(namespace)
        api.close()
