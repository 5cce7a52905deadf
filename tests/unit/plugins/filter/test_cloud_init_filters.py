# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters ghost.infra.cloud_init_guestinfo and ghost.infra.cloud_init_render."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.ghost.infra.plugins.filter import cloud_init_guestinfo as guestinfo_filter
from ansible_collections.ghost.infra.plugins.filter import cloud_init_render as render_filter
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import guestinfo, render

CLOUD_INIT = {"ip": "192.0.2.10/24", "gateway": "192.0.2.1", "packages": ["nginx"]}


def test_filter_modules_register_names():
    assert guestinfo_filter.FilterModule().filters() == {
        "cloud_init_guestinfo": guestinfo_filter.cloud_init_guestinfo}
    assert render_filter.FilterModule().filters() == {
        "cloud_init_render": render_filter.cloud_init_render}


def test_guestinfo_matches_module_utils_for_esxi():
    out = guestinfo_filter.cloud_init_guestinfo(CLOUD_INIT, name="web1")
    expected = guestinfo.encode_guestinfo(
        render.render_documents(CLOUD_INIT, name="web1", backend="esxi"))
    assert out == expected
    decoded = guestinfo.decode_guestinfo(out)
    assert decoded["meta_data"]["local-hostname"] == "web1"
    assert decoded["network_config"]["ethernets"]["primary"]["match"] == {"driver": "vmxnet3"}


def test_name_in_input_and_argument_wins():
    with_key = guestinfo_filter.cloud_init_guestinfo(dict(CLOUD_INIT, name="web1"))
    assert with_key == guestinfo_filter.cloud_init_guestinfo(CLOUD_INIT, name="web1")
    out = render_filter.cloud_init_render(dict(CLOUD_INIT, name="web1"), name="web2")
    assert yaml.safe_load(out["meta_data"])["local-hostname"] == "web2"


def test_guestinfo_mac_address():
    out = guestinfo_filter.cloud_init_guestinfo(CLOUD_INIT, mac_address="00:50:56:01:02:03")
    net = guestinfo.decode_guestinfo(out)["network_config"]
    assert net["ethernets"]["primary"]["match"] == {"macaddress": "00:50:56:01:02:03"}


def test_render_returns_strings_per_backend():
    out = render_filter.cloud_init_render(CLOUD_INIT, name="web1")
    assert set(out) == {"instance_id", "meta_data", "user_data", "network_config", "vendor_data"}
    assert out["vendor_data"] is None
    assert all(isinstance(out[key], str) for key in ("instance_id", "meta_data", "user_data", "network_config"))
    assert yaml.safe_load(out["network_config"])["ethernets"]["primary"]["set-name"] == "enp1s0"
    esxi = render_filter.cloud_init_render(CLOUD_INIT, name="web1", backend="esxi")
    assert yaml.safe_load(esxi["network_config"])["ethernets"]["primary"]["set-name"] == "ens192"
    assert esxi["user_data"] == out["user_data"]


@pytest.mark.parametrize("data, kwargs, words", [
    ({"ip": "192.0.2.10"}, {}, "cloud_init.ip: "),
    ({"ip": "192.0.2.10/24", "gateway": "192.0.3.1"}, {}, "cloud_init.gateway: "),
    ({"hostname": "bad_name"}, {}, "cloud_init.hostname: "),
    ({"foo": 1}, {}, "cloud_init.foo: "),
    ({"network_config": {"version": 1, "config": []}}, {}, "cloud_init.network_config: "),
    ("not a dict", {}, "cloud_init: "),
    ({}, {"mac_address": "nope"}, "mac_address: "),
])
def test_errors_name_the_option(data, kwargs, words):
    for function in (guestinfo_filter.cloud_init_guestinfo, render_filter.cloud_init_render):
        with pytest.raises(AnsibleFilterError) as info:
            function(data, **kwargs)
        assert words in str(info.value)


def test_render_bad_backend():
    with pytest.raises(AnsibleFilterError, match="cloud_init_render: backend: must be one of esxi, libvirt"):
        render_filter.cloud_init_render(CLOUD_INIT, backend="kvm")


def test_private_key_not_in_filter_error():
    body = "c2VjcmV0LWZpbHRlci1rZXk"
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----" % body
    with pytest.raises(AnsibleFilterError) as info:
        guestinfo_filter.cloud_init_guestinfo({"ssh_authorized_keys": [key]})
    assert "cloud_init.ssh_authorized_keys[0]" in str(info.value)
    assert body not in str(info.value)
