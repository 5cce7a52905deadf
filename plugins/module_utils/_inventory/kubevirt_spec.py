# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ghost.infra.kubevirt inventory's rules. Private to ghost.infra; pure (no ansible and no
kubernetes import).

Takes what kubevirt_client.read returned (VirtualMachines, their instances, Services, Nodes,
pool namespaces, as plain records) and the plugin's options, and returns the host records
(_inventory/spec.py): one host per VirtualMachine, ``ansible_host`` (and ``ansible_port``) from
a Service that selects the VM and has a port named as the user says (any number of them:
``ssh``, ``ssh-alt``...), or from the address of the VM instance's interface; groups by
namespace, run strategy and cluster pool.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec

SOURCES = ("service", "interface")
SERVICE_TYPES = ("LoadBalancer", "NodePort", "ClusterIP")
NODE_ADDRESS_TYPES = ("ExternalIP", "InternalIP", "Hostname")
NAME_FIELDS = ("namespace", "name", "uid")
GROUP_PREFIX = "kubevirt"


def check_options(options):
    """The options that shape hosts, checked; returns the address sources in order."""
    sources = spec.check_sources(options.get("ansible_host_sources") or [], SOURCES, option="ansible_host_sources")
    for kind in options.get("service_types") or []:
        if kind not in SERVICE_TYPES:
            raise GhostError("unknown Service type '%s' (choices: %s)" % (kind, ", ".join(SERVICE_TYPES)),
                             option="service_types")
    if "service" in sources and not options.get("service_port_names"):
        raise GhostError("must name at least one port (such as ssh) while ansible_host_sources lists service",
                         option="service_port_names")
    spec.check_name_format(options.get("name_format"), NAME_FIELDS, option="name_format")
    return sources


def run_strategy(vm):
    """The VM's run strategy; the legacy ``running`` field as KubeVirt maps it."""
    if vm.get("run_strategy"):
        return vm["run_strategy"]
    if vm.get("running") is not None:
        return "Always" if vm["running"] else "Halted"
    return "Halted"


def selects(service, labels):
    """Whether ``service`` selects pods (here VM instances) with ``labels``."""
    selector = service.get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def interface_address(vmi, network_name=None):
    """The first usable address of the VM instance's interfaces (of interface ``network_name``
    only, when given)."""
    for iface in (vmi or {}).get("interfaces") or []:
        if network_name and iface.get("name") != network_name:
            continue
        found = spec.first_address(list(iface.get("ip_addresses") or []) + [iface.get("ip_address")])
        if found:
            return found
    return None


def node_address(node):
    for kind in NODE_ADDRESS_TYPES:
        for address in (node or {}).get("addresses") or []:
            if address.get("type") == kind and address.get("address"):
                return address["address"]
    return None


def _endpoint(service, port, node):
    """(address, port) to reach ``port`` of ``service``; (None, None) when it has none yet."""
    if service["type"] == "LoadBalancer" and service.get("ingress"):
        return service["ingress"][0], port.get("port")
    if service["type"] in ("NodePort", "LoadBalancer") and port.get("node_port") and node_address(node):
        return node_address(node), port["node_port"]
    if service["type"] == "ClusterIP" and service.get("cluster_ip") not in (None, "", "None"):
        return service["cluster_ip"], port.get("port")
    return None, None


def service_endpoint(services, *, labels, node, options):
    """``(address, port, service name)`` of the best Service port for a VM: the first port name
    of ``service_port_names``, then the first type of ``service_types``, then Service names."""
    port_names = options.get("service_port_names") or []
    types = options.get("service_types") or []
    ranked = []
    for service in services:
        if service["type"] not in types or not selects(service, labels):
            continue
        for port in service.get("ports") or []:
            if port.get("name") in port_names:
                ranked.append((port_names.index(port["name"]), types.index(service["type"]), service["name"],
                               service, port))
    for _rank, _type, _name, service, port in sorted(ranked, key=lambda r: r[:3]):
        address, number = _endpoint(service, port, node)
        if address:
            return address, number, service["name"]
    return None, None, None


def _service_view(service):
    return {"name": service["name"], "type": service["type"], "ports": [dict(p) for p in service.get("ports") or []]}


def vm_host(vm, *, vmi, services, nodes, pools, options, sources):
    """The host record of one VirtualMachine."""
    labels = (vmi or {}).get("labels") or dict(vm.get("template_labels") or {}, **{"vm.kubevirt.io/name": vm["name"]})
    node = nodes.get((vmi or {}).get("node"))
    matching = [s for s in services if selects(s, labels)]
    svc_address, svc_port, svc_name = service_endpoint(matching, labels=labels, node=node, options=options)
    candidates = {"service": svc_address, "interface": interface_address(vmi, options.get("network_name"))}
    address, source = spec.choose_address(sources, candidates)
    strategy = run_strategy(vm)
    pool = pools.get(vm["namespace"])
    view = {
        "name": vm["name"], "namespace": vm["namespace"], "uid": vm["uid"], "labels": vm["labels"],
        "run_strategy": strategy, "printable_status": vm.get("printable_status"), "ready": vm.get("ready"),
        "phase": (vmi or {}).get("phase"), "node": (vmi or {}).get("node"),
        "interfaces": [dict(i) for i in (vmi or {}).get("interfaces") or []],
        "services": [_service_view(s) for s in sorted(matching, key=lambda s: s["name"])],
        "pool": pool, "address_source": source, "service": svc_name if source == "service" else None,
    }
    hostvars = spec.prefixed(options.get("hostvars_prefix"), view)
    if address:
        hostvars["ansible_host"] = address
        if source == "service" and svc_port:
            hostvars["ansible_port"] = svc_port
    groups = [spec.group_name(GROUP_PREFIX, "namespace", vm["namespace"]),
              spec.group_name(GROUP_PREFIX, "run_strategy", strategy)]
    if pool:
        groups.append(spec.group_name(GROUP_PREFIX, "pool", pool))
    name = spec.format_name(options["name_format"], {"namespace": vm["namespace"], "name": vm["name"], "uid": vm["uid"]})
    out = spec.host_record(name, hostvars, groups)
    out["tiebreak"] = vm["uid"]
    return out


def hosts(read, options):
    """``(host records, warnings)`` from one read."""
    sources = check_options(options)
    vmis = {(v["namespace"], v["name"]): v for v in read.get("vmis") or []}
    nodes = {n["name"]: n for n in read.get("nodes") or []}
    by_namespace = {}
    for service in read.get("services") or []:
        by_namespace.setdefault(service["namespace"], []).append(service)
    out = []
    for vm in read.get("vms") or []:
        if not spec.name_matches(vm["name"], options.get("names"), options.get("exclude_names")):
            continue
        out.append(vm_host(vm, vmi=vmis.get((vm["namespace"], vm["name"])), services=by_namespace.get(vm["namespace"], []),
                           nodes=nodes, pools=read.get("pools") or {}, options=options, sources=sources))
    warnings = list(read.get("warnings") or [])
    for name in spec.unique_names(out, lambda r: r["tiebreak"]):
        warnings.append("several VMs would be named '%s' (set name_format); their hosts are named '%s_<uid>'" % (name, name))
    for record in out:
        del record["tiebreak"]
    return sorted(out, key=lambda h: h["name"]), warnings
