# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil

import pytest

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._vsphere import ssh

# As ESXi 7/8 print them (column padding, a name with a space, a two-line annotation, a
# VM vim-cmd cannot read).
GETALLVMS = """\
Vmid         Name                                  File                                      Guest OS          Version   Annotation
1      ubuntu-22.04-template    [datastore1] ubuntu-22.04-template/ubuntu-22.04-template.vmx   ubuntu64Guest     vmx-19
4      web 01                   [datastore1] web 01/web 01.vmx                                 ubuntu64Guest     vmx-19    built by ghost.infra
2024 rebuild
12     db1                      [ssd-2] vms/db1/db1.vmx                                        otherLinux64Guest vmx-13
Skipping invalid VM '15'
"""

TOOLS_FAULT = """\
(vim.fault.ToolsUnavailable) {
   faultCause = (vmodl.MethodFault) null,
   faultMessage = <unset>,
   msg = "Cannot complete operation because VMware Tools is not running in this virtual machine."
}
"""

POWER_FAULT = """\
Powering on VM:
(vim.fault.InvalidPowerState) {
   faultCause = (vmodl.MethodFault) null,
   faultMessage = <unset>,
   requestedState = "poweredOn",
   existingState = "poweredOn",
   msg = "The attempted operation cannot be performed in the current state (Powered on)."
}
Power on failed
"""


def test_parse_getallvms():
    vms = ssh.parse_getallvms(GETALLVMS)
    assert [(vm["vmid"], vm["name"]) for vm in vms] == [("1", "ubuntu-22.04-template"), ("4", "web 01"), ("12", "db1")]
    assert vms[1]["file"] == "[datastore1] web 01/web 01.vmx"
    assert vms[1]["annotation"] == "built by ghost.infra\n2024 rebuild"
    assert vms[2]["datastore"] == "ssd-2"
    assert (vms[2]["guest_os"], vms[2]["version"]) == ("otherLinux64Guest", "vmx-13")
    assert ssh.parse_getallvms("Vmid Name File Guest OS Version Annotation\n") == []


@pytest.mark.parametrize("text, state", [
    ("Retrieved runtime info\nPowered on\n", "poweredOn"),
    ("Retrieved runtime info\nPowered off\n", "poweredOff"),
    ("Retrieved runtime info\nSuspended\n", "suspended"),
])
def test_parse_power_state(text, state):
    assert ssh.parse_power_state(text) == state


def test_parse_power_state_rejects_garbage():
    with pytest.raises(GhostError):
        ssh.parse_power_state("Retrieved runtime info\nsomething else\n")


def test_parse_fault():
    assert ssh.parse_fault(TOOLS_FAULT) == (
        "ToolsUnavailable: Cannot complete operation because VMware Tools is not running in this virtual machine.")
    assert ssh.parse_fault(POWER_FAULT).startswith("InvalidPowerState: The attempted operation")
    assert ssh.parse_fault('Unable to find a VM corresponding to "99"') == 'Unable to find a VM corresponding to "99"'
    assert ssh.parse_fault("Powering on VM:\n") is None
    assert ssh.parse_fault("Retrieved runtime info\nPowered on\n") is None


def test_ssh_argv_is_batch_mode_with_key_and_host_key_checking():
    runner = ssh.SshRunner(host="esxi1", user="root", port=2222, private_key_file="/k/id", known_hosts_file="/k/kh",
                           ssh_binary="/usr/bin/ssh")
    argv = runner.argv("vim-cmd vmsvc/getallvms")
    assert argv[0] == "/usr/bin/ssh"
    joined = " ".join(argv)
    for option in ("BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/k/kh", "-i /k/id",
                   "IdentitiesOnly=yes", "-p 2222", "-l root", "ConnectTimeout="):
        assert option in joined
    assert argv[-3:] == ["--", "esxi1", "vim-cmd vmsvc/getallvms"]
    relaxed = ssh.SshRunner(host="h", host_key_checking="accept-new", ssh_binary="ssh").argv("x")
    assert "StrictHostKeyChecking=accept-new" in relaxed
    assert "-i" not in relaxed


@pytest.mark.parametrize("host", ["-oProxyCommand=touch /tmp/pwned", "-F/dev/null", "--", "-"])
def test_ssh_argv_never_reads_the_host_as_an_option(host):
    """Everything ssh parses as options comes before "--"; the host is the one argument after
    it, then the command."""
    argv = ssh.SshRunner(host=host, user="-oProxyCommand=x", ssh_binary="ssh").argv("vim-cmd x")
    end = argv.index("--")
    assert argv[end + 1:] == [host, "vim-cmd x"]
    assert host not in argv[1:end]
    # The user name is the value of -l, not an option of its own.
    assert argv[argv.index("-l") + 1] == "-oProxyCommand=x"


@pytest.mark.skipif(not shutil.which("ssh"), reason="needs the OpenSSH client")
def test_a_host_that_looks_like_an_option_runs_nothing(tmp_path):
    """The real ssh client: a host ``-oProxyCommand=...`` must not run the proxy command (it
    did when the host came before "--": ssh took it as an option and the command as the host)."""
    marker = tmp_path / "proxy-command-ran"
    runner = ssh.SshRunner(host="-oProxyCommand=touch %s" % marker, known_hosts_file=str(tmp_path / "kh"))
    with pytest.raises(GhostError):
        runner.run("true")
    assert not marker.exists()


class FakeHost:
    """An ESXi host behind vim-cmd: answers in its formats and records the commands."""

    def __init__(self, vms, tools=True, shuts_down=True):
        self.vms = dict(vms)  # vmid -> [name, state]
        self.tools = tools
        self.shuts_down = shuts_down
        self.commands = []

    def run(self, command, *, timeout):
        assert timeout in (ssh.PROBE_TIMEOUT, ssh.COMMAND_TIMEOUT)
        self.commands.append(command)
        parts = command.split()
        assert parts[0] == "vim-cmd"
        verb = parts[1]
        if verb == "vmsvc/getallvms":
            lines = ["Vmid   Name   File   Guest OS   Version   Annotation"]
            for vmid, (name, _state) in sorted(self.vms.items()):
                lines.append("%s      %s   [ds1] %s/%s.vmx   ubuntu64Guest   vmx-19" % (vmid, name, name, name))
            return 0, "\n".join(lines) + "\n", ""
        vmid = parts[2]
        if vmid not in self.vms:
            return 1, 'Unable to find a VM corresponding to "%s"\n' % vmid, ""
        state = self.vms[vmid][1]
        if verb == "vmsvc/power.getstate":
            shown = {"on": "Powered on", "off": "Powered off", "suspended": "Suspended"}[state]
            return 0, "Retrieved runtime info\n%s\n" % shown, ""
        if verb == "vmsvc/power.on":
            if state == "on":
                return 1, POWER_FAULT, ""
            self.vms[vmid][1] = "on"
            return 0, "Powering on VM:\n", ""
        if verb == "vmsvc/power.off":
            self.vms[vmid][1] = "off"
            return 0, "Powering off VM:\n", ""
        if verb == "vmsvc/power.shutdown":
            if not self.tools:
                return 1, TOOLS_FAULT, ""
            if self.shuts_down:
                self.vms[vmid][1] = "off"
            return 0, "", ""
        if verb == "vmsvc/destroy":
            del self.vms[vmid]
            return 0, "", ""
        raise AssertionError(command)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def ensure(host, state, **kwargs):
    clock = Clock()
    return ssh.ensure_power(ssh.VimCmd(host), name=kwargs.pop("name", "web1"), state=state, sleep=clock.sleep,
                            clock=clock, **kwargs)


def verbs(host):
    return [c.split()[1].replace("vmsvc/", "") + (" " + c.split()[2] if len(c.split()) > 2 else "")
            for c in host.commands]


def test_power_on_and_again():
    host = FakeHost({"7": ["web1", "off"]})
    result = ensure(host, "poweredon", diff=True)
    assert result["changed"] is True
    assert result["vm"]["moid"] == "7"
    assert result["vm"]["power_state"] == "poweredOn"
    assert result["fallback"] == "ssh"
    assert result["fallback_tool"] == "vim-cmd"
    assert result["diff"] == {"before": {"power_state": "poweredOff"}, "after": {"power_state": "poweredOn"}}
    assert verbs(host) == ["getallvms", "power.getstate 7", "power.on 7", "power.getstate 7"]
    again = ensure(host, "poweredon")
    assert again["changed"] is False
    assert again["changes"] == []


def test_power_off_is_a_guest_shutdown_first():
    host = FakeHost({"7": ["web1", "on"]})
    result = ensure(host, "poweredoff")
    assert result["changed"] is True
    assert result["warnings"] == []
    assert "power.shutdown 7" in verbs(host)
    assert "power.off 7" not in verbs(host)
    assert host.vms["7"][1] == "off"


def test_power_off_without_tools_is_hard_with_a_warning():
    host = FakeHost({"7": ["web1", "on"]}, tools=False)
    result = ensure(host, "poweredoff")
    assert "power.off 7" in verbs(host)
    assert "ToolsUnavailable" in result["warnings"][0]


def test_shutdown_timeout_then_hard_off():
    host = FakeHost({"7": ["web1", "on"]}, shuts_down=False)
    result = ensure(host, "poweredoff", shutdown_timeout=5)
    assert "did not shut down within 5 seconds" in result["warnings"][0]
    assert verbs(host)[-2:] == ["power.off 7", "power.getstate 7"]
    assert host.vms["7"][1] == "off"


def test_shutdown_timeout_zero_is_hard_at_once():
    host = FakeHost({"7": ["web1", "on"]})
    ensure(host, "poweredoff", shutdown_timeout=0)
    assert "power.shutdown 7" not in verbs(host)
    assert "power.off 7" in verbs(host)


def test_restart_cycles_a_running_vm():
    host = FakeHost({"7": ["web1", "on"]})
    result = ensure(host, "restarted")
    assert result["changed"] is True
    changes = [v for v in verbs(host) if not v.startswith(("getallvms", "power.getstate"))]
    assert changes == ["power.shutdown 7", "power.on 7"]
    assert host.vms["7"][1] == "on"


def test_suspended_vm_is_powered_off_hard():
    host = FakeHost({"7": ["web1", "suspended"]})
    ensure(host, "poweredoff")
    assert "power.off 7" in verbs(host)
    assert "power.shutdown 7" not in verbs(host)


def test_check_mode_only_reads():
    host = FakeHost({"7": ["web1", "on"]})
    assert ensure(host, "restarted", check_mode=True)["changed"] is True
    assert ensure(host, "absent", force=True, check_mode=True)["changed"] is True
    assert all(v.startswith(("getallvms", "power.getstate")) for v in verbs(host))
    assert host.vms["7"] == ["web1", "on"]


def test_absent_needs_force_then_powers_off_and_destroys():
    host = FakeHost({"7": ["web1", "on"], "8": ["other", "on"]})
    with pytest.raises(GhostError) as err:
        ensure(host, "absent")
    assert "force: true" in str(err.value)
    assert host.commands == []
    result = ensure(host, "absent", force=True)
    assert result["changed"] is True
    assert result["vm"] == {}
    assert verbs(host)[-2:] == ["power.off 7", "destroy 7"]
    assert "7" not in host.vms and "8" in host.vms
    assert ensure(host, "absent", force=True)["changed"] is False


def test_missing_and_duplicate_vms():
    host = FakeHost({"7": ["web1", "on"], "9": ["web1", "off"]})
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredon")
    assert "2 VMs have that name (vmids 7, 9)" in str(err.value)
    with pytest.raises(GhostError) as err:
        ensure(host, "poweredon", name="nope")
    assert "cannot create VMs" in str(err.value)


def test_present_is_not_a_fallback_state():
    with pytest.raises(GhostError) as err:
        ensure(FakeHost({}), "present")
    assert err.value.option == "fallback"


def test_reads_have_the_short_timeout_and_changes_the_long_one():
    seen = []

    class Recorder(FakeHost):
        def run(self, command, *, timeout):
            seen.append((command.split()[1], timeout))
            return super(Recorder, self).run(command, timeout=timeout)

    ensure(Recorder({"7": ["web1", "off"]}), "poweredon")
    assert seen == [("vmsvc/getallvms", ssh.PROBE_TIMEOUT), ("vmsvc/power.getstate", ssh.PROBE_TIMEOUT),
                    ("vmsvc/power.on", ssh.COMMAND_TIMEOUT), ("vmsvc/power.getstate", ssh.PROBE_TIMEOUT)]
    assert ssh.PROBE_TIMEOUT < ssh.COMMAND_TIMEOUT


def test_vim_cmd_fault_becomes_a_clear_error():
    host = FakeHost({"7": ["web1", "on"]})
    with pytest.raises(GhostError) as err:
        ssh.VimCmd(host).power_on("7")
    assert "InvalidPowerState" in str(err.value)
    assert "Failed to power on" in str(err.value)
    with pytest.raises(GhostError) as err:
        ssh.VimCmd(host).power_state("99")
    assert 'Unable to find a VM corresponding to "99"' in str(err.value)


class Proc:
    def __init__(self, returncode, stdout="", stderr=""):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def test_ssh_failure_is_reported_with_where(monkeypatch):
    refused = "ssh: connect to host esxi1 port 22: Connection refused\n"
    monkeypatch.setattr(ssh.subprocess, "run", lambda *a, **k: Proc(255, stderr=refused))
    runner = ssh.SshRunner(host="esxi1", ssh_binary="ssh")
    with pytest.raises(GhostError) as err:
        runner.run("vim-cmd vmsvc/getallvms")
    assert str(err.value) == "Failed to connect over SSH to root@esxi1:22: ssh: connect to host esxi1 port 22: Connection refused"


def test_missing_ssh_client(monkeypatch):
    monkeypatch.setattr(ssh.shutil, "which", lambda name: None)
    with pytest.raises(GhostError) as err:
        ssh.SshRunner(host="h").argv("x")
    assert "OpenSSH client" in str(err.value)
