# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixture ``return_schema``: compare what a view function returns with a module's RETURN block.

A module and its ``_info`` twin document the same objects twice; the test of each view function
(``vm_view``, ``domain_view``, ...) asserts that every key it returns is documented and every
documented key is returned, at every depth, so the copies cannot drift from the code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

import pytest
import yaml


def return_doc(module):
    """The parsed RETURN block of ``ghost.infra.<module>``."""
    mod = importlib.import_module("ansible_collections.ghost.infra.plugins.modules.%s" % module)
    return yaml.safe_load(mod.RETURN)


def _check(data, contains, path, optional, problems):
    if isinstance(data, list):
        for item in data:
            _check(item, contains, path + "[]", optional, problems)
        return
    if not isinstance(data, dict):
        problems.append("%s: documented with contains, returned %r" % (path or "<top>", type(data).__name__))
        return
    for key in sorted(set(data) - set(contains)):
        problems.append("%s%s: returned but not documented" % (path + "." if path else "", key))
    for key, entry in sorted(contains.items()):
        where = path + "." + key if path else key
        if key not in data:
            if where not in optional:
                problems.append("%s: documented but not returned" % where)
            continue
        if entry.get("contains") and data[key] is not None:
            _check(data[key], entry["contains"], where, optional, problems)


def assert_matches(data, contains, optional=()):
    """Assert ``data`` has exactly the keys of ``contains`` (a RETURN ``contains`` mapping), recursively.

    ``optional`` lists dotted paths (``disks[].path``) that RETURN documents as returned only
    sometimes and that ``data`` may lack.
    """
    problems = []
    _check(data, contains, "", set(optional), problems)
    assert not problems, "RETURN and the view disagree:\n" + "\n".join(problems)


class _Schema:
    doc = staticmethod(return_doc)
    assert_matches = staticmethod(assert_matches)


@pytest.fixture
def return_schema():
    """``return_schema.doc(module)`` and ``return_schema.assert_matches(data, contains, optional=())``."""
    return _Schema()
