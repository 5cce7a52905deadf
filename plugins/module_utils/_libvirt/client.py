# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every libvirt-python call of the collection. Private to ghost.infra; no compatibility promise.

LibvirtClient never sees AnsibleModule: it takes plain values, returns plain data (parsed by
xml_parse.py) and raises GhostError with a message in the collection's shape. Domains are
addressed by name and looked up per call; connection.py opens, reopens and maps errors.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import (
    AlreadyExists,
    LibvirtCallError,
    LibvirtConnection,
    connection_broke,
    error_message,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import pool_xml
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import (
    parse_capabilities,
    parse_leases,
    parse_pool,
    parse_volume,
)

VIR_ERR_NO_SUPPORT = 3
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_NO_NETWORK = 43
VIR_ERR_NO_STORAGE_POOL = 49
VIR_ERR_NO_STORAGE_VOL = 50
VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_ARGUMENT_UNSUPPORTED = 74
VIR_ERR_STORAGE_VOL_EXIST = 90
VIR_DOMAIN_RUNNING = 1

# Where libvirt finds a domain's addresses, in the order ip_source=auto asks.
ADDRESS_FLAGS = {"lease": "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE",
                 "agent": "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT",
                 "arp": "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP"}
ADDRESS_SOURCES = ("lease", "agent", "arp")
UPLOAD_CHUNK = 256 * 1024
AGENT_READ = 48 * 1024  # bytes per guest-file-read (the reply carries them base64-encoded)
# libvirt-python's QEMU-specific calls (the guest agent); the same package as libvirt.
LIBVIRT_QEMU = optional_import("libvirt_qemu", "libvirt-python")
PROBE_ATTEMPTS = 40
PROBE_WAIT = 0.25


class LibvirtClient(LibvirtConnection):
    """The libvirt calls the modules make, over one connection (see LibvirtConnection)."""

    # -- host -------------------------------------------------------------------------

    def capabilities(self):
        """{"arch", "kvm"} of the hypervisor."""
        text = self._call(lambda c: failure("read", "capabilities of", self.uri, c),
                          lambda conn: conn.getCapabilities())
        return parse_capabilities(text)

    def host_resources(self):
        """{"cpus", "memory_total", "memory_free", "memory_cache"} of the hypervisor (bytes).

        The host-wide /proc/meminfo figures (free, buffers and page cache) rather than
        getFreeMemory(), which sums NUMA nodes and leaves out the cache the kernel gives back.
        """
        libvirt = self.libvirt

        def read(conn):
            info = conn.getInfo()
            try:
                stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS, 0)
            except libvirt.libvirtError as exc:
                if self._lost(exc):
                    raise
                stats = {}  # a driver without node memory statistics
            if "free" in stats:
                cache = stats.get("buffers", 0) + stats.get("cached", 0)
                return {"cpus": info[2], "memory_total": stats.get("total", info[1] * 1024) * 1024,
                        "memory_free": stats["free"] * 1024, "memory_cache": cache * 1024}
            return {"cpus": info[2], "memory_total": info[1] * 1024 * 1024,
                    "memory_free": conn.getFreeMemory(), "memory_cache": 0}
        return self._call(lambda c: failure("read", "memory and CPUs of", self.uri, c), read)

    # -- domains ----------------------------------------------------------------------

    def _domain(self, conn, name):
        return conn.lookupByName(name)

    def domain_exists(self, name):
        found = self._optional(lambda c: failure("look up", "domain", name, c),
                               lambda conn: self._domain(conn, name), (VIR_ERR_NO_DOMAIN,))
        return found is not None

    def domain_xml(self, name, *, inactive):
        flags = self.libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return self._call(lambda c: failure("read", "domain", name, c),
                          lambda conn: self._domain(conn, name).XMLDesc(flags))

    def domain_state(self, name):
        """(virDomainState number, is_active)."""
        def read(conn):
            dom = self._domain(conn, name)
            return dom.state()[0], bool(dom.isActive())
        return self._call(lambda c: failure("read the state of", "domain", name, c), read)

    def domain_autostart(self, name):
        return bool(self._call(lambda c: failure("read autostart of", "domain", name, c),
                               lambda conn: self._domain(conn, name).autostart()))

    def define(self, name, xml):
        self._call(lambda c: failure("define", "domain", name, c),
                   lambda conn: conn.defineXML(xml), read_only=False)

    def undefine(self, name):
        """Undefine with its NVRAM, managed save image and snapshot/checkpoint metadata."""
        libvirt = self.libvirt
        flags = 0
        for flag in ("VIR_DOMAIN_UNDEFINE_MANAGED_SAVE", "VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA",
                     "VIR_DOMAIN_UNDEFINE_NVRAM", "VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA"):
            flags |= getattr(libvirt, flag, 0)

        def run(conn):
            dom = self._domain(conn, name)
            try:
                dom.undefineFlags(flags)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() not in (VIR_ERR_NO_SUPPORT, VIR_ERR_ARGUMENT_UNSUPPORTED):
                    raise
                dom.undefine()
        self._call(lambda c: failure("undefine", "domain", name, c), run, read_only=False)

    def start(self, name, *, paused=False):
        """Start the domain; one that is running already (another run started it) is fine."""
        flags = self.libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        self._unless_done(name, "start", lambda dom: dom.createWithFlags(flags),
                          lambda dom: dom.isActive())

    def resume(self, name):
        """Resume the domain; one that runs already is fine (libvirt reports a domain it is
        starting as paused for a moment, so another run may have seen it paused)."""
        self._unless_done(name, "resume", lambda dom: dom.resume(),
                          lambda dom: dom.state()[0] == VIR_DOMAIN_RUNNING)

    def _unless_done(self, name, verb, operation, done):
        """``operation(domain)``, where libvirt's "operation invalid" is fine when ``done(domain)``
        says the domain is where the operation would take it."""
        libvirt = self.libvirt

        def run(conn):
            dom = self._domain(conn, name)
            try:
                operation(dom)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_OPERATION_INVALID or not done(dom):
                    raise
        self._call(lambda c: failure(verb, "domain", name, c), run, read_only=False)

    def suspend(self, name):
        self._call(lambda c: failure("pause", "domain", name, c),
                   lambda conn: self._domain(conn, name).suspend(), read_only=False)

    def wakeup(self, name):
        self._call(lambda c: failure("wake up", "domain", name, c),
                   lambda conn: self._domain(conn, name).pMWakeup(0), read_only=False)

    def shutdown(self, name):
        """Ask the guest to power off (ACPI). A domain that is already off is fine."""
        self._unless_off(name, "shut down", lambda dom: dom.shutdown())

    def destroy(self, name):
        """Power the domain off. A domain that is already off is fine."""
        self._unless_off(name, "power off", lambda dom: dom.destroy())

    def _unless_off(self, name, verb, operation):
        """``operation(domain)``, where libvirt's "domain is not running" means done already."""
        libvirt = self.libvirt

        def run(conn):
            try:
                operation(self._domain(conn, name))
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_OPERATION_INVALID:
                    raise
        self._call(lambda c: failure(verb, "domain", name, c), run, read_only=False)

    def set_autostart(self, name, value):
        self._call(lambda c: failure("set autostart of", "domain", name, c),
                   lambda conn: self._domain(conn, name).setAutostart(1 if value else 0),
                   read_only=False)

    def set_live_metadata(self, name, xml, namespace, prefix):
        """Replace the module's metadata element of the running definition only."""
        self._set_metadata(name, xml, namespace, prefix, flag="VIR_DOMAIN_AFFECT_LIVE")

    def set_config_metadata(self, name, xml, namespace, prefix):
        """Replace the module's metadata element of the persistent definition only (no define:
        nothing else in the definition is touched)."""
        self._set_metadata(name, xml, namespace, prefix, flag="VIR_DOMAIN_AFFECT_CONFIG")

    def _set_metadata(self, name, xml, namespace, prefix, *, flag):
        libvirt = self.libvirt
        self._call(lambda c: failure("update metadata of", "domain", name, c),
                   lambda conn: self._domain(conn, name).setMetadata(
                       libvirt.VIR_DOMAIN_METADATA_ELEMENT, xml, prefix, namespace,
                       getattr(libvirt, flag)),
                   read_only=False)

    def block_resize(self, name, target, capacity):
        """Grow a disk of a running domain through QEMU (the image is open)."""
        libvirt = self.libvirt
        self._call(lambda c: failure("resize disk %s of" % target, "domain", name, c),
                   lambda conn: self._domain(conn, name).blockResize(
                       target, capacity, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES),
                   read_only=False)

    def interface_addresses(self, name, sources=ADDRESS_SOURCES):
        """{mac: [address, ...]} from the first of ``sources`` (names of ADDRESS_FLAGS) that
        knows any address: libvirt's DHCP leases, the QEMU guest agent, the host's ARP table.
        Loopback and link-local addresses are left out; a source that cannot answer (no
        agent, agent not up yet, a libvirt without it) counts as knowing none."""
        libvirt = self.libvirt
        out = {}
        for source in sources:
            code = getattr(libvirt, ADDRESS_FLAGS[source], None)
            if code is None:
                continue

            def read(conn, code=code):
                try:
                    return self._domain(conn, name).interfaceAddresses(code, 0)
                except libvirt.libvirtError as exc:
                    if self._lost(exc):
                        raise
                    return {}
            for iface in (self._call(lambda c: failure("read addresses of", "domain", name, c), read) or {}).values():
                mac = (iface.get("hwaddr") or "").lower()
                for addr in iface.get("addrs") or []:
                    ip = addr.get("addr")
                    if mac and ip and not ip.startswith(("127.", "::1", "fe80:")) and ip not in out.get(mac, []):
                        out.setdefault(mac, []).append(ip)
            if out:
                break
        return out

    def agent_command(self, name, command, arguments=None, *, timeout=10):
        """The ``return`` of the QEMU guest agent's reply to ``command`` (through libvirt, so
        remote URIs work); LibvirtCallError when libvirt or the agent refuse."""
        qemu = LIBVIRT_QEMU.require()
        text = json.dumps({"execute": command, "arguments": arguments or {}})

        def run(conn):
            reply = qemu.qemuAgentCommand(self._domain(conn, name), text, timeout, 0)
            return json.loads(reply).get("return")
        return self._call(lambda c: failure("run guest agent command %s in" % command, "domain", name, c), run)

    def read_guest_file(self, name, path):
        """The text of the file ``path`` in the guest, read through the guest agent, or None
        when there is no such file."""
        try:
            handle = self.agent_command(name, "guest-file-open", {"path": path, "mode": "r"})
        except LibvirtCallError as exc:
            if "No such file or directory" in exc.cause:
                return None
            raise
        chunks = []
        try:
            while True:
                part = self.agent_command(name, "guest-file-read", {"handle": handle, "count": AGENT_READ})
                chunks.append(base64.b64decode(part.get("buf-b64") or ""))
                if part.get("eof") or not part.get("count"):
                    break
        finally:
            try:
                self.agent_command(name, "guest-file-close", {"handle": handle})
            except GhostError:
                pass  # the agent drops its handles when it restarts; the read is what counts
        return b"".join(chunks).decode("utf-8", "replace")

    def list_domains(self, name=None):
        """[(name, state number, autostart, xml)]: two listing calls (all domains with their
        power state; the autostart ones) and one XML read per domain.

        ``name`` limits the answer to that domain (empty list when it does not exist).
        """
        libvirt = self.libvirt
        if name is not None:
            def read_one(conn):
                try:
                    dom = self._domain(conn, name)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() == VIR_ERR_NO_DOMAIN:
                        return []
                    raise
                return [(dom.name(), dom.state()[0], bool(dom.autostart()), dom.XMLDesc(0))]
            return self._call(lambda c: failure("read", "domain", name, c), read_one)

        def read_all(conn):
            records = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
            autostart = {dom.UUIDString() for dom in
                         conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
            out = []
            for dom, record in records:
                try:
                    xml = dom.XMLDesc(0)
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() == VIR_ERR_NO_DOMAIN:
                        continue  # undefined between the listing and the read
                    raise
                out.append((dom.name(), record.get("state.state", 0),
                            dom.UUIDString() in autostart, xml))
            return sorted(out)
        return self._call(lambda c: failure("list", "domains on", self.uri, c), read_all)

    # -- networks ---------------------------------------------------------------------

    def network_exists(self, name):
        found = self._optional(lambda c: failure("look up", "network", name, c),
                               lambda conn: conn.networkLookupByName(name), (VIR_ERR_NO_NETWORK,))
        return found is not None

    def network_leases(self, name):
        """{mac: [address]} from a libvirt network's DHCP leases ({} for an unknown network)."""
        def read(conn):
            net = conn.networkLookupByName(name)
            return net.DHCPLeases() if net.isActive() else []
        leases = self._optional(lambda c: failure("read DHCP leases of", "network", name, c),
                                read, (VIR_ERR_NO_NETWORK,))
        return parse_leases(leases)

    # -- storage ----------------------------------------------------------------------

    def pool(self, name):
        """{name, type, path} of an active pool; GhostError when missing or inactive."""
        def read(conn):
            pool = conn.storagePoolLookupByName(name)
            return pool.XMLDesc(0), bool(pool.isActive())
        found = self._optional(lambda c: failure("look up", "storage pool", name, c), read,
                               (VIR_ERR_NO_STORAGE_POOL,))
        if found is None:
            raise GhostError(failure("find", "storage pool", name, "no such pool on %s" % self.uri))
        xml, active = found
        if not active:
            raise GhostError(failure("use", "storage pool", name, "the pool is not active"))
        return parse_pool(xml)

    def volume(self, pool, name):
        """The parsed volume ``name`` in ``pool`` (with ``pool``), or None."""
        def read(conn):
            return conn.storagePoolLookupByName(pool).storageVolLookupByName(name).XMLDesc(0)
        xml = self._optional(lambda c: failure("look up", "volume", "%s/%s" % (pool, name), c),
                             read, (VIR_ERR_NO_STORAGE_VOL,))
        if xml is None:
            return None
        volume = parse_volume(xml)
        volume["pool"] = pool
        return volume

    def volume_by_path(self, path, *, probe=True):
        """The parsed volume at ``path`` (with ``pool``, None for a file in no pool), or None
        when libvirt does not know the file.

        With ``probe`` a file in no pool (or added after the pool's last refresh) is still
        described with its real format and size: pools whose directory holds it are refreshed,
        else a transient dir pool on its directory reads it and is destroyed again. Without
        that, libvirt would take the image for raw when it becomes a backing store. Without
        ``probe`` (check mode) only what libvirt lists already is read: nothing changes.
        """
        libvirt = self.libvirt
        directory, _sep, name = path.rpartition("/")
        directory = directory or "/"

        def lookup(conn):
            try:
                vol = conn.storageVolLookupByPath(path)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_NO_STORAGE_VOL:
                    raise
                return None
            return vol.XMLDesc(0), vol.storagePoolLookupByVolume().name()

        def refresh_and_lookup(conn):
            found = lookup(conn)
            if found is not None or not probe:
                return found
            for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
                if (parse_pool(pool.XMLDesc(0))["path"] or "").rstrip("/") == directory.rstrip("/"):
                    pool.refresh(0)
                    return lookup(conn)
            return self._probe_in_transient_pool(conn, directory, name)

        found = self._call(lambda c: failure("look up", "volume", path, c), refresh_and_lookup)
        if found is None:
            return None
        volume = parse_volume(found[0])
        volume["pool"] = found[1]
        return volume

    def _probe_in_transient_pool(self, conn, directory, name):
        """Describe ``directory/name`` through a transient dir pool, destroyed afterwards.

        Parallel runs (Ansible forks building VMs from one base image) take turns: libvirt
        allows one pool per directory, and a probe lasts milliseconds. A pool of that name that
        stays (left by an interrupted run) is used and destroyed.
        """
        libvirt = self.libvirt
        pool_name = "ghost-probe-%s" % hashlib.sha256(directory.encode("utf-8")).hexdigest()[:12]
        xml = pool_xml(pool_name, directory)
        pool = None
        for _attempt in range(PROBE_ATTEMPTS):
            try:
                pool = conn.storagePoolCreateXML(xml, 0)
                break
            except libvirt.libvirtError as exc:
                if connection_broke(exc):
                    raise
                text = error_message(exc)
                if "already exists" not in text and "conflict" not in text.lower():
                    return None  # no such directory, or not readable: no such base image
            self._sleep(PROBE_WAIT)
        if pool is None:
            try:
                pool = conn.storagePoolLookupByName(pool_name)
            except libvirt.libvirtError:
                return None
        try:
            try:
                return pool.storageVolLookupByName(name).XMLDesc(0), None
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == VIR_ERR_NO_STORAGE_VOL:
                    return None
                raise
        finally:
            try:
                pool.destroy()
            except libvirt.libvirtError:
                pass  # a transient pool goes away with libvirtd at the latest

    def create_volume(self, pool, name, xml):
        """Create a volume from ``xml`` in ``pool``; returns it parsed. AlreadyExists when a
        volume of that name is there (made by another run since this one looked)."""
        libvirt = self.libvirt
        where = "%s/%s" % (pool, name)

        def run(conn):
            try:
                return conn.storagePoolLookupByName(pool).createXML(xml, 0).XMLDesc(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == VIR_ERR_STORAGE_VOL_EXIST:
                    return None
                raise
        text = self._call(lambda c: failure("create", "volume", where, c), run, read_only=False)
        if text is None:
            raise AlreadyExists(failure("create", "volume", where, "it exists already"))
        volume = parse_volume(text)
        volume["pool"] = pool
        return volume

    def upload_volume(self, pool, name, data):
        """Write ``data`` (bytes) into the volume from offset 0 through a libvirt stream."""
        def run(conn):
            vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
            stream = conn.newStream(0)
            try:
                vol.upload(stream, 0, len(data), 0)
                offset = 0
                while offset < len(data):
                    sent = stream.send(data[offset:offset + UPLOAD_CHUNK])
                    if sent <= 0:
                        raise GhostError("the stream accepted no data")
                    offset += sent
                stream.finish()
            except BaseException:
                try:
                    stream.abort()
                except Exception:  # pylint: disable=broad-except
                    pass  # the stream may already be closed; the first error is what matters
                raise
        self._call(lambda c: failure("upload", "volume", "%s/%s" % (pool, name), c), run,
                   read_only=False)

    def delete_volume(self, pool, name):
        """Delete a volume; False when it was already gone."""
        libvirt = self.libvirt

        def run(conn):
            try:
                vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() in (VIR_ERR_NO_STORAGE_VOL, VIR_ERR_NO_STORAGE_POOL):
                    return False
                raise
            vol.delete(0)
            return True
        return self._call(lambda c: failure("delete", "volume", "%s/%s" % (pool, name), c), run,
                          read_only=False)

    def resize_volume(self, pool, name, capacity):
        self._call(lambda c: failure("resize", "volume", "%s/%s" % (pool, name), c),
                   lambda conn: conn.storagePoolLookupByName(pool).storageVolLookupByName(name).resize(capacity, 0),
                   read_only=False)
