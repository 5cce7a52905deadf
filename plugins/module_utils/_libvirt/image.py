# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The libvirt calls of libvirt_image: list a pool's volume names, stream an image file into a
new volume, read a volume back to hash it, and find what still uses an image. Private to
ghost.infra; never sees AnsibleModule, raises GhostError.

Everything goes through the storage API and libvirt streams (virStorageVol.upload/download),
so a remote hypervisor (qemu+ssh://) works as a local one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.client import (
    VIR_ERR_NO_DOMAIN,
    VIR_ERR_NO_STORAGE_POOL,
    VIR_ERR_NO_STORAGE_VOL,
    VIR_ERR_OPERATION_INVALID,
    LibvirtClient,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LibvirtCallError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import volume_xml
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import (
    parse_domain,
    parse_pool,
    parse_volume,
)

SETTLE_TIMEOUT = 10.0
SETTLE_WAIT = 0.1


def _finish(stream, transfer):
    """Run ``transfer()`` on a libvirt stream and finish it; abort the stream on any error."""
    try:
        transfer()
        stream.finish()
    except BaseException:
        try:
            stream.abort()
        except Exception:  # pylint: disable=broad-except
            pass  # already closed; the first error is what matters
        raise


class ImageClient(LibvirtClient):
    """LibvirtClient plus the calls of the image cache."""

    def volume_names(self, pool):
        """The names of every volume in ``pool`` (active): the one listing a cache check needs."""
        def read(conn):
            found = conn.storagePoolLookupByName(pool)
            if not found.isActive():
                raise GhostError(failure("use", "storage pool", pool, "the pool is not active"))
            return found.listVolumes()
        names = self._optional(lambda c: failure("list volumes of", "storage pool", pool, c), read,
                               (VIR_ERR_NO_STORAGE_POOL,))
        if names is None:
            raise GhostError(failure("find", "storage pool", pool, "no such pool on %s" % self.uri))
        return sorted(names)

    def import_file(self, pool, name, path, *, size, fmt, algorithm, digest):
        """Create raw volume ``name`` of exactly ``size`` bytes and stream the file at ``path``
        into it, hashing what is sent. The volume is deleted again when anything fails,
        including a digest that is not ``digest``. Returns the volume as libvirt reads it then.

        The volume is created raw, of the file's size, rather than as qcow2: libvirt would
        create a qcow2 volume by writing a fresh qcow2 file of its own, whose size may exceed the
        image's and leave stray bytes after it. After the upload libvirt refreshes the pool in
        a thread of its own, and a directory pool then lists the volume as qcow2 with its
        virtual size: the volume is read until it shows ``fmt`` (see _settled).
        """
        where = "%s/%s" % (pool, name)
        self.create_volume(pool, name, volume_xml(name, fmt="raw", capacity=size))
        try:
            sent, actual = self._upload(pool, name, path, size=size, algorithm=algorithm)
            if sent != size:
                raise GhostError(failure("import", "image into volume", where,
                                         "the file had %d bytes, %d were expected" % (sent, size)))
            if actual != digest:
                raise GhostError(failure("import", "image into volume", where,
                                         "checksum mismatch: the file is %s:%s, %s:%s was expected"
                                         % (algorithm, actual, algorithm, digest)))
        except BaseException:
            self._delete_quietly(pool, name)
            raise
        return self._settled(pool, name, fmt)

    def _settled(self, pool, name, fmt):
        """The volume once libvirt's refresh after the upload shows format ``fmt`` (or after
        SETTLE_TIMEOUT seconds: then as libvirt lists it, which a later refresh corrects)."""
        deadline = self._clock() + SETTLE_TIMEOUT
        while True:
            volume = self.volume(pool, name)
            if volume is None:
                raise GhostError(failure("read", "volume", "%s/%s" % (pool, name),
                                         "it is gone right after the upload"))
            if volume["format"] == fmt or self._clock() >= deadline:
                return volume
            self._sleep(SETTLE_WAIT)

    def _upload(self, pool, name, path, *, size, algorithm):
        """(bytes sent, hex digest of them): ``path`` through virStorageVol.upload."""
        hasher = hashlib.new(algorithm)
        counted = [0]

        def chunk(_stream, nbytes, source):
            # sendAll() ignores a short send, so never more than the nbytes it asks for.
            data = source.read(nbytes)
            hasher.update(data)
            counted[0] += len(data)
            return data

        def run(conn):
            vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
            stream = conn.newStream(0)
            vol.upload(stream, 0, size, 0)
            _finish(stream, lambda: stream.sendAll(chunk, handle))

        try:
            with open(path, "rb") as handle:
                self._call(lambda c: failure("upload", "image into volume", "%s/%s" % (pool, name), c), run,
                           read_only=False)
        except (IOError, OSError) as exc:
            raise GhostError(failure("read", "image file", path, exc.strerror or str(exc)))
        return counted[0], hasher.hexdigest()

    def write_record(self, pool, name, data):
        """Create the small record volume ``name`` holding ``data``; deleted again on failure."""
        self.create_volume(pool, name, volume_xml(name, fmt="raw", capacity=len(data)))
        try:
            self.upload_volume(pool, name, data)
        except BaseException:
            self._delete_quietly(pool, name)
            raise

    def hash_volume(self, pool, name, algorithm):
        """Hex digest of a volume's bytes, read back through virStorageVol.download."""
        hasher = hashlib.new(algorithm)

        def run(conn):
            vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
            stream = conn.newStream(0)
            vol.download(stream, 0, 0, 0)
            _finish(stream, lambda: stream.recvAll(lambda _stream, data, _opaque: hasher.update(data), None))
        self._call(lambda c: failure("read back", "volume", "%s/%s" % (pool, name), c), run)
        return hasher.hexdigest()

    def delete_settled(self, pool, name):
        """Delete a volume; retried while libvirt says it is busy, as it is for a moment after
        an upload (the pool refresh libvirt runs then). False when it was gone already."""
        deadline = self._clock() + SETTLE_TIMEOUT
        while True:
            try:
                return self.delete_volume(pool, name)
            except LibvirtCallError as exc:
                busy = exc.details.get("libvirt_error_code") == VIR_ERR_OPERATION_INVALID
                if not busy or self._clock() >= deadline:
                    raise
            self._sleep(SETTLE_WAIT)

    def _delete_quietly(self, pool, name):
        """Delete a volume this run made, keeping the first error the caller is raising."""
        try:
            self.delete_settled(pool, name)
        except GhostError:
            pass

    def users_of(self, path, *, pool, name):
        """What still uses volume ``pool/name`` (file ``path``): ``["volume pool/name",
        "domain name"]`` for volumes of active pools whose backing store it is, and domains that
        have it as a disk (by path or as ``pool/name``) or as a disk's backing store."""
        libvirt = self.libvirt
        ids = (path, "%s/%s" % (pool, name))

        def read(conn):
            found = []
            for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
                pool_name = parse_pool(pool.XMLDesc(0))["name"]
                for vol in pool.listAllVolumes(0):
                    try:
                        volume = parse_volume(vol.XMLDesc(0))
                    except libvirt.libvirtError as exc:
                        if exc.get_error_code() == VIR_ERR_NO_STORAGE_VOL:
                            continue  # deleted since the listing
                        raise
                    if volume["backing"] == path:
                        found.append("volume %s/%s" % (pool_name, volume["name"]))
            for dom in conn.listAllDomains(0):
                try:
                    disks = parse_domain(dom.XMLDesc(0))["disks"]
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() == VIR_ERR_NO_DOMAIN:
                        continue
                    raise
                if any(disk.get("path") in ids or disk.get("backing") == path for disk in disks):
                    found.append("domain %s" % dom.name())
            return sorted(found)
        return self._call(lambda c: failure("find the users of", "volume", path, c), read)
