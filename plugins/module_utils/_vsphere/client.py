# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere API client (pyVmomi). Private to ghost.infra; no compatibility promise.

It never touches AnsibleModule: it takes plain arguments, returns the plain records
records.py describes (and converts) and raises GhostError (ApiUnreachableError when the API
does not answer, which is what the SSH fallback acts on). Reads go through the
PropertyCollector: one paged RetrievePropertiesEx walking the inventory for the inventory, one
RetrievePropertiesEx for the full state of given VMs, so a module run costs a handful of round
trips whatever the inventory size (pyVmomi's lazy properties would cost one round trip per
attribute). Their answers are read by soapxml.py (C-accelerated ElementTree) rather than
pyVmomi's per-element deserializer, sent through the stub pyVmomi logged in with
(vmomi_internals.py); pyVmomi serializes the requests and makes every other call (tasks,
login).

An esxi_vm no-op costs four SOAP calls on vCenter: Login, the inventory read, the VM read and
Logout. The inventory is walked with TraversalSpecs from the root folder (no ContainerView to
create and destroy), and the session logs in on the managers' well-known moids
(KNOWN_SERVICES) without RetrieveServiceContent, which runs only when something else of the
service content is needed (a create, a standalone host's disk copies).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import socket
import ssl
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records, vmomi_internals
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import POWERED_OFF, POWERED_ON, pick_ip
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import (
    SoapFault,
    parse_fault,
    parse_retrieve_result,
)

PYVMOMI = optional_import("pyVmomi", "pyvmomi")
PYVIM_CONNECT = optional_import("pyVim.connect", "pyvmomi")

# Seconds one HTTP request to the API may take (connect or answer) before the API counts as
# not answering. Long operations are tasks, which answer at once.
REQUEST_TIMEOUT = 60
# Objects per RetrievePropertiesEx page; the rest come through ContinueRetrievePropertiesEx.
PAGE_SIZE = 1000

# Properties read for the inventory (finding VMs by name) and for a VM's full state.
INVENTORY_VM_PROPERTIES = ("name", "parent", "config.template")
VM_PROPERTIES = (
    "name", "parent", "config.template", "config.uuid", "config.instanceUuid",
    "config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device",
    "config.extraConfig", "config.cpuHotAddEnabled", "config.cpuHotRemoveEnabled",
    "config.memoryHotAddEnabled", "runtime.powerState", "runtime.host", "guest.ipAddress",
    "guest.net", "guest.toolsRunningStatus", "datastore", "resourcePool",
    "snapshot.currentSnapshot",
)
# What esxi_vm_info shows of a VM (views.vm_view): the full record less placement and hot-add.
INFO_VM_PROPERTIES = (
    "name", "parent", "config.template", "config.uuid", "config.instanceUuid",
    "config.hardware.numCPU", "config.hardware.memoryMB", "config.hardware.device",
    "config.extraConfig", "runtime.powerState", "guest.ipAddress", "guest.net",
)
TASK_PROPERTIES = ("info.state", "info.error", "info.result")

# The service content's managers by their well-known moids: (session manager, {content
# attribute: (type, moid)}, whether that is a standalone host). vCenter has used these since
# 2.5, hostd its ``ha-`` names; Login on the first session manager that exists replaces
# RetrieveServiceContent + Login. Neither found: RetrieveServiceContent as usual.
KNOWN_SERVICES = (
    ("SessionManager", {"rootFolder": ("Folder", "group-d1"),
                        "propertyCollector": ("PropertyCollector", "propertyCollector")}, None),
    ("ha-sessionmgr", {"rootFolder": ("Folder", "ha-folder-root"),
                       "propertyCollector": ("PropertyCollector", "ha-property-collector")}, True),
)

# How the PropertyCollector walks the inventory below a folder or datacenter: spec name ->
# (type, path, next specs). A recursive ContainerView holds the same objects, but costs a
# CreateContainerView and a DestroyView around the read. vcsim applies a path to any object
# that has a field of that name, whatever the spec's type: no walk may lead from a VM to its
# resource pool (and back to every VM of the pool).
WALK = {
    "folder": ("Folder", "childEntity",
               ("folder", "dc_vms", "dc_hosts", "dc_datastores", "dc_networks", "compute_hosts", "compute_pool",
                "vapp_vms")),
    "dc_vms": ("Datacenter", "vmFolder", ("folder",)),
    "dc_hosts": ("Datacenter", "hostFolder", ("folder",)),
    "dc_datastores": ("Datacenter", "datastoreFolder", ("folder",)),
    "dc_networks": ("Datacenter", "networkFolder", ("folder",)),
    "compute_hosts": ("ComputeResource", "host", ()),
    "compute_pool": ("ComputeResource", "resourcePool", ("pool",)),
    "pool": ("ResourcePool", "resourcePool", ("pool",)),
    "vapp_vms": ("VirtualApp", "vm", ()),
}
# The walks each type of object needs ("folder" always).
# A type not listed gets every walk.
WALK_FOR_TYPE = {
    "Datacenter": (),
    "VirtualMachine": ("dc_vms", "vapp_vms"),
    "VirtualApp": ("dc_vms", "dc_hosts", "compute_pool", "pool"),
    "Folder": ("dc_vms",),
    "Network": ("dc_networks",),
    "OpaqueNetwork": ("dc_networks",),
    "DistributedVirtualPortgroup": ("dc_networks",),
    "DistributedVirtualSwitch": ("dc_networks",),
    "VmwareDistributedVirtualSwitch": ("dc_networks",),
    "Datastore": ("dc_datastores",),
    "StoragePod": ("dc_datastores",),
    "ComputeResource": ("dc_hosts",),
    "ClusterComputeResource": ("dc_hosts",),
    "HostSystem": ("dc_hosts", "compute_hosts"),
    "ResourcePool": ("dc_hosts", "compute_pool", "pool"),
}


class ApiUnreachableError(GhostError):
    """The vSphere API did not answer (refused, timed out, no such host, not a vSphere API)."""


def _scrub(text, secret):
    text = str(text)
    if secret:
        text = text.replace(secret, "********")
    return text


def _fault_text(exc):
    """A vSphere fault as ``FaultName: message`` without pyVmomi's multi-line dump."""
    name = type(exc).__name__.split(".")[-1]
    msg = getattr(exc, "msg", None) or getattr(exc, "localizedMessage", None)
    if not msg:
        faults = getattr(exc, "faultMessage", None) or []
        msg = "; ".join(getattr(f, "message", "") or "" for f in faults if f) or None
    return "%s: %s" % (name, msg) if msg else name


def walk(types):
    """The WALK spec names that reach every object of ``types`` (type names)."""
    names = {"folder"}
    for kind in types:
        names.update(WALK_FOR_TYPE.get(kind, tuple(WALK)))
    return {name: (kind, path, tuple(n for n in following if n in names))
            for name, (kind, path, following) in WALK.items() if name in names}


class KnownContent:
    """The service content of a session logged in through KNOWN_SERVICES: the managers whose
    moids are known, and RetrieveServiceContent (once) for anything else."""

    def __init__(self, known, fetch):
        self._known = known
        self._fetch = fetch
        self._content = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._known:
            return self._known[name]
        if self._content is None:
            self._content = self._fetch()
        return getattr(self._content, name)


class VsphereClient:
    """A logged-in session. Use ``with VsphereClient.connect(...) as client:`` to log out."""

    def __init__(self, stub, content, *, host_agent=None):
        self._stub = stub
        self.content = content
        self._devices = {}
        # Known from the login when it went through hostd's session manager; else asked once.
        self._host_agent = host_agent
        # Reads bypass pyVmomi's slow deserializer when its stub offers what that needs.
        self._raw_reads = vmomi_internals.raw_reads_supported(stub)

    @property
    def host_agent(self):
        """Whether this is a standalone ESXi host (hostd) rather than vCenter: no CloneVM_Task there."""
        if self._host_agent is None:
            about = self.content.about
            self._host_agent = getattr(about, "apiType", None) == "HostAgent"
        return self._host_agent

    # -- session ------------------------------------------------------------------------------

    @classmethod
    def connect(cls, *, hostname, username, password, port=443, validate_certs=True,
                timeout=REQUEST_TIMEOUT):
        """Log in; raise GhostError (ApiUnreachableError when nothing answers) without ever
        including the password."""
        for option, value, env in (("hostname", hostname, "VMWARE_HOST"), ("username", username, "VMWARE_USER"),
                                   ("password", password, "VMWARE_PASSWORD")):
            if not value:
                raise GhostError("is required: set the option or the environment variable %s" % env, option=option)
        pyvmomi = PYVMOMI.require()
        connect = PYVIM_CONNECT.require()
        vim = pyvmomi.vim
        where = "%s:%s" % (hostname, port)
        if validate_certs:
            context = ssl.create_default_context()
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        # pyVmomi's version probe opens its connection without a timeout: bound it here.
        default_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            stub = connect.SmartStubAdapter(host=hostname, port=int(port), sslContext=context,
                                            httpConnectionTimeout=timeout, connectionPoolTimeout=-1)
            content, host_agent = cls._login(pyvmomi, stub, username, password)
        except vim.fault.InvalidLogin:
            raise GhostError("Failed to log in to the vSphere API at %s as '%s': incorrect user name or password"
                             % (where, username))
        except vim.fault.NoPermission as exc:
            raise GhostError("Failed to log in to the vSphere API at %s as '%s': no permission (%s)"
                             % (where, username, _scrub(_fault_text(exc), password)))
        except ssl.SSLCertVerificationError as exc:
            raise GhostError(
                "Failed to connect to the vSphere API at %s: its TLS certificate is not trusted (%s). "
                "Add its CA to the system's trust store, or set validate_certs: false for a lab host "
                "with a self-signed certificate" % (where, exc.verify_message or exc.reason))
        except ssl.SSLError as exc:
            raise GhostError("Failed to connect to the vSphere API at %s: TLS handshake failed (%s)"
                             % (where, exc.reason or exc))
        except socket.gaierror as exc:
            raise ApiUnreachableError("Failed to connect to the vSphere API at %s: unknown host (%s)"
                                      % (where, exc.strerror or exc))
        except (socket.timeout, TimeoutError):
            raise ApiUnreachableError("Failed to connect to the vSphere API at %s: no answer within %s seconds"
                                      % (where, timeout))
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise ApiUnreachableError("Failed to connect to the vSphere API at %s: %s" % (where, _scrub(reason, password)))
        except vim.fault.VimFault as exc:
            raise GhostError("Failed to log in to the vSphere API at %s as '%s': %s"
                             % (where, username, _scrub(_fault_text(exc), password)))
        except Exception as exc:  # pyVmomi raises a bare Exception when no vSphere API answers
            text = _scrub(exc, password)
            if "is not a VIM server" in text:
                raise ApiUnreachableError("Failed to connect to the vSphere API at %s: no vSphere API answers "
                                          "there (%s)" % (where, text))
            raise GhostError("Failed to connect to the vSphere API at %s: %s: %s" % (where, type(exc).__name__, text))
        finally:
            socket.setdefaulttimeout(default_timeout)
        return cls(stub, content, host_agent=host_agent)

    @staticmethod
    def _login(pyvmomi, stub, username, password):
        """Log in; return (service content, host_agent or None when not known yet)."""
        vim = pyvmomi.vim

        def fetch():
            return vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()

        def fetch_later():
            try:
                return fetch()
            except pyvmomi.vmodl.MethodFault as exc:
                raise GhostError("Failed to read the vSphere service content: %s" % _fault_text(exc))
            except (OSError, http.client.HTTPException) as exc:
                raise GhostError("Failed to read the vSphere service content: the connection failed: %s" % exc)

        for session_moid, known, host_agent in KNOWN_SERVICES:
            manager = vim.SessionManager(session_moid, stub)
            try:
                manager.Login(username, password, None)
            except pyvmomi.vmodl.fault.ManagedObjectNotFound:
                continue  # another product: try the next names
            objects = {name: getattr(vim, kind)(moid, stub) for name, (kind, moid) in known.items()}
            objects["sessionManager"] = manager
            return KnownContent(objects, fetch_later), host_agent
        content = fetch()
        content.sessionManager.Login(username, password, None)
        return content, None

    def close(self):
        """Log out (vCenter keeps sessions otherwise); errors are ignored."""
        try:
            self.content.sessionManager.Logout()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- plumbing -----------------------------------------------------------------------------

    def _ref(self, kind, moid):
        """A managed object reference of type ``kind`` (``VirtualMachine``, ``vm.Snapshot``)."""
        cls = PYVMOMI.require().vim
        for part in kind.split("."):
            cls = getattr(cls, part)
        return cls(moid, self._stub)

    def _call(self, what, func, *args, **kwargs):
        """Call the API; faults and lost connections become GhostError naming ``what``."""
        vmodl = PYVMOMI.require().vmodl
        try:
            return func(*args, **kwargs)
        except vmodl.MethodFault as exc:
            raise GhostError("%s: %s" % (what, _fault_text(exc)))
        except (OSError, http.client.HTTPException) as exc:
            raise GhostError("%s: the vSphere API connection failed: %s" % (what, exc))

    def _post(self, method, args):
        """POST one PropertyCollector method, return (HTTP status, body) unparsed."""
        return vmomi_internals.post(self._stub, self.content.propertyCollector, method, args)

    def _page(self, what, method, args):
        """One page of a PropertyCollector read as (token, [(MoRef, {path: plain value})])."""
        if not self._raw_reads:
            result = self._call(what, getattr(self.content.propertyCollector, method), *args)
            if result is None:
                return None, []
            plain = vmomi_internals.from_pyvmomi
            return result.token, [(plain(o.obj), {p.name: plain(p.val) for p in o.propSet or []})
                                  for o in result.objects or []]
        try:
            status, data = self._post(method, args)
            if status == 500:
                raise parse_fault(data)
            if status != 200:
                raise GhostError("%s: the vSphere API answered HTTP %s" % (what, status))
            return parse_retrieve_result(data)
        except SoapFault as exc:
            raise GhostError("%s: %s" % (what, exc))
        except (OSError, http.client.HTTPException) as exc:
            raise GhostError("%s: the vSphere API connection failed: %s" % (what, exc))

    def _retrieve(self, what, object_specs, property_specs):
        """One paged RetrievePropertiesEx; yields ``(MoRef, {path: plain value})``."""
        pc = PYVMOMI.require().vmodl.query.PropertyCollector
        spec = pc.FilterSpec(objectSet=object_specs, propSet=property_specs)
        options = pc.RetrieveOptions(maxObjects=PAGE_SIZE)
        token, objects = self._page(what, "RetrievePropertiesEx", [[spec], options])
        while True:
            yield from objects
            if not token:
                break
            token, objects = self._page(what, "ContinueRetrievePropertiesEx", [token])

    def _walk_specs(self, root, properties):
        """Object and property specs walking the inventory below ``root`` (not reported itself)
        with TraversalSpecs (walk()); ``properties`` maps a type to its property paths."""
        vim, vmodl = PYVMOMI.require().vim, PYVMOMI.require().vmodl
        pc = vmodl.query.PropertyCollector
        specs = walk(properties)
        traversals = [pc.TraversalSpec(name=name, type=getattr(vim, kind), path=path, skip=False,
                                       selectSet=[pc.SelectionSpec(name=n) for n in following])
                      for name, (kind, path, following) in sorted(specs.items())]
        objects = [pc.ObjectSpec(obj=root, skip=True, selectSet=traversals)]
        props = [pc.PropertySpec(type=getattr(vim, kind), pathSet=list(paths), all=False)
                 for kind, paths in properties.items()]
        return objects, props

    def _collect_view(self, what, root, properties):
        """Everything of the types in ``properties`` below ``root`` (a folder or datacenter)
        in ONE paged RetrievePropertiesEx; ``properties`` maps a type to its property paths."""
        objects, props = self._walk_specs(root, properties)
        return list(self._retrieve(what, objects, props))

    # -- reads --------------------------------------------------------------------------------

    def inventory(self, *, full=False):
        """Datacenters, folders, networks and every VM (as records.py describes): ONE paged
        RetrievePropertiesEx walking from the root folder. ``full`` reads what the info module
        shows of every VM; otherwise only what finds a VM by name."""
        vm_props = INFO_VM_PROPERTIES if full else INVENTORY_VM_PROPERTIES
        properties = {
            "VirtualMachine": vm_props,
            "Folder": ("name", "parent"),
            "Datacenter": ("name", "parent", "vmFolder"),
            "Network": ("name",),
            "DistributedVirtualPortgroup": ("key",),
        }
        found = self._collect_view("Failed to read the vSphere inventory", self.content.rootFolder, properties)
        return records.inventory_record(found, full=full, is_a=vmomi_internals.is_a)

    def _vm_properties(self, what, moids, paths):
        """``{moid: {path: plain value}}`` of the VMs ``moids`` in ONE RetrievePropertiesEx."""
        pc = PYVMOMI.require().vmodl.query.PropertyCollector
        objects = [pc.ObjectSpec(obj=self._ref("VirtualMachine", m), skip=False) for m in moids]
        props = [pc.PropertySpec(type=PYVMOMI.require().vim.VirtualMachine, pathSet=list(paths), all=False)]
        return {ref.value: values for ref, values in self._retrieve(what, objects, props)}

    def read_vms(self, moids, networks=None):
        """Full records of the VMs ``moids`` in ONE RetrievePropertiesEx, in that order;
        a VM that is gone is left out."""
        try:
            found = self._vm_properties("Failed to read VM state", moids, VM_PROPERTIES)
        except GhostError as exc:
            # One VM that is gone: vSphere faults rather than leaving it out.
            if "ManagedObjectNotFound" not in str(exc) or len(moids) != 1:
                raise
            found = {}
        return [records.vm_record(moid, found[moid], networks=networks, is_a=vmomi_internals.is_a)
                for moid in moids if moid in found]

    def placement(self, datacenter):
        """Resource pools, compute resources, hosts, datastores and networks of a datacenter
        (plain, for spec.clone_request) in ONE paged RetrievePropertiesEx."""
        properties = {
            "ResourcePool": ("name", "parent", "owner"),
            "ComputeResource": ("name", "resourcePool", "host"),
            "HostSystem": ("name", "parent"),
            "Datastore": ("name", "summary.accessible"),
            "Network": ("name",),
            "DistributedVirtualPortgroup": ("key", "config.distributedVirtualSwitch"),
            "DistributedVirtualSwitch": ("uuid",),
        }
        found = self._collect_view("Failed to read the datacenter's resources",
                                   self._ref("Datacenter", datacenter), properties)
        return records.placement_record(found, is_a=vmomi_internals.is_a)

    # -- changes ------------------------------------------------------------------------------

    def _task_info(self, what, task):
        """``{"info.state", "info.error", "info.result"}`` of a task, plain, in ONE
        RetrievePropertiesEx: soapxml reads any fault, also one pyVmomi has no type for."""
        pc = PYVMOMI.require().vmodl.query.PropertyCollector
        props = [pc.PropertySpec(type=PYVMOMI.require().vim.Task, pathSet=list(TASK_PROPERTIES), all=False)]
        found = list(self._retrieve(what, [pc.ObjectSpec(obj=task, skip=False)], props))
        return found[0][1] if found else {}

    def _wait_task(self, task, what, timeout=3600):
        """Wait for a task; return its result (plain: a MoRef for a new VM) or raise GhostError
        with the fault."""
        delay, deadline = 0.05, time.monotonic() + timeout
        while True:
            info = self._task_info(what, task)
            if info.get("info.state") == "success":
                return info.get("info.result")
            if info.get("info.state") == "error":
                raise GhostError("%s: %s" % (what, records.fault_text(info.get("info.error"))))
            if time.monotonic() > deadline:
                raise GhostError("%s: the task did not finish within %s seconds" % (what, timeout))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _device(self, moid, key):
        """The pyVmomi device ``key`` of a VM, for an edit in a config spec (read once per VM,
        only when a disk or NIC changes)."""
        if moid not in self._devices:
            vm = self._ref("VirtualMachine", moid)
            devices = self._call("Failed to read the devices of %s" % moid, lambda: vm.config.hardware.device)
            self._devices[moid] = {d.key: d for d in devices or []}
        try:
            return self._devices[moid][key]
        except KeyError:
            raise GhostError("device %s of %s does not exist" % (key, moid))

    def _nic_backing(self, network):
        vim = PYVMOMI.require().vim
        card = vim.vm.device.VirtualEthernetCard
        if network["kind"] == "distributed":
            port = vim.dvs.PortConnection(portgroupKey=network["key"], switchUuid=network.get("switch_uuid"))
            return card.DistributedVirtualPortBackingInfo(port=port)
        if network["kind"] == "opaque":
            raise GhostError("opaque (NSX) networks are not supported", option="network")
        return card.NetworkBackingInfo(deviceName=network["name"], network=self._ref("Network", network["moid"]))

    def _config_spec(self, moid, request):
        """A ConfigSpec for cpu/memory_mb/disk/nic/extra_config of a plain request."""
        vim = PYVMOMI.require().vim
        spec = vim.vm.ConfigSpec()
        if request.get("cpu"):
            spec.numCPUs = int(request["cpu"])
        if request.get("memory_mb"):
            spec.memoryMB = int(request["memory_mb"])
        if request.get("extra_config"):
            spec.extraConfig = [vim.option.OptionValue(key=k, value=v)
                                for k, v in sorted(request["extra_config"].items())]
        changes = []
        if request.get("disk"):
            disk = self._device(moid, request["disk"]["key"])
            disk.capacityInKB = int(request["disk"]["capacity_kb"])
            disk.capacityInBytes = int(request["disk"]["capacity_kb"]) * 1024
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=disk))
        if request.get("nic"):
            nic = self._device(moid, request["nic"]["key"])
            nic.backing = self._nic_backing(request["nic"]["network"])
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic))
        if changes:
            spec.deviceChange = changes
        return spec

    def clone(self, request):
        """Clone ``request["template"]`` (spec.clone_request) with the guestinfo keys in the
        clone spec's extraConfig, so the first boot sees them. Returns the new VM's moid.

        The clone stays powered off: with ``powerOn`` in the clone spec a failed power-on fails
        the clone task although the VM exists, and the caller could not tell the two apart."""
        vim = PYVMOMI.require().vim
        what = "Failed to clone VM '%s'" % request["name"]
        location = vim.vm.RelocateSpec(pool=self._ref("ResourcePool", request["pool"]))
        if request.get("datastore"):
            location.datastore = self._ref("Datastore", request["datastore"])
        spec = vim.vm.CloneSpec(location=location, powerOn=False, template=False,
                                config=self._config_spec(request["template"], request))
        if request.get("linked_clone"):
            location.diskMoveType = "createNewChildDiskBacking"
            spec.snapshot = self._ref("vm.Snapshot", request["snapshot"])
        elif request.get("disk_format"):
            thin, scrub = {"thin": (True, False), "thick": (False, False),
                           "eager_zeroed_thick": (False, True)}[request["disk_format"]]
            backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo
            location.disk = [vim.vm.RelocateSpec.DiskLocator(
                diskId=key, datastore=location.datastore or self._ref("Datastore", request["datastore"]),
                diskBackingInfo=backing(thinProvisioned=thin, eagerlyScrub=scrub, diskMode="persistent"))
                for key in request.get("disk_keys") or []]
        source = self._ref("VirtualMachine", request["template"])
        task = self._call(what, source.CloneVM_Task, folder=self._ref("Folder", request["folder"]),
                          name=request["name"], spec=spec)
        return records.moid_of(self._wait_task(task, what))

    def _vm_task(self, what, moid, start):
        """Start a task with ``start(vm)`` on VM ``moid`` and wait for it to finish."""
        vm = self._ref("VirtualMachine", moid)
        self._wait_task(self._call(what, start, vm), what)

    def reconfigure(self, moid, request, name):
        spec = self._config_spec(moid, request)
        self._vm_task("Failed to reconfigure VM '%s'" % name, moid, lambda vm: vm.ReconfigVM_Task(spec=spec))

    def power_on(self, moid, name):
        self._vm_task("Failed to power on VM '%s'" % name, moid, lambda vm: vm.PowerOnVM_Task())

    def power_off(self, moid, name):
        self._vm_task("Failed to power off VM '%s'" % name, moid, lambda vm: vm.PowerOffVM_Task())

    def _power_state(self, moid):
        found = self._vm_properties("Failed to read the power state", [moid], ["runtime.powerState"])
        return found.get(moid, {}).get("runtime.powerState")

    def shutdown(self, record, timeout):
        """Shut the guest down through VMware Tools, wait up to ``timeout`` seconds, then power
        off hard. Returns ``"guest"`` or ``"hard"`` (how it went down)."""
        moid, name = record["moid"], record["name"]
        if record.get("tools_running") and timeout > 0:
            vm = self._ref("VirtualMachine", moid)
            try:
                self._call("shut down", vm.ShutdownGuest)
            except GhostError:
                pass  # Tools went away or refused: fall through to the hard power-off
            else:
                deadline = time.monotonic() + timeout
                delay = 0.1
                while time.monotonic() < deadline:
                    if self._power_state(moid) == POWERED_OFF:
                        return "guest"
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
        if self._power_state(moid) != POWERED_OFF:
            self.power_off(moid, name)
        return "hard"

    def destroy(self, moid, name):
        self._vm_task("Failed to delete VM '%s'" % name, moid, lambda vm: vm.Destroy_Task())

    def wait_for_ip(self, moid, name, timeout, networks=None):
        """Poll until the guest reports a usable IPv4 address (records.pick_ip); return the
        record. Raises GhostError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            found = self.read_vms([moid], networks)
            if not found:
                raise GhostError("Failed to wait for an IP address of VM '%s': it is gone" % name)
            record = found[0]
            if pick_ip(record):
                return record
            if record.get("power_state") != POWERED_ON:
                raise GhostError("Failed to wait for an IP address of VM '%s': it is %s" % (name, record.get("power_state")))
            if time.monotonic() >= deadline:
                raise GhostError("Failed to wait for an IP address of VM '%s': none within %s seconds "
                                 "(link-local addresses do not count)" % (name, timeout),
                                 details={"vm_moid": moid})
            time.sleep(delay)
            delay = min(delay * 1.5, 3.0)
