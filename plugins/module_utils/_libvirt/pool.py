# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The libvirt-python calls of ghost.infra.libvirt_pool. Private to ghost.infra.

PoolClient never sees AnsibleModule: it takes names and XML text, returns plain data and raises
GhostError in the collection's message shape (connection.py maps libvirt's errors and reopens
a lost connection). Pools are looked up by name in every call.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtConnection

VIR_ERR_NO_STORAGE_POOL = 49
VIR_ERR_NO_STORAGE_VOL = 50
VIR_ERR_OPERATION_INVALID = 55


class PoolClient(LibvirtConnection):
    """libvirt storage pool calls over one connection (see LibvirtConnection)."""

    def read_pool(self, name):
        """None when there is no such pool, else ``xml`` (the persistent definition),
        ``active``, ``autostart``, ``persistent``, ``sizes`` (capacity, allocation and available
        bytes as of libvirt's last refresh; None when inactive) and ``volumes`` (names; None
        when inactive)."""
        libvirt = self.libvirt

        def read(conn):
            pool = conn.storagePoolLookupByName(name)
            active = bool(pool.isActive())
            found = {"xml": pool.XMLDesc(libvirt.VIR_STORAGE_XML_INACTIVE),
                     "active": active,
                     "autostart": bool(pool.autostart()),
                     "persistent": bool(pool.isPersistent()),
                     "sizes": None,
                     "volumes": None}
            if active:
                _state, capacity, allocation, available = pool.info()
                found["sizes"] = {"capacity": capacity, "allocation": allocation,
                                  "available": available}
                found["volumes"] = sorted(pool.listVolumes())
            return found
        return self._optional(lambda c: failure("read", "storage pool", name, c), read,
                              (VIR_ERR_NO_STORAGE_POOL,))

    def logical_sources(self):
        """The XML of libvirt's discovery of LVM volume groups on the host (runs ``pvs``)."""
        return self._call(lambda c: failure("list", "LVM volume groups on", self.uri, c),
                          lambda conn: conn.findStoragePoolSources("logical", None, 0))

    def define(self, name, xml):
        self._call(lambda c: failure("define", "storage pool", name, c),
                   lambda conn: conn.storagePoolDefineXML(xml, 0), read_only=False)

    def build(self, name, *, no_overwrite=False):
        """virStoragePool.build: a dir pool's directory (mkdir), a logical pool's volume group
        (with ``no_overwrite``, libvirt refuses devices that already hold data)."""
        flags = self.libvirt.VIR_STORAGE_POOL_BUILD_NO_OVERWRITE if no_overwrite else 0
        self._call(lambda c: failure("build", "storage pool", name, c),
                   lambda conn: conn.storagePoolLookupByName(name).build(flags), read_only=False)

    def start(self, name):
        """Start the pool; one already active (another run started it) is fine."""
        self._unless(name, "start", lambda pool: pool.create(0), lambda pool: pool.isActive())

    def stop(self, name):
        self._unless(name, "stop", lambda pool: pool.destroy(), lambda pool: not pool.isActive())

    def _unless(self, name, verb, operation, done):
        libvirt = self.libvirt

        def run(conn):
            pool = conn.storagePoolLookupByName(name)
            try:
                operation(pool)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_OPERATION_INVALID or not done(pool):
                    raise
        self._call(lambda c: failure(verb, "storage pool", name, c), run, read_only=False)

    def delete_storage(self, name):
        """virStoragePool.delete of an inactive pool: a dir pool's (empty) directory."""
        self._call(lambda c: failure("delete the storage of", "storage pool", name, c),
                   lambda conn: conn.storagePoolLookupByName(name).delete(0), read_only=False)

    def undefine(self, name):
        self._call(lambda c: failure("undefine", "storage pool", name, c),
                   lambda conn: conn.storagePoolLookupByName(name).undefine(), read_only=False)

    def set_autostart(self, name, value):
        self._call(lambda c: failure("set autostart of", "storage pool", name, c),
                   lambda conn: conn.storagePoolLookupByName(name).setAutostart(1 if value else 0),
                   read_only=False)

    def delete_volume(self, pool, name):
        """Delete volume ``name`` of ``pool``; one already gone is fine."""
        libvirt = self.libvirt

        def run(conn):
            try:
                conn.storagePoolLookupByName(pool).storageVolLookupByName(name).delete(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() != VIR_ERR_NO_STORAGE_VOL:
                    raise
        self._call(lambda c: failure("delete", "volume", "%s/%s" % (pool, name), c), run,
                   read_only=False)
