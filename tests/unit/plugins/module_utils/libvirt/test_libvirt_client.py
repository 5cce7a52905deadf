# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/client.py over connection.py: connection handling, with a stand-in for the libvirt module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import types

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import OptionalImport
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import client as client_module
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import connection


class LibvirtError(Exception):
    def __init__(self, msg, code=1, int1=-1, domain=7):
        super(LibvirtError, self).__init__(msg)
        self.code, self.int1, self.domain = code, int1, domain

    def get_error_code(self):
        return self.code

    def get_error_domain(self):
        return self.domain

    def get_int1(self):
        return self.int1

    def get_error_message(self):
        return str(self)


class Conn:
    def __init__(self, server):
        self.server, self.alive = server, True

    def isAlive(self):
        return 1 if self.alive and self.server.generation == self.generation else 0

    def close(self):
        self.alive = False

    def lookupByName(self, name):
        self.server.calls += 1
        if not self.isAlive():
            raise LibvirtError("Cannot write data: Broken pipe", 38, errno.EPIPE)
        if name not in self.server.domains:
            raise LibvirtError("Domain not found", 42, domain=10)
        if name == "enoent":
            # A storage error with errno ENOENT is not a lost connection.
            raise LibvirtError("inaccessible backing store volume /x: No such file or directory", 38,
                               errno.ENOENT, domain=18)
        return types.SimpleNamespace(XMLDesc=lambda flags: "<domain/>", createWithFlags=lambda flags: 0)


class Server:
    """A libvirtd that can be restarted (old connections die) or be down for a while."""

    def __init__(self):
        self.generation, self.down_for, self.calls, self.opens = 0, 0, 0, 0
        self.domains = {"vm1", "enoent"}

    def module(self):
        server = self

        def open_(uri):
            server.opens += 1
            if server.down_for > 0:
                server.down_for -= 1
                raise LibvirtError("Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory",
                                   38, errno.ENOENT)
            conn = Conn(server)
            conn.generation = server.generation
            return conn

        return types.SimpleNamespace(open=open_, libvirtError=LibvirtError, registerErrorHandler=lambda f, c: None,
                                     VIR_DOMAIN_XML_INACTIVE=2, VIR_DOMAIN_START_PAUSED=1)


@pytest.fixture
def server(monkeypatch):
    srv = Server()
    monkeypatch.setattr(connection, "LIBVIRT", OptionalImport("libvirt", "libvirt-python", module=srv.module()))
    return srv


def make(**kw):
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds
    return client_module.LibvirtClient("qemu:///system", sleep=sleep, clock=lambda: clock[0], **kw)


def test_open_waits_for_a_starting_daemon(server):
    server.down_for = 3
    client = make().open()
    assert server.opens == 4
    assert client.domain_exists("vm1")


def test_open_gives_up_after_the_timeout(server):
    server.down_for = 1000
    with pytest.raises(GhostError) as err:
        make(connect_timeout=5).open()
    assert "Failed to connect to libvirt 'qemu:///system': Failed to connect socket" in str(err.value)


def test_other_open_errors_fail_at_once(server, monkeypatch):
    def refuse(uri):
        server.opens += 1
        raise LibvirtError("authentication failed", 45)
    monkeypatch.setattr(connection.LIBVIRT.module, "open", refuse)
    with pytest.raises(GhostError, match="authentication failed"):
        make().open()
    assert server.opens == 1


def test_reads_reconnect_after_a_daemon_restart(server):
    client = make().open()
    assert client.domain_xml("vm1", inactive=True) == "<domain/>"
    server.generation += 1  # libvirtd restarted: the old connection is dead
    server.down_for = 2  # and the new one needs a moment
    assert client.domain_xml("vm1", inactive=True) == "<domain/>"
    assert client.reconnects == 1


def test_changes_are_not_repeated_after_a_lost_connection(server):
    client = make().open()
    server.generation += 1
    with pytest.raises(connection.ConnectionLost) as err:
        client.start("vm1")
    assert "run the task again" in str(err.value)
    assert client.domain_exists("vm1")  # and the client works again


def test_missing_domain(server):
    client = make().open()
    assert client.domain_exists("nope") is False
    with pytest.raises(GhostError) as err:
        client.domain_xml("nope", inactive=True)
    assert str(err.value) == "Failed to read domain 'nope': Domain not found"
    assert err.value.details == {"libvirt_error_code": 42}


def test_a_storage_enoent_is_not_a_lost_connection(server):
    client = make().open()
    with pytest.raises(connection.LibvirtCallError) as err:
        client.start("enoent")
    assert err.value.cause == "inaccessible backing store volume /x: No such file or directory"
    assert client.reconnects == 0 and server.opens == 1


# -- storage and start, with a libvirt that records what changes ---------------------------


class StorageConn:
    """A connection with one dir pool on /pool (holding base.qcow2, and fresh.qcow2 it has not
    listed yet) and a domain that another run may have started; ``changes`` records every call
    that changes libvirtd's state."""

    VOLUME = "<volume><name>%s</name><target><path>%s</path><format type='qcow2'/></target></volume>"

    def __init__(self):
        self.listed = {"/pool/base.qcow2"}
        self.files = {"/pool/base.qcow2", "/pool/fresh.qcow2", "/images/other.qcow2"}
        self.changes = []
        self.running = False

    def isAlive(self):
        return 1

    def close(self):
        pass

    def _volume(self, path):
        return types.SimpleNamespace(
            XMLDesc=lambda flags: self.VOLUME % (path.rpartition("/")[2], path),
            storagePoolLookupByVolume=lambda: types.SimpleNamespace(name=lambda: "ghost"))

    def storageVolLookupByPath(self, path):
        if path not in self.listed:
            raise LibvirtError("Storage volume not found: no storage vol with matching path", 50, domain=18)
        return self._volume(path)

    def listAllStoragePools(self, flags):
        def refresh(flags):
            self.changes.append(("refresh", "ghost"))
            self.listed.update(p for p in self.files if p.startswith("/pool/"))
        return [types.SimpleNamespace(
            XMLDesc=lambda flags: "<pool type='dir'><name>ghost</name><target><path>/pool</path></target></pool>",
            refresh=refresh)]

    def storagePoolCreateXML(self, xml, flags):
        self.changes.append(("create transient pool", xml))
        conn = self

        class Pool:
            def storageVolLookupByName(self, name):
                if "/images/" + name not in conn.files:
                    raise LibvirtError("Storage volume not found", 50, domain=18)
                return conn._volume("/images/" + name)

            def destroy(self):
                conn.changes.append(("destroy transient pool",))
        return Pool()

    def storagePoolLookupByName(self, name):
        def create(xml, flags):
            self.changes.append(("create volume", xml))
            raise LibvirtError("storage volume 'vm1.qcow2' exists already", 90, domain=18)
        return types.SimpleNamespace(createXML=create)

    def lookupByName(self, name):
        def start(flags):
            self.changes.append(("start", name))
            if self.running:
                raise LibvirtError("Requested operation is not valid: domain is already running", 55, domain=10)
            self.running = True

        def resume():
            self.changes.append(("resume", name))
            raise LibvirtError("Requested operation is not valid: domain is already running" if self.running
                               else "Requested operation is not valid: domain is not running", 55, domain=10)
        return types.SimpleNamespace(createWithFlags=start, resume=resume,
                                     isActive=lambda: 1 if self.running else 0,
                                     state=lambda: [1, 1] if self.running else [5, 0])


@pytest.fixture
def storage(monkeypatch):
    conn = StorageConn()
    module = types.SimpleNamespace(open=lambda uri: conn, libvirtError=LibvirtError,
                                   registerErrorHandler=lambda f, c: None, VIR_DOMAIN_START_PAUSED=1,
                                   VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE=2)
    monkeypatch.setattr(connection, "LIBVIRT", OptionalImport("libvirt", "libvirt-python", module=module))
    return conn


def test_volume_by_path_without_probe_only_reads(storage):
    client = make().open()
    assert client.volume_by_path("/pool/base.qcow2", probe=False)["path"] == "/pool/base.qcow2"
    assert client.volume_by_path("/pool/fresh.qcow2", probe=False) is None
    assert client.volume_by_path("/images/other.qcow2", probe=False) is None
    assert storage.changes == []


def test_volume_by_path_probes_for_files_libvirt_does_not_list(storage):
    client = make().open()
    assert client.volume_by_path("/pool/fresh.qcow2")["format"] == "qcow2"
    assert storage.changes == [("refresh", "ghost")]
    storage.changes = []
    assert client.volume_by_path("/images/other.qcow2")["pool"] is None
    assert [c[0] for c in storage.changes] == ["create transient pool", "destroy transient pool"]


def test_create_volume_says_when_another_run_made_it(storage):
    client = make().open()
    with pytest.raises(connection.AlreadyExists) as err:
        client.create_volume("ghost", "vm1.qcow2", "<volume/>")
    assert str(err.value) == "Failed to create volume 'ghost/vm1.qcow2': it exists already"


def test_start_and_resume_accept_a_domain_another_run_started(storage):
    client = make().open()
    with pytest.raises(GhostError, match="Failed to resume domain 'vm1': .* domain is not running"):
        client.resume("vm1")
    client.start("vm1")
    client.start("vm1")  # libvirt: "domain is already running", and it is
    client.resume("vm1")  # seen paused while it was starting: it runs now
    assert storage.changes == [("resume", "vm1"), ("start", "vm1"), ("start", "vm1"), ("resume", "vm1")]


def test_a_reset_while_the_daemon_starts_is_waited_out(server, monkeypatch):
    resets = [2]
    opened = server.module().open

    def flaky(uri):
        if resets[0]:
            resets[0] -= 1
            server.opens += 1
            raise LibvirtError("Cannot recv data: Connection reset by peer", 38, errno.ECONNRESET)
        return opened(uri)
    monkeypatch.setattr(connection.LIBVIRT.module, "open", flaky)
    client = make().open()
    assert server.opens == 3 and client.domain_exists("vm1")


def test_a_lost_change_whose_reopen_fails_names_what_it_was_doing(server):
    client = make(connect_timeout=5).open()
    server.generation += 1
    server.down_for = 1000  # libvirtd does not come back within connect_timeout
    with pytest.raises(connection.ConnectionLost) as err:
        client.start("vm1")
    message = str(err.value)
    assert "vm1" in message and "could not be opened again within 5" in message, message
    assert "Failed to connect socket" in message
