# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which option values must stay masked in module output. Private to ghost.infra; pure.

AnsibleModule masks every string leaf of a ``no_log`` option wherever it appears in the output,
as a substring. For free-form options that can hold a secret somewhere (``runcmd``, raw
``user_data``, ``guestinfo``) that is right for the token in them and wrong for their ``"1"``,
``"yes"`` or ``"-c"``: those would garble unrelated output (an IP address, a count). The
module keeps the option ``no_log`` (so argument errors and ``invocation`` never show it) and
then unmasks the leaves that cannot be a secret, unless another ``no_log`` option holds the
same string.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Too short or too generic to be a secret; masking them would garble unrelated output.
_TRIVIAL = re.compile(r"^(?:.{0,3}|true|false|yes|no|on|off|none|null|[0-9.:/_-]+)$", re.I | re.S)


def is_trivial(value):
    """Whether the string ``value`` is too short or generic to be a secret."""
    return bool(_TRIVIAL.match(value))


def leaves(value):
    """Every string (and number, as text) inside ``value``, as AnsibleModule collects them."""
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        if value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, (int, float)):
        yield str(value)


def no_log_leaves(argument_spec, params, *, skip=(), prefix=""):
    """Strings held by ``no_log`` options of ``argument_spec`` in ``params``, at any depth.

    ``skip`` lists dotted option names (``cloud_init.runcmd``) left out: the options whose
    values the caller is about to unmask.
    """
    found = set()
    for name, spec in (argument_spec or {}).items():
        dotted = prefix + name
        value = (params or {}).get(name)
        if value is None or dotted in skip:
            continue
        if spec.get("no_log"):
            found.update(leaves(value))
        elif spec.get("options"):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    found |= no_log_leaves(spec["options"], item, skip=skip, prefix=dotted + ".")
    return found
