# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH fallback when hostd does not answer: the esxcli/localcli parsers, the host-side
bound on every remote command, and ensure_power()'s plan against a fake host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import time

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import ssh

# `esxcli vm process list` as ESXi 7/8 print it: a name with a space, one with a colon.
PROCESS_LIST = """\
web1
   World ID: 2100487
   Process ID: 0
   VMX Cartel ID: 2100486
   UUID: 56 4d 9a 2b 61 0c 8e 11-7d 3f 08 a5 c2 44 19 e0
   Display Name: web1
   Config File: /vmfs/volumes/5f1c9d4e-0b2a6c10-8c3e-0050569a1b2c/web1/web1.vmx

db 01
   World ID: 2100733
   Process ID: 0
   VMX Cartel ID: 2100732
   UUID: 42 1a 6e 0f 3c 55 2d 8b-91 77 aa 0c 5e 61 f2 03
   Display Name: db 01
   Config File: /vmfs/volumes/datastore1/db 01/db 01.vmx

build: nightly
   World ID: 2101001
   Process ID: 0
   VMX Cartel ID: 2101000
   UUID: 56 4d 00 00 00 00 00 00-00 00 00 00 00 00 00 01
   Display Name: build: nightly
   Config File: /vmfs/volumes/datastore1/build/build.vmx

"""

# The same with --formatter=csv: fields in alphabetical order, a trailing comma, quotes where needed.
PROCESS_CSV = """\
ConfigFile,DisplayName,ProcessID,UUID,VMXCartelID,WorldID,
/vmfs/volumes/5f1c9d4e-0b2a6c10-8c3e-0050569a1b2c/web1/web1.vmx,web1,0,56 4d 9a 2b 61 0c 8e 11-7d 3f 08 a5 c2 44 19 e0,2100486,2100487,
/vmfs/volumes/datastore1/db 01/db 01.vmx,db 01,0,42 1a 6e 0f 3c 55 2d 8b-91 77 aa 0c 5e 61 f2 03,2100732,2100733,
/vmfs/volumes/datastore1/build/build.vmx,"build, nightly",0,56 4d 00 00 00 00 00 00-00 00 00 00 00 00 00 01,2101000,2101001,
"""


def test_parse_process_list_default_format():
    processes = ssh.parse_process_list(PROCESS_LIST)
    assert [(p["name"], p["world_id"]) for p in processes] == [
        ("web1", "2100487"), ("db 01", "2100733"), ("build: nightly", "2101001")]
    assert processes[0] == {
        "world_id": "2100487", "process_id": "0", "cartel_id": "2100486",
        "uuid": "56 4d 9a 2b 61 0c 8e 11-7d 3f 08 a5 c2 44 19 e0", "name": "web1",
        "config_file": "/vmfs/volumes/5f1c9d4e-0b2a6c10-8c3e-0050569a1b2c/web1/web1.vmx"}
    assert processes[1]["config_file"] == "/vmfs/volumes/datastore1/db 01/db 01.vmx"


def test_parse_process_list_csv():
    processes = ssh.parse_process_list(PROCESS_CSV)
    assert [(p["name"], p["world_id"], p["cartel_id"]) for p in processes] == [
        ("web1", "2100487", "2100486"), ("db 01", "2100733", "2100732"), ("build, nightly", "2101001", "2101000")]
    assert processes[1]["config_file"] == "/vmfs/volumes/datastore1/db 01/db 01.vmx"
    # Header only, or nothing at all: no VM runs.
    assert ssh.parse_process_list(PROCESS_CSV.splitlines()[0] + "\n") == []
    assert ssh.parse_process_list("") == []
    assert ssh.parse_process_list("\n\n") == []


@pytest.mark.parametrize("text", [
    "web1\n   World ID: not-a-number\n",
    "   World ID: 12\n",  # an indented line before any name
    "web1\n   something without a colon\n",
    "ConfigFile,DisplayName,WorldID,\n/x.vmx,web1,abc,\n",
])
def test_parse_process_list_refuses_what_it_cannot_read(text):
    with pytest.raises(GhostError) as err:
        ssh.parse_process_list(text)
    assert "vm process list" in str(err.value)


def test_bios_uuid():
    assert ssh.bios_uuid("56 4d 9a 2b 61 0c 8e 11-7d 3f 08 a5 c2 44 19 e0") == "564d9a2b-610c-8e11-7d3f-08a5c24419e0"
    assert ssh.bios_uuid("") is None
    assert ssh.bios_uuid("56 4d") is None


@pytest.mark.parametrize("shell", ["sh", "bash", "dash"])
def test_bounded_kills_a_hanging_command_on_the_host(shell, tmp_path):
    """The wrapper in the shells a host may have (ESXi's is busybox ash, POSIX like dash): the
    command is killed after the bound (exit 137), nothing it started stays, and a command that
    ends in time keeps its output and exit status."""
    if not shutil.which(shell):
        pytest.skip("no %s here" % shell)
    marker = "ghost-bounded-%s-%s" % (shell, os.getpid())
    env = dict(os.environ, GHOST_BOUNDED_TEST=marker)
    start = time.monotonic()
    proc = subprocess.run([shell, "-c", ssh.bounded("sleep 300", 1)], env=env, capture_output=True, timeout=30,
                          check=False)
    assert proc.returncode == 137
    assert 0.9 < time.monotonic() - start < 10
    ok = subprocess.run([shell, "-c", ssh.bounded("sh -c 'echo out; echo err >&2; exit 3'", 60)], env=env,
                        capture_output=True, timeout=30, check=False)
    assert (ok.returncode, ok.stdout, ok.stderr) == (3, b"out\n", b"err\n")
    deadline = time.monotonic() + 5
    while leftovers(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(marker) == []  # neither the command nor the watcher's sleep


def leftovers(marker):
    """PIDs of processes whose environment carries ``marker`` (alive, not zombies)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if marker.encode() not in f.read():
                    continue
            with open("/proc/%s/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(pid))
        except OSError:
            continue
    return found


class Proc:
    def __init__(self, returncode, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_runner_bounds_the_command_on_the_host_and_locally(monkeypatch):
    calls = []

    def fake_run(argv, **kwargs):
        calls.append((argv, kwargs["timeout"]))
        return Proc(137, stderr="sh: line 1: 4242 Killed  vim-cmd vmsvc/getallvms\n")

    monkeypatch.setattr(ssh.subprocess, "run", fake_run)
    runner = ssh.SshRunner(host="esxi1", ssh_binary="ssh")
    with pytest.raises(ssh.CommandTimeout) as err:
        runner.run("vim-cmd vmsvc/getallvms", timeout=7)
    assert "did not answer within 7 s on root@esxi1:22" in str(err.value)
    argv, local_timeout = calls[0]
    assert argv[-1] == ssh.bounded("vim-cmd vmsvc/getallvms", 7)
    assert local_timeout > 7 + ssh.SSH_TIMEOUT  # the host's bound fires first

    def expired(argv, **kwargs):
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    monkeypatch.setattr(ssh.subprocess, "run", expired)
    with pytest.raises(ssh.CommandTimeout):
        runner.run("vim-cmd vmsvc/getallvms", timeout=7)


class FakeEsxi:
    """vim-cmd, esxcli and localcli of one host, as a runner. ``hostd``: up, hung (vim-cmd
    does not answer) or down (vim-cmd fails); ``tools``: esxcli/localcli -> ok, hung, fail or
    missing; ``ignores``: kill types that leave the VM running."""

    def __init__(self, vms, *, hostd="hung", tools=None, ignores=(), ssh_down=False):
        self.vms = {vmid: {"name": name, "state": state} for vmid, (name, state) in vms.items()}
        self.hostd = hostd
        self.tools = dict({"esxcli": "ok", "localcli": "ok"}, **(tools or {}))
        self.ignores = set(ignores)
        self.ssh_down = ssh_down
        self.halfway = {}  # vim-cmd verb -> the VM state it leaves behind as hostd hangs
        self.commands = []

    def world(self, vmid):
        return str(2100000 + 10 * int(vmid) + 1)

    def run(self, command, *, timeout):
        self.commands.append(command)
        if self.ssh_down:
            raise GhostError("Failed to connect over SSH to root@esxi1:22: Connection refused")
        parts = command.split()
        tool = parts[0]
        if tool == "vim-cmd":
            if self.hostd == "hung":
                raise ssh.CommandTimeout("'%s' did not answer within %s s" % (command, timeout))
            if self.hostd == "down":
                return 1, "", "Connect to localhost failed: Connection failure.\n"
            return self.vim_cmd(parts[1:])
        mode = self.tools[tool]
        if mode == "hung":
            raise ssh.CommandTimeout("'%s' did not answer within %s s" % (command, timeout))
        if mode == "missing":
            return 127, "", "sh: %s: not found\n" % tool
        if mode == "fail":
            return 1, "", "Error: Unknown command or namespace vm process\n"
        if parts[1:] == ["--formatter=csv", "vm", "process", "list"]:
            lines = ["ConfigFile,DisplayName,ProcessID,UUID,VMXCartelID,WorldID,"]
            for vmid, vm in sorted(self.vms.items()):
                if vm["state"] == "on":
                    lines.append("/vmfs/volumes/ds1/%s/%s.vmx,%s,0,56 4d 00 00 00 00 00 00-00 00 00 00 00 00 00 %02d,%s,%s,"
                                 % (vm["name"], vm["name"], vm["name"], int(vmid), int(self.world(vmid)) - 1, self.world(vmid)))
            return 0, "\n".join(lines) + "\n", ""
        assert parts[1:4] == ["vm", "process", "kill"], command
        kind, world = parts[4].split("=")[1], parts[5].split("=")[1]
        for vmid, vm in self.vms.items():
            if vm["state"] == "on" and self.world(vmid) == world:
                if kind not in self.ignores:
                    vm["state"] = "off"
                return 0, "", ""
        return 1, "", "Unable to find a running VM with world ID %s\n" % world

    def vim_cmd(self, args):
        if args[0] == "vmsvc/getallvms":
            lines = ["Vmid   Name   File   Guest OS   Version   Annotation"]
            lines += ["%s      %s   [ds1] %s/%s.vmx   ubuntu64Guest   vmx-19" % (vmid, vm["name"], vm["name"], vm["name"])
                      for vmid, vm in sorted(self.vms.items())]
            return 0, "\n".join(lines) + "\n", ""
        vm = self.vms[args[1]]
        if args[0] == "vmsvc/power.getstate":
            return 0, "Retrieved runtime info\n%s\n" % ("Powered on" if vm["state"] == "on" else "Powered off"), ""
        if args[0] in ("vmsvc/power.shutdown", "vmsvc/power.on"):
            # hostd hangs in the middle; whether the VM changed is up to the test
            self.hostd = "hung"
            vm["state"] = self.halfway.get(args[0], vm["state"])
            raise ssh.CommandTimeout("vim-cmd did not answer")
        raise AssertionError(args)

    def tool_commands(self, tool):
        return [c for c in self.commands if c.startswith(tool + " ")]

    def kills(self):
        return [c.split()[4] for c in self.commands if " vm process kill " in c]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def ensure(host, state, **kwargs):
    clock = Clock()
    result = ssh.ensure_power(ssh.VimCmd(host), name=kwargs.pop("name", "web1"), state=state, sleep=clock.sleep,
                              clock=clock, **kwargs)
    result["elapsed"] = clock.now
    return result


def test_hung_hostd_poweredoff_through_esxcli_soft_kill():
    host = FakeEsxi({"7": ["web1", "on"], "9": ["db 01", "on"]})
    result = ensure(host, "poweredoff", diff=True)
    assert result["changed"] is True
    assert (result["fallback"], result["fallback_tool"]) == ("ssh", "esxcli")
    assert result["vm"]["power_state"] == "poweredOff"
    assert result["vm"]["moid"] is None  # esxcli knows no vmid
    assert result["vm"]["uuid"] == "564d0000-0000-0000-0000-000000000007"
    assert result["changes"] == ["power_state: poweredOn -> poweredOff"]
    assert result["diff"] == {"before": {"power_state": "poweredOn"}, "after": {"power_state": "poweredOff"}}
    assert host.kills() == ["--type=soft"]
    assert "esxcli vm process kill --type=soft --world-id=2100071" in host.commands
    assert host.vms["7"]["state"] == "off" and host.vms["9"]["state"] == "on"
    assert "vim-cmd vmsvc/getallvms did not answer within 15 s (hostd hung?)" in result["warnings"][0]
    assert "the power state comes from `esxcli vm process list`" in result["warnings"][0]
    assert "stopped with `esxcli vm process kill --type=soft`" in result["warnings"][1]
    assert host.tool_commands("localcli") == []
    # Again: not listed any more, so not changed, and the warning says what that means.
    again = ensure(host, "poweredoff")
    assert again["changed"] is False
    assert again["vm"]["power_state"] == "poweredOff"
    assert "not running according to esxcli" in again["warnings"][-1]


def test_hostd_down_message_goes_to_esxcli_too():
    host = FakeEsxi({"7": ["web1", "on"]}, hostd="down")
    result = ensure(host, "poweredoff")
    assert result["fallback_tool"] == "esxcli"
    assert "Connect to localhost failed: Connection failure. (hostd down?)" in result["warnings"][0]
    assert host.vms["7"]["state"] == "off"


def test_any_vim_cmd_failure_at_the_probe_goes_to_esxcli():
    class NoVimCmd(FakeEsxi):
        def run(self, command, *, timeout):
            if command.startswith("vim-cmd"):
                self.commands.append(command)
                return 127, "", "sh: vim-cmd: not found\n"
            return super(NoVimCmd, self).run(command, timeout=timeout)

    host = NoVimCmd({"7": ["web1", "on"]})
    result = ensure(host, "poweredoff")
    assert result["fallback_tool"] == "esxcli"
    assert "vim-cmd vmsvc/getallvms: sh: vim-cmd: not found" in result["warnings"][0]


def test_esxcli_hung_with_hostd_then_localcli():
    host = FakeEsxi({"7": ["web1", "on"]}, tools={"esxcli": "hung"})
    result = ensure(host, "poweredoff")
    assert result["fallback_tool"] == "localcli"
    assert len(host.tool_commands("esxcli")) == 1  # tried once, never again
    assert host.kills() == ["--type=soft"]
    assert host.tool_commands("localcli")[1].startswith("localcli vm process kill --type=soft")
    assert "`localcli vm process list`" in result["warnings"][0]


def test_soft_kill_ignored_escalates_to_hard_after_shutdown_timeout():
    host = FakeEsxi({"7": ["web1", "on"]}, ignores=["soft"])
    result = ensure(host, "poweredoff", shutdown_timeout=20)
    assert host.kills() == ["--type=soft", "--type=hard"]
    assert result["elapsed"] == 20
    assert "--type=hard" in result["warnings"][-1]
    assert host.vms["7"]["state"] == "off"


def test_shutdown_timeout_zero_starts_hard():
    host = FakeEsxi({"7": ["web1", "on"]})
    ensure(host, "poweredoff", shutdown_timeout=0)
    assert host.kills() == ["--type=hard"]


def test_a_vm_no_kill_stops_is_an_error():
    host = FakeEsxi({"7": ["web1", "on"]}, ignores=["soft", "hard", "force"])
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredoff", shutdown_timeout=5)
    assert str(err.value) == ("Failed to power off VM 'web1': world 2100071 still runs after soft, hard, force kills "
                              "through esxcli")
    assert host.kills() == ["--type=soft", "--type=hard", "--type=force"]


def test_check_mode_only_lists():
    host = FakeEsxi({"7": ["web1", "on"]})
    result = ensure(host, "poweredoff", check_mode=True)
    assert result["changed"] is True and result["vm"]["power_state"] == "poweredOff"
    assert host.kills() == []
    assert host.vms["7"]["state"] == "on"


def test_hostd_hangs_during_the_guest_shutdown():
    """vim-cmd answered the probe, then hung on power.shutdown: esxcli finishes the job."""
    host = FakeEsxi({"7": ["web1", "on"]}, hostd="up")
    result = ensure(host, "poweredoff")
    assert result["fallback_tool"] == "esxcli"
    assert "vim-cmd vmsvc/power.shutdown did not answer within 120 s" in result["warnings"][0]
    assert host.vms["7"]["state"] == "off"


def test_guest_shutdown_that_went_through_before_hostd_hung_is_a_change():
    host = FakeEsxi({"7": ["web1", "on"]}, hostd="up")
    host.halfway = {"vmsvc/power.shutdown": "off"}
    result = ensure(host, "poweredoff")
    assert (result["changed"], result["fallback_tool"]) == (True, "esxcli")
    assert result["changes"] == ["power_state: poweredOn -> poweredOff"]
    assert host.kills() == []


def test_power_on_that_went_through_before_hostd_hung():
    host = FakeEsxi({"7": ["web1", "off"]}, hostd="up")
    host.halfway = {"vmsvc/power.on": "on"}
    result = ensure(host, "poweredon")
    assert (result["changed"], result["vm"]["power_state"]) == (True, "poweredOn")
    assert "vim-cmd vmsvc/power.on did not answer within 120 s" in result["warnings"][0]
    stuck = FakeEsxi({"7": ["web1", "off"]}, hostd="up")
    with pytest.raises(GhostError) as err:
        ensure(stuck, "poweredon")
    assert "shows it is not running; powering on needs hostd" in str(err.value)


def test_two_running_vms_with_the_name():
    host = FakeEsxi({"7": ["web1", "on"], "8": ["web1", "on"]})
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredoff")
    assert "2 running VMs have that name (world ID 2100071, /vmfs/volumes/ds1/web1/web1.vmx" in str(err.value)
    assert host.kills() == []


def test_poweredon_with_hostd_hung_is_a_clear_error_unless_it_runs():
    host = FakeEsxi({"7": ["web1", "off"]})
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredon")
    assert str(err.value) == (
        "Failed to power on VM 'web1': vim-cmd vmsvc/getallvms did not answer within 15 s (hostd hung?), and "
        "`esxcli vm process list` shows it is not running; powering on needs hostd (vim-cmd); esxcli cannot "
        "power on a VM")
    running = FakeEsxi({"7": ["web1", "on"]})
    result = ensure(running, "poweredon")
    assert result["changed"] is False
    assert (result["vm"]["power_state"], result["fallback_tool"]) == ("poweredOn", "esxcli")
    assert running.kills() == []


@pytest.mark.parametrize("state, needs", [
    ("restarted", "a restart powers the VM on, which needs hostd (vim-cmd); esxcli cannot power on a VM"),
    ("absent", "deleting needs hostd (vim-cmd); esxcli can only stop a running VM"),
])
def test_states_that_need_hostd_fail_without_touching_anything(state, needs):
    host = FakeEsxi({"7": ["web1", "on"]})
    with pytest.raises(GhostError) as err:
        ensure(host, state, force=True)
    verb = {"restarted": "restart", "absent": "delete"}[state]
    assert str(err.value) == ("Failed to %s VM 'web1': vim-cmd vmsvc/getallvms did not answer within 15 s "
                              "(hostd hung?); %s" % (verb, needs))
    assert host.commands == ["vim-cmd vmsvc/getallvms"]


@pytest.mark.parametrize("tools, detail", [
    ({"esxcli": "missing", "localcli": "missing"},
     "esxcli vm process list: sh: esxcli: not found; localcli vm process list: sh: localcli: not found"),
    ({"esxcli": "hung", "localcli": "fail"},
     "esxcli vm process list did not answer within 15 s; localcli vm process list: Error: Unknown command or "
     "namespace vm process"),
])
def test_no_process_tool_either(tools, detail):
    host = FakeEsxi({"7": ["web1", "on"]}, tools=tools)
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredoff")
    assert str(err.value) == ("Failed to power off VM 'web1': vim-cmd vmsvc/getallvms did not answer within 15 s "
                              "(hostd hung?); the fallback to esxcli/localcli failed too: %s" % detail)
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredon")
    assert "powering on needs hostd (vim-cmd); esxcli cannot power on a VM (and the VMX processes could not be " \
           "listed either: " in str(err.value)


def test_ssh_down_is_not_a_hostd_problem():
    host = FakeEsxi({"7": ["web1", "on"]}, ssh_down=True)
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredoff")
    assert str(err.value) == "Failed to connect over SSH to root@esxi1:22: Connection refused"
    assert host.commands == ["vim-cmd vmsvc/getallvms"]


def test_default_tool_order_and_first_answer_kept():
    host = FakeEsxi({"7": ["web1", "on"]}, tools={"esxcli": "fail"})
    tool = ssh.ProcessTool(host)
    assert [p["name"] for p in tool.list_processes()] == ["web1"]
    assert tool.tool == "localcli"
    tool.list_processes()
    assert [c.split()[0] for c in host.commands] == ["esxcli", "localcli", "localcli"]
    assert ssh.PROCESS_TOOLS == ("esxcli", "localcli")
