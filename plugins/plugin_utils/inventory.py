# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The base of ghost.infra's inventory plugins. Private to ghost.infra; no compatibility promise.

It lives in plugin_utils, not module_utils, because it builds on ansible.plugins.inventory,
which module_utils may not import. A plugin only says how to read its backend(s) into host
records (module_utils/_inventory/spec.py); this base does the rest the same way for every one:

- ``verify_file``: the source file's name ends in ``<plugin FQCN>.yml`` or ``.yaml``;
- the inventory cache: hosts come from the cache while it is fresh, so a second run within
  ``cache_timeout`` makes no backend call at all; the cache key includes a digest of the
  options that shape the hosts (never of a secret option), so a changed filter reads again;
  a refresh in which a backend failed is not cached, and makes the next run read again;
- ``constructed``: compose, groups and keyed_groups on every host, after its own variables;
- a backend that is down: with ``strict`` the run fails naming it; otherwise a warning, and
  the hosts of the backends that answered.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._inventory import spec

# Options of inventory_cache and constructed: they never change what a refresh reads.
_NOT_SOURCE = ("plugin", "cache", "cache_plugin", "cache_timeout", "cache_connection", "cache_prefix",
               "compose", "groups", "keyed_groups", "strict", "use_extra_vars", "leading_separator")


class BackendDown(Exception):
    """A backend did not answer; ``partial`` hosts (and their ``warnings``) are those of the
    backends that did."""

    def __init__(self, msg, *, partial=None, warnings=()):
        super(BackendDown, self).__init__(msg)
        self.partial = partial or []
        self.warnings = list(warnings)


class GhostInventory(BaseInventoryPlugin, Constructable, Cacheable):
    """Subclasses set NAME and SECRET_OPTIONS and implement ``read_hosts()``."""

    NAME = None
    # Options never hashed into the cache key.
    SECRET_OPTIONS = ()

    def verify_file(self, path):
        if not super(GhostInventory, self).verify_file(path):
            return False
        if path.endswith((self.NAME + ".yml", self.NAME + ".yaml")):
            return True
        self.display.vvv("Skipping %s: the file name does not end in %s.yml or %s.yaml" % (path, self.NAME, self.NAME))
        return False

    def read_hosts(self):
        """``(host records, warnings)`` read from the backend(s); raises GhostError for bad
        options and BackendDown when a backend does not answer."""
        raise NotImplementedError

    def fail(self, msg):
        """An error in the plugin's words; the source file names the plugin already."""
        return AnsibleParserError("%s: %s" % (self.NAME, msg))

    def source_options(self):
        """The options that shape this source's hosts (for the cache key), secrets left out."""
        return {k: self.get_option(k) for k in self._options if k not in _NOT_SOURCE}

    def parse(self, inventory, loader, path, cache=True):
        super(GhostInventory, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        key = "%s_%s" % (self.get_cache_key(path), spec.source_key(self.source_options(), secret=self.SECRET_OPTIONS))
        enabled = self.get_option("cache")
        hosts = None
        if enabled and cache:
            try:
                hosts = self._cache[key].get("hosts")
            except (KeyError, AttributeError):
                hosts = None  # expired, never written, or not ours: read and store
        if hosts is None:
            hosts, complete = self._read()
            if enabled:
                # An incomplete refresh replaces what was cached by a mark that makes the next
                # run read again, so an older full answer cannot come back after a failure.
                self._cache[key] = {"hosts": hosts if complete else None}
        self.populate(hosts)

    def _read(self):
        """``(hosts, complete)``: complete is False when a backend was down (not cached)."""
        try:
            hosts, warnings = self.read_hosts()
        except GhostError as exc:
            raise self.fail(str(exc))
        except BackendDown as exc:
            if self.get_option("strict"):
                raise self.fail(str(exc))
            self._warn(exc.warnings)
            self.display.warning("%s: %s; the inventory lacks its hosts (strict: true makes this an error)"
                                 % (self.NAME, exc))
            return exc.partial, False
        self._warn(warnings)
        return hosts, True

    def _warn(self, warnings):
        for warning in warnings:
            self.display.warning("%s: %s" % (self.NAME, warning))

    def populate(self, hosts):
        """Add the host records, then apply compose, groups and keyed_groups to each."""
        strict = self.get_option("strict")
        compose, groups, keyed = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        for group in sorted({g for host in hosts for g in host.get("groups") or []}):
            self.inventory.add_group(group)
        for host in hosts:
            name = host["name"]
            self.inventory.add_host(name)
            for group in host.get("groups") or []:
                self.inventory.add_child(group, name)
            for var, value in (host.get("vars") or {}).items():
                self.inventory.set_variable(name, var, value)
            if compose or groups or keyed:
                hostvars = self.inventory.get_host(name).get_vars()
                self._set_composite_vars(compose, hostvars, name, strict=strict)
                self._add_host_to_composed_groups(groups, hostvars, name, strict=strict)
                self._add_host_to_keyed_groups(keyed, hostvars, name, strict=strict)
