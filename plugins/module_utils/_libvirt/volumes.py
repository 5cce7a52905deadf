# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The volumes of one libvirt domain: its qcow2 overlay and its NoCloud seed. Private to
ghost.infra.

DomainVolumes plans through the client (base image, existing volumes) without changing
anything, writes when the runner asks it to, and remembers the volumes it created so that a
run that fails can delete them again, except those a domain of that name uses by then: two
runs creating the same domain at once may share them (see DomainVolumes.rollback).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import build_nocloud_iso
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import (
    render_documents,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import AlreadyExists
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import volume_xml
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import parse_domain


def _join(directory, name):
    return "%s/%s" % ((directory or "").rstrip("/"), name)


def _owned(current, role, name):
    return any(v.get("role") == role and v.get("name") == name
               for v in current["metadata"]["volumes"])


def creation_actions(overlay_plan, seed_plan):
    """What DomainVolumes.create() does for these plans, as the result's ``actions`` say it."""
    actions = []
    if overlay_plan and overlay_plan.get("recreate"):
        actions.append("reset: recreate volume %s/%s from %s" % (
            overlay_plan["pool"], overlay_plan["name"], overlay_plan["base"] or "nothing (an empty disk)"))
    elif overlay_plan and overlay_plan["create"] is not None:
        actions.append("create volume %s/%s" % (overlay_plan["pool"], overlay_plan["name"]))
    if seed_plan and seed_plan["data"] is not None:
        actions.append("write NoCloud seed %s/%s" % (seed_plan["pool"], seed_plan["name"]))
    return actions


class DomainVolumes:
    """The volumes of domain ``name``, read and written through ``client``. ``check_mode``
    plans without the lookups that change libvirt's state (see _base)."""

    def __init__(self, client, name, *, check_mode=False):
        self.client = client
        self.name = name
        self.check_mode = check_mode
        self.created = []  # (pool, volume, path) made by this run, deleted again if it fails
        self.warnings = []

    # -- plan (reads only) ------------------------------------------------------------

    def _base(self, base_image, pool_name):
        where = spec.parse_base_image(base_image, pool_name)
        if "path" in where:
            # A file libvirt does not list yet is found by refreshing a pool or through a
            # temporary pool: not in check mode, which changes nothing.
            found = self.client.volume_by_path(where["path"], probe=not self.check_mode)
            if found is None and self.check_mode:
                self.warnings.append(
                    "check mode: base image %s is in no storage pool libvirt has listed, so it was "
                    "not looked at (that needs a pool refresh or a temporary pool); a real run "
                    "checks it" % where["path"])
                return {"path": where["path"], "format": None, "capacity": None, "pool": None}
            if found is None:
                raise GhostError(failure("find", "base image", where["path"],
                                         "no such file on the hypervisor of %s" % self.client.uri))
            return found
        found = None
        try:
            found = self.client.volume(where["pool"], where["volume"])
        except GhostError:
            found = None
        if found is None:
            raise GhostError(failure("find", "base image", base_image,
                                     "no volume '%s' in storage pool '%s' on %s"
                                     % (where["volume"], where["pool"], self.client.uri)))
        return found

    def plan_overlay(self, pool, current, *, base_image, disk_gb, reset=False):
        """The main disk ({"disk", "volume"}) and what to do for it, or (None, None).

        ``reset`` recreates the overlay from its base image (``base_image``, else the recorded
        one), keeping its size: the old one and everything the guest wrote to it are deleted.
        """
        if reset and base_image is None:
            base_image = (current or {}).get("metadata", {}).get("base")
        if base_image is None and disk_gb is None and not reset:
            return None, None
        name = spec.overlay_volume_name(self.name)
        where = "%s/%s" % (pool["name"], name)
        base = self._base(base_image, pool["name"]) if base_image is not None else None
        existing = self.client.volume(pool["name"], name)
        # "disk_bytes": virtual size the run adds to the pool (the resource check's figure).
        plan = {"pool": pool["name"], "name": name, "create": None, "grow": None, "disk_bytes": 0}
        if existing is not None:
            if base is not None and existing.get("backing") != base["path"]:
                raise GhostError(failure(
                    "use", "volume", where,
                    "it is backed by %s, not by the base image %s; an overlay cannot be "
                    "rebased: remove the domain (state=absent) to build it again"
                    % (existing.get("backing") or "nothing", base["path"])))
            plan["grow"] = spec.capacity_plan(disk_gb=disk_gb, current_bytes=existing["capacity"],
                                              base_bytes=None)
            if plan["grow"]:
                plan["disk_bytes"] = plan["grow"] - (existing["capacity"] or 0)
            path = existing["path"]
            backing, backing_format = existing.get("backing"), existing.get("backing_format")
            if reset:
                # The same name, path, size and backing store: the definition stays as it is.
                capacity = plan["grow"] or existing["capacity"]
                plan.update(grow=None, recreate=True, base=backing,
                            disk_bytes=max(0, capacity - (existing.get("allocation") or 0)),
                            create=volume_xml(name, fmt="qcow2", capacity=capacity, backing=backing,
                                              backing_format=backing_format))
            in_use = [d for d in (current or {}).get("disks", []) if d.get("path") == path]
            if current is not None and not in_use and not _owned(current, "overlay", name):
                raise GhostError(failure(
                    "use", "volume", where,
                    "it exists and does not belong to domain '%s'; delete or rename it" % self.name))
        else:
            path = _join(pool["path"], name)
            if base is not None and base.get("path") == path:
                raise GhostError("the base image cannot be the domain's own overlay", option="base_image")
            capacity = None
            if disk_gb is not None:
                spec.capacity_plan(disk_gb=disk_gb, current_bytes=None,
                                   base_bytes=(base or {}).get("capacity"))
                capacity = disk_gb * spec.GIB
            backing = base["path"] if base else None
            backing_format = base.get("format") if base else None
            plan["create"] = volume_xml(name, fmt="qcow2", capacity=capacity, backing=backing,
                                        backing_format=backing_format)
            plan["disk_bytes"] = capacity or (base or {}).get("capacity") or 0
        disk = spec.overlay_disk(path, backing, backing_format)
        volume = {"role": "overlay", "pool": pool["name"], "name": name, "path": path}
        return {"disk": disk, "volume": volume}, plan

    def plan_seed(self, pool, current, *, cloud_init, nics):
        """The NoCloud CD-ROM ({"disk", "volume"}) and what to do for it, or (None, None)."""
        if cloud_init is None:
            return None, None
        mac = nics[0]["mac"] if nics else None
        documents = render_documents(cloud_init, backend="libvirt",
                                     name=self.name, mac_address=mac)
        data = build_nocloud_iso(documents.files())
        digest = hashlib.sha256(data).hexdigest()
        name = spec.seed_volume_name(self.name, digest)
        existing = self.client.volume(pool["name"], name)
        path = existing["path"] if existing else _join(pool["path"], name)
        plan = {"pool": pool["name"], "name": name, "data": None, "replaces": [],
                "instance_id": documents.instance_id}
        if existing is None or existing.get("capacity") != len(data):
            plan["data"] = data
            plan["exists"] = existing is not None
        if current is not None:
            plan["replaces"] = [v for v in current["metadata"]["volumes"]
                                if v.get("role") == "seed" and v.get("name") != name]
        volume = {"role": "seed", "pool": pool["name"], "name": name, "path": path,
                  "sha256": digest, "instance_id": documents.instance_id}
        return {"disk": spec.seed_disk(path), "volume": volume}, plan

    # -- write ------------------------------------------------------------------------

    def create(self, overlay, overlay_plan, seed_plan):
        """Create what the plans say (see creation_actions); returns the overlay as created."""
        overlay = self._create_overlay(overlay, overlay_plan)
        self._write_seed(seed_plan)
        return overlay

    def _create_overlay(self, overlay, plan):
        if plan is None or plan["create"] is None:
            return overlay
        if plan.get("recreate"):
            self.client.delete_volume(plan["pool"], plan["name"])
        try:
            created = self.client.create_volume(plan["pool"], plan["name"], plan["create"])
        except AlreadyExists:
            raise GhostError(failure(
                "create", "domain", self.name,
                "its volume %s/%s appeared while this run was creating it: another run is creating "
                "the same domain; run the task again to converge" % (plan["pool"], plan["name"])))
        disk = dict(overlay["disk"], path=created["path"] or overlay["disk"]["path"])
        self.created.append((plan["pool"], plan["name"], disk["path"]))
        if disk.get("backing") and not disk.get("backing_format"):
            disk["backing_format"] = created.get("backing_format")
        return {"disk": disk, "volume": dict(overlay["volume"], path=disk["path"])}

    def _write_seed(self, plan):
        if plan is None or plan["data"] is None:
            return
        if plan.get("exists"):
            self.client.delete_volume(plan["pool"], plan["name"])
        xml = volume_xml(plan["name"], fmt="raw", capacity=len(plan["data"]))
        try:
            created = self.client.create_volume(plan["pool"], plan["name"], xml)
        except AlreadyExists:
            # The name is the content's digest: another run creating the same domain is
            # writing these very bytes, and owns the volume.
            return
        self.created.append((plan["pool"], plan["name"], created["path"]))
        self.client.upload_volume(plan["pool"], plan["name"], plan["data"])

    def grow(self, plan, *, live):
        """Grow the overlay to ``plan["grow"]`` bytes: through QEMU when the domain is ``live``
        (the image is open), else through the storage pool."""
        if live:
            self.client.block_resize(self.name, spec.OVERLAY_TARGET, plan["grow"])
        else:
            self.client.resize_volume(plan["pool"], plan["name"], plan["grow"])

    def rollback(self):
        """Delete the volumes this run created, except those the domain uses by now (another
        run creating the same domain at once defined it with them). The error that led here
        is what counts, so failures here are not reported; when the domain cannot be read,
        nothing is deleted."""
        try:
            in_use = self._in_use()
        except GhostError:
            in_use = None
        for pool, name, path in reversed(self.created):
            if in_use is None or path in in_use or (pool, name) in in_use:
                continue
            try:
                self.client.delete_volume(pool, name)
            except GhostError:
                pass  # the original error is what the user needs to see
        self.created = []

    def _in_use(self):
        """Paths and (pool, volume) pairs the domain ``name`` uses now (empty when there is
        no such domain)."""
        if not self.client.domain_exists(self.name):
            return set()
        fields = parse_domain(self.client.domain_xml(self.name, inactive=True))
        used = {disk["path"] for disk in fields["disks"] if disk.get("path")}
        used.update((v.get("pool"), v.get("name")) for v in fields["metadata"]["volumes"])
        return used
