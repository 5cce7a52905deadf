# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one error type. Private to ghost.infra; no compatibility promise.

Pure logic and SDK clients raise GhostError; the module base turns it into fail_json.
Nothing here imports ansible or an SDK, so pure code can use it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class GhostError(Exception):
    """A failure with a message fit for a user.

    ``option`` names the module option at fault (dotted for suboptions, e.g. ``cloud_init.ip``)
    and prefixes the message, so bad input always says where it came from. ``details`` carries
    extra result keys (never secrets). Arguments after ``msg`` are keyword-only so they cannot
    be swapped by accident.
    """

    def __init__(self, msg, *, option=None, details=None):
        super(GhostError, self).__init__(msg)
        self.msg = msg
        self.option = option
        self.details = dict(details or {})

    def __str__(self):
        if self.option:
            return "%s: %s" % (self.option, self.msg)
        return self.msg


class MissingLibraryError(GhostError):
    """An optional Python library is not importable on the host running the module."""

    def __init__(self, *, library, reason):
        super(MissingLibraryError, self).__init__(
            "the Python library %s is required: %s" % (library, reason))
        self.library = library
        self.reason = reason


def failure(verb, kind, name, cause):
    """Message in the collection's shape: Failed to <verb> <kind> '<name>': <cause>."""
    return "Failed to %s %s '%s': %s" % (verb, kind, name, cause)
