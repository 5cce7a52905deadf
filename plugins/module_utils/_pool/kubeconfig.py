# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A held member's kubeconfig as a private file. Private to ghost.infra.

A member has a kubeconfig when its record names a Secret: the one a vcluster publishes
(``vc-<name>``, key ``config``; its server rewritten to the pool's ``vcluster.server`` when set),
or the Secret the bootstrap stored for a KubeVirt cluster (``kubeconfig_secret``). The holder gets
it written 0600 (atomically, in a 0700 folder) at ``kubeconfig_dest`` or
``~/.ghost/pools/<namespace>/<pool>/<member>.yaml``; only the path is ever returned. Release
removes the file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.ghost.infra.plugins.module_utils._common import files
from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._pool import lease_spec, spec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import client as vclient
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import spec as vspec
from ansible_collections.ghost.infra.plugins.module_utils._vcluster import store

FILE_MODE = 0o600


def default_path(options, member, home=None):
    if options.get("kubeconfig_dest"):
        return os.path.abspath(os.path.expanduser(options["kubeconfig_dest"]))
    base = home if home is not None else os.path.expanduser("~")
    return os.path.join(base, ".ghost", "pools", options["namespace"], options["pool"], "%s.yaml" % member)


def content(api, declaration, obj):
    """The member's kubeconfig (bytes) and its credentials, or ``(None, [])`` when it has none."""
    record = spec.loads(((obj.get("metadata") or {}).get("annotations") or {}).get(spec.ANNOTATION_MEMBER), {})
    source = record.get("kubeconfig")
    if not source:
        return None, []
    data = api.secret_value(record.get("namespace") or lease_spec.member_id(obj), source["name"], source["key"])
    if data is None:
        raise GhostError("member %s has no kubeconfig yet: Secret %s/%s has no key %s" % (
            lease_spec.member_id(obj), record.get("namespace"), source["name"], source["key"]))
    kubeconfig = vclient.parse_kubeconfig(data.decode("utf-8"))
    server = (declaration.get("vcluster") or {}).get("server")
    if server and vspec.kubeconfig_servers(kubeconfig) != [server]:
        data = vclient.dump_kubeconfig(vspec.rewrite_server(kubeconfig, server)).encode("utf-8")
    return data, vspec.kubeconfig_secrets(kubeconfig)


def _same(path, data):
    try:
        with open(path, "rb") as handle:
            return handle.read() == data and stat.S_IMODE(os.stat(path).st_mode) == FILE_MODE
    except OSError:
        return False


def export(api, declaration, obj, options, *, home=None, check_mode=False):
    """Write the member's kubeconfig for its holder; its path, or None when the member has none."""
    data, unused = content(api, declaration, obj)
    if data is None:
        return None
    path = default_path(options, lease_spec.member_id(obj), home)
    if check_mode or _same(path, data):
        return path
    try:
        store.make_private_dirs(os.path.dirname(path))
        files.write_atomically(path, data, FILE_MODE)
    except OSError as exc:
        raise GhostError("cannot write %s: %s" % (path, exc), option="kubeconfig_dest")
    return path


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise GhostError("cannot remove %s: %s" % (path, exc), option="kubeconfig_dest")
    return True
