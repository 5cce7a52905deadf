# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults under esxi_vm, on simulators of the test's own (fault_helpers.Vcsim): a clear error
the first time, then a re-run that converges with exactly one VM and one datastore folder.

- a standalone host's CreateVM_Task fails as a task after the folder and disk copy were made;
- ansible-playbook SIGKILLed while a standalone create is between its steps, and the folder
  such a run leaves (taken over when it holds only the copied disks, refused otherwise);
- the connection drops right after a vCenter's CloneVM_Task was sent (the clone happens);
- every SOAP call slowed down so much that waiting for the guest's IP runs out of time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest
from fault_helpers import DropProxy, Playbook, Vcsim, no_traceback, wait_for
from secret_scan import Scanner, Secrets

pytestmark = pytest.mark.timeout(900)
TEMPLATE = Vcsim.TEMPLATE


def create_task(name, **extra):
    lines = ["- name: esxi_vm", "  ghost.infra.esxi_vm:", "    name: %s" % name, "    template: %s" % TEMPLATE,
             "    cloud_init: {hostname: %s, password_hash: '$6$fault$Zm9vYmFyZm9vYmFyZm9vYmFy'}" % name]
    lines += ["    %s: %s" % item for item in extra.items()]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def esx(testbed, tmp_path_factory):
    # CreateVM_Task answers after 3 s: a SIGKILL lands between the disk copy and the new VM.
    with Vcsim(esx=True, method_delay="CreateVM_Task:3000", log_dir=str(tmp_path_factory.mktemp("esx"))) as sim:
        yield sim


@pytest.fixture(scope="module")
def vcenter(testbed, tmp_path_factory):
    with Vcsim(delay_ms=100, log_dir=str(tmp_path_factory.mktemp("vcenter"))) as sim:
        yield sim


def scanner(sim):
    return Scanner(Secrets().add("the simulator's password", sim.password))


def only_one(sim, name):
    """The VM ``name`` exists once and one datastore folder carries its name."""
    inventory = sim.inventory()
    assert inventory["vms"].count(name) == 1, inventory["vms"]
    assert [v for v in inventory["vms"] if v.startswith(name)] == [name], inventory["vms"]
    folders = [entry for entries in inventory["folders"].values() for entry in entries if entry.startswith(name)]
    assert folders == [name], "datastore folders of %s: %s" % (name, folders)


def converges(tmp_path, sim, name):
    """The same task again succeeds (what it finds is checked by the caller)."""
    play = Playbook(tmp_path, create_task(name), env=sim.env(), name="rerun")
    _seconds, again, out = play.run()
    assert again is not None and not again.get("failed"), out[-3000:]
    return play


def test_create_vm_task_fails_half_way(esx, tmp_path):
    name = "fault-half"
    rule = esx.fault({"method": "CreateVM_Task", "fault": "NoDiskSpace", "task": True, "match": name,
                      "message": "There is not enough space on the disk (injected)"})
    play = Playbook(tmp_path, create_task(name), env=esx.env())
    seconds, first, out = play.run()
    assert first is not None and first.get("failed"), out[-3000:]
    assert not no_traceback(first, out), no_traceback(first, out)
    assert "not enough space" in first["msg"] and name in first["msg"], first["msg"]
    assert [f for f in esx.faults() if f["id"] == rule][0]["fired"] == 1
    assert name not in esx.inventory()["vms"]
    scan = scanner(esx)
    for text in play.outputs + converges(tmp_path, esx, name).outputs:
        scan.text("esxi_vm -vvv", text)
    only_one(esx, name)
    scan.assert_clean("esxi_vm after a failed CreateVM_Task")


def test_playbook_killed_during_standalone_create(esx, tmp_path):
    name = "fault-killed"
    play = Playbook(tmp_path, create_task(name), env=esx.env()).start()
    # The folder is the create's first step; CreateVM_Task then takes 3 s on this simulator.
    wait_for("the VM's folder on the datastore", lambda: any(
        name in entries for entries in esx.inventory()["folders"].values()), timeout=300, interval=0.2)
    time.sleep(1)
    out = play.kill()
    assert play.proc.returncode == -9, out[-2000:]
    # A CreateVM_Task the killed run had sent still completes on the host (here after the
    # simulator's 3 s delay): the re-run, a few seconds later, finds that VM and adopts it, or
    # (killed before the call) the folder with the copied disks and makes the VM again.
    time.sleep(5)
    scan = scanner(esx)
    scan.text("the killed run", out)
    for text in converges(tmp_path, esx, name).outputs:
        scan.text("esxi_vm -vvv", text)
    only_one(esx, name)
    scan.assert_clean("esxi_vm after a SIGKILL")


def test_folder_left_by_an_interrupted_create_is_made_again(esx, tmp_path):
    """What a run killed after its first steps leaves, whatever the moment of the kill: the VM's
    folder with a disk copy cut short and no VM. The next run removes it and creates the VM."""
    name = "fault-leftover"
    folder = os.path.join(esx.datastore_dir(), name)
    os.makedirs(folder)
    with open(os.path.join(folder, name + ".vmdk"), "w") as handle:
        handle.write("# Disk DescriptorFile (cut short)\n")
    converges(tmp_path, esx, name)
    only_one(esx, name)


def test_folder_holding_other_files_is_refused(esx, tmp_path):
    """A folder named after the VM that holds a .vmx (an unregistered VM's files) is not a
    leftover of ours: the create fails naming it and leaves it as it was."""
    name = "fault-foreign"
    folder = os.path.join(esx.datastore_dir(), name)
    os.makedirs(folder)
    vmx = os.path.join(folder, name + ".vmx")
    with open(vmx, "w") as handle:
        handle.write('displayName = "%s"\n' % name)
    play = Playbook(tmp_path, create_task(name), env=esx.env())
    _seconds, first, out = play.run()
    assert first is not None and first.get("failed"), out[-3000:]
    assert not no_traceback(first, out), no_traceback(first, out)
    assert "%s.vmx" % name in first["msg"] and "choose another name" in first["msg"], first["msg"]
    assert os.listdir(folder) == [name + ".vmx"]
    assert name not in esx.inventory()["vms"]


def test_connection_dropped_after_clone_sent(vcenter, tmp_path):
    name = "fault-dropped"
    with DropProxy(vcenter.port) as proxy:
        proxy.drop_on("CloneVM_Task")
        play = Playbook(tmp_path, create_task(name), env=vcenter.env(port=proxy.port))
        seconds, first, out = play.run()
        assert proxy.dropped == 1, "the proxy never saw CloneVM_Task:\n%s" % out[-3000:]
    assert first is not None and first.get("failed"), out[-3000:]
    assert not no_traceback(first, out), no_traceback(first, out)
    assert name in first["msg"], first["msg"]
    # The clone happened: the re-run finds the VM instead of making a second one.
    wait_for("the clone to finish on the simulator", lambda: name in vcenter.inventory()["vms"], timeout=60)
    scan = scanner(vcenter)
    for text in play.outputs + converges(tmp_path, vcenter, name).outputs:
        scan.text("esxi_vm -vvv", text)
    assert vcenter.inventory()["vms"].count(name) == 1
    scan.assert_clean("esxi_vm after a dropped connection")


def test_slow_api_runs_out_of_wait_timeout(vcenter, tmp_path):
    """Every call takes 100 ms more: waiting for an IP the guest never reports ends at wait_timeout."""
    name = "fault-slow"
    play = Playbook(tmp_path, create_task(name, wait_for_ip="true", wait_timeout=5), env=vcenter.env())
    seconds, first, out = play.run()
    assert first is not None and first.get("failed"), out[-3000:]
    assert not no_traceback(first, out), no_traceback(first, out)
    assert "5 second" in first["msg"] or "wait_timeout" in first["msg"], first["msg"]
    # Not a hang: the module's own work plus its 5 s, on a loaded machine.
    assert seconds < 5 + 120, "the run took %.0f s" % seconds
    scan = scanner(vcenter)
    for text in play.outputs + converges(tmp_path, vcenter, name).outputs:
        scan.text("esxi_vm -vvv", text)
    assert vcenter.inventory()["vms"].count(name) == 1
    scan.assert_clean("esxi_vm after a timeout")
