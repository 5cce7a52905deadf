#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Look at the vSphere simulator with plain pyVmomi, independent of the role and its modules.

``list PREFIX``      JSON: the VMs whose name starts with PREFIX (name, power, CPUs, memory,
                     guest IP, whether guestinfo.userdata is set, the ghost.infra.managed marker).
``set-ip NAME IP``   sets the simulated guest IP (extraConfig SET.guest.ipAddress, vcsim's knob).
Connection from VMWARE_HOST, VMWARE_PORT, VMWARE_USER, VMWARE_PASSWORD.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import ssl
import sys
import time

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def connect():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return SmartConnect(host=os.environ['VMWARE_HOST'], port=int(os.environ.get('VMWARE_PORT', '443')),
                        user=os.environ['VMWARE_USER'], pwd=os.environ['VMWARE_PASSWORD'], sslContext=ctx)


def vms(si):
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def extra(vm):
    return {o.key: o.value for o in (vm.config.extraConfig or [])}


def main(argv):
    si = connect()
    try:
        if argv[0] == 'list':
            out = []
            for vm in vms(si):
                if vm.name.startswith(argv[1]):
                    cfg = extra(vm)
                    out.append({'name': vm.name, 'power': str(vm.runtime.powerState), 'cpus': vm.config.hardware.numCPU,
                                'memory_mb': vm.config.hardware.memoryMB, 'ip': vm.guest.ipAddress or '',
                                'userdata': 'guestinfo.userdata' in cfg, 'managed': cfg.get('ghost.infra.managed') == 'true'})
            print(json.dumps(sorted(out, key=lambda v: v['name'])))
        elif argv[0] == 'set-ip':
            vm = [v for v in vms(si) if v.name == argv[1]][0]
            spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key='SET.guest.ipAddress', value=argv[2])])
            task = vm.ReconfigVM_Task(spec)
            deadline = time.monotonic() + 60
            while task.info.state not in ('success', 'error') and time.monotonic() < deadline:
                time.sleep(0.2)
            if task.info.state != 'success':
                sys.exit('set-ip %s: %s' % (argv[1], task.info.error))
        else:
            sys.exit('usage: vsphere_probe.py list PREFIX | set-ip NAME IP')
    finally:
        Disconnect(si)


if __name__ == '__main__':
    main(sys.argv[1:])
