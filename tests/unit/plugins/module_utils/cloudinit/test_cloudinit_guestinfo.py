# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""guestinfo encoding: keys, deterministic gzip+base64, network inside metadata, decoder."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import gzip

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import guestinfo, render

CLOUD_INIT = {"hostname": "web1", "ip": "192.0.2.10/24", "gateway": "192.0.2.1",
              "runcmd": ["echo hi"], "vendor_data": "#!/bin/sh\necho vendor\n"}


def documents(cloud_init=None):
    return render.render_documents(CLOUD_INIT if cloud_init is None else cloud_init,
                                   backend="esxi")


def plain(value):
    return gzip.decompress(base64.b64decode(value)).decode("utf-8")


def test_keys_and_encodings():
    out = guestinfo.encode_guestinfo(documents())
    assert sorted(out) == sorted(guestinfo.GUESTINFO_KEYS)
    for key in ("guestinfo.metadata", "guestinfo.userdata", "guestinfo.vendordata"):
        assert out[key + ".encoding"] == "gzip+base64"
        assert all(isinstance(value, str) for value in out.values())


def test_vendordata_only_when_present():
    out = guestinfo.encode_guestinfo(documents({"hostname": "web1"}))
    assert sorted(out) == ["guestinfo.metadata", "guestinfo.metadata.encoding",
                           "guestinfo.userdata", "guestinfo.userdata.encoding"]


def test_network_inside_metadata():
    docs = documents()
    meta = yaml.safe_load(plain(guestinfo.encode_guestinfo(docs)["guestinfo.metadata"]))
    assert meta["network.encoding"] == "gzip+base64"
    assert plain(meta.pop("network")) == docs.network_config
    del meta["network.encoding"]
    assert meta == docs.meta_data_dict
    assert plain(guestinfo.encode_guestinfo(docs)["guestinfo.userdata"]) == docs.user_data


def test_deterministic_gzip_header():
    first = guestinfo.encode_guestinfo(documents())
    assert guestinfo.encode_guestinfo(documents()) == first
    raw = base64.b64decode(first["guestinfo.userdata"])
    assert raw[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # mtime 0, no name, OS unknown
    assert guestinfo.gzip_deterministic(b"abc") == guestinfo.gzip_deterministic(b"abc")
    assert gzip.decompress(guestinfo.gzip_deterministic(b"")) == b""


def test_decode_round_trip():
    docs = documents()
    decoded = guestinfo.decode_guestinfo(guestinfo.encode_guestinfo(docs))
    assert decoded == {
        "meta_data": docs.meta_data_dict,
        "network_config": docs.network_config_dict,
        "user_data": docs.user_data,
        "vendor_data": docs.vendor_data,
    }


def test_decode_other_encodings_and_empty():
    meta = "instance-id: a\nnetwork:\n  version: 2\n  ethernets: {eth0: {dhcp4: true}}\n"
    values = {
        "guestinfo.metadata": base64.b64encode(meta.encode()).decode(),
        "guestinfo.metadata.encoding": "b64",
        "guestinfo.userdata": "#cloud-config\n{}\n",
        "guestinfo.vendordata": "---",
    }
    assert guestinfo.decode_guestinfo(values) == {
        "meta_data": {"instance-id": "a"},
        "network_config": {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}},
        "user_data": "#cloud-config\n{}\n",
        "vendor_data": None,
    }
    assert guestinfo.decode_guestinfo({}) == {
        "meta_data": {}, "network_config": None, "user_data": None, "vendor_data": None}


@pytest.mark.parametrize("values, option", [
    ({"guestinfo.userdata": "!!!", "guestinfo.userdata.encoding": "gzip+base64"}, "guestinfo.userdata"),
    ({"guestinfo.userdata": "YWJj", "guestinfo.userdata.encoding": "gzip+base64"}, "guestinfo.userdata"),
    ({"guestinfo.userdata": "abc", "guestinfo.userdata.encoding": "rot13"}, "guestinfo.userdata.encoding"),
    ({"guestinfo.metadata": "- a\n"}, "guestinfo.metadata"),
    ({"guestinfo.metadata": "network: '!!'\nnetwork.encoding: base64\n"}, "guestinfo.metadata.network"),
])
def test_decode_errors_name_the_key(values, option):
    with pytest.raises(GhostError) as info:
        guestinfo.decode_guestinfo(values)
    assert info.value.option == option
