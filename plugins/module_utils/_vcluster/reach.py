# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the virtual API server is reached from the host running the module. Private to ghost.infra.

A real vcluster publishes a kubeconfig (Secret ``vc-<name>``) for ``https://localhost:8443``
-- the port inside its pod, reachable only through a port-forward -- unless the chart value
``exportKubeConfig.server`` names another address. So the user chooses one:

- ``server``: a URL that reaches the vcluster (an ingress, a DNS name of a load balancer, a
  Service address for a controller inside the cluster). It becomes ``exportKubeConfig.server``
  (the vcluster itself then publishes it) and its host an extra SAN of the vcluster's serving
  certificate (``controlPlane.proxy.extraSANs``), so TLS verification holds.
- ``expose: loadbalancer`` / ``expose: nodeport``: the chart's Service type
  (``controlPlane.service.spec.type``), as ``vcluster create --expose`` does; once it exists,
  the address is read like ``vcluster connect`` does: the load balancer's ingress, or the
  node port on the vcluster pod's host IP (the IP the vcluster puts in its certificate).
- ``exportKubeConfig.server`` in the user's own values.

Pure: plain data in and out, nothing imported but the standard library.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import urlsplit

SERVICE_TYPES = {"loadbalancer": "LoadBalancer", "nodeport": "NodePort"}
PUBLISHED_DEFAULT = "https://localhost:8443"
HTTPS_PORT_NAME = "https"

NOT_CHOSEN = (
    "nothing says how its API server is reached from here: a vcluster publishes a kubeconfig for %s, "
    "which only a port-forward reaches. Set expose (loadbalancer: a LoadBalancer Service; nodeport: a "
    "NodePort on the node of the vcluster pod) or server (a URL that reaches the vcluster, such as an "
    "ingress or a DNS name), or exportKubeConfig.server in values" % PUBLISHED_DEFAULT)


def _dig(document, *keys):
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _last(documents, *keys):
    """The value at ``keys`` in the last document that sets it (helm's order: later files win)."""
    found = None
    for document in documents or []:
        value = _dig(document, *keys)
        if value not in (None, "", []):
            found = value
    return found


def values_server(documents):
    """``exportKubeConfig.server`` as the user's values documents set it, or None."""
    value = _last(documents, "exportKubeConfig", "server")
    return value if isinstance(value, str) else None


def url_host(server):
    """The host (name or IP, without brackets) of an API server URL."""
    return urlsplit(server).hostname


def reach_values(*, server, expose, documents):
    """The chart values that make the vcluster reachable, ``{}`` when the user's values do it.

    ``documents`` are the user's values (files then ``values``), needed to keep their
    ``controlPlane.proxy.extraSANs`` (helm replaces lists). Returns None when nothing was chosen.
    """
    out = {}
    if server:
        sans = [str(san) for san in (_last(documents, "controlPlane", "proxy", "extraSANs") or [])]
        host = url_host(server)
        if host and host not in sans:
            sans.append(host)
        out["exportKubeConfig"] = {"server": server}
        out["controlPlane"] = {"proxy": {"extraSANs": sans}}
    if expose:
        out.setdefault("controlPlane", {})["service"] = {"spec": {"type": SERVICE_TYPES[expose]}}
    if out:
        return out
    return {} if values_server(documents) else None


def _https_port(service):
    ports = (service.get("spec") or {}).get("ports") or []
    for port in ports:
        if port.get("name") == HTTPS_PORT_NAME:
            return port
    return ports[0] if ports else None


def _url(host, port):
    if ":" in host:  # an IPv6 address
        host = "[%s]" % host
    return "https://%s:%s" % (host, port)


def _host_ip(pods):
    """The host IP of the first Ready pod (else of any scheduled pod), or None."""
    def ready(pod):
        conditions = (pod.get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    for pod in sorted(pods or [], key=lambda p: not ready(p)):
        status = pod.get("status") or {}
        if status.get("hostIP"):
            return status["hostIP"]
        for entry in status.get("hostIPs") or []:
            if entry.get("ip"):
                return entry["ip"]
    return None


def exposed_server(expose, service, pods):
    """``(url, why_not)``: the URL of the exposed Service, or None and what is still missing."""
    kind = SERVICE_TYPES[expose]
    if service is None:
        return None, "its Service does not exist"
    actual = (service.get("spec") or {}).get("type") or "ClusterIP"
    if actual != kind:
        return None, "its Service is of type %s, not %s" % (actual, kind)
    port = _https_port(service)
    if port is None:
        return None, "its Service has no port"
    if kind == "LoadBalancer":
        for ingress in ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            host = ingress.get("hostname") or ingress.get("ip")
            if host:
                return _url(host, port.get("port") or 443), None
        return None, ("its LoadBalancer Service has no address yet (does the host cluster run a load balancer "
                      "controller? else use expose=nodeport or server)")
    if not port.get("nodePort"):
        return None, "its NodePort Service has no node port yet"
    host = _host_ip(pods)
    if not host:
        return None, "its pod is not scheduled on a node yet"
    return _url(host, port["nodePort"]), None
