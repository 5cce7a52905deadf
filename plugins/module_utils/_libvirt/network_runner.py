# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bring a libvirt network to the wanted state. Private to ghost.infra.

ensure_network() takes a client (network.NetworkClient or a test double) and the module's
options, never the AnsibleModule. The options are checked before anything is read; the network
is read once (persistent and running definition); the persistent definition is written whole
when a managed field differs; a running network then gets the DHCP range and static hosts live
(virNetworkUpdate), and any other difference is reported as restart_required, or restarted
with ``restart``. Check mode only reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result, make_diff
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import network_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.network_xml import (
    live_updates,
    parse_network,
    patch_network,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.xml_build import pretty


def _diff_text(state, autostart, xml, *, restart_required=False):
    """One side of the --diff: state and autostart, then the persistent definition."""
    head = "# state: %s\n# autostart: %s\n" % (state, "yes" if autostart else "no")
    if restart_required:
        head += "# restart required: the running network keeps its old definition\n"
    return head + pretty(xml)


class NetworkRun:
    """One run of libvirt_network: ``params`` are the module options."""

    def __init__(self, client, params, *, check_mode=False, diff=False):
        self.client = client
        self.params = params
        self.name = params["name"]
        self.check_mode = check_mode
        self.diff = diff
        self.actions = []  # done (or to do in check mode), in order; changed = any
        self.warnings = []

    def ensure(self):
        requested = spec.requested_fields(self.params)
        found = self.client.read_network(self.name)
        if self.params["state"] == "absent":
            return self._absent(found)
        return self._present(found, requested)

    def _act(self, action, apply, *args):
        self.actions.append(action)
        if not self.check_mode:
            apply(*args)

    # -- absent -----------------------------------------------------------------------

    def _absent(self, found):
        if found is None:
            return self._result(spec.network_view(None, name=self.name, uuid=None, state="absent",
                                                  autostart=False), before="", after="")
        if found["active"]:
            self._act("stop", self.client.stop, self.name)
        if found["persistent"]:
            self._act("undefine", self.client.undefine, self.name)
        before = _diff_text("started" if found["active"] else "stopped", found["autostart"],
                            found["xml"])
        uuid = parse_network(found["xml"])["uuid"]
        return self._result(spec.network_view(None, name=self.name, uuid=uuid, state="absent",
                                              autostart=False), before=before, after="")

    # -- present / started / stopped --------------------------------------------------

    def _present(self, found, requested):
        current = parse_network(found["xml"]) if found else None
        desired = spec.desired_fields(current, requested)
        changes = spec.changed_fields(current, desired)
        new_xml = patch_network(found["xml"] if found else None, desired, name=self.name)
        if found is None:
            self._act("define", self.client.define, self.name, new_xml)
        elif changes or not found["persistent"]:
            what = ", ".join(changes) if changes else "make the running network persistent"
            self._act("update definition (%s)" % what, self.client.define, self.name, new_xml)
        else:
            new_xml = found["xml"]
        try:
            restart_required = self._running(found, desired)
            active = bool(found and found["active"])
            for action in spec.state_actions(active=active, wanted=self.params["state"]):
                method = self.client.start if action == "start" else self.client.stop
                self._act(action, method, self.name)
            autostart = self._autostart(found)
        except GhostError:
            if found is None and not self.check_mode:
                self._undo_create()
            raise
        state = spec.resulting_state(exists=found is not None, active=bool(found and found["active"]),
                                     wanted=self.params["state"])
        view = self._view(current, desired, state=state, autostart=autostart,
                          restart_required=restart_required)
        before = after = None
        if self.diff:
            before = "" if found is None else _diff_text(
                "started" if found["active"] else "stopped", found["autostart"], found["xml"])
            after = _diff_text(state, autostart, new_xml, restart_required=restart_required)
        return self._result(view, before=before, after=after)

    def _running(self, found, desired):
        """Bring a network that runs and stays running to ``desired``: DHCP ranges and hosts
        live; anything else by a restart with ``restart``, else reported (returns True)."""
        if not (found and found["active"]) or self.params["state"] == "stopped":
            return False
        live = parse_network(found["live_xml"])
        needs_restart = spec.restart_fields(live, desired)
        if needs_restart and self.params.get("restart"):
            self._act("restart (%s)" % ", ".join(needs_restart), self._restart)
            return False
        if needs_restart:
            self.warnings.append(
                "network '%s' keeps running with its old %s until it is restarted (restart=true, "
                "or stop and start it); guests on it lose their link while it restarts"
                % (self.name, ", ".join(needs_restart)))
            return True
        for operation in live_updates(live, desired):
            self._act(operation["action"] + " (live)", self.client.update_live, self.name, operation)
        return False

    def _restart(self):
        self.client.stop(self.name)
        self.client.start(self.name)

    def _autostart(self, found):
        wanted = self.params.get("autostart")
        if found is not None:
            current = found["autostart"]
        else:
            current = False
            # A network the module starts should come back with the host.
            wanted = wanted if wanted is not None else self.params["state"] == "started"
        if wanted is None or wanted == current:
            return current
        self._act("set autostart %s" % ("on" if wanted else "off"),
                  self.client.set_autostart, self.name, wanted)
        return wanted

    def _undo_create(self):
        """A network this run defined that could not be started: remove it again."""
        try:
            found = self.client.read_network(self.name)
            if found and found["active"]:
                self.client.stop(self.name)
            if found:
                self.client.undefine(self.name)
        except GhostError:
            pass  # the first error is the one to report

    def _view(self, current, desired, *, state, autostart, restart_required):
        if self.check_mode:
            fields, uuid = desired, (current or {}).get("uuid")
        else:
            fields = parse_network(self.client.read_network(self.name)["xml"])
            uuid = fields["uuid"]
        return spec.network_view(fields, name=self.name, uuid=uuid, state=state,
                                 autostart=autostart, restart_required=restart_required)

    def _result(self, view, *, before=None, after=None):
        result = build_result(bool(self.actions), network=view, actions=list(self.actions))
        if self.warnings:
            result["warnings"] = list(self.warnings)
        if self.diff:
            result["diff"] = make_diff(before, after)
            result["diff"]["before_header"] = "%s (current definition)" % self.name
            result["diff"]["after_header"] = "%s (wanted definition)" % self.name
        return result


def ensure_network(client, params, *, check_mode=False, diff=False):
    """The libvirt_network result for ``params`` (the module's options)."""
    return NetworkRun(client, params, check_mode=check_mode, diff=diff).ensure()
