# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two vSphere simulators: login, inventory, the template, credentials enforced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def connect(env, port, password=None):
    return SmartConnect(host=env['VMWARE_HOST'], port=int(port), user=env['VMWARE_USER'],
                        pwd=env['VMWARE_PASSWORD'] if password is None else password, disableSslCertValidation=True)


def find_all(si, vimtype):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vimtype], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


@pytest.mark.parametrize('which', ['vcenter', 'esxi'])
def test_login_and_template(testbed, which):
    port = testbed['VMWARE_PORT'] if which == 'vcenter' else testbed['GHOST_ESXI_PORT']
    si = connect(testbed, port)
    try:
        about = si.RetrieveContent().about
        assert about.apiType == ('VirtualCenter' if which == 'vcenter' else 'HostAgent')
        templates = [vm for vm in find_all(si, vim.VirtualMachine) if vm.name == testbed['GHOST_VSPHERE_TEMPLATE']]
        assert len(templates) == 1
        template = templates[0]
        assert template.config.template is True
        assert template.snapshot is not None and len(template.snapshot.rootSnapshotList) == 1
    finally:
        Disconnect(si)


def test_vcenter_inventory(testbed):
    si = connect(testbed, testbed['VMWARE_PORT'])
    try:
        assert len(find_all(si, vim.Datacenter)) == 1
        assert len(find_all(si, vim.ClusterComputeResource)) == 1
        assert len(find_all(si, vim.HostSystem)) >= 2
        assert len(find_all(si, vim.Datastore)) >= 2
        assert len(find_all(si, vim.dvs.DistributedVirtualPortgroup)) >= 2
        assert len(find_all(si, vim.Folder)) > 4
    finally:
        Disconnect(si)


@pytest.mark.parametrize('which', ['vcenter', 'esxi'])
def test_wrong_password_refused(testbed, which):
    port = testbed['VMWARE_PORT'] if which == 'vcenter' else testbed['GHOST_ESXI_PORT']
    with pytest.raises(vim.fault.InvalidLogin):
        connect(testbed, port, password=testbed['VMWARE_PASSWORD'] + '-wrong')
