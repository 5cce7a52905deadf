# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.ghost.infra.plugins.module_utils._common.result import (
    MASK,
    build_result,
    make_diff,
    mask_secrets,
)

VM = {
    "name": "web1",
    "password": "s3cret",
    "guestinfo": {"guestinfo.userdata": "H4sI...", "guestinfo.metadata": "H4sI..."},
    "disks": [{"path": "a.vmdk", "password": "disk-secret"}],
    "auth": {"token": "abc", "user": "admin"},
    "nothing": None,
}


def test_bare_key_is_masked_at_any_depth():
    out = mask_secrets(VM, ["password"])
    assert out["password"] == MASK
    assert out["disks"][0]["password"] == MASK
    assert out["disks"][0]["path"] == "a.vmdk"


def test_dotted_path_masks_only_that_path():
    out = mask_secrets({"auth": {"token": "abc"}, "other": {"token": "keep"}}, ["auth.token"])
    assert out == {"auth": {"token": MASK}, "other": {"token": "keep"}}


def test_wildcard_masks_every_value_below_a_key():
    out = mask_secrets(VM, ["guestinfo.*"])
    assert out["guestinfo"] == {"guestinfo.userdata": MASK, "guestinfo.metadata": MASK}
    assert out["name"] == "web1"


def test_whole_subtree_can_be_masked():
    assert mask_secrets(VM, ["auth"])["auth"] == MASK


def test_none_stays_none_so_unset_is_visible():
    assert mask_secrets({"password": None}, ["password"]) == {"password": None}


def test_input_is_not_modified():
    before = copy.deepcopy(VM)
    mask_secrets(VM, ["password", "guestinfo.*", "auth.token"])
    assert VM == before


def test_diff_masks_both_sides_and_fills_missing_side():
    diff = make_diff(None, {"name": "web1", "password": "x"}, ["password"])
    assert diff == {"before": {}, "after": {"name": "web1", "password": MASK}}


def test_result_masks_data_and_adds_diff_only_when_asked():
    result = build_result(True, vm={"name": "web1", "password": "x"}, secret_fields=["password"])
    assert result == {"changed": True, "vm": {"name": "web1", "password": MASK}}
    result = build_result(False, diff_enabled=True, before={"password": "a"}, after={"password": "b"},
                          secret_fields=["password"], duration=1.23456)
    assert result["diff"] == {"before": {"password": MASK}, "after": {"password": MASK}}
    assert result["duration"] == 1.235
    assert result["changed"] is False


def test_secret_never_appears_in_serialised_result():
    import json

    result = build_result(True, diff_enabled=True, before={}, after=VM, vm=VM,
                          secret_fields=["password", "token", "guestinfo.*"])
    text = json.dumps(result)
    for secret in ("s3cret", "disk-secret", "abc", "H4sI"):
        assert secret not in text
