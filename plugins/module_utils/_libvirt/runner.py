# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bring a libvirt domain to the wanted state, and describe domains. Private to ghost.infra.

ensure_domain() and domain_info() take a client (client.LibvirtClient or a test double) and
plain option values, never the AnsibleModule. The order is: check the options, read the domain
once, plan (type, volumes, definition), then apply unless in check mode: volumes and
definition, autostart, power state, restart. Everything that can be refused is refused before
the first volume is created, and volumes created by a run that then fails are deleted again.

The expiry (``ttl``, ``expires_at``; rule in _common/lifetime.py) is part of the module's
metadata element: a new domain gets it in its first define; on an existing domain a new expiry
is a metadata update of the persistent definition, and of the live one while it runs, never a
define that would flag a restart.

Check mode only reads: no volume, pool refresh, temporary pool or metadata write. Two runs
creating the same domain at once: libvirt's define of a new name is the point only one of them
passes (the other fails naming the domain), and neither deletes a volume the domain uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result, make_diff
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import resources, spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.guest import wait_cloud_init
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.power import Power
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.volumes import DomainVolumes, creation_actions
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import (
    build_domain,
    metadata_xml,
    patch_domain,
    pretty,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_parse import NS, PREFIX, parse_domain

ACTIVE = ("running", "paused")


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _diff_text(state, autostart, xml, lifetime=None):
    """One side of the --diff: power state, autostart and expiry, then the definition."""
    lifetime = lifetime or {}
    expiry = lifetime.get("expires_at") or "never"
    if lifetime.get("ttl"):
        expiry += " (ttl %s)" % lifetime["ttl"]
    return "# state: %s\n# autostart: %s\n# expires: %s\n%s" % (
        state, "yes" if autostart else "no", expiry, pretty(xml))


def _lifetime_of(fields):
    return ((fields or {}).get("metadata") or {}).get("lifetime") or {}


class DomainRun:
    """One run of libvirt_domain: ``params`` are the module options."""

    def __init__(self, client, params, *, check_mode=False, diff=False, sleep=time.sleep,
                 clock=time.monotonic, now=_utcnow):
        self.client = client
        self.params = params
        self.name = params["name"]
        self.check_mode = check_mode
        self.diff = diff
        self.volumes = DomainVolumes(client, self.name, check_mode=check_mode)
        self.power = Power(client, self.name, shutdown_timeout=params.get("shutdown_timeout"),
                           wait_timeout=params.get("wait_timeout"), sleep=sleep, clock=clock)
        self.actions = []  # what was (or would be) done, for the result; changed = any
        self.warnings = []
        self.now = now()  # one instant for the whole run: the expiry and `expired` agree
        self.lifetime = None  # the wanted expiry record, once the domain is read
        self.defined = False  # whether this run (re)defined the domain

    def ensure(self):
        """The module result (``changed``, ``domain``, ``actions``, ``diff`` when asked, and
        ``warnings`` for the module to show)."""
        interfaces = spec.validate(self.params)
        found = self._read(self.client.domain_exists(self.name))
        if self.params["state"] == "absent":
            return self._absent(found)
        # Bad ttl, expires_at or max_ttl fails here, before anything is written.
        self.lifetime = spec.wanted_lifetime(found["fields"], self.params, self.now)
        return self._present(found, interfaces)

    def _read(self, exists):
        """The domain as it is: its inactive definition (``xml``, ``fields``; None when it does
        not exist), ``state``, ``active`` and ``autostart``."""
        if not exists:
            return {"xml": None, "fields": None, "state": "stopped", "active": False,
                    "autostart": spec.CREATE_DEFAULTS["autostart"]}
        xml = self.client.domain_xml(self.name, inactive=True)
        fields = parse_domain(xml)
        code, active = self.client.domain_state(self.name)
        return {"xml": xml, "fields": fields, "state": spec.state_name(code), "active": active,
                "autostart": self.client.domain_autostart(self.name)}

    def _act(self, action, apply, *args, **kwargs):
        """Record ``action``; carry it out with ``apply(*args, **kwargs)`` unless in check mode."""
        self.actions.append(action)
        if not self.check_mode:
            apply(*args, **kwargs)

    def _note(self, action):
        """Record an action a power step reports it took (None: nothing to add)."""
        if action:
            self.actions.append(action)

    # -- absent -----------------------------------------------------------------------

    def _absent(self, found):
        current = found["fields"]
        if current is None:
            return self._result(spec.absent_view(self.name))
        owned = [v for v in current["metadata"]["volumes"]
                 if v.get("pool") and v.get("name") and v.get("path") != current["metadata"].get("base")]
        # Volumes go before the definition: if a deletion fails, the domain (and the record of
        # its volumes) is still there for the next run to finish the job.
        if found["active"]:
            self._act("destroy", self.client.destroy, self.name)
        for volume in owned:
            self._act("delete volume %s/%s" % (volume["pool"], volume["name"]),
                      self.client.delete_volume, volume["pool"], volume["name"])
        self._act("undefine", self.client.undefine, self.name)
        before = _diff_text(found["state"], found["autostart"], found["xml"], _lifetime_of(current))
        return self._result(spec.absent_view(self.name, current),
                            before=before, after="",
                            deleted_volumes=["%s/%s" % (v["pool"], v["name"]) for v in owned])

    # -- present / running / stopped / paused -----------------------------------------

    def _present(self, found, interfaces):
        plan = self._plan(found["fields"], interfaces, found["state"])
        self._check_resources(found, plan)
        desired, new_xml = self._define(found, plan)
        # A reset powered the domain off: its power state is reached from there.
        now = dict(found, state="stopped", active=False) if plan["reset"] else found
        self._set_lifetime(found["fields"], desired, live=now["active"])
        self._finish_volumes(plan, live=now["state"] in ACTIVE)
        autostart = self._autostart(found["autostart"])
        state = self._reach_state(now, plan["state"])
        restart_required = self._restart(now, desired, state)
        view = self._view(found["fields"], desired, state=state, autostart=autostart,
                          restart_required=restart_required)
        before = after = None
        if self.diff:
            before = "" if found["fields"] is None else _diff_text(
                found["state"], found["autostart"], found["xml"], _lifetime_of(found["fields"]))
            after = _diff_text(state, autostart, new_xml, _lifetime_of(desired))
        extra = {}
        if self.params.get("reset_token") is not None:
            extra["reset"] = spec.reset_view(desired, performed=plan["reset"])
        if "cloud_init" in (self.params.get("wait_for") or []) and not self.check_mode:
            try:
                extra["cloud_init"] = wait_cloud_init(self.client, self.name, timeout=self.power.wait_timeout,
                                                      sleep=self.power.sleep, clock=self.power.clock)
            except GhostError as exc:
                # The domain is there and running: say what this run did to it.
                exc.details.update(changed=bool(self.actions), actions=list(self.actions), domain=view)
                raise
        return self._result(view, before=before, after=after, **extra)

    def _plan(self, current, interfaces, found_state):
        """Power, reset, domain type, networks and volumes, checked and planned before anything
        changes."""
        params = self.params
        plan = {"interfaces": interfaces, "domain_type": None, "arch": None}
        if params.get("domain_type") or current is None:
            caps = self.client.capabilities()
            requested = params.get("domain_type") or spec.CREATE_DEFAULTS["domain_type"]
            plan["domain_type"] = spec.resolve_domain_type(requested, host_has_kvm=caps["kvm"])
            plan["arch"] = caps["arch"]
        self._check_networks(interfaces)
        nics = interfaces if interfaces is not None else (current or {}).get("interfaces", [])
        plan["reset"], plan["reset_record"] = spec.reset_record(current, params.get("reset_token"))
        if plan["reset"] and not any(v.get("role") == "overlay" for v in current["metadata"]["volumes"]):
            raise GhostError(failure("reset", "domain", self.name,
                                     "it has no disk made by this module to recreate from a base image"))
        plan["state"] = spec.wanted_state(params["state"], found_state, exists=current is not None)
        if plan["reset"] and plan["state"] not in ACTIVE:
            plan["state"] = "stopped"
        pool = None
        if plan["reset"] or any(params.get(key) is not None for key in ("base_image", "disk_gb", "cloud_init")):
            pool = self.client.pool(params.get("pool") or spec.recorded_pool(current) or spec.DEFAULT_POOL)
        plan["overlay"], plan["overlay_plan"] = self.volumes.plan_overlay(
            pool, current, base_image=params.get("base_image"), disk_gb=params.get("disk_gb"),
            reset=plan["reset"])
        plan["seed"], plan["seed_plan"] = self.volumes.plan_seed(
            pool, current, cloud_init=params.get("cloud_init"), nics=nics)
        plan["pool"] = pool
        return plan

    def _check_resources(self, found, plan):
        """Refuse (or warn about) what the host cannot hold, before anything is created: the
        memory this run starts, the vCPUs it defines or starts, the disk it creates or grows."""
        params, current = self.params, found["fields"]
        base = current or {"vcpus": spec.CREATE_DEFAULTS["vcpus"],
                           "memory_mb": spec.CREATE_DEFAULTS["memory_mb"]}
        memory = (params.get("memory_mb") or base["memory_mb"]) * resources.MIB
        vcpus = params.get("vcpus") or base["vcpus"]
        starts = plan["state"] in ACTIVE and not found["active"]
        need = {"memory": memory if starts else 0, "vcpus": 0, "disk": 0,
                "pool": (plan["pool"] or {}).get("name")}
        if found["active"] and (params.get("force") or plan["reset"]):
            # A reset, or a forced restart (there is one when the size differs from the running
            # one), gives back what the domain holds and takes the new size.
            live = parse_domain(self.client.domain_xml(self.name, inactive=False))
            need["memory"] = max(0, memory - live["memory_mb"] * resources.MIB)
        if starts or plan["reset"] or current is None or vcpus != current["vcpus"]:
            need["vcpus"] = vcpus
        seed_plan = plan["seed_plan"] or {}
        need["disk"] = ((plan["overlay_plan"] or {}).get("disk_bytes") or 0) + len(seed_plan.get("data") or b"")
        if not (need["memory"] or need["vcpus"] or need["disk"]):
            return
        host = {"uri": self.client.uri}
        if need["memory"] or need["vcpus"]:
            host.update(self.client.host_resources())
        if need["disk"]:
            host["pool_available"] = plan["pool"].get("available")
        errors, warnings = resources.check_resources(need, host, strict=params.get("strict_resources"))
        self.warnings.extend(warnings)
        if errors:
            verb = "create" if current is None else ("start" if starts else "change")
            raise GhostError(failure(verb, "domain", self.name, "; ".join(errors)),
                             details={"resources": {"needed": need, "host": host}})

    def _check_networks(self, interfaces):
        for nic in interfaces or []:
            if nic["type"] == "network" and not self.client.network_exists(nic["source"]):
                raise GhostError(
                    failure("define", "domain", self.name, "network '%s' does not exist on %s"
                            % (nic["source"], self.client.uri)))

    def _define(self, found, plan):
        """Create the planned volumes, then define the domain when its fields change; the
        volumes are deleted again when that fails. Returns (wanted fields, new XML)."""
        current = found["fields"]
        if plan["reset"] and found["active"]:
            # The disk it runs on is about to be thrown away: no shutdown to wait for.
            self._act("power off for the reset", self.client.destroy, self.name)
        self.actions.extend(creation_actions(plan["overlay_plan"], plan["seed_plan"]))
        try:
            overlay = plan["overlay"]
            if not self.check_mode:
                overlay = self.volumes.create(overlay, plan["overlay_plan"], plan["seed_plan"])
            desired = spec.desired_fields(current, self.params, domain_type=plan["domain_type"],
                                          interfaces=plan["interfaces"], overlay=overlay, seed=plan["seed"],
                                          reset=plan["reset_record"], lifetime=self.lifetime)
            changes = spec.changed_fields(current, desired)
            if current is None:
                new_xml = build_domain(desired, name=self.name, arch=plan["arch"])
            elif changes or _lifetime_of(current) != self.lifetime:
                new_xml = patch_domain(found["xml"], desired)
            else:
                new_xml = found["xml"]
            if changes:
                action = "define" if current is None else "update definition (%s)" % ", ".join(changes)
                self._act(action, self._define_xml, new_xml, new=current is None)
                self.defined = True
        except BaseException:
            self.volumes.rollback()
            raise
        return desired, new_xml

    def _set_lifetime(self, current, desired, *, live):
        """A new expiry on an existing domain: a metadata update of the persistent definition
        (unless this run's define wrote it already) and of the running one, so
        libvirt_domain_info and the inventory (which read the live XML) see it at once."""
        if current is None or _lifetime_of(current) == self.lifetime:
            return
        self._act(spec.lifetime_action(self.lifetime), self._write_lifetime, desired["metadata"], live=live)

    def _write_lifetime(self, metadata, *, live):
        if not self.defined:
            self.client.set_config_metadata(self.name, metadata_xml(metadata), NS, PREFIX)
        if live:
            # The live element keeps its own records and restart flag; only the expiry changes.
            running = parse_domain(self.client.domain_xml(self.name, inactive=False))
            wanted = dict(running["metadata"], lifetime=dict(self.lifetime))
            self.client.set_live_metadata(self.name, metadata_xml(wanted, running["restart_flag"]), NS, PREFIX)

    def _define_xml(self, xml, *, new):
        """Define ``xml``. A new definition carries no UUID, so libvirt refuses it when a
        domain of that name appeared since it was read: another run created it."""
        try:
            self.client.define(self.name, xml)
        except GhostError as exc:
            if "Maximum CPUs greater than" in str(exc):  # QEMU's limit for the machine type
                raise GhostError(exc.msg, option="vcpus", details=exc.details)
            if not (new and self._exists_now()):
                raise
            raise GhostError(failure(
                "create", "domain", self.name,
                "another run created it while this run was creating it; run the task again to "
                "converge (%s)" % getattr(exc, "cause", exc)), details=exc.details)

    def _exists_now(self):
        try:
            return self.client.domain_exists(self.name)
        except GhostError:
            return False  # the first error is the one to report

    def _finish_volumes(self, plan, *, live):
        """Grow the overlay; delete the seeds the new definition replaced."""
        overlay_plan = plan["overlay_plan"]
        if overlay_plan and overlay_plan["grow"]:
            self._act("grow %s to %d GiB" % (overlay_plan["name"], self.params["disk_gb"]),
                      self.volumes.grow, overlay_plan, live=live)
        for old in (plan["seed_plan"] or {}).get("replaces", []):
            self._act("delete old NoCloud seed %s/%s" % (old["pool"], old["name"]),
                      self.client.delete_volume, old["pool"], old["name"])

    def _autostart(self, current):
        wanted = self.params["autostart"] if self.params.get("autostart") is not None else current
        if wanted != current:
            self._act("set autostart %s" % ("on" if wanted else "off"),
                      self.client.set_autostart, self.name, wanted)
        return wanted

    def _reach_state(self, found, wanted):
        """Take the domain to the ``wanted`` power state; returns it. A domain this run created
        that cannot get there is removed again."""
        try:
            for action in spec.state_actions(found["state"], wanted):
                self.actions.append(action)
                if not self.check_mode:
                    self._note(self.power.apply(action, force=self.params.get("force")))
        except GhostError:
            if found["fields"] is None and not self.check_mode:
                self._undo_create()
            raise
        return wanted

    def _undo_create(self):
        """A domain created by this run that could not be brought up: remove it again."""
        try:
            _code, active = self.client.domain_state(self.name)
            if active:
                self.client.destroy(self.name)
            self.client.undefine(self.name)
        except GhostError:
            return  # keep its volumes: the domain still uses them
        self.volumes.rollback()

    def _restart(self, found, desired, state):
        """Whether the domain still runs an older definition; with force it is restarted now,
        so it does not."""
        if state not in ACTIVE or found["fields"] is None or found["state"] == "stopped":
            return False
        required = self._restart_required(desired)
        if not (required and self.params.get("force")):
            return required
        self.actions.append("restart")
        if not self.check_mode:
            self._note(self.power.stop(force=True))
            self.client.start(self.name, paused=state == "paused")
        return False

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

    def _view(self, current, desired, *, state, autostart, restart_required):
        """The returned ``domain``: as defined now, or as it would be in check mode."""
        addresses = {}
        if self.check_mode:
            fields, uuid = desired, (current or {}).get("uuid")
        else:
            fields = parse_domain(self.client.domain_xml(self.name, inactive=True))
            uuid = fields["uuid"]
        if not self.check_mode and state == "running":
            wait = bool(self.params.get("wait_for_ip")) or "ip" in (self.params.get("wait_for") or [])
            try:
                addresses = self.power.addresses(
                    wait=wait, sources=spec.address_sources(self.params.get("ip_source")),
                    macs=[nic["mac"] for nic in fields["interfaces"]])
            except GhostError as exc:
                # The domain is there and running: say what this run did to it.
                exc.details.update(changed=bool(self.actions), actions=list(self.actions))
                raise
        return spec.domain_view(fields, name=self.name, uuid=uuid, state=state, autostart=autostart,
                                restart_required=restart_required, addresses=addresses, now=self.now)

    def _result(self, view, *, before=None, after=None, **extra):
        result = build_result(bool(self.actions), domain=view, actions=list(self.actions), **extra)
        if self.volumes.warnings or self.warnings:
            result["warnings"] = list(self.volumes.warnings) + list(self.warnings)
        if self.diff:
            result["diff"] = make_diff(before, after)
            result["diff"]["before_header"] = "%s (%s)" % (self.name, "current definition")
            result["diff"]["after_header"] = "%s (%s)" % (self.name, "wanted definition")
        return result


def ensure_domain(client, params, *, check_mode=False, diff=False, sleep=time.sleep,
                  clock=time.monotonic, now=_utcnow):
    """The libvirt_domain result for ``params`` (the module's options)."""
    return DomainRun(client, params, check_mode=check_mode, diff=diff, sleep=sleep,
                     clock=clock, now=now).ensure()


def domain_info(client, name=None, *, now=None):
    """The libvirt_domain_info result: ``domains`` (sorted by name); ``expired`` as of ``now``
    (an aware datetime; None: the current time), from the XML already read."""
    now = now or _utcnow()
    records = client.list_domains(name)
    parsed = [(rec_name, code, autostart, parse_domain(xml)) for rec_name, code, autostart, xml in records]
    networks = set()
    for _name, code, _autostart, fields in parsed:
        if spec.state_name(code) in ACTIVE:
            networks.update(n["source"] for n in fields["interfaces"] if n["type"] == "network")
    leases = {}
    for network in sorted(networks):
        for mac, addresses in client.network_leases(network).items():
            leases.setdefault(mac, []).extend(addresses)
    domains = []
    for rec_name, code, autostart, fields in parsed:
        active = spec.state_name(code) in ACTIVE
        domains.append(spec.domain_view(
            fields, name=rec_name, uuid=fields["uuid"], state=spec.state_name(code),
            autostart=autostart, restart_required=active and fields["restart_flag"],
            addresses=leases if active else {}, now=now))
    return build_result(changed=False, domains=domains)
