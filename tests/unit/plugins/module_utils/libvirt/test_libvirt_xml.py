# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_libvirt/xml_parse.py and xml_build.py: parse, build and patch domain XML; volumes, pools, capabilities."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import xml_build, xml_parse

# What libvirt 9 returns for a domain this module defined (inactive), plus a VNC console and a
# second disk someone added by hand.
LIBVIRT_XML = """<domain type='kvm'>
  <name>vm1</name>
  <uuid>b739d079-729b-46cf-a5ce-54e675ade14c</uuid>
  <metadata xmlns:ghost="https://github.com/ghost-infra/ghost.infra/libvirt/1">
    <ghost:instance>
      <ghost:base path="/pool/base.qcow2"/>
      <ghost:volume role="overlay" pool="ghost" name="vm1.qcow2" path="/pool/vm1.qcow2"/>
      <ghost:volume role="seed" pool="ghost" name="vm1-cidata-0123456789ab.iso"
                    path="/pool/vm1-cidata-0123456789ab.iso" sha256="0123456789abcdef" instance-id="iid-1"/>
    </ghost:instance>
  </metadata>
  <memory unit='KiB'>65536</memory>
  <currentMemory unit='KiB'>65536</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/pool/vm1.qcow2'/>
      <backingStore type='file'>
        <format type='qcow2'/>
        <source file='/pool/base.qcow2'/>
      </backingStore>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='/data/extra.img'/>
      <target dev='vdb' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/pool/vm1-cidata-0123456789ab.iso'/>
      <target dev='sda' bus='scsi'/>
      <readonly/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </controller>
    <interface type='network'>
      <mac address='52:54:00:AB:CD:EF'/>
      <source network='default'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <graphics type='vnc' port='-1' autoport='yes'/>
  </devices>
</domain>
"""


def parsed():
    return xml_parse.parse_domain(LIBVIRT_XML)


def test_parse_domain_reads_the_managed_fields():
    fields = parsed()
    assert fields["name"] == "vm1"
    assert fields["uuid"] == "b739d079-729b-46cf-a5ce-54e675ade14c"
    assert (fields["type"], fields["vcpus"], fields["memory_mb"], fields["firmware"]) == ("kvm", 1, 64, "bios")
    assert fields["kernel"] is None and fields["console_log"] is None
    assert fields["disks"][0] == spec.overlay_disk("/pool/vm1.qcow2", "/pool/base.qcow2", "qcow2")
    assert fields["disks"][2] == spec.seed_disk("/pool/vm1-cidata-0123456789ab.iso")
    assert fields["interfaces"] == [{"type": "network", "source": "default", "mac": "52:54:00:ab:cd:ef",
                                     "model": "virtio"}]
    assert fields["metadata"]["base"] == "/pool/base.qcow2"
    assert [v["role"] for v in fields["metadata"]["volumes"]] == ["overlay", "seed"]
    assert fields["metadata"]["volumes"][1]["instance_id"] == "iid-1"
    assert fields["restart_flag"] is False


@pytest.mark.parametrize("unit, value, mib", [
    ("KiB", 2097152, 2048), ("MiB", 512, 512), ("GiB", 2, 2048), ("bytes", 1073741824, 1024)])
def test_memory_units(unit, value, mib):
    text = LIBVIRT_XML.replace("<memory unit='KiB'>65536</memory>", "<memory unit='%s'>%d</memory>" % (unit, value))
    assert xml_parse.parse_domain(text)["memory_mb"] == mib


def test_unparsable_xml_is_a_ghost_error():
    with pytest.raises(GhostError, match="cannot parse the domain XML"):
        xml_parse.parse_domain("<domain>")
    with pytest.raises(GhostError, match="not a <domain>"):
        xml_parse.parse_domain("<network/>")


def test_build_then_parse_round_trips():
    want = spec.desired_fields(None, {"memory_mb": 512, "vcpus": 2, "kernel": "/boot/vmlinuz",
                                      "initrd": "/boot/initrd", "cmdline": "root=/dev/vda console=ttyS0",
                                      "console_log": "/var/log/vm1.log"},
                               domain_type="qemu",
                               interfaces=spec.normalize_interfaces("vm1", [{"network": "isolated"}]),
                               overlay={"disk": spec.overlay_disk("/pool/vm1.qcow2", "/pool/base.qcow2", "qcow2"),
                                        "volume": {"role": "overlay", "pool": "ghost", "name": "vm1.qcow2",
                                                   "path": "/pool/vm1.qcow2"}},
                               seed={"disk": spec.seed_disk("/pool/s.iso"),
                                     "volume": {"role": "seed", "pool": "ghost", "name": "s.iso",
                                                "path": "/pool/s.iso", "sha256": "ab", "instance_id": "iid-9"}})
    text = xml_build.build_domain(want, name="vm1", arch="x86_64")
    back = xml_parse.parse_domain(text)
    assert spec.changed_fields(back, want) == []
    root = ET.fromstring(text)
    assert root.find("os/type").get("machine") == "q35"
    assert root.find("devices/controller").attrib == {"type": "scsi", "model": "virtio-scsi"}
    assert root.find("devices/serial").get("type") == "file"
    assert root.find("devices/channel/target").get("name") == "org.qemu.guest_agent.0"
    assert root.find("features/acpi") is not None


def test_patch_changes_only_what_differs():
    want = dict(parsed(), memory_mb=128)
    before = xml_build.pretty(LIBVIRT_XML)
    after = xml_build.pretty(xml_build.patch_domain(LIBVIRT_XML, want))
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [
        '-  <memory unit="KiB">65536</memory>',
        '-  <currentMemory unit="KiB">65536</currentMemory>',
        '+  <memory unit="KiB">131072</memory>',
        '+  <currentMemory unit="KiB">131072</currentMemory>',
    ]


def test_patch_with_the_same_fields_keeps_the_definition():
    assert xml_build.pretty(xml_build.patch_domain(LIBVIRT_XML, parsed())) == xml_build.pretty(LIBVIRT_XML)


def test_patch_keeps_unmanaged_devices_and_addresses_of_kept_ones():
    fields = parsed()
    fields["interfaces"] = [{"type": "bridge", "source": "br0", "mac": "52:54:00:00:00:02", "model": "virtio"}]
    root = ET.fromstring(xml_build.patch_domain(LIBVIRT_XML, fields))
    assert root.find("devices/graphics").get("type") == "vnc"
    assert root.find("devices/disk/address").get("bus") == "0x04"
    nics = root.findall("devices/interface")
    assert len(nics) == 1 and nics[0].find("source").get("bridge") == "br0"
    assert nics[0].find("address") is None


def test_patch_console_log_and_back():
    fields = dict(parsed(), console_log="/log/vm1.log")
    root = ET.fromstring(xml_build.patch_domain(LIBVIRT_XML, fields))
    assert [s.get("type") for s in root.findall("devices/serial")] == ["file"]
    assert root.find("devices/console/source").get("path") == "/log/vm1.log"
    text = ET.tostring(root, encoding="unicode")
    assert xml_parse.parse_domain(text)["console_log"] == "/log/vm1.log"
    back = ET.fromstring(xml_build.patch_domain(text, dict(fields, console_log=None)))
    assert [s.get("type") for s in back.findall("devices/serial")] == ["pty"]


def test_patch_firmware_and_kernel():
    uefi = ET.fromstring(xml_build.patch_domain(LIBVIRT_XML, dict(parsed(), firmware="uefi", kernel="/k", cmdline="quiet")))
    assert uefi.find("os").get("firmware") == "efi"
    assert uefi.find("os/kernel").text == "/k" and uefi.find("os/cmdline").text == "quiet"
    # libvirt may expand auto-selected firmware into a loader and nvram.
    ET.SubElement(uefi.find("os"), "loader", {"readonly": "yes", "type": "pflash"}).text = "/usr/share/OVMF/OVMF_CODE.fd"
    ET.SubElement(uefi.find("os"), "nvram").text = "/var/lib/libvirt/qemu/nvram/vm1_VARS.fd"
    text = ET.tostring(uefi, encoding="unicode")
    assert xml_parse.parse_domain(text)["firmware"] == "uefi"
    bios = ET.fromstring(xml_build.patch_domain(text, dict(parsed(), firmware="bios")))
    assert bios.find("os").get("firmware") is None
    assert bios.find("os/loader") is None and bios.find("os/nvram") is None and bios.find("os/kernel") is None


def test_patch_adds_a_scsi_controller_for_the_seed():
    no_scsi = LIBVIRT_XML.replace(LIBVIRT_XML[LIBVIRT_XML.index("    <controller type='scsi'"):LIBVIRT_XML.index("    <interface")], "")
    root = ET.fromstring(xml_build.patch_domain(no_scsi, parsed()))
    assert [c.get("model") for c in root.findall("devices/controller")] == ["virtio-scsi"]


def test_patch_replaces_the_metadata():
    fields = parsed()
    fields["metadata"] = {"base": None, "volumes": [{"role": "overlay", "pool": "p", "name": "n", "path": "/x"}],
                          "reset": None, "lifetime": {}}
    back = xml_parse.parse_domain(xml_build.patch_domain(LIBVIRT_XML, fields))
    assert back["metadata"] == fields["metadata"]


def test_the_reset_record_round_trips():
    fields = parsed()
    fields["metadata"] = dict(fields["metadata"], reset={"token": "build 42 <&\"'>", "count": 3})
    text = xml_build.patch_domain(LIBVIRT_XML, fields)
    assert xml_parse.parse_domain(text)["metadata"]["reset"] == {"token": "build 42 <&\"'>", "count": 3}
    assert "<ghost:reset " in text


def test_the_expiry_record_round_trips_as_attributes_of_the_marker():
    fields = parsed()
    record = {"ttl": "1h", "expires_at": "2026-12-01T13:00:00Z", "renewed_at": "2026-12-01T12:00:00Z"}
    fields["metadata"] = dict(fields["metadata"], lifetime=record)
    text = xml_build.patch_domain(LIBVIRT_XML, fields)
    assert xml_parse.parse_domain(text)["metadata"]["lifetime"] == record
    instance = ET.fromstring(text).find("metadata/" + xml_parse.INSTANCE)
    assert instance.get("expires-at") == "2026-12-01T13:00:00Z" and instance.get("ttl") == "1h"
    # metadata_xml (virDomainSetMetadata) carries it too, beside the restart flag.
    plain = ET.fromstring(xml_build.metadata_xml(fields["metadata"], restart_required=True))
    assert plain.get("renewed-at") == "2026-12-01T12:00:00Z" and plain.get("restart-required") == "yes"
    # A domain without a record (or without the marker) has none.
    assert xml_parse.parse_domain(LIBVIRT_XML)["metadata"]["lifetime"] == {}


def test_metadata_xml_for_set_metadata_has_no_namespace_and_carries_the_flag():
    text = xml_build.metadata_xml(parsed()["metadata"], restart_required=True)
    root = ET.fromstring(text)
    assert root.tag == "instance" and root.get("restart-required") == "yes"
    assert [child.tag for child in root] == ["base", "volume", "volume"]
    live = LIBVIRT_XML.replace("<ghost:instance>", '<ghost:instance restart-required="yes">')
    assert xml_parse.parse_domain(live)["restart_flag"] is True


def test_volume_xml_for_an_overlay():
    root = ET.fromstring(xml_build.volume_xml("vm1.qcow2", fmt="qcow2", backing="/pool/base.qcow2", backing_format="qcow2"))
    assert root.find("capacity") is None  # libvirt takes the backing image's size
    assert root.find("target/format").get("type") == "qcow2"
    assert root.find("target/permissions/mode").text == "0600"
    assert root.find("backingStore/path").text == "/pool/base.qcow2"
    sized = ET.fromstring(xml_build.volume_xml("s.iso", fmt="raw", capacity=374784))
    assert sized.find("capacity").text == "374784" and sized.find("backingStore") is None


def test_parse_volume_and_pool():
    volume = xml_parse.parse_volume("""<volume type='file'><name>vm1.qcow2</name><key>/p/vm1.qcow2</key>
      <capacity unit='bytes'>67108864</capacity><allocation unit='bytes'>200704</allocation>
      <target><path>/p/vm1.qcow2</path><format type='qcow2'/></target>
      <backingStore><path>/p/base.qcow2</path><format type='qcow2'/></backingStore></volume>""")
    assert volume == {"name": "vm1.qcow2", "path": "/p/vm1.qcow2", "format": "qcow2", "capacity": 67108864,
                      "allocation": 200704, "backing": "/p/base.qcow2", "backing_format": "qcow2"}
    pool = xml_parse.parse_pool("<pool type='dir'><name>ghost</name><target><path>/p</path></target></pool>")
    assert pool == {"name": "ghost", "type": "dir", "path": "/p", "capacity": None, "available": None}
    pool = xml_parse.parse_pool("<pool type='dir'><name>ghost</name><capacity unit='bytes'>4096</capacity>"
                                "<available unit='bytes'>1024</available><target><path>/p</path></target></pool>")
    assert (pool["capacity"], pool["available"]) == (4096, 1024)


CAPS = """<capabilities><host><cpu><arch>x86_64</arch></cpu></host>
<guest><os_type>hvm</os_type><arch name='i686'><domain type='qemu'/><domain type='kvm'/></arch></guest>
<guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/>%s</arch></guest></capabilities>"""


def test_parse_capabilities():
    assert xml_parse.parse_capabilities(CAPS % "<domain type='kvm'/>") == {"arch": "x86_64", "kvm": True}
    assert xml_parse.parse_capabilities(CAPS % "") == {"arch": "x86_64", "kvm": False}


def test_parse_leases():
    leases = [{"mac": "52:54:00:AA:BB:CC", "ipaddr": "192.0.2.10"}, {"mac": "52:54:00:aa:bb:cc", "ipaddr": "2001:db8::5"},
              {"mac": "", "ipaddr": "192.0.2.99"}]
    assert xml_parse.parse_leases(leases) == {"52:54:00:aa:bb:cc": ["192.0.2.10", "2001:db8::5"]}


def test_pretty_is_stable():
    once = xml_build.pretty(LIBVIRT_XML)
    assert xml_build.pretty(once) == once
    assert xml_build.pretty("") == ""
