#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helper for the esxi_vm_snapshot target: looks at a simulator with plain pyVmomi,
independent of the module under test. Connection from VMWARE_HOST/USER/PASSWORD and ``--port``.

``tree MOID``           prints the power state of the VM with that moid, its snapshots (name,
                        state) depth first and the current one, as JSON.
``snapshot MOID NAME``  takes a snapshot named NAME whatever the tree holds (the module refuses
                        to make a second one of a name; vSphere does not).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import sys
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def _nodes(nodes):
    """The snapshot tree depth first, a parent before its children."""
    for node in nodes:
        yield node
        yield from _nodes(node.childSnapshotList)


def tree(vm):
    info = getattr(vm, "snapshot", None)  # pyVmomi 9 raises AttributeError when it is unset
    nodes = list(_nodes(info.rootSnapshotList)) if info else []
    current = next((n.name for n in nodes if n.snapshot == info.currentSnapshot), None)
    return {"power_state": vm.runtime.powerState, "current": current,
            "snapshots": [{"name": n.name, "state": n.state} for n in nodes]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("command", choices=["tree", "snapshot"])
    parser.add_argument("moid")
    parser.add_argument("name", nargs="?")
    args = parser.parse_args()
    si = SmartConnect(host=os.environ["VMWARE_HOST"], port=args.port, user=os.environ["VMWARE_USER"],
                      pwd=os.environ["VMWARE_PASSWORD"], disableSslCertValidation=True)
    try:
        vm = vim.VirtualMachine(args.moid, si._stub)
        if args.command == "snapshot":
            task = vm.CreateSnapshot_Task(name=args.name, description="", memory=False, quiesce=False)
            while task.info.state not in ("success", "error"):
                time.sleep(0.1)
            if task.info.state != "success":
                sys.exit("snapshot failed: %s" % task.info.error)
        print(json.dumps(tree(vm)))
    finally:
        Disconnect(si)


if __name__ == "__main__":
    main()
