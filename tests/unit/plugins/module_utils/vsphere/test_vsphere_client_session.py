# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client's session and walk, without a server: login on the managers' well-known moids
(RetrieveServiceContent only when needed) and the TraversalSpecs that replace a ContainerView."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import types

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import client as client_mod

INVENTORY_TYPES = ("VirtualMachine", "Folder", "Datacenter", "Network", "DistributedVirtualPortgroup")
PLACEMENT_TYPES = ("ResourcePool", "ComputeResource", "HostSystem", "Datastore", "Network",
                   "DistributedVirtualPortgroup", "DistributedVirtualSwitch")


def test_every_walk_names_only_walks_it_defines():
    for kinds in (INVENTORY_TYPES, PLACEMENT_TYPES, ("NoSuchType",)):
        specs = client_mod.walk(kinds)
        for _kind, _path, following in specs.values():
            assert set(following) <= set(specs)


def test_the_inventory_walk_reaches_vms_folders_and_networks_only():
    specs = client_mod.walk(INVENTORY_TYPES)
    assert set(specs) == {"folder", "dc_vms", "dc_networks", "vapp_vms"}
    # vcsim follows a path on any object with that field: nothing may lead from a VM to its pool.
    assert not any(path == "resourcePool" for _kind, path, _following in specs.values())


def test_the_placement_walk_reaches_hosts_pools_datastores_and_networks_not_vms():
    specs = client_mod.walk(PLACEMENT_TYPES)
    assert set(specs) == {"folder", "dc_hosts", "dc_datastores", "dc_networks", "compute_hosts", "compute_pool",
                          "pool"}
    assert specs["pool"] == ("ResourcePool", "resourcePool", ("pool",))
    assert specs["folder"][2] == ("folder", "dc_hosts", "dc_datastores", "dc_networks", "compute_hosts",
                                  "compute_pool")


def test_an_unknown_type_gets_every_walk():
    assert set(client_mod.walk(("NoSuchType",))) == set(client_mod.WALK)


def test_walk_specs_skip_the_root_and_define_every_traversal():
    pyvmomi = pytest.importorskip("pyVmomi")
    client = client_mod.VsphereClient(object(), None, host_agent=False)
    root = pyvmomi.vim.Folder("group-d1")
    objects, props = client._walk_specs(root, {"VirtualMachine": ("name",), "Folder": ("name", "parent")})
    assert len(objects) == 1 and objects[0].obj == root and objects[0].skip is True
    names = {spec.name for spec in objects[0].selectSet}
    assert names == {"folder", "dc_vms", "vapp_vms"}
    for spec in objects[0].selectSet:
        assert {s.name for s in spec.selectSet} <= names
    assert sorted(p.type.__name__.split(".")[-1] for p in props) == ["Folder", "VirtualMachine"]


class FakeSessionManager:
    def __init__(self, moid, server):
        self.moid = moid
        self.server = server

    def Login(self, username, password, locale):
        self.server.calls.append(("Login", self.moid))
        if self.moid not in self.server.session_managers:
            raise self.server.NotFound()

    def Logout(self):
        self.server.calls.append(("Logout", self.moid))


class FakeServer:
    """Just enough of pyVmomi for VsphereClient._login: typed references and the two calls."""

    def __init__(self, session_managers, about="VirtualCenter"):
        self.calls = []
        self.session_managers = session_managers
        server = self

        class NotFound(Exception):
            pass

        class MethodFault(Exception):
            pass

        self.NotFound = NotFound

        def reference(kind):
            return lambda moid, stub=None: types.SimpleNamespace(kind=kind, moid=moid)

        def service_instance(moid, stub=None):
            def retrieve():
                server.calls.append(("RetrieveServiceContent", moid))
                return types.SimpleNamespace(
                    about=types.SimpleNamespace(apiType=about), rootFolder="root-from-content",
                    sessionManager=FakeSessionManager(session_managers[0] if session_managers else "none", server))
            return types.SimpleNamespace(RetrieveContent=retrieve)

        self.pyvmomi = types.SimpleNamespace(
            vim=types.SimpleNamespace(SessionManager=lambda moid, stub=None: FakeSessionManager(moid, server),
                                      ServiceInstance=service_instance, Folder=reference("Folder"),
                                      PropertyCollector=reference("PropertyCollector")),
            vmodl=types.SimpleNamespace(MethodFault=MethodFault,
                                        fault=types.SimpleNamespace(ManagedObjectNotFound=NotFound)))


def test_vcenter_logs_in_without_retrieving_the_service_content():
    server = FakeServer(["SessionManager"])
    content, host_agent = client_mod.VsphereClient._login(server.pyvmomi, "stub", "u", "p")
    assert server.calls == [("Login", "SessionManager")]
    assert (content.rootFolder.kind, content.rootFolder.moid) == ("Folder", "group-d1")
    assert content.propertyCollector.moid == "propertyCollector"
    assert host_agent is None
    client = client_mod.VsphereClient(object(), content, host_agent=host_agent)
    assert client.host_agent is False
    assert client.host_agent is False
    assert server.calls == [("Login", "SessionManager"), ("RetrieveServiceContent", "ServiceInstance")]


def test_a_standalone_host_logs_in_on_its_own_session_manager():
    server = FakeServer(["ha-sessionmgr"], about="HostAgent")
    content, host_agent = client_mod.VsphereClient._login(server.pyvmomi, "stub", "u", "p")
    assert server.calls == [("Login", "SessionManager"), ("Login", "ha-sessionmgr")]
    assert host_agent is True
    assert content.rootFolder.moid == "ha-folder-root"
    assert content.propertyCollector.moid == "ha-property-collector"
    client = client_mod.VsphereClient(object(), content, host_agent=host_agent)
    client.close()
    assert server.calls[-1] == ("Logout", "ha-sessionmgr")
    assert client.host_agent is True
    assert not any(name == "RetrieveServiceContent" for name, _moid in server.calls)


def test_other_names_fall_back_to_the_service_content():
    server = FakeServer(["vpxd-elsewhere"])
    content, host_agent = client_mod.VsphereClient._login(server.pyvmomi, "stub", "u", "p")
    assert server.calls == [("Login", "SessionManager"), ("Login", "ha-sessionmgr"),
                            ("RetrieveServiceContent", "ServiceInstance"), ("Login", "vpxd-elsewhere")]
    assert content.rootFolder == "root-from-content"
    assert host_agent is None


def test_the_rest_of_the_content_is_fetched_once():
    fetched = []

    def fetch():
        fetched.append(1)
        return types.SimpleNamespace(fileManager="fm", searchIndex="si")

    content = client_mod.KnownContent({"rootFolder": "root"}, fetch)
    assert content.rootFolder == "root" and not fetched
    assert (content.fileManager, content.searchIndex) == ("fm", "si")
    assert fetched == [1]
    with pytest.raises(AttributeError):
        content.nothingLikeThis  # noqa: B018 (the attribute access is the test)


def test_a_failed_later_fetch_is_a_ghost_error():
    server = FakeServer(["SessionManager"])

    def broken(moid, stub=None):
        def retrieve():
            raise OSError("connection reset")
        return types.SimpleNamespace(RetrieveContent=retrieve)

    server.pyvmomi.vim.ServiceInstance = broken
    content, _agent = client_mod.VsphereClient._login(server.pyvmomi, "stub", "u", "p")
    with pytest.raises(GhostError, match="service content: the connection failed: connection reset"):
        content.about  # noqa: B018
