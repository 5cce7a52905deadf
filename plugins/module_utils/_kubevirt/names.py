# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes object names for the KubeVirt modules. Private to ghost.infra; pure.

Names are checked as DNS-1123 labels (lower-case alphanumerics and '-', starting and ending
with an alphanumeric, at most 63 characters): what KubeVirt accepts for VirtualMachine names
and safe for snapshots and restores, whose names end up in labels of derived objects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

MAX_NAME = 63
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_HASH_LEN = 8


def validate_name(value, option):
    """Return ``value`` if it is a DNS-1123 label; otherwise raise GhostError naming ``option``."""
    if not isinstance(value, str) or not value:
        raise GhostError("must be a non-empty string", option=option)
    if len(value) > MAX_NAME:
        raise GhostError("'%s' is %d characters long; at most %d are allowed" % (value, len(value), MAX_NAME),
                         option=option)
    if not _LABEL.match(value):
        raise GhostError(
            "'%s' is not a valid name: use lower-case letters, digits and '-', starting and ending "
            "with a letter or digit (DNS-1123 label)" % value, option=option)
    return value


def default_restore_name(vm_name, snapshot_name):
    """The restore name used when the user gives none: ``<vm>-<snapshot>``, stable, at most 63 characters.

    When that is too long, the front is kept and an 8-character hash of both inputs is appended,
    so two long pairs that share a prefix still get different names, and the same pair always
    gets the same name (a re-run finds its own restore).
    """
    name = "%s-%s" % (vm_name, snapshot_name)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(("%s/%s" % (vm_name, snapshot_name)).encode("utf-8")).hexdigest()[:_HASH_LEN]
    head = name[:MAX_NAME - _HASH_LEN - 1].rstrip("-")
    return "%s-%s" % (head, digest)
