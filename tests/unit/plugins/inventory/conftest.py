# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture ``inventory_run``: run an inventory plugin of ghost.infra on a source file, as
ansible-inventory does (its documented options, DataLoader, cache plugin), and collect its
warnings.

Each run is a fresh plugin instance, like a new ansible-inventory process; a cache plugin
that keeps files (ansible.builtin.jsonfile) carries hosts from one run to the next. The plugin
is imported like every other module of the tests (the collection is on PYTHONPATH) and given
its option definitions the way the plugin loader does, so a test can patch what it imports.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import textwrap
import types

import pytest
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.utils.display import Display


def load_plugin(fqcn):
    """A new instance of inventory plugin ``fqcn`` (ghost.infra.<name>), configured as the plugin
    loader configures one."""
    module = importlib.import_module("ansible_collections.ghost.infra.plugins.inventory." + fqcn.rsplit(".", 1)[-1])
    inventory_loader._load_config_defs(fqcn, module, module.__file__)
    plugin = module.InventoryModule()
    inventory_loader._update_object(obj=plugin, name=fqcn, path=module.__file__, resolved=fqcn)
    return plugin


def _graph(inventory):
    groups = {}
    for name, group in inventory.groups.items():
        hosts = sorted(h.name for h in group.get_hosts())
        if hosts and name not in ("all", "ungrouped"):
            groups[name] = hosts
    return groups


@pytest.fixture
def inventory_run(tmp_path, monkeypatch):
    """``inventory_run(plugin, text, filename=None, cache=True)`` -> namespace(hosts={name: vars},
    groups={group: [hosts]}, warnings=[...]); errors raise as they do for ansible-inventory."""
    warnings = []
    monkeypatch.setattr(Display, "warning", lambda self, msg, *a, **k: warnings.append(msg))

    def run(plugin_name, text, *, filename=None, cache=True):
        path = tmp_path / (filename or "src.%s.yml" % plugin_name)
        path.write_text(textwrap.dedent(text))
        plugin = load_plugin(plugin_name)
        if not plugin.verify_file(str(path)):
            return types.SimpleNamespace(verified=False, hosts={}, groups={}, warnings=warnings)
        del warnings[:]
        inventory = InventoryData()
        plugin.parse(inventory, DataLoader(), str(path), cache=cache)
        try:
            plugin.update_cache_if_changed()
        except AttributeError:
            pass  # no cache configured: what InventoryManager does too
        hosts = {name: dict(host.get_vars()) for name, host in inventory.hosts.items()}
        for host in hosts.values():
            host.pop("inventory_file", None)
            host.pop("inventory_dir", None)
        return types.SimpleNamespace(verified=True, hosts=hosts, groups=_graph(inventory), warnings=list(warnings))

    return run
