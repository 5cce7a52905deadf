#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper for the esxi_vm target: looks at a simulator with plain pyVmomi, independent of
the module under test. Connection from VMWARE_HOST/USER/PASSWORD and ``--port``.

``decode NAME``   reads the VM's extraConfig and decodes its guestinfo keys twice: with our
                  decoder and with cloud-init's VMware datasource (Debian's cloud-init as the
                  testbed unpacks it, GHOST_CLOUDINIT_PYTHONPATH, run by /usr/bin/python3 with
                  VMX_GUESTINFO set). Prints the hostname, SSH keys and
                  netplan each one sees, never the raw values.
``set-ip NAME IP`` sets the simulated guest IP (extraConfig SET.guest.ipAddress).
``expiry NAME``   prints the VM's ghost.infra.* extraConfig keys (ownership and expiry) and its
                  power state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

SYSTEM_PYTHON = "/usr/bin/python3"

CLOUD_INIT_CHECK = r'''
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
import cloudinit
from cloudinit import helpers, util
from cloudinit.sources import DataSourceVMware
root = tempfile.mkdtemp()
ds = DataSourceVMware.DataSourceVMware({}, None, helpers.Paths({"cloud_dir": root + "/cloud", "run_dir": root + "/run"}))
found = ds._get_data()
user = util.load_yaml(util.decode_binary(ds.userdata_raw)) or {}
name = ds.get_hostname()
print(json.dumps({
    "module": cloudinit.__file__,
    "found": found,
    "access": ds.data_access_method,
    "hostname": getattr(name, "hostname", name),
    "user_data_hostname": user.get("hostname"),
    "ssh_keys": [k for u in user.get("users", []) if isinstance(u, dict) for k in u.get("ssh_authorized_keys", [])],
    "network": ds.network_config,
}))
'''


def collection_path():
    """Make ``ansible_collections.ghost.infra`` importable (the staged copy this file is in)."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = here.split(os.sep)
    if "ansible_collections" in parts:
        sys.path.insert(0, os.sep.join(parts[:len(parts) - parts[::-1].index("ansible_collections") - 1]))
    for entry in reversed(os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)):
        if entry:
            sys.path.insert(0, entry)


def find_vm(content, name):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        found = [vm for vm in view.view if vm.name == name]
    finally:
        view.DestroyView()
    if len(found) != 1:
        sys.exit("expected one VM named %s, found %d" % (name, len(found)))
    return found[0]


def ours(values):
    collection_path()
    from ansible_collections.ghost.infra.plugins.module_utils._cloudinit.guestinfo import decode_guestinfo
    import yaml

    decoded = decode_guestinfo(values)
    user = yaml.safe_load(decoded["user_data"])
    return {
        "hostname": decoded["meta_data"].get("local-hostname"),
        "user_data_hostname": user.get("hostname"),
        "ssh_keys": [k for u in user.get("users", []) for k in u.get("ssh_authorized_keys", [])],
        "network": decoded["network_config"],
    }


def cloud_init(values):
    path = os.environ.get("GHOST_CLOUDINIT_PYTHONPATH")
    if not path or not os.path.isdir(os.path.join(path, "cloudinit")):
        sys.exit("GHOST_CLOUDINIT_PYTHONPATH (%s) names no unpacked cloud-init: source the testbed's env.sh "
                 "(`make testbed-up` unpacks it)" % path)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "VMX_GUESTINFO": "1"}
    for key, value in values.items():
        env["VMX_GUESTINFO_" + key[len("guestinfo."):].upper().replace(".", "_")] = value
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "check.py")
        with open(script, "w") as handle:
            handle.write(CLOUD_INIT_CHECK)
        proc = subprocess.run([SYSTEM_PYTHON, "-I", script, path], env=env, cwd=tmp, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=300, check=False)
    if proc.returncode != 0:
        sys.exit("cloud-init's datasource failed (its libraries come from bindep.txt):\n" + proc.stderr[-3000:])
    out = json.loads(proc.stdout)
    module = out.pop("module")
    if not module.startswith(os.path.join(path, "cloudinit") + os.sep):
        sys.exit("cloud-init was imported from %s, not from the testbed's unpacked copy in %s" % (module, path))
    if not out.pop("found") or out.pop("access") != "envvar":
        sys.exit("cloud-init's VMware datasource found no data")
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("command", choices=["decode", "set-ip", "expiry"])
    parser.add_argument("name")
    parser.add_argument("ip", nargs="?")
    args = parser.parse_args()
    si = SmartConnect(host=os.environ["VMWARE_HOST"], port=args.port, user=os.environ["VMWARE_USER"],
                      pwd=os.environ["VMWARE_PASSWORD"], disableSslCertValidation=True)
    try:
        vm = find_vm(si.RetrieveContent(), args.name)
        if args.command == "set-ip":
            spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="SET.guest.ipAddress", value=args.ip)])
            task = vm.ReconfigVM_Task(spec=spec)
            while task.info.state not in ("success", "error"):
                time.sleep(0.1)
            print(json.dumps({"state": task.info.state}))
            return
        extra = {o.key: o.value for o in vm.config.extraConfig}
        if args.command == "expiry":
            print(json.dumps({"keys": {k: v for k, v in extra.items() if k.startswith("ghost.infra.")},
                              "power_state": str(vm.runtime.powerState)}))
            return
    finally:
        Disconnect(si)
    values = {k: v for k, v in extra.items() if k.startswith("guestinfo.")}
    print(json.dumps({
        "keys": sorted(values),
        "managed": extra.get("ghost.infra.managed"),
        "ours": ours(values),
        "cloud_init": cloud_init(values),
    }))


if __name__ == "__main__":
    main()
