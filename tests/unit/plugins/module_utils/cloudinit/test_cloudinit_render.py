# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure renderer: documents, determinism, merging, MIME, netplan, masking."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import email
import os
import struct
import subprocess
import sys

import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import render

HASH = "$6$saltsalt$" + "h" * 86


def ssh_key(comment="me@host"):
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + b"k" * 32
    return "ssh-ed25519 %s %s" % (base64.b64encode(blob).decode(), comment)


FULL = {
    "fqdn": "web1.lab.example",
    "ssh_authorized_keys": [ssh_key()],
    "password_hash": HASH,
    "ip": "192.0.2.10/24",
    "gateway": "192.0.2.1",
    "dns": ["192.0.2.53", "192.0.2.54"],
    "search_domains": ["lab.example"],
    "packages": ["nginx"],
    "runcmd": ["systemctl enable --now nginx"],
    "write_files": [{"path": "/etc/motd", "content": "hello\n", "permissions": "0644"}],
    "meta_data": {"environment": "lab"},
    "vendor_data": {"ntp": {"enabled": True}},
}


def docs(cloud_init=None, **kwargs):
    kwargs.setdefault("backend", "esxi")
    return render.render_documents(FULL if cloud_init is None else cloud_init, **kwargs)


def cloud_config(text):
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


def test_documents_as_dict():
    out = docs(name="ignored-because-fqdn").as_dict()
    assert set(out) == {"instance_id", "meta_data", "user_data", "network_config", "vendor_data"}
    meta = yaml.safe_load(out["meta_data"])
    assert meta == {"instance-id": out["instance_id"], "local-hostname": "web1", "environment": "lab"}
    assert yaml.safe_load(out["vendor_data"].split("\n", 1)[1]) == {"ntp": {"enabled": True}}


def test_user_data_shape():
    config = cloud_config(docs().user_data)
    assert config["hostname"] == "web1"
    assert config["fqdn"] == "web1.lab.example"
    assert config["users"] == [{
        "name": "ubuntu", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
        "lock_passwd": False, "passwd": HASH, "ssh_authorized_keys": [ssh_key()],
    }]
    assert config["packages"] == ["nginx"]
    assert config["runcmd"] == ["systemctl enable --now nginx"]
    assert config["write_files"] == FULL["write_files"]


def test_minimal_user_locks_password():
    config = cloud_config(docs({"user": "admin"}).user_data)
    assert config["users"][0]["name"] == "admin"
    assert config["users"][0]["lock_passwd"] is True
    assert "passwd" not in config["users"][0]
    assert "packages" not in config and "hostname" not in config


def test_deterministic_bytes_and_key_order():
    first = docs(name="web1").as_dict()
    reordered = dict(reversed(list(FULL.items())))
    reordered["write_files"] = [dict(reversed(list(FULL["write_files"][0].items())))]
    assert docs(reordered, name="web1").as_dict() == first
    assert docs(name="web1").as_dict() == first


def test_deterministic_across_processes():
    """No hash randomisation or dict-order effects: a fresh interpreter gives the same bytes."""
    code = ("import json, sys; from ansible_collections.ghost.infra.plugins.module_utils._cloudinit "
            "import render; print(json.dumps(render.render_documents(json.loads(sys.argv[1]), "
            "backend='esxi').as_dict(), sort_keys=True))")
    import json
    runs = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=os.pathsep.join(sys.path))
        runs.add(subprocess.check_output([sys.executable, "-c", code, json.dumps(FULL)], env=env))
    assert len(runs) == 1
    assert json.loads(runs.pop()) == docs().as_dict()


def test_instance_id_follows_content():
    base = docs({"hostname": "web1"})
    assert base.instance_id.startswith("iid-") and len(base.instance_id) == 20
    assert docs({"hostname": "web1"}).instance_id == base.instance_id
    assert docs({"hostname": "web1", "packages": ["htop"]}).instance_id != base.instance_id
    assert docs({"hostname": "web1", "ip": "192.0.2.9/24"}).instance_id != base.instance_id
    assert docs({"hostname": "web1", "vendor_data": "#!/bin/sh\n"}).instance_id != base.instance_id
    assert docs({"hostname": "web1"}, backend="libvirt").instance_id != base.instance_id


def test_instance_id_explicit_and_from_meta_data():
    assert docs({"instance_id": "vm-42"}).instance_id == "vm-42"
    out = docs({"instance_id": "vm-42", "meta_data": {"instance-id": 7}})
    assert out.instance_id == "7"
    assert yaml.safe_load(out.meta_data)["instance-id"] == "7"


def test_merge_rules():
    base = {"a": {"x": 1, "y": [1]}, "l": [1, 2], "s": "base"}
    extra = {"a": {"y": [1, 3], "z": 2}, "l": [2, 4], "s": "extra", "n": None}
    assert render.merge(base, extra) == {
        "a": {"x": 1, "y": [1, 3], "z": 2}, "l": [1, 2, 4], "s": "extra", "n": None}
    assert base == {"a": {"x": 1, "y": [1]}, "l": [1, 2], "s": "base"}


def test_user_data_dict_merged():
    config = cloud_config(docs({
        "hostname": "web1", "packages": ["nginx"],
        "user_data": {"packages": ["htop", "nginx"], "hostname": "override",
                      "users": [{"name": "ops"}], "timezone": "UTC"},
    }).user_data)
    assert config["packages"] == ["nginx", "htop"]
    assert config["hostname"] == "override"
    assert [user["name"] for user in config["users"]] == ["ubuntu", "ops"]
    assert config["timezone"] == "UTC"


def test_user_data_cloud_config_string_merged():
    config = cloud_config(docs({
        "runcmd": ["echo one"],
        "user_data": "#cloud-config\nruncmd:\n  - echo two\napt:\n  preserve_sources_list: true\n",
    }).user_data)
    assert config["runcmd"] == ["echo one", "echo two"]
    assert config["apt"] == {"preserve_sources_list": True}


def _parts(text):
    message = email.message_from_string(text)
    assert message.get_content_type() == "multipart/mixed"
    return [(part.get_content_type(), part.get_payload(decode=True).decode("utf-8"))
            for part in message.walk() if not part.is_multipart()]


def test_shell_script_becomes_mime_part():
    script = "#!/bin/bash\necho hi > /tmp/hi\n"
    text = docs({"hostname": "web1", "user_data": script}).user_data
    parts = _parts(text)
    assert [part[0] for part in parts] == ["text/cloud-config", "text/x-shellscript"]
    assert cloud_config(parts[0][1])["hostname"] == "web1"
    assert parts[1][1] == script


def test_mime_non_ascii_is_base64_and_exact():
    script = "#!/bin/sh\necho 'héllo wörld' > /etc/motd"
    text = docs({"user_data": script}).user_data
    assert "héllo" not in text
    assert "Content-Transfer-Encoding: base64" in text
    assert _parts(text)[1][1] == script


def test_mime_message_nests():
    inner = ('Content-Type: multipart/mixed; boundary="in"\nMIME-Version: 1.0\n\n--in\n'
             'Content-Type: text/x-shellscript\n\n#!/bin/sh\necho nested\n--in--\n')
    parts = _parts(docs({"user_data": inner}).user_data)
    assert parts[0][0] == "text/cloud-config"
    assert parts[1] == ("text/x-shellscript", "#!/bin/sh\necho nested")


def test_mime_boundary_is_deterministic_and_not_in_content():
    one = render.multipart([("text/x-shellscript", "#!/bin/sh\n")])
    assert one == render.multipart([("text/x-shellscript", "#!/bin/sh\n")])
    boundary = one.split('boundary="', 1)[1].split('"', 1)[0]
    tricky = render.multipart([("text/x-shellscript", "#!/bin/sh\n# --%s\n" % boundary)])
    assert _parts(tricky)[0][1] == "#!/bin/sh\n# --%s\n" % boundary


def test_netplan_static():
    net = yaml.safe_load(docs().network_config)
    assert net == {"version": 2, "ethernets": {"primary": {
        "match": {"driver": "vmxnet3"},
        "set-name": "ens192",
        "dhcp4": False,
        "addresses": ["192.0.2.10/24"],
        "routes": [{"to": "0.0.0.0/0", "via": "192.0.2.1"}],
        "nameservers": {"addresses": ["192.0.2.53", "192.0.2.54"], "search": ["lab.example"]},
    }}}
    assert "gateway4" not in docs().network_config


def test_default_route_parses_in_every_cloud_init():
    # `to: default` is refused by cloud-init's network-state parser before canonical/cloud-init#6391.
    assert render.default_route("192.0.2.1") == "0.0.0.0/0"
    assert render.default_route("2001:db8::1") == "::/0"
    net = yaml.safe_load(docs({"ip": "2001:db8::10/64", "gateway": "2001:db8::1"}).network_config)
    assert net["ethernets"]["primary"]["routes"] == [{"to": "::/0", "via": "2001:db8::1"}]


def test_netplan_dhcp_first_nic_per_backend():
    # By driver, named with set-name: the first VMXNET3 NIC is ens160 on some hardware versions.
    expected = {"esxi": ("vmxnet3", "ens192"), "libvirt": ("virtio_net", "enp1s0")}
    for backend, (driver, name) in expected.items():
        net = yaml.safe_load(docs({}, backend=backend).network_config)
        assert net == {"version": 2, "ethernets": {"primary": {
            "match": {"driver": driver}, "set-name": name, "dhcp4": True}}}, backend


def test_netplan_dhcp_with_dns():
    net = yaml.safe_load(docs({"dns": ["192.0.2.53"]}).network_config)
    assert net["ethernets"]["primary"] == {"match": {"driver": "vmxnet3"}, "set-name": "ens192", "dhcp4": True,
                                           "nameservers": {"addresses": ["192.0.2.53"]}}


def test_netplan_match_by_mac_and_interface_override():
    net = yaml.safe_load(docs({"ip": "192.0.2.10/24"}, mac_address="00:50:56:AA:BB:CC").network_config)
    assert net["ethernets"] == {"primary": {
        "match": {"macaddress": "00:50:56:aa:bb:cc"}, "set-name": "ens192", "dhcp4": False,
        "addresses": ["192.0.2.10/24"]}}
    net = yaml.safe_load(docs({"interface": "eth1"}, mac_address="00:50:56:aa:bb:cc").network_config)
    assert net["ethernets"] == {"eth1": {"dhcp4": True}}


def test_network_config_replaces_shorthand():
    custom = {"network": {"version": 2, "bonds": {"bond0": {"interfaces": ["ens192", "ens224"]}},
                          "ethernets": {"ens192": {}, "ens224": {}}}}
    net = yaml.safe_load(docs({"network_config": custom}, mac_address="00:50:56:aa:bb:cc").network_config)
    assert net == custom["network"]


def test_vendor_data_string_verbatim_and_absent():
    assert docs({"vendor_data": "#!/bin/sh\necho v\n"}).vendor_data == "#!/bin/sh\necho v\n"
    out = docs({})
    assert out.vendor_data is None
    assert set(out.files()) == {"meta-data", "user-data", "network-config"}


def test_files_are_utf8_bytes():
    files = docs({"hostname": "web1", "write_files": [{"path": "/x", "content": "ü"}]}).files()
    assert list(files) == ["meta-data", "user-data", "network-config"]
    assert "ü" in files["user-data"].decode("utf-8")


def test_masked_documents_hide_secrets():
    out = docs(dict(FULL, user_data="#!/bin/sh\necho token-abc\n",
                    vendor_data={"chpasswd": {"list": "root:pw-xyz"}}))
    shown = render.masked_documents(out)
    text = repr(shown)
    assert HASH not in text and "token-abc" not in text and "pw-xyz" not in text
    assert "hello" not in text  # write_files content
    user = shown["user_data"]
    assert user["cloud_config"]["users"][0]["passwd"] == "********"
    assert user["cloud_config"]["users"][0]["ssh_authorized_keys"] == [ssh_key()]
    assert user["parts"][0].startswith("text/x-shellscript, 25 bytes, hmac:")
    assert shown["network_config"]["ethernets"]["primary"]["addresses"] == ["192.0.2.10/24"]
    assert shown["meta_data"]["instance-id"] == out.instance_id
    assert shown["vendor_data"] == {"cloud_config": {"chpasswd": render.digest({"list": "root:pw-xyz"})}}


def test_masked_documents_show_free_text_keys_as_digests():
    # A join token in runcmd was shown by a diff that masked by key name only.
    token = "kubeadm join 192.0.2.1:6443 --token abcdef.0123456789abcdef"
    one = render.masked_documents(docs(dict(FULL, runcmd=[token], user_data={"bootcmd": ["x pw-1"]})))
    two = render.masked_documents(docs(dict(FULL, runcmd=[token + "0"], user_data={"bootcmd": ["x pw-1"]})))
    assert "abcdef" not in repr(one) and "pw-1" not in repr(one)
    config = one["user_data"]["cloud_config"]
    assert config["runcmd"].startswith("hmac:") and config["bootcmd"].startswith("hmac:")
    assert config["packages"] == ["nginx"] and config["fqdn"] == "web1.lab.example"
    # Which key and which document changed is visible; the rest compares equal.
    assert config["runcmd"] != two["user_data"]["cloud_config"]["runcmd"]
    assert config["bootcmd"] == two["user_data"]["cloud_config"]["bootcmd"]
    assert one["digests"]["user_data"] != two["digests"]["user_data"]
    assert one["digests"]["network_config"] == two["digests"]["network_config"]
    assert sorted(one["digests"]) == ["meta_data", "network_config", "user_data", "vendor_data"]


def test_masked_meta_data_shows_only_known_keys():
    shown = render.masked_documents(docs(dict(FULL, meta_data={"join-secret": "s3cr3t-meta"})))
    assert "s3cr3t-meta" not in repr(shown)
    assert shown["meta_data"]["join-secret"].startswith("hmac:")
    assert shown["meta_data"]["local-hostname"] == "web1"


def test_masked_documents_from_files_match():
    out = docs(dict(FULL, user_data="#!/bin/sh\n"))
    texts = {name: data.decode("utf-8") for name, data in out.files().items()}
    assert render.masked_documents(texts) == render.masked_documents(out)


def test_masked_documents_unparsable():
    shown = render.masked_documents({"meta-data": "a: [", "user-data": "#cloud-config\nb: [",
                                     "vendor-data": "plain"})
    assert shown["meta_data"] == "********"
    assert shown["user_data"]["parts"][0].startswith("unparsable text/cloud-config")
    assert shown["vendor_data"]["parts"][0].startswith("text/plain")


def test_bad_input_raises_with_option():
    from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
    with pytest.raises(GhostError) as info:
        docs({"ip": "192.0.2.10/24", "gateway": "198.51.100.1"})
    assert info.value.option == "cloud_init.gateway"
    with pytest.raises(GhostError) as info:
        docs({}, mac_address="zz")
    assert info.value.option == "mac_address"


def test_pure_no_ansible_import():
    code = ("import sys\n"
            "from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import "
            "render, guestinfo, iso, runner, spec, argspec\n"
            "render.render_documents({'ip': '192.0.2.10/24'}, backend='esxi')\n"
            "bad = sorted(m for m in sys.modules if m == 'ansible' or m.startswith('ansible.'))\n"
            "assert not bad, bad\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.check_call([sys.executable, "-c", code], env=env)
