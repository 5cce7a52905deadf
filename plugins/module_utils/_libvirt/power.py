# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Power state changes of one libvirt domain and the waits they need. Private to ghost.infra.

Power carries out the actions spec.state_actions() names, asks the guest to shut down (ACPI)
and waits for it, powering off only when forced, and waits for an IP address. ``sleep`` and
``clock`` are injected, so tests run without waiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import spec

SHUTDOWN_RETRY = 10.0  # seconds between ACPI requests (a booting guest may miss the first)
POLL = 0.5
IP_POLL = 2.0
DEFAULT_SHUTDOWN_TIMEOUT = 120
DEFAULT_WAIT_TIMEOUT = 300
PAUSED = 3  # virDomainState VIR_DOMAIN_PAUSED


class Power:
    """Power actions on domain ``name``; ``None`` timeouts take the modules' defaults."""

    def __init__(self, client, name, *, shutdown_timeout=None, wait_timeout=None, sleep=time.sleep,
                 clock=time.monotonic):
        self.client = client
        self.name = name
        self.shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT if shutdown_timeout is None else shutdown_timeout
        self.wait_timeout = DEFAULT_WAIT_TIMEOUT if wait_timeout is None else wait_timeout
        self.sleep = sleep
        self.clock = clock

    def apply(self, action, *, force):
        """Carry out one action of spec.state_actions(); returns what stop() returns for a
        shutdown, else None."""
        client, name = self.client, self.name
        if action == "shutdown":
            return self.stop(force=force)
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
        else:  # pragma: no cover - spec.state_actions only returns the names above
            raise GhostError("unknown action %r" % action)
        return None

    def stop(self, *, force):
        """ACPI shutdown, waiting up to shutdown_timeout; then power off only when forced.

        Returns the extra action ("power off after N s") when it had to power off, else None.
        """
        timeout = self.shutdown_timeout
        if self.client.domain_state(self.name)[0] == PAUSED:  # a guest must run to see ACPI
            self.client.resume(self.name)
        self.client.shutdown(self.name)
        deadline = self.clock() + timeout
        asked = self.clock()
        while True:
            code, active = self.client.domain_state(self.name)
            if not active:
                return None
            now = self.clock()
            if now >= deadline:
                break
            if now - asked >= SHUTDOWN_RETRY:
                self.client.shutdown(self.name)
                asked = now
            self.sleep(min(POLL, max(deadline - now, 0.01)))
        if force:
            self.client.destroy(self.name)
            return "power off after %d s" % timeout
        raise GhostError(failure(
            "shut down", "domain", self.name,
            "still %s %d s after the ACPI shutdown request; set force: true to power it off, or "
            "raise shutdown_timeout" % (spec.state_name(code), timeout)))

    def addresses(self, *, wait, sources, macs):
        """{mac: [address]} of the domain from ``sources`` (see spec.address_sources); with
        ``wait``, poll until one of its NICs (``macs``) has one, or fail after wait_timeout."""
        addresses = self.client.interface_addresses(self.name, sources)
        if not wait:
            return addresses
        if not macs:
            raise GhostError(failure("get an IP address for", "domain", self.name,
                                     "it has no network interface"), option="wait_for_ip")
        timeout = self.wait_timeout
        deadline = self.clock() + timeout
        while not any(addresses.get(mac) for mac in macs):
            if self.clock() >= deadline:
                raise GhostError(failure(
                    "get an IP address for", "domain", self.name,
                    "none within %d s from %s" % (timeout, spec.describe_sources(sources))))
            self.sleep(IP_POLL)
            addresses = self.client.interface_addresses(self.name, sources)
        return addresses
