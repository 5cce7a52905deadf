# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the virtual API server is reached: the chart values for server/expose, the exposed address."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vcluster import reach


def test_nothing_chosen():
    assert reach.reach_values(server=None, expose=None, documents=[]) is None
    assert reach.reach_values(server=None, expose=None, documents=[{"exportKubeConfig": {"server": ""}}]) is None
    assert "https://localhost:8443" in reach.NOT_CHOSEN
    assert "Set expose" in reach.NOT_CHOSEN and "or server" in reach.NOT_CHOSEN


def test_users_values_choose():
    documents = [{"exportKubeConfig": {"server": "https://a:443"}}, {"sync": {}}]
    assert reach.reach_values(server=None, expose=None, documents=documents) == {}
    assert reach.values_server(documents) == "https://a:443"
    # later documents win, as in helm
    assert reach.values_server(documents + [{"exportKubeConfig": {"server": "https://b:443"}}]) == "https://b:443"


def test_server_becomes_export_server_and_a_san():
    assert reach.reach_values(server="https://vc.example.com:6443", expose=None, documents=[]) == {
        "exportKubeConfig": {"server": "https://vc.example.com:6443"},
        "controlPlane": {"proxy": {"extraSANs": ["vc.example.com"]}}}
    kept = [{"controlPlane": {"proxy": {"extraSANs": ["old"]}}}, {"controlPlane": {"proxy": {"extraSANs": ["x", "10.0.0.1"]}}}]
    values = reach.reach_values(server="https://10.0.0.1", expose=None, documents=kept)
    assert values["controlPlane"]["proxy"]["extraSANs"] == ["x", "10.0.0.1"]  # the last list, host already there
    assert reach.url_host("https://[2001:db8::1]:443") == "2001:db8::1"


@pytest.mark.parametrize("expose,kind", [("loadbalancer", "LoadBalancer"), ("nodeport", "NodePort")])
def test_expose_sets_the_service_type(expose, kind):
    assert reach.reach_values(server=None, expose=expose, documents=[]) == {
        "controlPlane": {"service": {"spec": {"type": kind}}}}
    both = reach.reach_values(server="https://s", expose=expose, documents=[])
    assert both["controlPlane"]["service"] == {"spec": {"type": kind}}
    assert both["exportKubeConfig"] == {"server": "https://s"}


def service(kind, port=None, ingress=None):
    ports = [{"name": "https", "port": 443, "targetPort": 8443}]
    if port:
        ports[0]["nodePort"] = port
    return {"spec": {"type": kind, "ports": ports}, "status": {"loadBalancer": {"ingress": ingress or []}}}


def pod(host_ip=None, ready=True, host_ips=None):
    status = {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if host_ip:
        status["hostIP"] = host_ip
    if host_ips:
        status["hostIPs"] = [{"ip": ip} for ip in host_ips]
    return {"status": status}


def test_loadbalancer_address():
    assert reach.exposed_server("loadbalancer", service("LoadBalancer", ingress=[{"ip": "203.0.113.5"}]), []) == (
        "https://203.0.113.5:443", None)
    assert reach.exposed_server("loadbalancer", service("LoadBalancer", ingress=[
        {"hostname": "lb.example.com", "ip": "203.0.113.5"}]), [])[0] == "https://lb.example.com:443"
    url, missing = reach.exposed_server("loadbalancer", service("LoadBalancer"), [])
    assert url is None and "has no address yet" in missing and "load balancer controller" in missing


def test_nodeport_address_is_the_pod_host_ip():
    pods = [pod("192.0.2.9", ready=False), pod("192.0.2.10")]
    assert reach.exposed_server("nodeport", service("NodePort", port=31443), pods) == ("https://192.0.2.10:31443", None)
    assert reach.exposed_server("nodeport", service("NodePort", port=31443), [pod(host_ips=["2001:db8::5"])])[0] == (
        "https://[2001:db8::5]:31443")
    assert reach.exposed_server("nodeport", service("NodePort", port=31443), [pod()]) == (
        None, "its pod is not scheduled on a node yet")
    assert reach.exposed_server("nodeport", service("NodePort"), [pod("192.0.2.10")])[1] == (
        "its NodePort Service has no node port yet")


def test_service_not_there_or_of_another_type():
    assert reach.exposed_server("nodeport", None, []) == (None, "its Service does not exist")
    assert reach.exposed_server("nodeport", service("ClusterIP"), []) == (
        None, "its Service is of type ClusterIP, not NodePort")
