# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The vSphere simulators answer as the real servers do, and fail on purpose when told to.

The ESXi simulator refuses what a standalone host (hostd) refuses: CloneVM_Task (the SOAP fault
NotSupported, which pyVmomi raises as ``vmodl.fault.NotSupported``) and copying the disk of a
powered-on VM (a task failing with FileLocked); it creates a VM from a copied disk. The vCenter
simulator clones. ``/ghost-testbed/faults`` on either fails the next calls of a method.
Every test names its objects uniquely and scopes its fault rules to those names ("match"), so
tests sharing the simulators are not hit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

SIMULATORS = ['vcenter', 'esxi']
NOT_SUPPORTED = 'The operation is not supported on the object.'


def port(env, which):
    return int(env['VMWARE_PORT'] if which == 'vcenter' else env['GHOST_ESXI_PORT'])


@pytest.fixture(scope='module')
def connect(testbed):
    """``connect(which)``: a logged-in ServiceInstance of that simulator, one per module."""
    sessions = {}

    def get(which):
        if which not in sessions:
            sessions[which] = SmartConnect(host=testbed['VMWARE_HOST'], port=port(testbed, which), user=testbed['VMWARE_USER'],
                                           pwd=testbed['VMWARE_PASSWORD'], disableSslCertValidation=True)
        return sessions[which]
    yield get
    for si in sessions.values():
        Disconnect(si)


def unique(prefix):
    return '%s-%s' % (prefix, uuid.uuid4().hex[:8])


def http(env, which, path, method='GET', data=None, headers=None):
    """(status, body text) of a request to the simulator's own listener."""
    req = urllib.request.Request('https://127.0.0.1:%d%s' % (port(env, which), path), data=data, method=method, headers=headers or {})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def faults(env, which, method='GET', rule=None, query=''):
    """(status, JSON) of the fault-injection endpoint."""
    data = json.dumps(rule).encode() if rule is not None else None
    status, body = http(env, which, '/ghost-testbed/faults' + query, method=method, data=data,
                        headers={'Content-Type': 'application/json'})
    return status, json.loads(body)


@pytest.fixture
def inject(testbed):
    """``inject(which, rule)`` adds a fault rule and returns it; the rules are removed afterwards."""
    added = []

    def add(which, rule):
        status, body = faults(testbed, which, 'POST', rule)
        assert status == 201, body
        added.append((which, body['id']))
        return body
    yield add
    for which, rule_id in added:
        faults(testbed, which, 'DELETE', query='?id=%d' % rule_id)


def task_info(si, task, timeout=30):
    """The finished task's state, error and result, read through the PropertyCollector (pyVmomi 9
    cannot read a VirtualDiskManager task's ``info`` through the typed accessor)."""
    pc = si.content.propertyCollector
    spec = vmodl.query.PropertyCollector.FilterSpec(
        objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task)],
        propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=['info.state', 'info.error', 'info.result'])])
    deadline = time.monotonic() + timeout
    while True:
        props = {p.name: p.val for o in pc.RetrieveContents([spec]) for p in o.propSet}
        if props.get('info.state') in ('success', 'error'):
            return props
        assert time.monotonic() < deadline, 'task %s still %s after %ss' % (task, props.get('info.state'), timeout)
        time.sleep(0.1)


def succeed(si, task):
    info = task_info(si, task)
    assert info['info.state'] == 'success', info.get('info.error')
    return info.get('info.result')


def vms_named(si, name):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return [vm for vm in view.view if vm.name == name]
    finally:
        view.Destroy()


def placement(si, env):
    """(datacenter, vm folder, resource pool, template) of the simulator."""
    template, = vms_named(si, env['GHOST_VSPHERE_TEMPLATE'])
    dc = template.parent
    while not isinstance(dc, vim.Datacenter):
        dc = dc.parent
    return dc, dc.vmFolder, template.runtime.host.parent.resourcePool, template


def destroy(si, name):
    for vm in vms_named(si, name):
        if vm.runtime.powerState == 'poweredOn':
            succeed(si, vm.PowerOffVM_Task())
        succeed(si, vm.Destroy_Task())


def small_vm_spec(name, datastore, devices=()):
    return vim.vm.ConfigSpec(name=name, guestId='otherGuest64', numCPUs=1, memoryMB=128, deviceChange=list(devices),
                             files=vim.vm.FileInfo(vmPathName='[%s]' % datastore))


def test_esxi_refuses_clone(testbed, connect):
    si = connect('esxi')
    _dc, folder, pool, template = placement(si, testbed)
    name = unique('tb-clone')
    with pytest.raises(vmodl.fault.NotSupported) as raised:
        template.CloneVM_Task(folder=folder, name=name, spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=pool)))
    assert raised.value.msg == NOT_SUPPORTED
    assert not vms_named(si, name)
    # An unknown VM is still unknown, as on hostd: the object is checked before the method.
    with pytest.raises(vmodl.fault.ManagedObjectNotFound):
        vim.VirtualMachine('vm-tb-missing', si._stub).CloneVM_Task(folder=folder, name=name,
                                                                   spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec()))


def test_esxi_clone_answer_is_hostds(testbed, connect):
    """The raw answer: HTTP 500 and the SOAP fault hostd sends."""
    si = connect('esxi')
    _dc, folder, pool, template = placement(si, testbed)
    name = unique('tb-clone')
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
                '<soapenv:Body><CloneVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">%s</_this>'
                '<folder type="Folder">%s</folder><name>%s</name><spec><location><pool type="ResourcePool">%s</pool></location>'
                '<template>false</template><powerOn>false</powerOn></spec></CloneVM_Task></soapenv:Body></soapenv:Envelope>'
                % (template._moId, folder._moId, name, pool._moId))
    status, body = http(testbed, 'esxi', '/sdk', 'POST', envelope.encode(),
                        {'Content-Type': 'text/xml; charset=utf-8', 'SOAPAction': 'urn:vim25/6.5', 'Cookie': si._stub.cookie})
    assert status == 500, body
    assert '<faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring>' % NOT_SUPPORTED in body
    assert '<detail><NotSupportedFault xmlns="urn:vim25" xsi:type="NotSupported">' in body
    assert not vms_named(si, name)


def test_vcenter_clones(testbed, connect):
    si = connect('vcenter')
    _dc, folder, pool, template = placement(si, testbed)
    name = unique('tb-clone')
    try:
        clone = succeed(si, template.CloneVM_Task(folder=folder, name=name, spec=vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=pool))))
        assert [vm._moId for vm in vms_named(si, name)] == [clone._moId]
    finally:
        destroy(si, name)
    assert not vms_named(si, name)


@pytest.mark.parametrize('which', SIMULATORS)
def test_injected_fault_fails_count_calls(testbed, connect, inject, which):
    si = connect(which)
    _dc, folder, pool, template = placement(si, testbed)
    name = unique('tb-inject')
    rule = inject(which, {'method': 'CreateVM_Task', 'fault': 'NotSupported', 'message': 'refused by the test', 'count': 1, 'match': name})
    assert (rule['fired'], rule['count']) == (0, 1)
    spec = small_vm_spec(name, template.datastore[0].name)
    try:
        with pytest.raises(vmodl.fault.NotSupported) as raised:
            folder.CreateVM_Task(config=spec, pool=pool)
        assert raised.value.msg == 'refused by the test'
        assert not vms_named(si, name)
        status, listed = faults(testbed, which)
        assert status == 200
        assert [r['fired'] for r in listed['faults'] if r['id'] == rule['id']] == [1]
        # Count spent: the same call goes through.
        vm = succeed(si, folder.CreateVM_Task(config=spec, pool=pool))
        assert [v._moId for v in vms_named(si, name)] == [vm._moId]
    finally:
        destroy(si, name)


@pytest.mark.parametrize('which', SIMULATORS)
def test_injected_task_fault(testbed, connect, inject, which):
    """With "task", the call returns a task that ends in the fault, with its properties and message."""
    si = connect(which)
    _dc, folder, pool, template = placement(si, testbed)
    name = unique('tb-inject')
    ds = template.datastore[0].name
    inject(which, {'method': 'CreateVM_Task', 'fault': 'NoDiskSpace', 'message': 'no space left on %s' % ds, 'match': name, 'task': True,
                   'properties': {'datastore': ds, 'file': '[%s] %s/' % (ds, name)}})
    try:
        task = folder.CreateVM_Task(config=small_vm_spec(name, ds), pool=pool)
        info = task_info(si, task)
        assert info['info.state'] == 'error'
        error = info['info.error']
        assert isinstance(error, vim.fault.NoDiskSpace), error
        assert (error.datastore, error.file, error.msg) == (ds, '[%s] %s/' % (ds, name), 'no space left on %s' % ds)
        assert not vms_named(si, name)
    finally:
        destroy(si, name)


def test_fault_rules_control(testbed, connect):
    """Bad rules are refused with the reason; count 0 fails every call until the rule is deleted."""
    for rule, reason in (({'fault': 'NotSupported'}, 'method is required'),
                         ({'method': 'MakeDirectory', 'fault': 'NoSuchFault'}, 'not a vim25 type'),
                         ({'method': 'MakeDirectory', 'fault': 'VirtualMachineConfigSpec'}, 'not a fault'),
                         ({'method': 'MakeDirectory', 'fault': 'FileFault', 'properties': {'fil': 'x'}}, 'unknown field "fil"'),
                         ({'method': 'MakeDirectory', 'fault': 'FileFault', 'task': True}, 'only to *_Task methods'),
                         ({'method': 'MakeDirectory', 'fault': 'FileFault', 'count': -1}, 'count must be'),
                         ({'method': 'MakeDirectory', 'fault': 'FileFault', 'cuont': 1}, 'unknown field "cuont"')):
        status, body = faults(testbed, 'esxi', 'POST', rule)
        assert status == 400 and reason in body['error'], (rule, body)
    assert http(testbed, 'esxi', '/ghost-testbed/faults', 'PUT', b'{}')[0] == 405

    si = connect('esxi')
    dc, _folder, _pool, template = placement(si, testbed)
    path = '[%s] %s' % (template.datastore[0].name, unique('tb-dir'))
    fm = si.content.fileManager
    status, rule = faults(testbed, 'esxi', 'POST', {'method': 'MakeDirectory', 'fault': 'FileAlreadyExists', 'count': 0, 'match': path,
                                                    'properties': {'file': path}})
    assert status == 201 and rule['message'] == 'FileAlreadyExists (injected by the ghost.infra testbed)', rule
    try:
        for attempt in (1, 2):
            with pytest.raises(vim.fault.FileAlreadyExists) as raised:
                fm.MakeDirectory(name=path, datacenter=dc, createParentDirectories=False)
            assert raised.value.file == path, attempt
    finally:
        assert faults(testbed, 'esxi', 'DELETE', query='?id=%d' % rule['id']) == (200, {'cleared': 1})
    assert rule['id'] not in [r['id'] for r in faults(testbed, 'esxi')[1]['faults']]
    try:
        fm.MakeDirectory(name=path, datacenter=dc, createParentDirectories=False)
    finally:
        succeed(si, fm.DeleteDatastoreFile_Task(name=path, datacenter=dc))


def test_esxi_vm_from_copied_disk_and_running_disk_locked(testbed, connect):
    """What a standalone host allows instead of cloning (MakeDirectory, CopyVirtualDisk_Task,
    CreateVM_Task), and the disk of the powered-on VM that cannot be copied until it is off."""
    si = connect('esxi')
    dc, folder, pool, template = placement(si, testbed)
    ds = template.datastore[0].name
    source, = [d.backing.fileName for d in template.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)]
    name = unique('tb-hostd')
    directory = '[%s] %s' % (ds, name)
    disk, copy = directory + '/disk.vmdk', directory + '/copy.vmdk'
    fm, vdm = si.content.fileManager, si.content.virtualDiskManager
    fm.MakeDirectory(name=directory, datacenter=dc, createParentDirectories=False)
    try:
        succeed(si, vdm.CopyVirtualDisk_Task(sourceName=source, sourceDatacenter=dc, destName=disk, destDatacenter=dc))
        controller = vim.vm.device.ParaVirtualSCSIController(key=1000, busNumber=0, sharedBus='noSharing')
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName=disk, diskMode='persistent', thinProvisioned=True)
        devices = [vim.vm.device.VirtualDeviceSpec(operation='add', device=controller),
                   vim.vm.device.VirtualDeviceSpec(operation='add', device=vim.vm.device.VirtualDisk(
                       key=-1, controllerKey=1000, unitNumber=0, capacityInKB=template_capacity(template), backing=backing))]
        spec = small_vm_spec(name, ds, devices)
        spec.files.vmPathName = directory
        vm = succeed(si, folder.CreateVM_Task(config=spec, pool=pool))
        assert [d.backing.fileName for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)] == [disk]

        succeed(si, vm.PowerOnVM_Task())
        for locked in (disk, directory + '/disk-flat.vmdk'):
            info = task_info(si, vdm.CopyVirtualDisk_Task(sourceName=locked, sourceDatacenter=dc, destName=copy, destDatacenter=dc))
            assert info['info.state'] == 'error'
            error = info['info.error']
            assert isinstance(error, vim.fault.FileLocked), error
            assert (error.file, error.msg) == (locked, 'Unable to access file %s since it is locked' % locked)

        # Powered off, the disk copies; to the same name, so the refused copies left nothing there.
        succeed(si, vm.PowerOffVM_Task())
        succeed(si, vdm.CopyVirtualDisk_Task(sourceName=disk, sourceDatacenter=dc, destName=copy, destDatacenter=dc))
    finally:
        destroy(si, name)
        succeed(si, fm.DeleteDatastoreFile_Task(name=directory, datacenter=dc))


def template_capacity(template):
    return [d.capacityInKB for d in template.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)][0]
