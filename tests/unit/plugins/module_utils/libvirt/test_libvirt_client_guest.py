# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/client.py: host resources, a domain's addresses by source, and guest agent file reads,
with stand-ins for the libvirt and libvirt_qemu modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import types

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.imports import OptionalImport
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import client as client_module
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import connection
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtCallError

LEASE, AGENT, ARP = 0, 1, 2


class LibvirtError(Exception):
    def __init__(self, msg, code=1):
        super(LibvirtError, self).__init__(msg)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_domain(self):
        return 10

    def get_int1(self):
        return -1

    def get_error_message(self):
        return str(self)


def iface(mac, *addresses):
    return {"hwaddr": mac, "addrs": [{"addr": a, "prefix": 24, "type": 0} for a in addresses]}


class Domain:
    def __init__(self, conn):
        self.conn = conn

    def interfaceAddresses(self, source, flags):
        self.conn.asked.append(source)
        answer = self.conn.addresses.get(source, {})
        if isinstance(answer, Exception):
            raise answer
        return answer


class Conn:
    def __init__(self):
        self.asked = []
        self.addresses = {}
        self.stats = {"total": 8 * 1024 * 1024, "free": 2 * 1024 * 1024, "buffers": 1024, "cached": 1024 * 1024}
        self.stats_error = None
        self.files = {}
        self.agent_calls = []

    def isAlive(self):
        return 1

    def close(self):
        pass

    def lookupByName(self, name):
        return Domain(self)

    def getInfo(self):
        return ["x86_64", 6000, 4, 2400, 1, 1, 4, 1]

    def getMemoryStats(self, cell, flags):
        if self.stats_error is not None:
            raise self.stats_error
        return dict(self.stats)

    def getFreeMemory(self):
        return 3 * 1024 ** 3

    def agent(self, domain, text, timeout, flags):
        command = json.loads(text)
        self.agent_calls.append(command["execute"])
        args = command["arguments"]
        if command["execute"] == "guest-file-open":
            if args["path"] not in self.files:
                raise LibvirtError("internal error: unable to execute QEMU agent command 'guest-file-open': "
                                   "Failed to open file '%s': No such file or directory" % args["path"])
            self.reading = self.files[args["path"]]
            return json.dumps({"return": 1000})
        if command["execute"] == "guest-file-read":
            part, self.reading = self.reading[:args["count"]], self.reading[args["count"]:]
            return json.dumps({"return": {"count": len(part), "buf-b64": base64.b64encode(part).decode(),
                                          "eof": not self.reading}})
        return json.dumps({"return": {}})


@pytest.fixture
def conn(monkeypatch):
    connection_ = Conn()
    module = types.SimpleNamespace(open=lambda uri: connection_, libvirtError=LibvirtError,
                                   registerErrorHandler=lambda f, c: None, VIR_NODE_MEMORY_STATS_ALL_CELLS=-1,
                                   VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE=LEASE,
                                   VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT=AGENT,
                                   VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP=ARP)
    qemu = types.SimpleNamespace(qemuAgentCommand=connection_.agent)
    monkeypatch.setattr(connection, "LIBVIRT", OptionalImport("libvirt", "libvirt-python", module=module))
    monkeypatch.setattr(client_module, "LIBVIRT_QEMU", OptionalImport("libvirt_qemu", "libvirt-python", module=qemu))
    return connection_


def make():
    return client_module.LibvirtClient("qemu:///system").open()


def test_host_resources_use_the_host_wide_memory_figures(conn):
    assert make().host_resources() == {"cpus": 4, "memory_total": 8 * 1024 ** 3, "memory_free": 2 * 1024 ** 3,
                                       "memory_cache": 1024 ** 3 + 1024 ** 2}


def test_host_resources_without_memory_statistics(conn):
    conn.stats_error = LibvirtError("this function is not supported by the connection driver", 3)
    assert make().host_resources() == {"cpus": 4, "memory_total": 6000 * 1024 ** 2, "memory_free": 3 * 1024 ** 3,
                                       "memory_cache": 0}


def test_addresses_come_from_the_first_source_that_knows_one(conn):
    conn.addresses = {LEASE: {}, AGENT: {"lo": iface("00:00:00:00:00:00", "127.0.0.1"),
                                         "eth0": iface("52:54:00:AA:00:01", "198.51.100.10", "fe80::1")},
                      ARP: {"vnet0": iface("52:54:00:aa:00:01", "198.51.100.99")}}
    assert make().interface_addresses("vm1") == {"52:54:00:aa:00:01": ["198.51.100.10"]}
    assert conn.asked == [LEASE, AGENT]
    conn.asked = []
    assert make().interface_addresses("vm1", ("arp",)) == {"52:54:00:aa:00:01": ["198.51.100.99"]}
    assert conn.asked == [ARP]


def test_a_source_that_cannot_answer_knows_nothing(conn):
    conn.addresses = {AGENT: LibvirtError("Guest agent is not responding: QEMU guest agent is not connected", 86)}
    assert make().interface_addresses("vm1") == {}
    assert conn.asked == [LEASE, AGENT, ARP]


def test_read_guest_file(conn):
    conn.files["/run/cloud-init/result.json"] = b"x" * (client_module.AGENT_READ + 10)
    assert make().read_guest_file("vm1", "/run/cloud-init/result.json") == "x" * (client_module.AGENT_READ + 10)
    assert conn.agent_calls == ["guest-file-open", "guest-file-read", "guest-file-read", "guest-file-close"]
    assert make().read_guest_file("vm1", "/run/cloud-init/missing") is None


def test_agent_errors_keep_libvirts_code_and_message(conn):
    def unresponsive(*_args):
        raise LibvirtError("Guest agent is not responding: QEMU guest agent is not connected", 86)
    client = make()
    client_module.LIBVIRT_QEMU.module.qemuAgentCommand = unresponsive
    with pytest.raises(LibvirtCallError) as err:
        client.read_guest_file("vm1", "/x")
    assert err.value.details["libvirt_error_code"] == 86
    assert str(err.value) == ("Failed to run guest agent command guest-file-open in domain 'vm1': Guest agent is not "
                              "responding: QEMU guest agent is not connected")
