# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libvirt_image's RETURN against every result shape: an import, a cached image, check mode
(the action plugin's planned volume) and state=absent; and its argument spec against the
action plugin's view of the options."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.ghost.infra.plugins.action import libvirt_image as action
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import image_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_runner import ensure_image
from ansible_collections.ghost.infra.plugins.modules import libvirt_image

DATA = b"\x00" * 4096
DIGEST = hashlib.sha256(DATA).hexdigest()
STANDARD = ("changed", "diff")  # Ansible's own keys, documented by Ansible


class Pool:
    def __init__(self):
        self.volumes = {}

    def volume_names(self, pool):
        return sorted(self.volumes)

    def volume(self, pool, name):
        return {"name": name, "path": "/p/" + name, "format": "raw", "capacity": 4096, "allocation": 4096,
                "backing": None, "backing_format": None}

    def import_file(self, pool, name, path, **_kwargs):
        self.volumes[name] = DATA
        return self.volume(pool, name)

    def write_record(self, pool, name, data):
        self.volumes[name] = data

    def delete_settled(self, pool, name):
        self.volumes.pop(name, None)

    def users_of(self, path, **_kwargs):
        return []


def params(src, **over):
    base = {"src": src, "checksum": "sha256:" + DIGEST, "pool": "images", "name": None, "format": "auto",
            "timeout": 30, "validate_certs": True, "download_dir": None, "state": "present", "uri": "qemu:///system"}
    base.update(over)
    return base


def top(result):
    return {k: v for k, v in result.items() if k not in STANDARD}


def test_every_result_matches_return(tmp_path, return_schema):
    image = tmp_path / "disk.raw"
    image.write_bytes(DATA)
    contains = return_schema.doc("libvirt_image")
    pool = Pool()
    results = [ensure_image(pool, params(str(image)), check_mode=True, diff=True)]
    planned = spec.planned_view(name="x", pool="images", fmt="raw", capacity=4096)
    results.append(dict(results[0], volume=planned))  # the action plugin's check-mode result
    results.append(ensure_image(pool, params(str(image)), diff=True))
    results.append(ensure_image(pool, params(str(image)), diff=True))
    results.append(ensure_image(pool, params(None, state="absent"), diff=True))
    assert [r["changed"] for r in results] == [True, True, True, False, True]
    for result in results:
        return_schema.assert_matches(top(result), contains, optional=("removed", "duration"))
    assert "removed" in results[-1]


def test_the_action_plugin_knows_every_module_option():
    module_options = set(libvirt_image.argument_spec())
    assert set(action.ACTION_SPEC) == module_options
    assert action.ACTION_SPEC["uri"] == {"type": "str"}, "the module applies uri's fallback, not the controller"
