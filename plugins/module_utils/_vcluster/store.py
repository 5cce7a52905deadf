# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The local kubeconfig store (``~/.ghost/kubeconfigs``). Private to ghost.infra.

The cluster registry's folder store (``_registry/stores.py``, ``~/.ghost/clusters``) writes
through the same functions; ``option`` names the module option a failure is reported under.
Files are private: written atomically (temporary file in the same folder, mode 0600, fsync,
``os.replace``) into a folder created with mode 0700. Comparisons read bytes and mode so a
re-run that would write the same file reports no change. Nothing here imports ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.ghost.infra.plugins.module_utils._common import files
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

FILE_MODE = 0o600
DIR_MODE = 0o700


def needs_write(path, data, *, option="kubeconfig_dest"):
    """True when ``path`` is missing, holds other bytes, or is not mode 0600."""
    try:
        with open(path, "rb") as handle:
            current = handle.read()
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise GhostError("cannot read %s: %s" % (path, exc), option=option)
    return current != data or mode != FILE_MODE


def make_private_dirs(directory):
    """Create ``directory`` and its missing parents, each one created here with mode 0700.

    Like ``os.makedirs(exist_ok=True)``: a folder another run creates at the same moment is no
    error (parallel first runs share ``~/.ghost/kubeconfigs``). Folders that already existed
    keep their mode; the ones made here get 0700 whatever the umask.
    """
    missing = []
    current = os.path.abspath(directory)
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(folder):
                raise
            continue  # made by a parallel run, which sets its mode
        os.chmod(folder, DIR_MODE)  # mkdir honours the umask


def check_writable(path, *, option="kubeconfig_dest"):
    """GhostError unless ``path`` could be written by ``write_private``; run before anything is made,
    so a bad destination never leaves a half-made cluster behind."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        raise GhostError("%s is a directory; give the path of a file" % path, option=option)
    current = os.path.dirname(path)
    while not os.path.exists(current):
        current = os.path.dirname(current)
    if not os.path.isdir(current):
        raise GhostError("cannot create %s: %s is not a directory" % (path, current), option=option)
    if not os.access(current, os.W_OK | os.X_OK):
        raise GhostError("cannot create %s: %s is not writable" % (path, current), option=option)


def write_private(path, data, *, option="kubeconfig_dest"):
    """Write ``data`` (bytes) to ``path`` atomically with mode 0600; create missing folders 0700."""
    try:
        make_private_dirs(os.path.dirname(os.path.abspath(path)))
        files.write_atomically(path, data, FILE_MODE)
    except OSError as exc:
        raise GhostError("cannot write %s: %s" % (path, exc), option=option)


def remove(path, *, option="kubeconfig_dest"):
    """Delete ``path``; True when a file was there."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise GhostError("cannot remove %s: %s" % (path, exc), option=option)
    return True
