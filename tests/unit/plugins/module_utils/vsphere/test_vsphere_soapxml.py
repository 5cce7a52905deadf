# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._vsphere import soapxml
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.soapxml import MoRef

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    '<soapenv:Body>%s</soapenv:Body></soapenv:Envelope>'
)

# What vCenter answers for a VM: scalars, a moref, arrays of data objects with xsi:type,
# a nested backing with a parent (a linked clone), a repeated field (ipAddress).
PAGE = ENVELOPE % (
    '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>'
    '<token>page-2</token>'
    '<objects><obj type="VirtualMachine">vm-42</obj>'
    '<propSet><name>name</name><val xsi:type="xsd:string">web1</val></propSet>'
    '<propSet><name>parent</name><val type="Folder" xsi:type="ManagedObjectReference">group-v3</val></propSet>'
    '<propSet><name>config.template</name><val xsi:type="xsd:boolean">false</val></propSet>'
    '<propSet><name>config.hardware.numCPU</name><val xsi:type="xsd:int">2</val></propSet>'
    '<propSet><name>datastore</name><val xsi:type="ArrayOfManagedObjectReference">'
    '<ManagedObjectReference type="Datastore" xsi:type="ManagedObjectReference">datastore-1</ManagedObjectReference>'
    '</val></propSet>'
    '<propSet><name>config.extraConfig</name><val xsi:type="ArrayOfOptionValue">'
    '<OptionValue xsi:type="OptionValue"><key>guestinfo.metadata</key><value xsi:type="xsd:string">H4sI</value></OptionValue>'
    '<OptionValue xsi:type="OptionValue"><key>ghost.infra.managed</key><value xsi:type="xsd:string">true</value></OptionValue>'
    '</val></propSet>'
    '<propSet><name>guest.net</name><val xsi:type="ArrayOfGuestNicInfo">'
    '<GuestNicInfo xsi:type="GuestNicInfo"><network>VM Network</network>'
    '<ipAddress>169.254.1.2</ipAddress><ipAddress>192.0.2.10</ipAddress><connected>true</connected></GuestNicInfo>'
    '<GuestNicInfo xsi:type="GuestNicInfo"><ipAddress>10.0.0.5</ipAddress></GuestNicInfo>'
    '</val></propSet>'
    '<propSet><name>config.hardware.device</name><val xsi:type="ArrayOfVirtualDevice">'
    '<VirtualDevice xsi:type="VirtualDisk"><key>2000</key>'
    '<deviceInfo><label>Hard disk 1</label><summary>41,943,040 KB</summary></deviceInfo>'
    '<backing xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] web1/web1.vmdk</fileName>'
    '<datastore type="Datastore">datastore-1</datastore><diskMode>persistent</diskMode>'
    '<thinProvisioned>true</thinProvisioned>'
    '<parent xsi:type="VirtualDiskFlatVer2BackingInfo"><fileName>[ds1] tmpl/tmpl.vmdk</fileName></parent>'
    '</backing><controllerKey>1000</controllerKey><unitNumber>0</unitNumber>'
    '<capacityInKB>41943040</capacityInKB><capacityInBytes>42949672960</capacityInBytes></VirtualDevice>'
    '<VirtualDevice xsi:type="VirtualVmxnet3"><key>4000</key><deviceInfo><label>Network adapter 1</label></deviceInfo>'
    '<backing xsi:type="VirtualEthernetCardNetworkBackingInfo"><deviceName>VM Network</deviceName>'
    '<network type="Network">network-7</network></backing>'
    '<macAddress>00:50:56:00:00:01</macAddress></VirtualDevice>'
    '</val></propSet>'
    '</objects>'
    '<objects><obj type="Folder">group-v3</obj>'
    '<propSet><name>name</name><val xsi:type="xsd:string">vm</val></propSet></objects>'
    '</returnval></RetrievePropertiesExResponse>'
)


def test_parse_page():
    token, objects = soapxml.parse_retrieve_result(PAGE.encode("utf-8"))
    assert token == "page-2"
    assert [item[0] for item in objects] == [MoRef("VirtualMachine", "vm-42"), MoRef("Folder", "group-v3")]
    props = objects[0][1]
    assert props["name"] == "web1"
    assert props["parent"] == MoRef("Folder", "group-v3")
    assert soapxml.as_bool(props["config.template"]) is False
    assert soapxml.as_int(props["config.hardware.numCPU"]) == 2
    assert props["datastore"] == [MoRef("Datastore", "datastore-1")]
    assert props["config.extraConfig"] == [
        {"_type": "OptionValue", "key": "guestinfo.metadata", "value": "H4sI"},
        {"_type": "OptionValue", "key": "ghost.infra.managed", "value": "true"},
    ]
    nets = props["guest.net"]
    assert nets[0]["ipAddress"] == ["169.254.1.2", "192.0.2.10"]
    assert soapxml.as_list(nets[1]["ipAddress"]) == ["10.0.0.5"]  # one element reads as a scalar
    disk, nic = props["config.hardware.device"]
    assert disk["_type"] == "VirtualDisk"
    assert disk["deviceInfo"] == {"_type": None, "label": "Hard disk 1", "summary": "41,943,040 KB"}
    assert disk["backing"]["_type"] == "VirtualDiskFlatVer2BackingInfo"
    assert disk["backing"]["datastore"] == MoRef("Datastore", "datastore-1")
    assert disk["backing"]["parent"]["fileName"] == "[ds1] tmpl/tmpl.vmdk"
    assert soapxml.as_int(disk["capacityInBytes"]) == 40 * 1024 ** 3
    assert nic["_type"] == "VirtualVmxnet3"
    assert nic["backing"]["network"] == MoRef("Network", "network-7")
    assert objects[1][1] == {"name": "vm"}


def test_last_page_and_empty_answers():
    last = ENVELOPE % ('<ContinueRetrievePropertiesExResponse xmlns="urn:vim25"><returnval>'
                       '<objects><obj type="VirtualMachine">vm-1</obj></objects>'
                       '</returnval></ContinueRetrievePropertiesExResponse>')
    assert soapxml.parse_retrieve_result(last.encode()) == (None, [(MoRef("VirtualMachine", "vm-1"), {})])
    nothing = ENVELOPE % '<RetrievePropertiesExResponse xmlns="urn:vim25"></RetrievePropertiesExResponse>'
    assert soapxml.parse_retrieve_result(nothing.encode()) == (None, [])


FAULT = ENVELOPE % (
    '<soapenv:Fault><faultcode>ServerFaultCode</faultcode>'
    '<faultstring>The object \'vim.VirtualMachine:vm-9\' has already been deleted or has not been completely created'
    '</faultstring><detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound">'
    '<obj type="VirtualMachine">vm-9</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault>'
)


def test_parse_fault():
    fault = soapxml.parse_fault(FAULT.encode())
    assert fault.name == "ManagedObjectNotFound"
    assert str(fault).startswith("ManagedObjectNotFound: The object 'vim.VirtualMachine:vm-9' has already been deleted")
    with pytest.raises(soapxml.SoapFault) as err:
        soapxml.parse_retrieve_result(FAULT.encode())
    assert err.value.name == "ManagedObjectNotFound"


def test_fault_without_xsi_type_uses_the_element_name():
    fault = ENVELOPE % ('<soapenv:Fault><faultstring>bad path</faultstring><detail>'
                        '<InvalidPropertyFault xmlns="urn:vim25"><name>x.y</name></InvalidPropertyFault>'
                        '</detail></soapenv:Fault>')
    assert str(soapxml.parse_fault(fault.encode())) == "InvalidProperty: bad path"


def test_garbage_is_a_soap_fault():
    with pytest.raises(soapxml.SoapFault) as err:
        soapxml.parse_retrieve_result(b"<html>503 Service Unavailable")
    assert err.value.name == "InvalidResponse"
    assert soapxml.parse_fault(b"not xml").name == "InvalidResponse"


@pytest.mark.parametrize("value, expected", [(None, []), ("", []), ("a", ["a"]), (["a", "b"], ["a", "b"]),
                                             ({"k": 1}, [{"k": 1}])])
def test_as_list(value, expected):
    assert soapxml.as_list(value) == expected


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), (True, True), (None, False),
                                             ("1", True), ("TRUE", True)])
def test_as_bool(value, expected):
    assert soapxml.as_bool(value) is expected


def test_as_int():
    assert soapxml.as_int("42") == 42
    assert soapxml.as_int(None, 7) == 7
    assert soapxml.as_int("", 0) == 0


def test_vm_record_from_a_parsed_page():
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere import records, vmomi_internals

    token, objects = soapxml.parse_retrieve_result(PAGE.encode("utf-8"))
    record = records.vm_record("vm-42", objects[0][1], networks={"network-7": "VM Network"},
                               is_a=vmomi_internals.is_a)
    assert record["name"] == "web1"
    assert record["parent"] == "group-v3"
    assert record["cpu"] == 2
    assert record["template"] is False
    assert record["datastores"] == ["datastore-1"]
    assert record["extra_config"] == {"guestinfo.metadata": "H4sI", "ghost.infra.managed": "true"}
    assert record["guest_net_ips"] == ["169.254.1.2", "192.0.2.10", "10.0.0.5"]
    assert record["disks"] == [{"key": 2000, "label": "Hard disk 1", "capacity_kb": 41943040,
                                "file": "[ds1] web1/web1.vmdk", "thin": True, "linked": True}]
    assert record["nics"] == [{"key": 4000, "label": "Network adapter 1", "mac": "00:50:56:00:00:01",
                               "network": "VM Network"}]
    assert record["memory_mb"] is None and record["current_snapshot"] is None


def test_type_hierarchy_comes_from_pyvmomi():
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere import vmomi_internals

    assert vmomi_internals.is_a("VirtualVmxnet3", "VirtualEthernetCard")
    assert vmomi_internals.is_a("ClusterComputeResource", "ComputeResource")
    assert vmomi_internals.is_a("VirtualApp", "ResourcePool")
    assert vmomi_internals.is_a("DistributedVirtualPortgroup", "Network")
    assert not vmomi_internals.is_a("VirtualDisk", "VirtualEthernetCard")
    assert not vmomi_internals.is_a("NoSuchType", "VirtualDisk")
