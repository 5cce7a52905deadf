# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Canonical YAML for cloud-init documents. Private to ghost.infra; pure (no ansible import).

One dumper for every document so the same data always gives the same bytes: keys sorted,
no aliases, no line folding, multi-line strings as ``|`` blocks, UTF-8 kept as is.
PyYAML is loaded through optional_import: a host without it gets a clear message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._common.imports import optional_import

YAML = optional_import("yaml", "PyYAML")

_DUMPER = []


def _dumper():
    """The SafeDumper subclass, built once on first use (PyYAML may be missing at import)."""
    if _DUMPER:
        return _DUMPER[0]
    yaml = YAML.require()

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):
            return True

        def increase_indent(self, flow=False, indentless=False):
            # Indent list items under their key, as cloud-init's own examples do.
            return super(Dumper, self).increase_indent(flow, indentless=False)

    def represent_str(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, represent_str)
    _DUMPER.append(Dumper)
    return Dumper


def dump_yaml(data):
    """``data`` (plain dicts, lists, str, int, float, bool, None) as canonical YAML text."""
    return YAML.require().dump(
        data, Dumper=_dumper(), default_flow_style=False, sort_keys=True,
        allow_unicode=True, width=1 << 16, explicit_start=False)


def load_yaml(text, *, option):
    """Parse YAML safely; a syntax error names ``option`` and a position but never the text."""
    yaml = YAML.require()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        where = ""
        if mark is not None:
            where = " at line %d, column %d" % (mark.line + 1, mark.column + 1)
        raise GhostError("is not valid YAML: %s%s" % (problem, where), option=option)
