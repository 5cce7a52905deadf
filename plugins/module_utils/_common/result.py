# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Result and diff helpers with secret masking. Private to ghost.infra; pure (no ansible import).

Secrets are masked by key path before anything reaches a result or a diff, in the manner of
kubernetes.core's hide_fields: ``password`` masks that key at any depth, ``spec.token`` masks
one path, ``guestinfo.*`` masks every value under a key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

MASK = "********"


def _mask(node, anywhere, paths):
    """Mask ``node``: ``anywhere`` holds keys masked at any depth, ``paths`` tuples of keys."""
    if isinstance(node, list):
        return [_mask(item, anywhere, paths) for item in node]
    if not isinstance(node, dict):
        return copy.deepcopy(node)
    out = {}
    for key, value in node.items():
        below = [path[1:] for path in paths if path[0] in (key, "*")]
        if value is not None and (key in anywhere or () in below):
            out[key] = MASK
        else:
            out[key] = _mask(value, anywhere, [path for path in below if path])
    return out


def mask_secrets(data, fields):
    """Return a deep copy of ``data`` with the values at ``fields`` replaced by MASK.

    A field without a dot matches that key at any depth; a dotted field is a path from the top;
    ``*`` matches any key, so ``guestinfo.*`` masks every value below ``guestinfo``. ``None``
    values stay ``None`` so a diff still shows that something was unset. The input is never
    modified.
    """
    anywhere = set()
    paths = []
    for field in fields or ():
        if "." in field:
            paths.append(tuple(field.split(".")))
        else:
            anywhere.add(field)
    return _mask(data, anywhere, paths)


def make_diff(before, after, secret_fields=()):
    """A diff dict for Ansible's --diff, masked; ``None`` sides become empty dicts."""
    return {
        "before": mask_secrets(before if before is not None else {}, secret_fields),
        "after": mask_secrets(after if after is not None else {}, secret_fields),
    }


def build_result(changed, *, diff_enabled=False, before=None, after=None, secret_fields=(),
                 duration=None, **data):
    """The keys every module returns: ``changed``, optional ``diff`` and ``duration``, and data.

    ``data`` values are masked with the same fields as the diff, so a returned object can be
    handed over as it is read from the backend.
    """
    result = {"changed": bool(changed)}
    for key, value in data.items():
        result[key] = mask_secrets(value, secret_fields) if isinstance(value, (dict, list)) else value
    if diff_enabled:
        result["diff"] = make_diff(before, after, secret_fields)
    if duration is not None:
        result["duration"] = round(duration, 3)
    return result
