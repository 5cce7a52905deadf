# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.kubevirt inventory's reads. Private to ghost.infra.

Built on the collection's Kubernetes client base (_k8s/client.py through _kubevirt/client.py:
kubernetes.core's dynamic client, errors with the API server's own message), connected by
k8s_connection.py. One refresh lists, per namespace asked (or once across all namespaces):
VirtualMachines (with the label selector), their VirtualMachineInstances and, when Services are
an address source, Services; Nodes only when a NodePort Service is there; Namespaces labelled
``ghost.infra/pool`` (pool membership) once. Objects come back as plain dicts, trimmed to what the inventory shows: never a VM's
spec (cloud-init user data and its passwords live there) nor annotations.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory.k8s_connection import connect
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.client import KubeVirtClient
from ansible_collections.ghost.infra.plugins.module_utils._kubevirt.spec import API_VERSIONS

POOL_LABEL = "ghost.infra/pool"  # on the namespace of a cluster pool member (_pool/spec.py)


def _meta(obj):
    meta = obj.get("metadata") or {}
    return {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid"),
            "labels": dict(meta.get("labels") or {})}


def vm_record(vm):
    spec = vm.get("spec") or {}
    status = vm.get("status") or {}
    template = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    out = _meta(vm)
    out.update(run_strategy=spec.get("runStrategy"), running=spec.get("running"), template_labels=dict(template),
               printable_status=status.get("printableStatus"), ready=bool(status.get("ready")),
               created=bool(status.get("created")))
    return out


def vmi_record(vmi):
    status = vmi.get("status") or {}
    out = _meta(vmi)
    out.update(phase=status.get("phase"), node=status.get("nodeName"), interfaces=[
        {"name": i.get("name"), "interface_name": i.get("interfaceName"), "mac": i.get("mac"),
         "ip_address": i.get("ipAddress"), "ip_addresses": list(i.get("ipAddresses") or [])}
        for i in status.get("interfaces") or []])
    return out


def service_record(svc):
    spec = svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    out = _meta(svc)
    out.update(type=spec.get("type") or "ClusterIP", selector=dict(spec.get("selector") or {}),
               cluster_ip=spec.get("clusterIP"),
               ingress=[i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")],
               ports=[{"name": p.get("name"), "port": p.get("port"), "node_port": p.get("nodePort")}
                      for p in spec.get("ports") or []])
    return out


def node_record(node):
    addresses = ((node.get("status") or {}).get("addresses")) or []
    return {"name": (node.get("metadata") or {}).get("name"),
            "addresses": [{"type": a.get("type"), "address": a.get("address")} for a in addresses]}


class InventoryClient(KubeVirtClient):
    """The lists one inventory refresh makes."""

    API_VERSIONS = dict(API_VERSIONS, Service="v1", Node="v1", Namespace="v1")

    def _each(self, kind, namespaces, label_selector=None):
        out = []
        for namespace in namespaces or [None]:
            out.extend(self.list(kind, namespace, label_selector))
        return out

    def read(self, *, namespaces, label_selector, services, pools):
        """``{"vms", "vmis", "services", "nodes", "pools", "warnings"}`` as plain records."""
        out = {"vms": [vm_record(v) for v in self._each("VirtualMachine", namespaces, label_selector)],
               "vmis": [], "services": [], "nodes": [], "pools": {}, "warnings": []}
        if not out["vms"]:
            return out
        out["vmis"] = [vmi_record(v) for v in self._each("VirtualMachineInstance", namespaces)]
        if services:
            out["services"] = [service_record(s) for s in self._each("Service", namespaces)]
        if any(s["type"] == "NodePort" for s in out["services"]):
            out["nodes"] = [node_record(n) for n in self.list("Node")]
        if pools:
            try:
                labelled = self.list("Namespace", label_selector=POOL_LABEL)
            except GhostError as exc:
                # A user allowed to read VMs in a few namespaces may not list namespaces.
                out["warnings"].append("no pool groups: %s" % exc)
                labelled = []
            for namespace in labelled:
                meta = _meta(namespace)
                out["pools"][meta["name"]] = meta["labels"].get(POOL_LABEL)
        return out


def read_vms(options, *, namespaces, label_selector, services, pools, connect_to=connect):
    """One refresh (InventoryClient.read) with the connection ``options``."""
    client = InventoryClient(connect_to(options))
    return client.read(namespaces=namespaces, label_selector=label_selector, services=services, pools=pools)
