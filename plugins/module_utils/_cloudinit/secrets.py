# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which strings of the ``cloud_init`` option are secret. Private to ghost.infra; pure.

Modules add ``secret_values()`` to ``no_log_values`` (a private key pasted where a public one
belongs) and unmask ``visible_values()`` (the strings of the no_log content suboptions that
cannot be secrets), see ``_common/secrets.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ghost.infra.plugins.module_utils._common.secrets import is_trivial, leaves
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.argspec import CONTENT_OPTIONS

_PRIVATE_MARKERS = ("PRIVATE KEY", "PuTTY-User-Key-File", "ENCRYPTED PRIVATE")
# write_files keys that hold the file itself; the others (path, owner, permissions...) do not.
_FILE_BODY_KEYS = ("content", "source")


def looks_private(key):
    """True when ``key`` looks like a private key (PEM, OpenSSH or PuTTY) pasted by mistake."""
    return any(marker in key for marker in _PRIVATE_MARKERS)


def secret_values(cloud_init):
    """Strings in ``cloud_init`` that must not be logged although their option is not no_log:
    private keys pasted into ssh_authorized_keys. Modules add them to ``no_log_values``."""
    keys = (cloud_init or {}).get("ssh_authorized_keys") or []
    if isinstance(keys, str):
        keys = [keys]
    return [key for key in keys if isinstance(key, str) and looks_private(key)]


def visible_values(cloud_init):
    """Strings of the no_log CONTENT_OPTIONS that cannot be secrets, for modules to unmask:
    trivial ones (``"1"``, ``"-c"``, ``"yes"``) and what write_files says besides ``content``
    (paths, owners, permissions)."""
    cloud_init = cloud_init or {}
    found = set()
    for name in CONTENT_OPTIONS:
        value = cloud_init.get(name)
        if name == "write_files" and isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    found.update(leaves({k: v for k, v in item.items() if k not in _FILE_BODY_KEYS}))
                    found.update(v for v in leaves(item.get("content")) if is_trivial(v))
            continue
        found.update(v for v in leaves(value) if is_trivial(v))
    return found
