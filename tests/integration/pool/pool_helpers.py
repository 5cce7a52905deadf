# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers of the cluster pool tests, against the testbed's real kube-apiserver and KubeVirt stand-in.

- ``PoolEnv`` (fixture ``pool_env`` in conftest.py): names of our own (control namespace ``ghost-it-pool-<suffix>``, members
  ``ghost-it-pool-<suffix>-<n>``), KubeVirt helpers that build members (namespace, running VMs,
  golden snapshots ready to use), a PoolClient over the real API, ``playbook()`` /
  ``start_playbook()`` running the collection's playbooks as separate ``ansible-playbook``
  processes; every namespace it made is deleted afterwards.
- ``LeaseWatch``: a Kubernetes watch on the pool's Leases from the test, keeping every version
  of every object, to check what happened from the objects' history rather than from what the
  playbooks printed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import subprocess
import sys
import threading
import time
import types

import kubernetes

from ansible_collections.ghost.infra.plugins.module_utils._pool import spec
from ansible_collections.ghost.infra.plugins.module_utils._pool.client import PoolClient
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.service import K8sService

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
KV = ("kubevirt.io", "v1", "virtualmachines")
SNAP = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")
TEMPLATE = {"metadata": {"labels": {"app": "lab"}},
            "spec": {"domain": {"cpu": {"cores": 1}, "resources": {"requests": {"memory": "64Mi"}}, "devices": {}}}}


def wait_until(what, check, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out after %ds waiting for %s" % (timeout, what)
        time.sleep(interval)


def pool_client(kubeconfig):
    """A PoolClient over the real API, as a module builds one (without a module)."""
    module = types.SimpleNamespace(check_mode=False, params={})
    return PoolClient(K8sService(get_api_client(kubeconfig=kubeconfig), module))


class PoolEnv:
    """One test's names, clients and processes; ``cleanup()`` deletes what it made."""

    def __init__(self, testbed, tmp_path):
        self.kubeconfig = testbed["K8S_AUTH_KUBECONFIG"]
        self.suffix = "%06x" % random.randrange(16 ** 6)
        self.namespace = "ghost-it-pool-%s" % self.suffix
        self.pool = "p%s" % self.suffix
        self.tmp = tmp_path
        self.home = str(tmp_path / "home")
        os.makedirs(self.home, exist_ok=True)
        self.api_client = kubernetes.config.new_client_from_config(config_file=self.kubeconfig)
        self.core = kubernetes.client.CoreV1Api(self.api_client)
        self.custom = kubernetes.client.CustomObjectsApi(self.api_client)
        self.leases = kubernetes.client.CoordinationV1Api(self.api_client)
        self.made = []
        self.procs = []

    def member(self, index):
        return "%s-%d" % (self.namespace, index)

    def client(self):
        return pool_client(self.kubeconfig)

    # ------------------------------------------------------------ KubeVirt members

    def namespace_create(self, name):
        self.made.append(name)
        try:
            self.core.create_namespace({"metadata": {"name": name}})
        except kubernetes.client.rest.ApiException as exc:
            if exc.status != 409:
                raise

    def vm(self, namespace, name, annotations=None):
        return self.custom.get_namespaced_custom_object(*KV[:2], namespace, KV[2], name)

    def kubevirt_member(self, namespace, vms=("cp", "wk"), snapshots=("cp-snap", "wk-snap"), annotations=None):
        """Namespace, running VMs ``<namespace>-<vm>``, golden snapshots ready to use."""
        self.namespace_create(namespace)
        names = ["%s-%s" % (namespace, vm) for vm in vms]
        for name in names:
            self.custom.create_namespaced_custom_object(*KV[:2], namespace, KV[2], {
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                "metadata": {"name": name, "annotations": dict(annotations or {})},
                "spec": {"runStrategy": "Always", "template": TEMPLATE}})
        wait_until("VMs of %s to be ready" % namespace,
                   lambda: all((self.vm(namespace, n).get("status") or {}).get("ready") for n in names))
        for name, snap in zip(names, snapshots):
            self.custom.create_namespaced_custom_object(*SNAP[:2], namespace, SNAP[2], {
                "apiVersion": "snapshot.kubevirt.io/v1beta1", "kind": "VirtualMachineSnapshot",
                "metadata": {"name": snap},
                "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name}}})
        wait_until("snapshots of %s to be ready" % namespace, lambda: all(
            (self.custom.get_namespaced_custom_object(*SNAP[:2], namespace, SNAP[2], s).get("status") or {}).get("readyToUse")
            for s in snapshots))
        return names

    def annotate_vm(self, namespace, name, annotations):
        self.custom.patch_namespaced_custom_object(*KV[:2], namespace, KV[2], name, {"metadata": {"annotations": annotations}})

    def declare_params(self, members, **given):
        params = {"name": self.pool, "namespace": self.namespace, "kind": "kubevirt", "members": members,
                  "vms": [{"role": "control-plane", "name": "{member}-cp"}, {"role": "worker", "name": "{member}-wk"}],
                  "state": "present", "force": False}
        params.update(given)
        return params

    def lease_params(self, owner, **given):
        params = {"pool": self.pool, "namespace": self.namespace, "owner": owner, "state": "present", "wait": False,
                  "wait_timeout": 30, "reset": "janitor", "member": None, "duration": None, "kubeconfig_dest": None}
        params.update(given)
        return params

    def member_leases(self):
        items = self.leases.list_namespaced_lease(self.namespace, label_selector=spec.pool_selector(self.pool, "member")).items
        return {i.metadata.labels[spec.LABEL_MEMBER]: i for i in items}

    # ------------------------------------------------------------ playbooks

    def env(self):
        return dict(os.environ, ANSIBLE_NOCOLOR="1", HOME=self.home, ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-tmp"),
                    ANSIBLE_RETRY_FILES_ENABLED="0", K8S_AUTH_KUBECONFIG=self.kubeconfig)

    def playbook_argv(self, name, extra):
        extra = dict(extra, ansible_python_interpreter=sys.executable)
        return [PLAYBOOK, "-i", "localhost,", "-c", "local", os.path.join(COLLECTION, "playbooks", name),
                "-e", json.dumps(extra)]

    def playbook(self, name, extra, *, check=True, timeout=600, env=None):
        proc = subprocess.run(self.playbook_argv(name, extra), env=env or self.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout, check=False,
                              cwd=COLLECTION)
        if check:
            assert proc.returncode == 0, proc.stdout[-4000:]
        return proc

    def start_playbook(self, name, extra, *, env=None):
        proc = subprocess.Popen(self.playbook_argv(name, extra), env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True, cwd=COLLECTION,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    # ------------------------------------------------------------ cleanup

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass
        for name in [self.namespace] + self.made:
            try:
                self.core.delete_namespace(name)
            except kubernetes.client.rest.ApiException as exc:
                if exc.status != 404:
                    raise
        self.api_client.close()


class LeaseWatch:
    """Every version of every Lease of a pool, as a watch from the test delivers them, in order."""

    def __init__(self, env):
        self.env = env
        self.events = []
        self.stopped = threading.Event()
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the watch did not start"

    def _run(self):
        api = kubernetes.client.CoordinationV1Api(self.env.api_client)
        try:
            listing = api.list_namespaced_lease(self.env.namespace, label_selector=spec.pool_selector(self.env.pool))
            for item in listing.items:
                self.events.append(("EXISTING", self.env.api_client.sanitize_for_serialization(item)))
            version = listing.metadata.resource_version
            self.ready.set()
            while not self.stopped.is_set():
                watch = kubernetes.watch.Watch()
                for event in watch.stream(api.list_namespaced_lease, self.env.namespace,
                                          label_selector=spec.pool_selector(self.env.pool), resource_version=version,
                                          timeout_seconds=5, _request_timeout=30):
                    obj = self.env.api_client.sanitize_for_serialization(event["object"])
                    version = obj["metadata"]["resourceVersion"]
                    self.events.append((event["type"], obj))
                    if self.stopped.is_set():
                        break
        except Exception as exc:   # reported by stop()
            self.error = exc
            self.ready.set()

    def stop(self):
        self.stopped.set()
        self.thread.join(30)
        assert self.error is None, "the watch failed: %r" % (self.error,)
        return self.events

    def versions(self, obj_kind):
        return [(t, o) for t, o in self.events if (o["metadata"].get("labels") or {}).get(spec.LABEL_OBJECT) == obj_kind]


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 in front of the API server, started by the test, that can fail on demand.

    ``down()`` closes the listening socket and resets every open connection (an API server
    going away: refused from then on); ``up()`` listens again on the same port;
    ``lose_next_response()`` resets the client side of the connection that carries the next
    answer from the server, after the server has acted on the request (a restart between the
    write and its reply). TLS goes through untouched.
    """

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.port = None
        self.listener = None
        self.conns = []
        self.lock = threading.Lock()
        self.lose_response = threading.Event()
        self.lost = 0
        self.up()

    def up(self):
        import socket
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port or 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener):
        import socket
        while True:
            try:
                client, unused = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                self._reset(client)
                continue
            with self.lock:
                self.conns.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    @staticmethod
    def _reset(sock):
        import socket
        import struct
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass

    def _pump(self, source, dest, to_client):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if data and to_client and self.lose_response.is_set():
                self.lose_response.clear()
                self.lost += 1
                data = b""
            if not data:
                self._reset(dest)
                self._reset(source)
                return
            try:
                dest.sendall(data)
            except OSError:
                self._reset(source)
                return

    def down(self):
        import socket
        try:
            # Closing alone leaves a socket that another thread blocks in accept() on still listening.
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for client, server in conns:
            self._reset(client)
            self._reset(server)

    def lose_next_response(self):
        self.lose_response.set()

    def kubeconfig(self, source, dest):
        """A copy of kubeconfig ``source`` whose server is this proxy."""
        import yaml
        with open(source) as handle:
            config = yaml.safe_load(handle)
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = "https://127.0.0.1:%d" % self.port
        with open(dest, "w") as handle:
            yaml.safe_dump(config, handle)
        os.chmod(dest, 0o600)
        return dest
