# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Round trip through cloud-init's own code (Debian's cloud-init package, system Python).

cloud-init is not installed: the testbed unpacks Debian's package into its build cache and
exports the directory holding ``cloudinit`` as GHOST_CLOUDINIT_PYTHONPATH (tests/testbed/debs.py);
its Python libraries are system packages from bindep.txt. The checker puts that directory first
on the system Python's path and reports where ``cloudinit`` came from.

(a) The VMware datasource, reading guestinfo through the VMX_GUESTINFO environment access
    method, decodes our keys into exactly the meta-data, user-data, vendor-data and network
    config we rendered.
(b) The NoCloud datasource accepts the files of our ISO (extracted with pycdlib into a seed
    directory; no mount needed).
(c) The network-state parser accepts our netplan, and the netplan renderer Ubuntu uses writes
    it out unchanged.
cloud-init's schema validator also checks the generated cloud-config. Only the testbed's unpacked
cloud-init is needed (taken from the environment, else from ``testbed up``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import json
import os
import struct
import subprocess

import pycdlib
import pytest
import yaml

from ansible_collections.ghost.infra.plugins.module_utils._cloudinit import guestinfo, iso, render

SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL_HINT = ("cloud-init's Python package is not importable by %s from GHOST_CLOUDINIT_PYTHONPATH=%%s: `make testbed-up` "
                "unpacks it into the build cache, and tools/install-system-packages installs its libraries (bindep.txt)"
                % SYSTEM_PYTHON)


def ssh_key():
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + b"r" * 32
    return "ssh-ed25519 %s roundtrip@test" % base64.b64encode(blob).decode()


SCRIPT = "#!/bin/bash\necho 'first boot ✓' > /var/tmp/ghost-first-boot\n"
CLOUD_INIT = {
    "fqdn": "web1.lab.example",
    "ssh_authorized_keys": [ssh_key()],
    "password_hash": "$6$roundtrip$" + "x" * 86,
    "ip": "192.0.2.10/24",
    "gateway": "192.0.2.1",
    "dns": ["192.0.2.53"],
    "search_domains": ["lab.example"],
    "packages": ["nginx", ["htop", "3.0.5-7"]],
    "runcmd": ["systemctl enable --now nginx", ["touch", "/var/tmp/ghost"]],
    "write_files": [{"path": "/etc/motd", "content": "Welcome to web1\n", "permissions": "0644"}],
    "user_data": SCRIPT,
    "meta_data": {"environment": "lab"},
    "vendor_data": {"timezone": "UTC"},
}

CHECKER = r'''
import json
import logging
import os
import sys

logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
args = json.load(open(sys.argv[1]))
sys.path.insert(0, args["cloudinit_path"])
try:
    import cloudinit
except ImportError as exc:
    print(json.dumps({"missing": str(exc)}))
    sys.exit(0)

from cloudinit import helpers, util, version
from cloudinit.config.schema import SchemaValidationError, get_schema, validate_cloudconfig_schema
from cloudinit.net import netplan, network_state
from cloudinit.sources import DataSourceNoCloud, DataSourceVMware


def paths(root):
    return helpers.Paths({"cloud_dir": os.path.join(root, "cloud"),
                          "run_dir": os.path.join(root, "run")})


def parts(message):
    out = []
    for part in message.walk():
        if not part.is_multipart():
            out.append([part.get_content_type(),
                        util.decode_binary(part.get_payload(decode=True))])
    return out


def schema_problems(config):
    try:
        validate_cloudconfig_schema(config, get_schema(), strict=True, log_details=False)
    except SchemaValidationError as exc:
        return str(exc)
    return None


def hostname(ds):
    found = ds.get_hostname()
    return getattr(found, "hostname", found)


def datasource(ds):
    ok = ds._get_data()
    user_parts = parts(ds.get_userdata())
    vendor_parts = parts(ds.get_vendordata())
    return {
        "found": ok,
        "metadata": {k: v for k, v in ds.metadata.items() if k != "network"},
        "network_config": ds.network_config,
        "userdata_raw": util.decode_binary(ds.userdata_raw),
        "vendordata_raw": util.decode_binary(ds.vendordata_raw),
        "instance_id": ds.get_instance_id(),
        "hostname": hostname(ds),
        "userdata_parts": user_parts,
        "vendordata_parts": vendor_parts,
        "schema_problems": [schema_problems(util.load_yaml(text))
                            for kind, text in user_parts + vendor_parts
                            if kind == "text/cloud-config"],
    }


def full_parse(config):
    try:
        state = network_state.parse_net_config_data(config, skip_broken=False)
    except Exception as exc:  # report, the test decides
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    return {
        "interfaces": {i["name"]: i for i in state.iter_interfaces()},
        "dns": list(state.dns_nameservers),
        "search": list(state.dns_searchdomains),
    }


def netplan_written(config, target):
    renderer = netplan.Renderer({"postcmds": False, "clean_default": False})
    state = network_state.parse_net_config_data(config, skip_broken=False, renderer=renderer)
    renderer.render_network_state(state, target=target)
    return util.load_yaml(util.load_file(os.path.join(target, renderer.netplan_path)))


result = {"version": version.version_string(), "module": cloudinit.__file__}
vmware = DataSourceVMware.DataSourceVMware({}, None, paths(args["vmware_root"]))
result["vmware"] = datasource(vmware)
result["vmware"]["access"] = vmware.data_access_method
nocloud = DataSourceNoCloud.DataSourceNoCloud(
    {"datasource": {"NoCloud": {"fs_label": None}}}, None, paths(args["nocloud_root"]))
result["nocloud"] = datasource(nocloud)
result["nocloud"]["seed"] = nocloud.seed
result["full_parse"] = {name: full_parse(cfg) for name, cfg in args["networks"].items()}
result["netplan"] = netplan_written(args["networks"]["static"], args["netplan_root"])
print(json.dumps(result, default=str))
'''


def extract_iso(data, seed_dir):
    """Copy the files of a NoCloud ISO into a seed directory, reading it with pycdlib."""
    image = pycdlib.PyCdlib()
    image.open_fp(io.BytesIO(data))
    names = []
    try:
        for child in image.list_children(rr_path="/"):
            if child.is_dot() or child.is_dotdot():
                continue
            name = child.rock_ridge.name().decode("utf-8")
            out = io.BytesIO()
            image.get_file_from_iso_fp(out, rr_path="/" + name)
            with open(os.path.join(seed_dir, name), "wb") as handle:
                handle.write(out.getvalue())
            names.append(name)
    finally:
        image.close()
    return sorted(names)


@pytest.fixture(scope="module")
def cloudinit_path(request):
    """The testbed's unpacked cloud-init: from the environment (env.sh sourced), else ``testbed up``."""
    path = os.environ.get("GHOST_CLOUDINIT_PYTHONPATH") or request.getfixturevalue("testbed").get("GHOST_CLOUDINIT_PYTHONPATH")
    if not path:
        pytest.fail("GHOST_CLOUDINIT_PYTHONPATH is not set and the testbed's env.sh has none: run `make testbed-up`")
    if not os.path.isdir(os.path.join(path, "cloudinit")):
        pytest.fail(INSTALL_HINT % path)
    return path


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory, cloudinit_path):
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.fail(INSTALL_HINT % cloudinit_path)
    tmp = tmp_path_factory.mktemp("cloudinit")
    esxi = render.render_documents(CLOUD_INIT, backend="esxi")
    libvirt = render.render_documents(CLOUD_INIT, backend="libvirt")
    keys = guestinfo.encode_guestinfo(esxi)

    seed_dir = tmp / "nocloud" / "cloud" / "seed" / "nocloud"
    seed_dir.mkdir(parents=True)
    image = iso.build_nocloud_iso(libvirt.files())
    names = extract_iso(image, str(seed_dir))

    dhcp = render.render_documents({}, backend="esxi").network_config_dict
    static_no_route = json.loads(json.dumps(esxi.network_config_dict))
    del static_no_route["ethernets"]["primary"]["routes"]
    args = {
        "cloudinit_path": cloudinit_path,
        "vmware_root": str(tmp / "vmware"),
        "nocloud_root": str(tmp / "nocloud"),
        "netplan_root": str(tmp / "netplan"),
        "networks": {"static": esxi.network_config_dict, "dhcp": dhcp,
                     "static_no_route": static_no_route},
    }
    (tmp / "args.json").write_text(json.dumps(args))
    (tmp / "checker.py").write_text(CHECKER)

    # guestinfo.<key> is read from $VMX_GUESTINFO_<KEY> once VMX_GUESTINFO is set.
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "VMX_GUESTINFO": "1"}
    for key, value in keys.items():
        env[key.upper().replace(".", "_").replace("GUESTINFO_", "VMX_GUESTINFO_", 1)] = value
    proc = subprocess.run([SYSTEM_PYTHON, "-I", str(tmp / "checker.py"), str(tmp / "args.json")],
                          env=env, cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    if "missing" in result:
        pytest.fail("%s (%s)" % (INSTALL_HINT % cloudinit_path, result["missing"]))
    return {"esxi": esxi, "libvirt": libvirt, "keys": keys, "names": names, "result": result,
            "env": env, "cloudinit_path": cloudinit_path}


def test_cloudinit_is_the_unpacked_copy(roundtrip):
    """The parsers are the testbed's unpacked package, not an installed cloud-init."""
    module = roundtrip["result"]["module"]
    assert module == os.path.join(roundtrip["cloudinit_path"], "cloudinit", "__init__.py"), module


def test_env_names_are_the_datasource_names(roundtrip):
    assert sorted(name for name in roundtrip["env"] if name.startswith("VMX_GUESTINFO_")) == [
        "VMX_GUESTINFO_METADATA", "VMX_GUESTINFO_METADATA_ENCODING",
        "VMX_GUESTINFO_USERDATA", "VMX_GUESTINFO_USERDATA_ENCODING",
        "VMX_GUESTINFO_VENDORDATA", "VMX_GUESTINFO_VENDORDATA_ENCODING"]


def test_vmware_datasource_decodes_guestinfo(roundtrip):
    got, docs = roundtrip["result"]["vmware"], roundtrip["esxi"]
    assert got["found"] is True
    assert got["access"] == "envvar"
    assert got["metadata"] == docs.meta_data_dict
    assert got["network_config"] == docs.network_config_dict
    assert got["userdata_raw"] == docs.user_data
    assert got["vendordata_raw"] == docs.vendor_data
    assert got["instance_id"] == docs.instance_id
    assert got["hostname"] == "web1"


def _check_user_data(got, docs):
    kinds = [part[0] for part in got["userdata_parts"]]
    assert kinds == ["text/cloud-config", "text/x-shellscript"]
    config = yaml.safe_load(got["userdata_parts"][0][1])
    assert config == {
        "hostname": "web1",
        "fqdn": "web1.lab.example",
        "users": [{"name": "ubuntu", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                   "lock_passwd": False, "passwd": CLOUD_INIT["password_hash"],
                   "ssh_authorized_keys": CLOUD_INIT["ssh_authorized_keys"]}],
        "packages": CLOUD_INIT["packages"],
        "runcmd": CLOUD_INIT["runcmd"],
        "write_files": CLOUD_INIT["write_files"],
    }
    assert got["userdata_parts"][1][1] == SCRIPT
    assert got["vendordata_parts"] == [["text/cloud-config", docs.vendor_data]]
    assert got["schema_problems"] == [None, None]


def test_vmware_user_data_parts_and_schema(roundtrip):
    _check_user_data(roundtrip["result"]["vmware"], roundtrip["esxi"])


def test_nocloud_reads_the_iso_files(roundtrip):
    got, docs = roundtrip["result"]["nocloud"], roundtrip["libvirt"]
    assert roundtrip["names"] == ["meta-data", "network-config", "user-data", "vendor-data"]
    assert got["found"] is True
    assert got["seed"].endswith("/seed/nocloud")
    metadata = dict(got["metadata"])
    assert metadata.pop("dsmode") == "net"  # NoCloud's own default, merged under ours
    assert metadata == docs.meta_data_dict
    assert got["instance_id"] == docs.instance_id
    assert got["hostname"] == "web1"
    assert got["network_config"] == docs.network_config_dict
    assert got["network_config"]["ethernets"]["primary"]["set-name"] == "enp1s0"
    assert got["userdata_raw"] == docs.user_data
    assert got["vendordata_raw"] == docs.vendor_data
    _check_user_data(got, docs)


def test_network_state_accepts_our_netplan(roundtrip):
    parsed = roundtrip["result"]["full_parse"]
    dhcp = parsed["dhcp"]["interfaces"]["ens192"]
    # Matched by driver and named by set-name, as Debian's and RHEL's renderers will write it.
    assert (dhcp["driver"], dhcp["mac_address"]) == ("vmxnet3", None)
    assert [subnet["type"] for subnet in dhcp["subnets"]] == ["dhcp4"]
    static = parsed["static_no_route"]["interfaces"]["ens192"]
    subnet = static["subnets"][0]
    assert (subnet["type"], subnet["address"], subnet["prefix"]) == ("static", "192.0.2.10", 24)
    assert subnet["dns_nameservers"] == ["192.0.2.53"]
    assert subnet["dns_search"] == ["lab.example"]
    # The full document, default route included, goes through the same parser that Debian's and
    # RHEL's renderers use; `to: default` made it raise ValueError there.
    full = parsed["static"]
    assert "error" not in full, full["error"]
    routes = full["interfaces"]["ens192"]["subnets"][0]["routes"]
    assert [(r["network"], r["prefix"], r["gateway"]) for r in routes] == [("0.0.0.0", 0, "192.0.2.1")]


def test_netplan_renderer_writes_our_document(roundtrip):
    written = roundtrip["result"]["netplan"]
    assert written == {"network": roundtrip["esxi"].network_config_dict}
    device = written["network"]["ethernets"]["primary"]
    assert device["routes"] == [{"to": "0.0.0.0/0", "via": "192.0.2.1"}]
    assert "gateway4" not in device
