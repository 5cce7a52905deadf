# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What exists on the testbed's backends under a name holding a token: before and after a run.

The testbed is shared, so nothing is counted globally: every object a bad-input case could make
carries the run's token in its name, and only such objects are listed. Each lister returns
``{(backend, kind, name)}``; ``remove`` deletes what a run left (best effort, named in the report).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import ssl

KUBEVIRT = (("kubevirt.io", "v1", "virtualmachines"),
            ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots"),
            ("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores"))


def _has(token, name):
    return token in (name or "").lower()


def vsphere_endpoints(env):
    return [("vcenter", env.get("VMWARE_HOST"), env.get("VMWARE_PORT")),
            ("esxi", env.get("GHOST_ESXI_HOST"), env.get("GHOST_ESXI_PORT"))]


def _vsphere_connect(env, host, port):
    from pyVim.connect import SmartConnect  # pylint: disable=import-outside-toplevel

    context = ssl._create_unverified_context()  # the simulator's certificate is self-signed
    return SmartConnect(host=host, port=int(port), user=env["VMWARE_USER"], pwd=env["VMWARE_PASSWORD"],
                        sslContext=context)


def _vsphere_objects(si, vim_types):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, vim_types, True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def vsphere(env, token):
    from pyVim.connect import Disconnect  # pylint: disable=import-outside-toplevel
    from pyVmomi import vim  # pylint: disable=import-outside-toplevel

    found = set()
    for label, host, port in vsphere_endpoints(env):
        if not port:
            continue
        si = _vsphere_connect(env, host, port)
        try:
            for obj in _vsphere_objects(si, [vim.VirtualMachine, vim.Folder, vim.ResourcePool]):
                if _has(token, obj.name):
                    found.add((label, type(obj).__name__.split(".")[-1], obj.name))
            # Datastore folders (a standalone host's VM is a folder and disk copies first): the
            # simulator keeps each datastore in a folder of this machine, its summary.url.
            for ds in _vsphere_objects(si, [vim.Datastore]):
                url = ds.summary.url or ""
                if os.path.isdir(url):
                    for entry in os.listdir(url):
                        if _has(token, entry):
                            found.add((label, "datastore file", "[%s] %s" % (ds.name, entry)))
        finally:
            Disconnect(si)
    return found


def libvirt_objects(env, token):
    import libvirt  # pylint: disable=import-outside-toplevel

    conn = libvirt.open(env.get("LIBVIRT_DEFAULT_URI") or "qemu:///system")
    found = set()
    try:
        for dom in conn.listAllDomains(0):
            if _has(token, dom.name()):
                found.add(("libvirt", "domain", dom.name()))
        for net in conn.listAllNetworks(0):
            if _has(token, net.name()):
                found.add(("libvirt", "network", net.name()))
        for pool in conn.listAllStoragePools(0):
            if _has(token, pool.name()):
                found.add(("libvirt", "pool", pool.name()))
            if not pool.isActive():
                continue
            try:
                pool.refresh(0)
                for vol in pool.listAllVolumes(0):
                    if _has(token, vol.name()):
                        found.add(("libvirt", "volume", "%s/%s" % (pool.name(), vol.name())))
            except libvirt.libvirtError:
                continue  # a pool going away meanwhile (another test's)
    finally:
        conn.close()
    return found


def _kube(env):
    from kubernetes import client, config  # pylint: disable=import-outside-toplevel

    return client, config.new_client_from_config(config_file=env["K8S_AUTH_KUBECONFIG"])


def kubernetes(env, token):
    client, api = _kube(env)
    found = set()
    try:
        core = client.CoreV1Api(api)
        for ns in core.list_namespace().items:
            if _has(token, ns.metadata.name):
                found.add(("kubernetes", "namespace", ns.metadata.name))
        listers = [("secret", core.list_secret_for_all_namespaces),
                   ("configmap", core.list_config_map_for_all_namespaces),
                   ("service", core.list_service_for_all_namespaces),
                   ("pvc", core.list_persistent_volume_claim_for_all_namespaces),
                   ("deployment", client.AppsV1Api(api).list_deployment_for_all_namespaces),
                   ("lease", client.CoordinationV1Api(api).list_lease_for_all_namespaces)]
        for kind, lister in listers:
            for obj in lister().items:
                # By name only: the run's own namespace gets objects of the cluster's (kube-root-ca.crt).
                if _has(token, obj.metadata.name):
                    found.add(("kubernetes", kind, "%s/%s" % (obj.metadata.namespace, obj.metadata.name)))
        custom = client.CustomObjectsApi(api)
        for group, version, plural in KUBEVIRT:
            for obj in custom.list_cluster_custom_object(group, version, plural).get("items", []):
                meta = obj["metadata"]
                if _has(token, meta["name"]):
                    found.add(("kubernetes", plural, "%s/%s" % (meta.get("namespace"), meta["name"])))
    finally:
        api.close()
    return found


def files(folders, token):
    """Files and folders under ``folders`` whose path (below the folder) holds the token."""
    found = set()
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            for name in dirs + names:
                path = os.path.join(root, name)
                if _has(token, os.path.relpath(path, folder)):
                    found.add(("files", "path", path))
    return found


def census(env, token, folders=()):
    """Everything named with ``token`` on every backend, and the lister errors by backend."""
    found, errors = set(), {}
    for backend, lister in (("vsphere", lambda: vsphere(env, token)),
                            ("libvirt", lambda: libvirt_objects(env, token)),
                            ("kubernetes", lambda: kubernetes(env, token)),
                            ("files", lambda: files(folders, token))):
        try:
            found |= lister()
        except Exception as exc:  # pylint: disable=broad-except  # reported: a lister that fails is a failed check
            errors[backend] = "%s: %s" % (type(exc).__name__, exc)
    return found, errors


def remove(env, leftovers):
    """Delete what a run left on the shared backends; returns what could not be removed."""
    failed = []
    for item in sorted(leftovers):
        try:
            _remove_one(env, item)
        except Exception as exc:  # pylint: disable=broad-except  # best effort, reported
            failed.append("%s (%s)" % (" ".join(item), exc))
    return failed


def _remove_one(env, item):
    backend, kind, name = item
    if backend in ("vcenter", "esxi") and kind == "VirtualMachine":
        _remove_vm(env, backend, name)
    elif backend == "libvirt":
        _remove_libvirt(env, kind, name)
    elif backend == "kubernetes" and kind == "namespace":
        client, api = _kube(env)
        try:
            client.CoreV1Api(api).delete_namespace(name)
        finally:
            api.close()


def _remove_vm(env, label, name):
    from pyVim.connect import Disconnect  # pylint: disable=import-outside-toplevel
    from pyVim.task import WaitForTask  # pylint: disable=import-outside-toplevel
    from pyVmomi import vim  # pylint: disable=import-outside-toplevel

    _label, host, port = [e for e in vsphere_endpoints(env) if e[0] == label][0]
    si = _vsphere_connect(env, host, port)
    try:
        for vm in _vsphere_objects(si, [vim.VirtualMachine]):
            if vm.name == name:
                if vm.runtime.powerState == "poweredOn":
                    WaitForTask(vm.PowerOffVM_Task())
                WaitForTask(vm.Destroy_Task())
    finally:
        Disconnect(si)


def _remove_libvirt(env, kind, name):
    import libvirt  # pylint: disable=import-outside-toplevel

    conn = libvirt.open(env.get("LIBVIRT_DEFAULT_URI") or "qemu:///system")
    try:
        if kind == "domain":
            dom = conn.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
        elif kind == "volume":
            pool, vol = name.split("/", 1)
            conn.storagePoolLookupByName(pool).storageVolLookupByName(vol).delete(0)
        elif kind == "network":
            net = conn.networkLookupByName(name)
            if net.isActive():
                net.destroy()
            net.undefine()
        elif kind == "pool":
            pool = conn.storagePoolLookupByName(name)
            if pool.isActive():
                pool.destroy()
            pool.undefine()
    finally:
        conn.close()
