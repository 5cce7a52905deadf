# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bring a libvirt domain to the wanted state, and describe domains. Private to ghost.infra.

ensure_domain() and domain_info() take a client (client.LibvirtClient or a test double) and
plain option values, never the AnsibleModule. The order is: check the options, read what
exists, plan (volumes, definition, autostart, power state), then apply unless in check mode.
Everything that can be refused is refused before the first volume is created, and volumes
created by a run that then fails are deleted again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result, make_diff
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import build_nocloud_iso
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import (
    DEFAULT_INTERFACES,
    render_documents,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import (
    build_domain,
    metadata_xml,
    patch_domain,
    pretty,
    volume_xml,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import NS, PREFIX, parse_domain

SHUTDOWN_RETRY = 10.0  # seconds between ACPI requests (a booting guest may miss the first)
POLL = 0.5
IP_POLL = 2.0


def _recorded_pool(current):
    """The pool holding the volumes the module made for an existing domain, or None."""
    for volume in (current or {}).get("metadata", {}).get("volumes", []):
        if volume.get("pool"):
            return volume["pool"]
    return None


def _join(directory, name):
    return "%s/%s" % ((directory or "").rstrip("/"), name)


def _diff_text(state, autostart, xml):
    if state == "absent":
        return ""
    return "# state: %s\n# autostart: %s\n%s" % (state, "yes" if autostart else "no", pretty(xml))


class DomainRun:
    """One run of libvirt_domain: ``params`` are the module options."""

    def __init__(self, client, params, *, check_mode=False, diff=False, sleep=time.sleep,
                 clock=time.monotonic):
        self.client = client
        self.params = params
        self.name = params["name"]
        self.check_mode = check_mode
        self.diff = diff
        self.sleep = sleep
        self.clock = clock
        self.created = []  # (pool, volume) made by this run, deleted again if it fails
        self.pool_name = params.get("pool") or spec.DEFAULT_POOL
        self.actions = []  # what was (or would be) done, for the result

    # -- entry point ------------------------------------------------------------------

    def ensure(self):
        interfaces = spec.validate(self.params)
        exists = self.client.domain_exists(self.name)
        if self.params["state"] == "absent":
            return self._absent(exists)
        return self._present(exists, interfaces)

    # -- absent -----------------------------------------------------------------------

    def _absent(self, exists):
        if not exists:
            return self._result(False, None, None, None, None, {"name": self.name, "state": "absent"})
        current_xml = self.client.domain_xml(self.name, inactive=True)
        current = parse_domain(current_xml)
        code, active = self.client.domain_state(self.name)
        autostart = self.client.domain_autostart(self.name)
        owned = [v for v in current["metadata"]["volumes"]
                 if v.get("pool") and v.get("name") and v.get("path") != current["metadata"].get("base")]
        # Volumes go before the definition: if a deletion fails, the domain (and the record of
        # its volumes) is still there for the next run to finish the job.
        if not self.check_mode:
            if active:
                self.client.destroy(self.name)
            for volume in owned:
                self.client.delete_volume(volume["pool"], volume["name"])
            self.client.undefine(self.name)
        self.actions = (["destroy"] if active else []) + [
            "delete volume %s/%s" % (v["pool"], v["name"]) for v in owned] + ["undefine"]
        before = _diff_text(spec.state_name(code), autostart, current_xml)
        return self._result(True, before, "", None, None,
                            {"name": self.name, "uuid": current["uuid"], "state": "absent"},
                            deleted_volumes=["%s/%s" % (v["pool"], v["name"]) for v in owned])

    # -- present / running / stopped / paused -----------------------------------------

    def _present(self, exists, interfaces):
        params = self.params
        current_xml = current = None
        state, autostart = "stopped", False
        if exists:
            current_xml = self.client.domain_xml(self.name, inactive=True)
            current = parse_domain(current_xml)
            code, _active = self.client.domain_state(self.name)
            state = spec.state_name(code)
            autostart = self.client.domain_autostart(self.name)

        caps = None
        domain_type = None
        if params.get("domain_type") or current is None:
            caps = self.client.capabilities()
            domain_type = spec.resolve_domain_type(params.get("domain_type") or "auto", caps["kvm"])
        self._check_networks(interfaces)
        wanted_nics = interfaces if interfaces is not None else (current or {}).get("interfaces", [])

        self.pool_name = params.get("pool") or _recorded_pool(current) or spec.DEFAULT_POOL
        pool = None
        if params.get("base_image") is not None or params.get("disk_gb") is not None \
                or params.get("cloud_init") is not None:
            pool = self.client.pool(self.pool_name)
        overlay, overlay_plan = self._plan_overlay(pool, current)
        seed, seed_plan = self._plan_seed(pool, current, wanted_nics)

        try:
            if self.check_mode:
                self._describe_volume_plans(overlay_plan, seed_plan)
            else:
                overlay = self._apply_overlay(overlay, overlay_plan)
                self._apply_seed(seed_plan)
            desired = spec.desired_fields(current, params, domain_type=domain_type,
                                          interfaces=interfaces, overlay=overlay, seed=seed)
            changes = spec.changed_fields(current, desired)
            if current is None:
                new_xml = build_domain(desired, name=self.name, arch=caps["arch"])
            elif changes:
                new_xml = patch_domain(current_xml, desired)
            else:
                new_xml = current_xml
            if changes:
                self.actions.append("define" if current is None else
                                    "update definition (%s)" % ", ".join(changes))
                if not self.check_mode:
                    self.client.define(self.name, new_xml)
        except BaseException:
            self._rollback()
            raise

        return self._converge(current, current_xml, desired, new_xml, changes, state,
                              autostart, overlay_plan, seed_plan)

    def _check_networks(self, interfaces):
        for nic in interfaces or []:
            if nic["type"] == "network" and not self.client.network_exists(nic["source"]):
                raise GhostError(
                    failure("define", "domain", self.name, "network '%s' does not exist on %s"
                            % (nic["source"], self.client.uri)))

    # -- volumes ----------------------------------------------------------------------

    def _base(self):
        where = spec.parse_base_image(self.params["base_image"], self.pool_name)
        if "path" in where:
            found = self.client.volume_by_path(where["path"])
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
            raise GhostError(failure("find", "base image", self.params["base_image"],
                                     "no volume '%s' in storage pool '%s' on %s"
                                     % (where["volume"], where["pool"], self.client.uri)))
        return found

    def _plan_overlay(self, pool, current):
        """The main disk ({"disk", "volume"}) and what to do for it, or (None, None)."""
        params = self.params
        if params.get("base_image") is None and params.get("disk_gb") is None:
            return None, None
        name = spec.overlay_volume_name(self.name)
        base = self._base() if params.get("base_image") is not None else None
        existing = self.client.volume(pool["name"], name)
        plan = {"pool": pool["name"], "name": name, "create": None, "grow": None}
        if existing is not None:
            if base is not None and existing.get("backing") != base["path"]:
                raise GhostError(failure(
                    "use", "volume", "%s/%s" % (pool["name"], name),
                    "it is backed by %s, not by the base image %s; an overlay cannot be "
                    "rebased: remove the domain (state=absent) to build it again"
                    % (existing.get("backing") or "nothing", base["path"])))
            plan["grow"] = spec.capacity_plan(disk_gb=params.get("disk_gb"),
                                              current_bytes=existing["capacity"], base_bytes=None)
            path = existing["path"]
            backing, backing_format = existing.get("backing"), existing.get("backing_format")
            in_use = [d for d in (current or {}).get("disks", []) if d.get("path") == path]
            if current is not None and not in_use and not self._owned(current, "overlay", name):
                raise GhostError(failure(
                    "use", "volume", "%s/%s" % (pool["name"], name),
                    "it exists and does not belong to domain '%s'; delete or rename it"
                    % self.name))
        else:
            if base is not None and base.get("path") == _join(pool["path"], name):
                raise GhostError("the base image cannot be the domain's own overlay", option="base_image")
            capacity = None
            if params.get("disk_gb") is not None:
                spec.capacity_plan(disk_gb=params["disk_gb"], current_bytes=None,
                                   base_bytes=(base or {}).get("capacity"))
                capacity = params["disk_gb"] * spec.GIB
            path = _join(pool["path"], name)
            backing = base["path"] if base else None
            backing_format = base.get("format") if base else None
            plan["create"] = volume_xml(name, fmt="qcow2", capacity=capacity, backing=backing,
                                        backing_format=backing_format)
        disk = spec.overlay_disk(path, backing, backing_format)
        volume = {"role": "overlay", "pool": pool["name"], "name": name, "path": path}
        return {"disk": disk, "volume": volume}, plan

    @staticmethod
    def _owned(current, role, name):
        return any(v.get("role") == role and v.get("name") == name
                   for v in current["metadata"]["volumes"])

    def _plan_seed(self, pool, current, nics):
        """The NoCloud CD-ROM ({"disk", "volume"}) and what to do for it, or (None, None)."""
        cloud_init = self.params.get("cloud_init")
        if cloud_init is None:
            return None, None
        mac = nics[0]["mac"] if nics else None
        documents = render_documents(cloud_init, default_interface=DEFAULT_INTERFACES["libvirt"],
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

    def _apply_overlay(self, overlay, plan):
        if plan is None or plan["create"] is None:
            return overlay
        created = self.client.create_volume(plan["pool"], plan["name"], plan["create"])
        self.created.append((plan["pool"], plan["name"]))
        self.actions.append("create volume %s/%s" % (plan["pool"], plan["name"]))
        disk = dict(overlay["disk"], path=created["path"] or overlay["disk"]["path"])
        if disk.get("backing") and not disk.get("backing_format"):
            disk["backing_format"] = created.get("backing_format")
        return {"disk": disk, "volume": dict(overlay["volume"], path=disk["path"])}

    def _apply_seed(self, plan):
        if plan is None or plan["data"] is None:
            return
        if plan.get("exists"):
            self.client.delete_volume(plan["pool"], plan["name"])
        xml = volume_xml(plan["name"], fmt="raw", capacity=len(plan["data"]))
        self.client.create_volume(plan["pool"], plan["name"], xml)
        self.created.append((plan["pool"], plan["name"]))
        self.client.upload_volume(plan["pool"], plan["name"], plan["data"])
        self.actions.append("write NoCloud seed %s/%s" % (plan["pool"], plan["name"]))

    def _describe_volume_plans(self, overlay_plan, seed_plan):
        """The volume actions a check-mode run would take, as _apply_* would list them."""
        if overlay_plan and overlay_plan["create"] is not None:
            self.actions.append("create volume %s/%s" % (overlay_plan["pool"], overlay_plan["name"]))
        if seed_plan and seed_plan["data"] is not None:
            self.actions.append("write NoCloud seed %s/%s" % (seed_plan["pool"], seed_plan["name"]))

    def _rollback(self):
        for pool, name in reversed(self.created):
            try:
                self.client.delete_volume(pool, name)
            except GhostError:
                pass  # the original error is what the user needs to see
        self.created = []

    def _undo_create(self):
        """A domain created by this run that could not be brought up: remove it again."""
        try:
            _code, active = self.client.domain_state(self.name)
            if active:
                self.client.destroy(self.name)
            self.client.undefine(self.name)
        except GhostError:
            return  # keep its volumes: the domain still uses them
        self._rollback()

    # -- power state, restart, addresses ----------------------------------------------

    def _converge(self, current, current_xml, desired, new_xml, changes, state, autostart,
                  overlay_plan, seed_plan):
        params = self.params
        changed = bool(changes) or bool(self.actions)
        if overlay_plan and overlay_plan["grow"]:
            changed = True
            self.actions.append("grow %s to %d GiB" % (overlay_plan["name"], params["disk_gb"]))
            if not self.check_mode:
                if state in ("running", "paused"):
                    self.client.block_resize(self.name, spec.OVERLAY_TARGET, overlay_plan["grow"])
                else:
                    self.client.resize_volume(overlay_plan["pool"], overlay_plan["name"], overlay_plan["grow"])
        if seed_plan and seed_plan["data"] is not None:
            changed = True
        for old in (seed_plan or {}).get("replaces", []):
            self.actions.append("delete old NoCloud seed %s/%s" % (old["pool"], old["name"]))
            if not self.check_mode:
                self.client.delete_volume(old["pool"], old["name"])
            changed = True

        want_autostart = params["autostart"] if params.get("autostart") is not None else autostart
        if want_autostart != autostart:
            changed = True
            self.actions.append("set autostart %s" % ("on" if want_autostart else "off"))
            if not self.check_mode:
                self.client.set_autostart(self.name, want_autostart)

        wanted_state = params["state"] if params["state"] != "present" else state
        if params["state"] == "present" and current is None:
            wanted_state = "stopped"
        try:
            for action in spec.state_actions(state, wanted_state):
                changed = True
                self.actions.append(action)
                if not self.check_mode:
                    self._do(action)
        except GhostError:
            if current is None and not self.check_mode:
                self._undo_create()
            raise
        final_state = wanted_state

        restart_required = False
        if final_state in ("running", "paused") and current is not None and state != "stopped":
            restart_required = self._restart_required(desired)
            if restart_required and params.get("force"):
                changed = True
                self.actions.append("restart")
                restart_required = False
                if not self.check_mode:
                    self._stop(force=True)
                    self.client.start(self.name, paused=final_state == "paused")

        addresses = {}
        if not self.check_mode and final_state == "running":
            addresses = self._addresses(wait=params.get("wait_for_ip"))

        if self.check_mode:
            fields, uuid = desired, (current or {}).get("uuid")
        else:
            fields = parse_domain(self.client.domain_xml(self.name, inactive=True))
            uuid = fields["uuid"]
        view = spec.domain_view(fields, name=self.name, uuid=uuid, state=final_state,
                                autostart=want_autostart, restart_required=restart_required,
                                addresses=addresses)
        before = after = None
        if self.diff:
            before = _diff_text(state, autostart, current_xml) if current is not None else ""
            after = _diff_text(final_state, want_autostart, new_xml)
        return self._result(changed, before, after, desired, current, view)

    def _restart_required(self, desired):
        """Whether the running definition differs from the persistent one; keeps the live
        metadata flag (read by libvirt_domain_info) in step."""
        live = parse_domain(self.client.domain_xml(self.name, inactive=False))
        if self.check_mode:
            return bool(spec.changed_fields(live, desired, for_restart=True))
        persistent = parse_domain(self.client.domain_xml(self.name, inactive=True))
        required = bool(spec.changed_fields(live, persistent, for_restart=True))
        if required != live["restart_flag"]:
            self.client.set_live_metadata(self.name, metadata_xml(live["metadata"], required), NS, PREFIX)
        return required

    def _do(self, action):
        client, name = self.client, self.name
        if action == "start":
            client.start(name)
        elif action == "start_paused":
            client.start(name, paused=True)
        elif action == "resume":
            client.resume(name)
        elif action == "suspend":
            client.suspend(name)
        elif action == "wakeup":
            client.wakeup(name)
        elif action == "destroy":
            client.destroy(name)
        elif action == "shutdown":
            self._stop(force=self.params.get("force"))
        else:  # pragma: no cover - spec.state_actions only returns the names above
            raise GhostError("unknown action %r" % action)

    def _stop(self, *, force):
        """ACPI shutdown, waiting up to shutdown_timeout; then power off only when forced."""
        timeout = self.params.get("shutdown_timeout")
        timeout = 120 if timeout is None else timeout
        if self.client.domain_state(self.name)[0] == 3:  # paused: a guest must run to see ACPI
            self.client.resume(self.name)
        self.client.shutdown(self.name)
        deadline = self.clock() + timeout
        asked = self.clock()
        while True:
            code, active = self.client.domain_state(self.name)
            if not active:
                return
            now = self.clock()
            if now >= deadline:
                break
            if now - asked >= SHUTDOWN_RETRY:
                self.client.shutdown(self.name)
                asked = now
            self.sleep(min(POLL, max(deadline - now, 0.01)))
        if force:
            self.actions.append("power off after %d s" % timeout)
            self.client.destroy(self.name)
            return
        raise GhostError(failure(
            "shut down", "domain", self.name,
            "still %s %d s after the ACPI shutdown request; set force: true to power it off, or "
            "raise shutdown_timeout" % (spec.state_name(code), timeout)))

    def _addresses(self, wait):
        addresses = self.client.interface_addresses(self.name)
        if not wait:
            return addresses
        timeout = self.params.get("wait_timeout")
        timeout = 300 if timeout is None else timeout
        deadline = self.clock() + timeout
        while not addresses:
            if self.clock() >= deadline:
                raise GhostError(failure(
                    "get an IP address for", "domain", self.name,
                    "none within %d s from libvirt's DHCP leases or the QEMU guest agent"
                    % timeout))
            self.sleep(IP_POLL)
            addresses = self.client.interface_addresses(self.name)
        return addresses

    # -- result -----------------------------------------------------------------------

    def _result(self, changed, before, after, desired, current, view, **extra):
        result = build_result(changed, domain=view, actions=list(self.actions), **extra)
        if self.diff:
            result["diff"] = make_diff(before, after)
            result["diff"]["before_header"] = "%s (%s)" % (self.name, "current definition")
            result["diff"]["after_header"] = "%s (%s)" % (self.name, "wanted definition")
        return result


def ensure_domain(client, params, *, check_mode=False, diff=False, sleep=time.sleep,
                  clock=time.monotonic):
    """The libvirt_domain result for ``params`` (the module's options)."""
    return DomainRun(client, params, check_mode=check_mode, diff=diff, sleep=sleep,
                     clock=clock).ensure()


def domain_info(client, name=None):
    """The libvirt_domain_info result: ``domains`` (sorted by name)."""
    records = client.list_domains(name)
    parsed = [(rec_name, code, autostart, parse_domain(xml)) for rec_name, code, autostart, xml in records]
    networks = set()
    for _name, code, _autostart, fields in parsed:
        if spec.state_name(code) in ("running", "paused"):
            networks.update(n["source"] for n in fields["interfaces"] if n["type"] == "network")
    leases = {}
    for network in sorted(networks):
        for mac, addresses in client.network_leases(network).items():
            leases.setdefault(mac, []).extend(addresses)
    domains = []
    for rec_name, code, autostart, fields in parsed:
        active = spec.state_name(code) in ("running", "paused")
        domains.append(spec.domain_view(
            fields, name=rec_name, uuid=fields["uuid"], state=spec.state_name(code),
            autostart=autostart, restart_required=active and fields["restart_flag"],
            addresses=leases if active else {}))
    return build_result(False, domains=domains)
