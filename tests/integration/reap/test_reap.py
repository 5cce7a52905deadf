# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/reap.yml across every backend of the testbed (issue 21's acceptance).

Made with ``ttl: 1s``: a VM on each vSphere simulator, a libvirt domain, a workspace, a vcluster
and a registry entry; made without a TTL: one of each kind but the vcluster; plus a VM whose
expiry has passed but which no longer carries the ownership marker, and a VM whose TTL was
extended after it expired. A third vSphere endpoint has nothing listening (a simulator that is
down). Then ``reap.yml --check`` must list exactly the expired ones and delete nothing; ``reap.yml``
must delete exactly those (read back from each backend with its own SDK, not through the
collection), reap everything else while the dead endpoint fails, and say so; a last run has
nothing to do. ``reap_match`` keeps the run to this test's names on the shared testbed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pathlib
import re
import secrets
import socket
import ssl
import subprocess
import sys
import time

import pytest

COLLECTION = pathlib.Path(__file__).resolve().parents[3]
BIN = pathlib.Path(sys.executable).parent
pytestmark = pytest.mark.timeout(900)

SETUP = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    p: "{p}"
  module_defaults:
    group/ghost.infra.vsphere:
      validate_certs: false
    group/ghost.infra.libvirt:
      pool: "{{{{ lookup('ansible.builtin.env', 'GHOST_LIBVIRT_POOL') }}}}"
  tasks:
    - name: VMs on both simulators
      ghost.infra.esxi_vm:
        port: "{{{{ item.port }}}}"
        name: "{{{{ item.name }}}}"
        template: "{{{{ lookup('ansible.builtin.env', 'GHOST_VSPHERE_TEMPLATE') }}}}"
        state: poweredon
        ttl: "{{{{ item.ttl | default(omit) }}}}"
      loop:
        - {{name: "{{{{ p }}}}-vc-exp", port: "{vc_port}", ttl: 1s}}
        - {{name: "{{{{ p }}}}-vc-keep", port: "{vc_port}"}}
        - {{name: "{{{{ p }}}}-vc-ext", port: "{vc_port}", ttl: 1s}}
        - {{name: "{{{{ p }}}}-vc-unmarked", port: "{vc_port}", ttl: 1s}}
        - {{name: "{{{{ p }}}}-esx-exp", port: "{esx_port}", ttl: 1s}}
        - {{name: "{{{{ p }}}}-esx-keep", port: "{esx_port}"}}
    - name: libvirt domains (defined, no OS needed)
      ghost.infra.libvirt_domain:
        name: "{{{{ item.name }}}}"
        base_image: "{{{{ lookup('ansible.builtin.env', 'GHOST_BASE_IMAGE') }}}}"
        domain_type: "{{{{ lookup('ansible.builtin.env', 'GHOST_LIBVIRT_DOMAIN_TYPE') }}}}"
        memory_mb: 64
        state: present
        ttl: "{{{{ item.ttl | default(omit) }}}}"
      loop:
        - {{name: "{{{{ p }}}}-dom-exp", ttl: 1s}}
        - {{name: "{{{{ p }}}}-dom-keep"}}
    - name: Workspaces
      ghost.infra.workspace:
        name: "{{{{ item.name }}}}"
        namespace: "{{{{ p }}}}-ws"
        image: nginxinc/nginx-unprivileged:1.27
        wait: false
        ttl: "{{{{ item.ttl | default(omit) }}}}"
      loop:
        - {{name: "{{{{ p }}}}-ws-exp", ttl: 1s}}
        - {{name: "{{{{ p }}}}-ws-keep"}}
    - name: A virtual cluster
      ghost.infra.vcluster:
        name: "{{{{ p }}}}-vcl-exp"
        namespace: "{{{{ p }}}}-vcl"
        server: "{{{{ lookup('ansible.builtin.env', 'GHOST_VCLUSTER_API') }}}}"
        chart_dir: "{{{{ lookup('ansible.builtin.env', 'GHOST_VCLUSTER_CHART_DIR') }}}}"
        values_files: "{{{{ [lookup('ansible.builtin.env', 'GHOST_VCLUSTER_VALUES')] | select | list }}}}"
        wait_timeout: 240
        ttl: 1s
    - name: Registry entries
      ghost.infra.cluster_join:
        id: "{{{{ item.id }}}}"
        store: "{store}"
        kubeconfig: "{{{{ lookup('ansible.builtin.env', 'K8S_AUTH_KUBECONFIG') }}}}"
        ttl: "{{{{ item.ttl | default(omit) }}}}"
      loop:
        - {{id: "{{{{ p }}}}-reg-exp", ttl: 1s}}
        - {{id: "{{{{ p }}}}-reg-keep"}}
"""

EXTEND = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Extend an expired VM's TTL
      ghost.infra.esxi_vm:
        name: "{p}-vc-ext"
        validate_certs: false
        ttl: 1h
      register: extended
    - name: It is alive again
      ansible.builtin.assert:
        that: [extended is changed, not extended.vm.expired]
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _playbook(env, tmp, text=None, path=None, extra=None, check=False):
    if text is not None:
        path = tmp / ("play-%s.yml" % secrets.token_hex(3))
        path.write_text(text)
    cmd = [str(BIN / "ansible-playbook"), "-i", "localhost,", str(path),
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    if extra is not None:
        cmd += ["-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=800,
                          check=False)


class Backends:
    """What each backend holds of this test's names, read with the backends' own SDKs."""

    def __init__(self, env, prefix, store):
        self.env, self.prefix, self.store = env, prefix, store

    def _vms(self, port):
        from pyVim.connect import Disconnect, SmartConnect  # pylint: disable=import-outside-toplevel
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel
        si = SmartConnect(host="127.0.0.1", port=int(port), user=self.env["VMWARE_USER"], pwd=self.env["VMWARE_PASSWORD"],
                          sslContext=ssl._create_unverified_context())
        try:
            content = si.RetrieveContent()
            view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
            try:
                return sorted(vm.name for vm in view.view if vm.name.startswith(self.prefix))
            finally:
                view.Destroy()
        finally:
            Disconnect(si)

    def held(self):
        import kubernetes  # pylint: disable=import-outside-toplevel
        import libvirt  # pylint: disable=import-outside-toplevel
        conn = libvirt.open(self.env["LIBVIRT_DEFAULT_URI"])
        try:
            domains = sorted(d.name() for d in conn.listAllDomains() if d.name().startswith(self.prefix))
        finally:
            conn.close()
        api = kubernetes.config.new_client_from_config(config_file=self.env["K8S_AUTH_KUBECONFIG"])
        try:
            apps = kubernetes.client.AppsV1Api(api)
            workspaces = sorted(d.metadata.name for d in apps.list_namespaced_deployment(self.prefix + "-ws").items)
            # The chart makes a StatefulSet or a Deployment, named after the vcluster.
            vclusters = sorted({w.metadata.name for w in apps.list_namespaced_stateful_set(self.prefix + "-vcl").items +
                                apps.list_namespaced_deployment(self.prefix + "-vcl").items
                                if w.metadata.name == self.prefix + "-vcl-exp"})
        finally:
            api.close()
        registry = sorted(p.stem for p in pathlib.Path(self.store).glob(self.prefix + "*.json"))
        return {"vcenter": self._vms(self.env["VMWARE_PORT"]), "esxi": self._vms(self.env["GHOST_ESXI_PORT"]),
                "libvirt": domains, "workspaces": workspaces, "vclusters": vclusters, "registry": registry}


def _unmark(env, name):
    """Take the ownership marker off a VM (as if someone else made it), keeping its past expiry."""
    from pyVim.connect import Disconnect, SmartConnect  # pylint: disable=import-outside-toplevel
    from pyVim.task import WaitForTask  # pylint: disable=import-outside-toplevel
    from pyVmomi import vim  # pylint: disable=import-outside-toplevel
    si = SmartConnect(host="127.0.0.1", port=int(env["VMWARE_PORT"]), user=env["VMWARE_USER"],
                      pwd=env["VMWARE_PASSWORD"], sslContext=ssl._create_unverified_context())
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        (vm,) = [v for v in view.view if v.name == name]
        view.Destroy()
        spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="ghost.infra.managed", value="")])
        WaitForTask(vm.ReconfigVM_Task(spec))
    finally:
        Disconnect(si)


def _rows(output):
    """The reap table's rows (the debug task's list, one quoted line each)."""
    rows = [m.group(1) for m in re.finditer(r'^\s*"([^"|]+( \| [^"|]*){4})",?$', output, re.M)]
    return sorted(r for r in rows if not r.startswith("backend |"))


@pytest.fixture
def lab(testbed, tmp_path):
    prefix = "reap-%s" % secrets.token_hex(3)
    store = tmp_path / "registry"
    env = dict(os.environ, **testbed)
    # HOME stays: the testbed turned the vcluster CLI's usage reporting off there (no traffic out).
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "0"})
    backends = Backends(env, prefix, store)
    extra = {"reap_vsphere": [{"hostname": "127.0.0.1", "port": int(env["VMWARE_PORT"]), "validate_certs": False},
                              {"hostname": "127.0.0.1", "port": int(env["GHOST_ESXI_PORT"]), "validate_certs": False}],
             "reap_libvirt": [env["LIBVIRT_DEFAULT_URI"]], "reap_kubernetes": True, "reap_registry": [str(store)],
             "reap_match": "^%s-" % prefix}
    try:
        yield env, tmp_path, prefix, store, backends, extra
    finally:
        _cleanup(env, tmp_path, prefix)


def _cleanup(env, tmp, prefix):
    """Remove whatever the test left, whether the reaper ran or not."""
    vms = [[prefix + s, env["VMWARE_PORT"]] for s in ("-vc-exp", "-vc-keep", "-vc-ext", "-vc-unmarked")]
    vms += [[prefix + s, env["GHOST_ESXI_PORT"]] for s in ("-esx-exp", "-esx-keep")]
    text = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ghost.infra.esxi_vm: {{name: "{{{{ item.0 }}}}", port: "{{{{ item.1 }}}}", state: absent, force: true,
                            validate_certs: false}}
      loop: {vms}
      ignore_errors: true
    - ghost.infra.libvirt_domain: {{name: "{{{{ item }}}}", state: absent}}
      loop: ["{p}-dom-exp", "{p}-dom-keep"]
      ignore_errors: true
    - ghost.infra.workspace: {{name: "{{{{ item }}}}", namespace: "{p}-ws", state: absent}}
      loop: ["{p}-ws-exp", "{p}-ws-keep"]
      ignore_errors: true
    - ghost.infra.vcluster: {{name: "{p}-vcl-exp", namespace: "{p}-vcl", state: absent}}
      ignore_errors: true
    - kubernetes.core.k8s: {{kind: Namespace, name: "{{{{ item }}}}", state: absent}}
      loop: ["{p}-ws", "{p}-vcl"]
      ignore_errors: true
""".format(p=prefix, vms=json.dumps(vms))
    _playbook(env, tmp, text)


def test_reap_deletes_exactly_what_expired_on_every_backend(lab):
    env, tmp, prefix, store, backends, extra = lab
    made = _playbook(env, tmp, SETUP.format(p=prefix, vc_port=env["VMWARE_PORT"], esx_port=env["GHOST_ESXI_PORT"],
                                            store=store))
    assert made.returncode == 0, made.stdout[-4000:]
    _unmark(env, prefix + "-vc-unmarked")
    time.sleep(2)
    extended = _playbook(env, tmp, EXTEND.format(p=prefix))
    assert extended.returncode == 0, extended.stdout[-3000:]
    everything = backends.held()
    assert everything == {
        "vcenter": sorted(prefix + s for s in ("-vc-exp", "-vc-ext", "-vc-keep", "-vc-unmarked")),
        "esxi": sorted(prefix + s for s in ("-esx-exp", "-esx-keep")),
        "libvirt": sorted(prefix + s for s in ("-dom-exp", "-dom-keep")),
        "workspaces": sorted(prefix + s for s in ("-ws-exp", "-ws-keep")),
        "vclusters": [prefix + "-vcl-exp"],
        "registry": sorted(prefix + s for s in ("-reg-exp", "-reg-keep"))}, everything
    expired = {prefix + s for s in ("-vc-exp", "-esx-exp", "-dom-exp", "-ws-exp", "-vcl-exp", "-reg-exp")}

    # A third endpoint whose simulator is down: reported, and the rest is reaped all the same.
    dead_port = _free_port()
    dead = {"hostname": "127.0.0.1", "port": dead_port, "validate_certs": False}
    with_dead = dict(extra, reap_vsphere=extra["reap_vsphere"] + [dead])
    reap = COLLECTION / "playbooks" / "reap.yml"
    listed = _playbook(env, tmp, path=reap, extra=with_dead, check=True)
    assert listed.returncode != 0 and ("vsphere 127.0.0.1:%d: " % dead_port) in listed.stdout, listed.stdout[-4000:]
    rows = _rows(listed.stdout)
    assert {r.split(" | ")[2].split("/")[-1] for r in rows} == expired, rows
    assert all(r.endswith("would delete") for r in rows), rows
    assert backends.held() == everything                              # --check deleted nothing

    reaped = _playbook(env, tmp, path=reap, extra=with_dead)
    assert reaped.returncode != 0, reaped.stdout[-4000:]
    assert "Failed to" in reaped.stdout and str(dead_port) in reaped.stdout, reaped.stdout[-4000:]
    rows = _rows(reaped.stdout)
    assert {r.split(" | ")[2].split("/")[-1] for r in rows} == expired and all(r.endswith("deleted") for r in rows), rows
    left = backends.held()
    assert left == {key: [n for n in names if n not in expired] for key, names in everything.items()}, left

    again = _playbook(env, tmp, path=reap, extra=extra)
    assert again.returncode == 0, again.stdout[-4000:]
    assert "nothing has expired" in again.stdout and backends.held() == left
