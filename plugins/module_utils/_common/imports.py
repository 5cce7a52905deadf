# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guarded imports of optional libraries. Private to ghost.infra.

Modules must load (for ansible-doc, argument checking and a clear message) even when an SDK
is missing, so SDK imports go through optional_import() and are checked once at run time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import traceback

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import MissingLibraryError


class OptionalImport:
    """Outcome of importing one optional library."""

    def __init__(self, name, package, *, module=None, error=None, trace=None):
        self.name = name
        self.package = package
        self.module = module
        self.error = error
        self.traceback = trace

    @property
    def available(self):
        return self.module is not None

    def require(self):
        """Return the module or raise MissingLibraryError naming the pip package."""
        if self.module is None:
            raise MissingLibraryError(library=self.package, reason=str(self.error))
        return self.module


def optional_import(name, package=None):
    """Import ``name``; never raise. ``package`` is what users install (e.g. libvirt-python)."""
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken C extension raising something else
        return OptionalImport(name, package or name, error=exc, trace=traceback.format_exc())
    return OptionalImport(name, package or name, module=module)
