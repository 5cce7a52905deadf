# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A NoCloud seed ISO file kept in a wanted state. Private to ghost.infra; no ansible import.

ensure_seed() reads the file once, compares bytes and mode, writes atomically (temporary file
in the same directory, mode set, then os.replace) unless in check mode, and returns the
module result. Diffs show hashes and masked documents, never secrets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import re
import stat

from ansible_collections.ghost.infra.plugins.module_utils._common import files
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._common.result import build_result
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.iso import (
    build_nocloud_iso,
    read_nocloud_iso,
)
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.render import (
    masked_documents,
    render_documents,
)

DEFAULT_MODE = 0o600
_OCTAL = re.compile(r"^(0o?)?[0-7]{3,4}$")


def parse_mode(value):
    """A file mode from an octal string ('0600', '600', '0o600') or an int (YAML 0600 = 384)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and _OCTAL.match(value.strip()):
        text = value.strip()
        mode = int(text[2:] if text.startswith("0o") else text, 8)
    else:
        raise GhostError("%r is not an octal file mode such as '0600' (symbolic modes are not "
                         "supported)" % (value,), option="mode")
    if not 0 <= mode <= 0o7777:
        raise GhostError("%r is out of range for a file mode" % (value,), option="mode")
    return mode


class _Current:
    """The file as found: ``data`` (bytes) and ``mode``, or ``exists`` False."""

    def __init__(self, path):
        self.exists, self.data, self.mode = False, None, None
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(info.st_mode):
            raise GhostError(failure("read", "NoCloud seed", path, "not a regular file"),
                             option="dest")
        with open(path, "rb") as handle:
            self.data = handle.read()
        self.exists, self.mode = True, stat.S_IMODE(info.st_mode)


def _view(path, data, mode, documents=None):
    """What a diff shows of a seed file: hash, mode, instance-id and masked documents
    (``documents`` when the caller has them, else read back from ``data``)."""
    if data is None:
        return {"path": path, "state": "absent"}
    view = {"path": path, "state": "present", "mode": "%04o" % mode,
            "sha256": hashlib.sha256(data).hexdigest()}
    try:
        documents = masked_documents(documents or read_nocloud_iso(data))
    except GhostError as exc:
        view["documents"] = "unreadable: %s" % exc
    else:
        view["instance_id"] = (documents["meta_data"] or {}).get("instance-id")
        view["documents"] = documents
    return view


def write_atomically(path, data, mode):
    """Write the seed through the shared atomic writer; a missing folder is a clear error."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise GhostError(failure("write", "NoCloud seed", path,
                                 "directory %s does not exist" % directory), option="dest")
    files.write_atomically(path, data, mode)


def ensure_seed(*, dest, state="present", cloud_init=None, name=None, mode=DEFAULT_MODE,
                check_mode=False, diff=False):
    """Make ``dest`` hold the NoCloud seed for ``cloud_init`` (or not exist when absent).

    Returns the module result: ``changed``, ``path``, and for ``present`` ``instance_id`` and
    ``sha256``; ``diff`` when asked. The seed's network defaults to libvirt's first NIC
    (virtio, named ``enp1s0``) unless ``cloud_init`` names an interface. Raises GhostError.
    """
    mode = parse_mode(mode)
    try:
        current = _Current(dest)
        if state == "absent":
            if current.exists and not check_mode:
                os.unlink(dest)
            before = _view(dest, current.data, current.mode) if diff else None
            return build_result(current.exists, diff_enabled=diff, before=before,
                                after={"path": dest, "state": "absent"}, path=dest)

        documents = render_documents(cloud_init, name=name,
                                     backend="libvirt")
        data = build_nocloud_iso(documents.files())
        content_changed = current.data != data
        mode_changed = current.exists and current.mode != mode
        if not check_mode:
            if content_changed:
                write_atomically(dest, data, mode)
            elif mode_changed:
                os.chmod(dest, mode)
    except OSError as exc:
        verb = "remove" if state == "absent" else "write"
        raise GhostError(failure(verb, "NoCloud seed", dest, exc.strerror or str(exc)),
                         option="dest")
    before = after = None
    if diff:
        before = _view(dest, current.data, current.mode)
        after = _view(dest, data, mode, documents)
    return build_result(content_changed or mode_changed, diff_enabled=diff, before=before,
                        after=after, path=dest, instance_id=documents.instance_id,
                        sha256=hashlib.sha256(data).hexdigest())
