# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module side of libvirt_image: put a verified image file into a pool, or remove it.
Private to ghost.infra.

ensure_image() takes a client (image.ImageClient or a test double) and plain option values.
It lists the pool's volume names once and decides from them (image_spec.find_image); only a
volume that exists without a checksum record is read back and hashed. ``src`` is a file on
the host running the module: the action plugin has downloaded and checked it on the
controller and copied it there; check mode never reads it (the action plugin describes the
image from its header then, see plugins/action/libvirt_image.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import image_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import AlreadyExists


def read_header(path):
    """(first bytes, size) of the image file at ``path`` on this host."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(spec.HEADER_BYTES)
            size = os.fstat(handle.fileno()).st_size
    except (IOError, OSError) as exc:
        raise GhostError(failure("read", "image file", path, exc.strerror or str(exc)))
    return header, size


def _checksum(params):
    checksum = spec.parse_checksum(params.get("checksum"))
    if checksum is not None and "url" in checksum:
        raise GhostError("reached the module as a URL: the action plugin reads checksum files on "
                         "the controller (is the module run without it?)", option="checksum")
    return checksum


class ImageRun:
    """One run of libvirt_image on the module side: ``params`` are the module options."""

    def __init__(self, client, params, *, check_mode=False, diff=False):
        self.client = client
        self.params = params
        self.pool = params["pool"]
        self.check_mode = check_mode
        self.diff = diff
        self.checksum = _checksum(params)
        spec.check_name(params.get("name"), self.checksum and self.checksum["algorithm"])

    @property
    def checksum_text(self):
        return spec.checksum_text(self.checksum["algorithm"], self.checksum["digest"])

    def _where(self, name):
        return "%s/%s" % (self.pool, name)

    def _result(self, changed, *, volume, before, after, cached, **extra):
        return build_result(changed, diff_enabled=self.diff, before=before, after=after,
                            volume=volume, checksum=self.checksum_text if self.checksum else None,
                            cached=cached, downloaded=0, **extra)

    # -- present ------------------------------------------------------------------------

    def present(self):
        if self.checksum is None:
            raise GhostError("is required with state=present (the action plugin computes it for a "
                             "file on the controller)", option="checksum")
        algorithm, digest = self.checksum["algorithm"], self.checksum["digest"]
        names = self.client.volume_names(self.pool)
        found = spec.find_image(names, name=self.params.get("name"), algorithm=algorithm, digest=digest)
        if found["state"] == "cached":
            volume = self._read(found["name"])
            side = spec.diff_side([volume], self.checksum_text)
            return self._result(False, volume=volume, before=side, after=side, cached=True)
        if found["state"] == "conflict":
            raise GhostError(failure("import", "image into volume", self._where(found["name"]),
                                     "the volume holds another image (%s); remove it with state=absent or "
                                     "choose another name" % ", ".join(found["recorded"])))
        replace = None
        if found["state"] == "unverified":
            existing = self._read(found["name"])
            if self.client.hash_volume(self.pool, found["name"], algorithm) == digest:
                return self._record(existing)
            if found["name"] not in spec.default_names(algorithm, digest):
                raise GhostError(failure("import", "image into volume", self._where(found["name"]),
                                         "the volume exists with other content and no checksum record of "
                                         "this module; remove it or choose another name"))
            replace = existing  # named after this digest but not holding it: an import cut off
        return self._import(found, replace)

    def _read(self, name):
        volume = self.client.volume(self.pool, name)
        if volume is None:
            raise GhostError(failure("read", "volume", self._where(name), "it was removed meanwhile"))
        return spec.volume_view(volume, self.pool)

    def _record(self, volume):
        """The volume holds the image but has no record: write it (the only change)."""
        if not self.check_mode:
            algorithm, digest = self.checksum["algorithm"], self.checksum["digest"]
            self.client.write_record(self.pool, spec.record_name(volume["name"], algorithm, digest),
                                     spec.record_content(volume["name"], digest))
        before = spec.diff_side([volume], None)
        return self._result(True, volume=volume, before=before,
                            after=spec.diff_side([volume], self.checksum_text), cached=True)

    def _import(self, found, replace):
        before = spec.diff_side([replace], None) if replace else {}
        if self.check_mode:
            # src is not read in check mode; the action plugin completes name, format, capacity.
            fmt = self.params.get("format")
            planned = spec.planned_view(name=found["name"], pool=self.pool, capacity=None,
                                        fmt=None if fmt in (None, "auto") else fmt)
            return self._result(True, volume=planned, before=before,
                                after=spec.diff_side([planned], self.checksum_text), cached=False)
        if not self.params.get("src"):
            raise GhostError("is required: the image is not in pool %s" % self.pool, option="src")
        header, size = read_header(self.params["src"])
        facts = spec.import_facts(header, size, fmt_option=self.params.get("format"))
        algorithm, digest = self.checksum["algorithm"], self.checksum["digest"]
        name = self.params.get("name") or spec.default_name(algorithm, digest, facts["format"])
        for stale in ([replace["name"]] if replace else []) + found["records"]:
            self.client.delete_settled(self.pool, stale)
        try:
            created = self.client.import_file(self.pool, name, self.params["src"], size=size,
                                              fmt=facts["format"], algorithm=algorithm, digest=digest)
        except AlreadyExists:
            raise GhostError(failure("import", "image into volume", self._where(name),
                                     "another run created that volume meanwhile; run the task again"))
        try:
            self.client.write_record(self.pool, spec.record_name(name, algorithm, digest),
                                     spec.record_content(name, digest))
        except BaseException:
            self.client.delete_settled(self.pool, name)
            raise
        volume = spec.volume_view(created, self.pool)
        return self._result(True, volume=volume, before=before,
                            after=spec.diff_side([volume], self.checksum_text), cached=False)

    # -- absent -------------------------------------------------------------------------

    def absent(self):
        name = self.params.get("name")
        if name is None and self.checksum is None:
            raise GhostError("state=absent needs name or checksum to know which image to remove",
                             option="name")
        algorithm, digest = (self.checksum["algorithm"], self.checksum["digest"]) if self.checksum else (None, None)
        names = self.client.volume_names(self.pool)
        targets = spec.removal_targets(names, name=name, algorithm=algorithm, digest=digest)
        volumes = [self._read(image) for image in targets["images"]]
        for volume in volumes:
            users = self.client.users_of(volume["path"], pool=self.pool, name=volume["name"])
            if users:
                raise GhostError(failure("remove", "image volume", self._where(volume["name"]),
                                         "it is in use by %s; remove those first" % ", ".join(users)))
        changed = bool(volumes or targets["records"])
        if changed and not self.check_mode:
            for image in targets["images"] + targets["records"]:
                self.client.delete_settled(self.pool, image)
        before = {}
        for volume in volumes:
            before.update(spec.diff_side([volume], _recorded(names, volume["name"])))
        return build_result(changed, diff_enabled=self.diff, before=before, after={}, volume=None,
                            checksum=self.checksum_text if self.checksum else None, cached=False,
                            downloaded=0, removed=[v["name"] for v in volumes])


def _recorded(names, image):
    """The checksum a record of ``image`` holds (the first), or None."""
    for record in spec.records_of(names, image):
        parsed = spec.parse_record(record)
        return spec.checksum_text(parsed[1], parsed[2])
    return None


def ensure_image(client, params, *, check_mode=False, diff=False):
    """Bring the image to ``params["state"]``; returns the module result (see RETURN)."""
    run = ImageRun(client, params, check_mode=check_mode, diff=diff)
    if params["state"] == "absent":
        return run.absent()
    return run.present()
