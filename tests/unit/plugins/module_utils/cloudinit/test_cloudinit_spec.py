# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation of the cloud_init option: every error names the suboption, secrets are not echoed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import struct

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import secrets, spec

PRIVATE_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n"
               % PRIVATE_BODY)


def ssh_key(kind="ssh-ed25519", comment="me@host", fill=b"k"):
    blob = struct.pack(">I", len(kind)) + kind.encode() + struct.pack(">I", 32) + fill * 32
    return "%s %s %s" % (kind, base64.b64encode(blob).decode(), comment)


def error(cloud_init, **kwargs):
    with pytest.raises(GhostError) as info:
        spec.normalize(cloud_init, **kwargs)
    return info.value


def test_defaults():
    opts = spec.normalize({}, name="web1")
    assert opts["hostname"] == "web1"
    assert opts["fqdn"] is None
    assert opts["user"] == "ubuntu"
    assert opts["ssh_authorized_keys"] == []
    assert opts["packages"] == [] and opts["runcmd"] == [] and opts["write_files"] == []
    assert opts["user_data"] == {} and opts["user_data_parts"] == []
    assert opts["vendor_data"] is None and opts["meta_data"] == {}


def test_none_means_default():
    assert spec.normalize({"user": None})["user"] == "ubuntu"


def test_input_not_modified():
    given = {"ip": "192.0.2.10/24", "dns": ["192.0.2.53"], "user_data": "#cloud-config\na: 1\n"}
    snapshot = {key: (list(value) if isinstance(value, list) else value) for key, value in given.items()}
    spec.normalize(given)
    assert given == snapshot


@pytest.mark.parametrize("name, hostname, fqdn", [
    ("web1", "web1", None),
    ("web1.lab.example", "web1", "web1.lab.example"),
])
def test_hostname_from_vm_name(name, hostname, fqdn):
    opts = spec.normalize({}, name=name)
    assert (opts["hostname"], opts["fqdn"]) == (hostname, fqdn)


def test_hostname_from_fqdn_wins_over_name():
    opts = spec.normalize({"fqdn": "db1.example.com"}, name="vm-017")
    assert opts["hostname"] == "db1"


def test_no_name_no_hostname():
    assert spec.normalize({})["hostname"] is None


@pytest.mark.parametrize("cloud_init, name, option", [
    ({"hostname": "web_1"}, None, "cloud_init.hostname"),
    ({"hostname": "-web"}, None, "cloud_init.hostname"),
    ({"hostname": "a" * 64}, None, "cloud_init.hostname"),
    ({"hostname": "web1.example.com"}, None, "cloud_init.hostname"),
    ({}, "My VM", "cloud_init.hostname"),
    ({"fqdn": "web1"}, None, "cloud_init.fqdn"),
    ({"fqdn": "web1.example.123"}, None, "cloud_init.fqdn"),
    ({"fqdn": "web_1.example.com"}, None, "cloud_init.fqdn"),
])
def test_bad_names(cloud_init, name, option):
    assert error(cloud_init, name=name).option == option


@pytest.mark.parametrize("cloud_init, option, words", [
    ({"ip": "192.0.2.10"}, "cloud_init.ip", "CIDR"),
    ({"ip": "192.0.2.300/24"}, "cloud_init.ip", "CIDR"),
    ({"ip": "192.0.2.0/24"}, "cloud_init.ip", "network or broadcast"),
    ({"ip": "192.0.2.255/24"}, "cloud_init.ip", "network or broadcast"),
    ({"ip": "192.0.2.10/24", "gateway": "192.0.3.1"}, "cloud_init.gateway", "outside the subnet"),
    ({"ip": "192.0.2.10/24", "gateway": "192.0.2.10"}, "cloud_init.gateway", "itself"),
    ({"ip": "192.0.2.10/24", "gateway": "2001:db8::1"}, "cloud_init.gateway", "IPv6"),
    ({"ip": "192.0.2.10/24", "gateway": "gw"}, "cloud_init.gateway", "not an IP"),
    ({"gateway": "192.0.2.1"}, "cloud_init.gateway", "DHCP"),
    ({"dns": ["192.0.2.53", "dns.example"]}, "cloud_init.dns[1]", "not an IP"),
    ({"search_domains": ["ok.example", "bad_domain"]}, "cloud_init.search_domains[1]", "RFC 1123"),
    ({"interface": "eth 0"}, "cloud_init.interface", "interface name"),
    ({"interface": "averyveryverylongname"}, "cloud_init.interface", "interface name"),
])
def test_bad_network(cloud_init, option, words):
    exc = error(cloud_init)
    assert exc.option == option
    assert words in exc.msg
    assert str(exc).startswith(option + ": ")


def test_network_normalized():
    opts = spec.normalize({"ip": "2001:db8::10/64", "gateway": "fe80::1",
                           "dns": ["2001:db8::53"], "search_domains": ["lab.example."]})
    assert opts["ip"] == "2001:db8::10/64"
    assert opts["gateway"] == "fe80::1"  # IPv6 link-local gateways are on-link
    assert opts["search_domains"] == ["lab.example"]


def test_network_config_excludes_shorthand():
    exc = error({"network_config": {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}},
                 "ip": "192.0.2.10/24", "dns": ["192.0.2.53"]})
    assert exc.option == "cloud_init.network_config"
    assert "cloud_init.ip" in exc.msg and "cloud_init.dns" in exc.msg


@pytest.mark.parametrize("config, option, words", [
    ({"version": 1, "config": []}, "cloud_init.network_config", "version: 2"),
    ({"ethernets": {"eth0": {}}}, "cloud_init.network_config", "version: 2"),
    ({"version": True, "ethernets": {"eth0": {}}}, "cloud_init.network_config", "version: 2"),
    ({"version": 2, "ethernet": {"eth0": {}}}, "cloud_init.network_config", "ethernet"),
    ({"version": 2}, "cloud_init.network_config", "no devices"),
    ({"version": 2, "ethernets": ["eth0"]}, "cloud_init.network_config.ethernets", "device ids"),
    ({"version": 2, "ethernets": {"eth0": "dhcp"}}, "cloud_init.network_config.ethernets", "device ids"),
])
def test_network_config_not_netplan_v2(config, option, words):
    exc = error({"network_config": config})
    assert exc.option == option
    assert "netplan v2" in exc.msg and words in exc.msg


def test_network_config_wrapper_unwrapped():
    inner = {"version": 2, "ethernets": {"eth0": {"dhcp4": True}}}
    assert spec.normalize({"network_config": {"network": inner}})["network_config"] == inner


def test_unknown_suboption():
    exc = error({"ip": "192.0.2.10/24", "adress": "x"})
    assert exc.option == "cloud_init.adress"
    assert "cloud_init.adress" in exc.msg and "ip" in exc.msg


@pytest.mark.parametrize("cloud_init, option", [
    ({"hostname": True}, "cloud_init.hostname"),
    ({"dns": {"a": 1}}, "cloud_init.dns"),
    ({"dns": [["192.0.2.1"]]}, "cloud_init.dns[0]"),
    ({"network_config": "version: 2"}, "cloud_init.network_config"),
    ({"write_files": ["/etc/x"]}, "cloud_init.write_files[0]"),
    ({"meta_data": ["x"]}, "cloud_init.meta_data"),
    ({"user_data": 42}, "cloud_init.user_data"),
    ({"vendor_data": ["x"]}, "cloud_init.vendor_data"),
    ({"meta_data": {1: "x"}}, "cloud_init.meta_data"),
    ({"meta_data": {"x": object()}}, "cloud_init.meta_data"),
])
def test_wrong_types(cloud_init, option):
    assert error(cloud_init).option == option


def test_not_a_dict():
    assert error(["ip"]).option == "cloud_init"


def test_list_from_comma_string_and_numbers_to_str():
    opts = spec.normalize({"dns": "192.0.2.53,192.0.2.54", "instance_id": 42})
    assert opts["dns"] == ["192.0.2.53", "192.0.2.54"]
    assert opts["instance_id"] == "42"


def test_ssh_keys_accepted_and_stripped():
    keys = [ssh_key(), "  " + ssh_key("sk-ssh-ed25519@openssh.com") + "\n",
            'from="192.0.2.0/24",no-pty ' + ssh_key()]
    opts = spec.normalize({"ssh_authorized_keys": keys})
    assert opts["ssh_authorized_keys"] == [key.strip() for key in keys]


@pytest.mark.parametrize("key", [
    PRIVATE_KEY,
    "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----" % PRIVATE_BODY,
    "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n%s\n" % PRIVATE_BODY,
])
def test_private_key_refused_and_not_echoed(key):
    exc = error({"ssh_authorized_keys": [ssh_key(), key]})
    assert exc.option == "cloud_init.ssh_authorized_keys[1]"
    assert "private key" in exc.msg
    assert PRIVATE_BODY not in str(exc)
    assert PRIVATE_BODY[:12] not in str(exc)


@pytest.mark.parametrize("key, words", [
    ("ssh-ed25519", "not an SSH public key"),
    ("not a key at all sekrit-token-123", "not an SSH public key"),
    ("ssh-ed25519 !!!notbase64!!! me", "not valid base64"),
    (ssh_key("ssh-rsa").replace("ssh-rsa", "ssh-ed25519", 1), "not valid base64 of a ssh-ed25519"),
    ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----", "single line"),
])
def test_bad_public_key_not_echoed(key, words):
    exc = error({"ssh_authorized_keys": [key]})
    assert exc.option == "cloud_init.ssh_authorized_keys[0]"
    assert words in exc.msg
    assert "sekrit" not in str(exc) and "notbase64" not in str(exc)


def test_secret_values_lists_private_keys_only():
    public = ssh_key()
    assert secrets.secret_values({"ssh_authorized_keys": [public, PRIVATE_KEY]}) == [PRIVATE_KEY]
    assert secrets.secret_values({"ssh_authorized_keys": PRIVATE_KEY}) == [PRIVATE_KEY]
    assert secrets.secret_values(None) == []


@pytest.mark.parametrize("value", [
    "$6$saltsalt$" + "a" * 86,
    "$6$rounds=5000$salt$hash",
    "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
    "$2b$12$" + "b" * 53,
])
def test_password_hash_accepted(value):
    assert spec.normalize({"password_hash": value})["password_hash"] == value


@pytest.mark.parametrize("value", ["hunter2-secret", "$ecret-pass", "6$abc$def", "$6$salt$has h"])
def test_plain_password_refused_and_not_echoed(value):
    exc = error({"password_hash": value})
    assert exc.option == "cloud_init.password_hash"
    assert value not in str(exc)


@pytest.mark.parametrize("user", ["Admin", "1user", "a" * 33, "us er", ""])
def test_bad_user(user):
    assert error({"user": user}).option == "cloud_init.user"


def test_empty_instance_id():
    assert error({"instance_id": "  "}).option == "cloud_init.instance_id"


def test_user_data_cloud_config_string_parsed():
    opts = spec.normalize({"user_data": "#cloud-config\npackages: [htop]\ntimezone: UTC\n"})
    assert opts["user_data"] == {"packages": ["htop"], "timezone": "UTC"}
    assert opts["user_data_parts"] == []


def test_user_data_empty_cloud_config():
    assert spec.normalize({"user_data": "#cloud-config\n"})["user_data"] == {}


@pytest.mark.parametrize("text, kind", [
    ("#!/bin/bash\necho hi\n", "text/x-shellscript"),
    ("  #!/bin/sh\n", "text/x-shellscript"),
    ("#cloud-boothook\necho\n", "text/cloud-boothook"),
    ("#include\nhttp://192.0.2.1/x\n", "text/x-include-url"),
    ("#include-once\nhttp://192.0.2.1/x\n", "text/x-include-once-url"),
    ("#cloud-config-archive\n- type: text/x-shellscript\n", "text/cloud-config-archive"),
    ("## template: jinja\n#cloud-config\n", "text/jinja2"),
    ("Content-Type: multipart/mixed; boundary=x\nMIME-Version: 1.0\n\n--x--\n", "multipart/mixed"),
])
def test_user_data_other_formats_become_parts(text, kind):
    opts = spec.normalize({"user_data": text})
    assert opts["user_data"] == {}
    assert opts["user_data_parts"] == [(kind, text)]


def test_user_data_unknown_format():
    exc = error({"user_data": "echo secret-token-xyz\n"})
    assert exc.option == "cloud_init.user_data"
    assert "secret-token-xyz" not in str(exc)


def test_user_data_yaml_error_gives_position_not_content():
    exc = error({"user_data": "#cloud-config\nruncmd:\n  - ok\n - token: s3cr3t: x\n"})
    assert exc.option == "cloud_init.user_data"
    assert "line 4" in exc.msg
    assert "s3cr3t" not in str(exc)


def test_user_data_cloud_config_must_be_mapping():
    exc = error({"user_data": "#cloud-config\n- a\n- b\n"})
    assert exc.option == "cloud_init.user_data" and "mapping" in exc.msg


def test_vendor_data_checked():
    assert spec.normalize({"vendor_data": "#!/bin/sh\n"})["vendor_data"] == "#!/bin/sh\n"
    assert spec.normalize({"vendor_data": {}})["vendor_data"] is None
    assert error({"vendor_data": "plain text"}).option == "cloud_init.vendor_data"
    assert error({"vendor_data": "#cloud-config\n[a\n"}).option == "cloud_init.vendor_data"


@pytest.mark.parametrize("item, option", [
    ({"content": "x"}, "cloud_init.write_files[0]"),
    ({"path": "relative/x"}, "cloud_init.write_files[0]"),
    ({"path": "/etc/x", "mode": "0644"}, "cloud_init.write_files[0]"),
])
def test_bad_write_files(item, option):
    exc = error({"write_files": [item]})
    assert exc.option == option


def test_packages_and_runcmd():
    opts = spec.normalize({"packages": ["nginx", ["docker.io", "24.0"]],
                           "runcmd": ["echo hi", ["sleep", 5]]})
    assert opts["packages"] == ["nginx", ["docker.io", "24.0"]]
    assert opts["runcmd"] == ["echo hi", ["sleep", "5"]]
    assert error({"packages": [{"name": "x"}]}).option == "cloud_init.packages[0]"
    assert error({"packages": [["a", "b", "c"]]}).option == "cloud_init.packages[0]"
    assert error({"runcmd": [[]]}).option == "cloud_init.runcmd[0]"
    assert error({"runcmd": [{"cmd": "x"}]}).option == "cloud_init.runcmd[0]"


@pytest.mark.parametrize("key", ["network", "network.encoding"])
def test_meta_data_network_refused(key):
    exc = error({"meta_data": {key: "x"}})
    assert exc.option == "cloud_init.meta_data" and "network_config" in exc.msg


def test_plain_copies_subclasses():
    class Tagged(str):
        pass

    class TaggedDict(dict):
        pass

    opts = spec.normalize(TaggedDict(hostname=Tagged("web1"), meta_data=TaggedDict(a=Tagged("b"))))
    assert opts["hostname"].__class__ is str
    assert opts["meta_data"].__class__ is dict and opts["meta_data"]["a"].__class__ is str


def test_split_name():
    assert spec.split_name({"name": "vm1", "ip": "x"}) == ({"ip": "x"}, "vm1")
    assert spec.split_name({"name": "vm1"}, "vm2") == ({}, "vm2")
    with pytest.raises(GhostError):
        spec.split_name("not a dict")


def test_check_mac_address():
    assert spec.check_mac_address("52-54-00-AB-CD-EF") == "52:54:00:ab:cd:ef"
    with pytest.raises(GhostError) as info:
        spec.check_mac_address("52:54:00")
    assert info.value.option == "mac_address"
