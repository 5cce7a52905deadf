# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bring a libvirt storage pool to the wanted state. Private to ghost.infra.

ensure_pool() takes a client (pool.PoolClient or a test double) and the module's options,
never the AnsibleModule. present: define, build (a dir pool's directory; a logical pool's
volume group only when it does not exist), start, autostart; a pool this run defined that then
fails to build or start is undefined again. absent: refuse a pool holding volumes unless
``delete_volumes``, then delete them, stop, remove a dir pool's directory, undefine. Check mode
only reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result, make_diff
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import pool_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import pretty

MAX_LISTED = 5


def _diff_text(active, autostart, xml):
    head = "# active: %s\n# autostart: %s\n" % ("yes" if active else "no", "yes" if autostart else "no")
    return head + pretty(xml)


class PoolRun:
    """One run of libvirt_pool: ``params`` are the module options."""

    def __init__(self, client, params, *, check_mode=False, diff=False):
        self.client = client
        self.params = params
        self.name = params["name"]
        self.check_mode = check_mode
        self.diff = diff
        self.actions = []
        self.warnings = []

    def ensure(self):
        requested = spec.requested_fields(self.params)
        found = self.client.read_pool(self.name)
        if self.params["state"] == "absent":
            return self._absent(found)
        return self._present(found, requested)

    def _act(self, action, apply, *args, **kwargs):
        self.actions.append(action)
        if not self.check_mode:
            apply(*args, **kwargs)

    # -- present ----------------------------------------------------------------------

    def _present(self, found, requested):
        current = spec.parse_pool(found["xml"]) if found else None
        desired = spec.desired_fields(current, requested, name=self.name)
        if found is None:
            xml = spec.build_pool(desired, name=self.name)
            build = self._build_step(desired)
            self._act("define", self.client.define, self.name, xml)
            try:
                self._start(desired, build)
                autostart = self._autostart(None)
            except GhostError:
                if not self.check_mode:
                    self._undo_create()
                raise
        else:
            xml = found["xml"]
            if not found["persistent"]:
                self._act("define (make the running pool persistent)", self.client.define,
                          self.name, xml)
            if not found["active"]:
                self._start(desired, "build" if desired["type"] == "dir" else None)
            autostart = self._autostart(found["autostart"])
        view = self._view(desired, found, autostart=autostart)
        before = after = None
        if self.diff:
            before = "" if found is None else _diff_text(found["active"], found["autostart"], found["xml"])
            after = _diff_text(True, autostart, xml)
        return self._result(view, before=before, after=after)

    def _build_step(self, desired):
        """``build`` or None for a new pool: a dir pool's directory is always built (mkdir;
        an existing directory is kept as it is); a logical pool's volume group only when
        libvirt's discovery does not find it."""
        if desired["type"] == "dir":
            return "build"
        sources = spec.parse_logical_sources(self.client.logical_sources())
        return "build" if spec.logical_plan(desired, sources) == "build" else None

    def _start(self, desired, build):
        if build and desired["type"] == "dir":
            self._act("build (create directory %s)" % desired["path"], self.client.build, self.name)
        elif build:
            self._act("build (create volume group %s on %s)" % (
                desired["volume_group"], ", ".join(desired["source_devices"])),
                self.client.build, self.name, no_overwrite=True)
        self._act("start", self.client.start, self.name)

    def _autostart(self, current):
        wanted = self.params.get("autostart")
        if current is None:
            current = False
            wanted = True if wanted is None else wanted  # a new pool comes back with the host
        if wanted is None or wanted == current:
            return current
        self._act("set autostart %s" % ("on" if wanted else "off"),
                  self.client.set_autostart, self.name, wanted)
        return wanted

    def _undo_create(self):
        """A pool this run defined that could not be built or started: undefine it again."""
        try:
            found = self.client.read_pool(self.name)
            if found and found["active"]:
                self.client.stop(self.name)
            if found:
                self.client.undefine(self.name)
        except GhostError:
            pass  # the first error is the one to report

    def _view(self, desired, found, *, autostart):
        if self.check_mode:
            uuid = spec.parse_pool(found["xml"])["uuid"] if found else None
            sizes = found["sizes"] if found else None
            volumes = found["volumes"] if found else []
            return spec.pool_view(desired, name=self.name, uuid=uuid, active=True,
                                  autostart=autostart, sizes=sizes, volumes=volumes)
        now = self.client.read_pool(self.name)
        return spec.pool_view(spec.parse_pool(now["xml"]), name=self.name,
                              uuid=spec.parse_pool(now["xml"])["uuid"], active=now["active"],
                              autostart=now["autostart"], sizes=now["sizes"], volumes=now["volumes"])

    # -- absent -----------------------------------------------------------------------

    def _absent(self, found):
        if found is None:
            return self._result(spec.pool_view(None, name=self.name, uuid=None, active=False,
                                               autostart=False), before="", after="")
        fields = spec.parse_pool(found["xml"])
        volumes, active = self._volumes_of(found)
        if volumes and not self.params.get("delete_volumes"):
            if active and not found["active"] and not self.check_mode:
                self.client.stop(self.name)  # started only to list them: as it was
            listed = ", ".join(volumes[:MAX_LISTED]) + (", ..." if len(volumes) > MAX_LISTED else "")
            raise GhostError(failure(
                "remove", "storage pool", self.name,
                "it holds %d volume(s) (%s); set delete_volumes=true to delete them with the pool"
                % (len(volumes), listed)), details={"volumes": volumes})
        for volume in volumes or []:
            self._act("delete volume %s/%s" % (self.name, volume), self.client.delete_volume,
                      self.name, volume)
        if active:
            self._act("stop", self.client.stop, self.name)
        if fields["type"] == "dir" and volumes is not None:
            self.actions.append("delete directory %s" % fields["path"])
            if not self.check_mode:
                self._delete_directory(fields["path"])
        if found["persistent"]:
            self._act("undefine", self.client.undefine, self.name)
        before = _diff_text(found["active"], found["autostart"], found["xml"])
        return self._result(spec.pool_view(None, name=self.name, uuid=fields["uuid"], active=False,
                                           autostart=False), before=before, after="")

    def _volumes_of(self, found):
        """(volume names or None when they cannot be listed, whether the pool is active now).
        An inactive pool is started to list them (not in check mode, which warns)."""
        if found["active"]:
            return found["volumes"], True
        if self.check_mode:
            self.warnings.append(
                "storage pool '%s' is not active: check mode does not start it to list its "
                "volumes; a real run does, and refuses to remove a pool holding volumes unless "
                "delete_volumes=true" % self.name)
            return None, False
        try:
            self.client.start(self.name)
        except GhostError as exc:
            # Its storage is gone or unreachable: nothing to delete, only the definition.
            self.warnings.append("storage pool '%s' cannot start, so only its definition is "
                                 "removed: %s" % (self.name, exc))
            return None, False
        self.actions.append("start (to list its volumes)")
        return sorted(self.client.read_pool(self.name)["volumes"] or []), True

    def _delete_directory(self, path):
        try:
            self.client.delete_storage(self.name)
        except GhostError as exc:
            self.warnings.append("directory %s of storage pool '%s' was kept: %s"
                                 % (path, self.name, getattr(exc, "cause", exc)))

    def _result(self, view, *, before=None, after=None):
        result = build_result(bool(self.actions), pool=view, actions=list(self.actions))
        if self.warnings:
            result["warnings"] = list(self.warnings)
        if self.diff:
            result["diff"] = make_diff(before, after)
            result["diff"]["before_header"] = "%s (current definition)" % self.name
            result["diff"]["after_header"] = "%s (wanted definition)" % self.name
        return result


def ensure_pool(client, params, *, check_mode=False, diff=False):
    """The libvirt_pool result for ``params`` (the module's options)."""
    return PoolRun(client, params, check_mode=check_mode, diff=diff).ensure()
