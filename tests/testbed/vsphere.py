# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two vSphere simulators: a vCenter and a standalone ESXi host (our vcsim build)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import urllib.request

from .procs import insecure_context

USER = 'administrator@vsphere.local'
TEMPLATE = 'ubuntu-22.04-template'

# Inventory of the vCenter simulator: what the vSphere modules need to find more than one of.
VCENTER_INVENTORY = ['-dc', '1', '-cluster', '1', '-host', '2', '-ds', '2', '-vm', '2', '-pool', '1', '-folder', '1', '-pg', '2']

_ABOUT = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
          'xmlns:vim25="urn:vim25"><soapenv:Body><vim25:RetrieveServiceContent>'
          '<vim25:_this type="ServiceInstance">ServiceInstance</vim25:_this>'
          '</vim25:RetrieveServiceContent></soapenv:Body></soapenv:Envelope>')


def argv(binary, port, password, esx):
    args = [binary, '-l', '127.0.0.1:%d' % port, '-username', USER, '-password', password, '-template', TEMPLATE]
    return args + (['-esx'] if esx else VCENTER_INVENTORY)


def about(port, timeout=3):
    """``about.fullName`` of the simulator on ``port`` (no login needed), or None."""
    req = urllib.request.Request('https://127.0.0.1:%d/sdk' % port, data=_ABOUT.encode(),
                                 headers={'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': 'urn:vim25/8.0.0.0'})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=insecure_context()) as resp:
            body = resp.read().decode('utf-8', 'replace')
    except OSError:
        return None
    m = re.search(r'<fullName>([^<]*)</fullName>', body)
    return m.group(1) if m else None
