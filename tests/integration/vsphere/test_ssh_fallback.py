# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm's SSH fallback end to end: the vSphere API points at a dead port, a real OpenSSH
server on 127.0.0.1 (own config, host key and authorized key in a temp dir, high port) stands
in for the ESXi host, and test ``vim-cmd``, ``esxcli`` and ``localcli`` on its session PATH
answer in ESXi's formats from one JSON state. The state also says how hostd fails: ``hung``
(vim-cmd never answers) or ``down`` (vim-cmd fails at once), and how each process tool does.

The module runs through ansible-playbook at -vvv; the play asserts the results and the test
checks the calls the host saw. The hostd-failure cases also call ensure_power() directly with
a short probe timeout, and check that no command started over SSH is left running (the
sessions carry a marker in their environment). sshd is started and stopped (by PID) by the
fixture.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

PASSWORD = "fallback-test-password-0a9e"

# A stand-in for ESXi's vim-cmd: state in a JSON file, output in ESXi's formats.
VIM_CMD = r'''#!/usr/bin/env python3
import json, os, sys, time
STATE = __STATE__
with open(STATE) as f:
    state = json.load(f)
args = sys.argv[1:]
state["log"].append(" ".join(args))

def save():
    with open(STATE, "w") as f:
        json.dump(state, f)

if state["hostd"] == "hung":  # as vim-cmd waits on a hung hostd: forever, until killed
    save()
    with open(STATE + ".hung-pids", "a") as f:
        f.write("%d\n" % os.getpid())
    time.sleep(86400)
if state["hostd"] == "down":  # what vim-cmd prints when hostd does not take the connection
    print("Connect to localhost failed: Connection failure.", file=sys.stderr)
    save()
    sys.exit(1)

def fault(name, msg, tail=""):
    print("(vim.fault.%s) {\n   faultCause = (vmodl.MethodFault) null, \n   faultMessage = <unset>, \n"
          "   msg = \"%s\"\n}" % (name, msg))
    if tail:
        print(tail)
    save()
    sys.exit(1)

verb = args[0] if args else ""
if verb == "vmsvc/getallvms":
    print("Vmid         Name                         File                                   Guest OS          Version   Annotation")
    for vmid, vm in sorted(state["vms"].items(), key=lambda kv: int(kv[0])):
        print("%-6s %-28s [datastore1] %s/%s.vmx   ubuntu64Guest     vmx-19    %s"
              % (vmid, vm["name"], vm["name"], vm["name"], vm.get("note", "")))
    save()
    sys.exit(0)
vmid = args[1] if len(args) > 1 else ""
vm = state["vms"].get(vmid)
if vm is None:
    print('Unable to find a VM corresponding to "%s"' % vmid)
    save()
    sys.exit(1)
if verb == "vmsvc/power.getstate":
    print("Retrieved runtime info")
    print({"on": "Powered on", "off": "Powered off", "suspended": "Suspended"}[vm["state"]])
elif verb == "vmsvc/power.on":
    print("Powering on VM:")
    if vm["state"] == "on":
        fault("InvalidPowerState", "The attempted operation cannot be performed in the current state (Powered on).",
              "Power on failed")
    vm["state"] = "on"
elif verb == "vmsvc/power.off":
    print("Powering off VM:")
    if vm["state"] == "off":
        fault("InvalidPowerState", "The attempted operation cannot be performed in the current state (Powered off).",
              "Power off failed")
    vm["state"] = "off"
elif verb == "vmsvc/power.shutdown":
    if not vm["tools"]:
        fault("ToolsUnavailable", "Cannot complete operation because VMware Tools is not running in this virtual machine.")
    vm["state"] = "off"
elif verb == "vmsvc/power.reboot":
    if not vm["tools"]:
        fault("ToolsUnavailable", "Cannot complete operation because VMware Tools is not running in this virtual machine.")
elif verb == "vmsvc/destroy":
    del state["vms"][vmid]
else:
    print("Unknown command '%s'" % verb)
    save()
    sys.exit(1)
save()
'''

# A stand-in for esxcli and localcli (the same script, by its name): `vm process list` in the
# default and csv formats, `vm process kill`; a VM whose "ignores" holds a kill type survives it.
PROCESS_TOOL = r'''#!/usr/bin/env python3
import json, os, sys, time
STATE = __STATE__
tool = os.path.basename(sys.argv[0])
with open(STATE) as f:
    state = json.load(f)
args = sys.argv[1:]
state["log"].append(" ".join([tool] + args))

def save():
    with open(STATE, "w") as f:
        json.dump(state, f)

def world(vmid):
    return 2100000 + 10 * int(vmid) + 1

mode = state["tools"][tool]
if mode == "hung":  # esxcli goes through hostd: it hangs with it
    save()
    with open(STATE + ".hung-pids", "a") as f:
        f.write("%d\n" % os.getpid())
    time.sleep(86400)
if mode == "fail":
    print("Connect to localhost failed: Connection failure.", file=sys.stderr)
    save()
    sys.exit(1)
csv_format = args[:1] == ["--formatter=csv"]
if csv_format:
    args = args[1:]
running = [(vmid, vm) for vmid, vm in sorted(state["vms"].items(), key=lambda kv: int(kv[0])) if vm["state"] == "on"]
if args == ["vm", "process", "list"]:
    if csv_format:
        print("ConfigFile,DisplayName,ProcessID,UUID,VMXCartelID,WorldID,")
    for vmid, vm in running:
        fields = {"World ID": world(vmid), "Process ID": 0, "VMX Cartel ID": world(vmid) - 1,
                  "UUID": "56 4d 00 00 00 00 00 00-00 00 00 00 00 00 00 %02d" % int(vmid), "Display Name": vm["name"],
                  "Config File": "/vmfs/volumes/5f1c9d4e-0b2a6c10-8c3e-0050569a1b2c/%s/%s.vmx" % (vm["name"], vm["name"])}
        if csv_format:
            print(",".join('"%s"' % value if "," in str(value) else str(value)
                           for _key, value in sorted(fields.items(), key=lambda kv: kv[0].replace(" ", ""))) + ",")
        else:
            print(vm["name"])
            for key, value in fields.items():
                print("   %s: %s" % (key, value))
            print("")
    save()
    sys.exit(0)
if args[:3] == ["vm", "process", "kill"] and len(args) == 5:
    kind, world_id = args[3].split("=", 1)[1], int(args[4].split("=", 1)[1])
    for vmid, vm in running:
        if world(vmid) == world_id:
            if kind not in vm.get("ignores", []):
                vm["state"] = "off"
            save()
            sys.exit(0)
    print("Unable to find a running VM with world ID %d" % world_id, file=sys.stderr)
    save()
    sys.exit(1)
print("Error: Unknown command or namespace %s" % " ".join(args), file=sys.stderr)
save()
sys.exit(1)
'''

PLAY = textwrap.dedent('''\
    - hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        ghost.infra.esxi_vm:
          hostname: 127.0.0.1
          port: {api_port}
          username: root
          validate_certs: false
          fallback: ssh
          ssh_port: {ssh_port}
          ssh_user: {user}
          ssh_private_key_file: {key}
          ssh_known_hosts_file: {known_hosts}
          shutdown_timeout: 5
      tasks:
        - name: Power off through SSH (guest shutdown, VMware Tools running)
          ghost.infra.esxi_vm:
            name: web1
            state: poweredoff
          register: off1
        - name: Power off again
          ghost.infra.esxi_vm:
            name: web1
            state: poweredoff
          register: off2
        - name: Power on (check mode)
          ghost.infra.esxi_vm:
            name: web1
            state: poweredon
          check_mode: true
          register: on_check
        - name: Power on
          ghost.infra.esxi_vm:
            name: web1
            state: poweredon
          register: on1
        - name: Restart a VM without VMware Tools (hard power-off in between)
          ghost.infra.esxi_vm:
            name: db 01
            state: restarted
          register: restarted
        - name: Delete without force
          ghost.infra.esxi_vm:
            name: web1
            state: absent
          register: absent_no_force
          ignore_errors: true
        - name: Delete with force (check mode)
          ghost.infra.esxi_vm:
            name: web1
            state: absent
            force: true
          check_mode: true
          register: absent_check
        - name: Delete with force
          ghost.infra.esxi_vm:
            name: web1
            state: absent
            force: true
          register: absent1
        - name: Delete again
          ghost.infra.esxi_vm:
            name: web1
            state: absent
            force: true
          register: absent2
        - name: State present cannot fall back
          ghost.infra.esxi_vm:
            name: db 01
            state: present
          register: present
          ignore_errors: true
        - name: Without fallback the unreachable API is the error
          ghost.infra.esxi_vm:
            name: db 01
            fallback: none
          register: no_fallback
          ignore_errors: true
        - name: An unknown host key is refused (strict host key checking)
          ghost.infra.esxi_vm:
            name: db 01
            state: poweredon
            ssh_known_hosts_file: {empty_known_hosts}
          register: unknown_host_key
          ignore_errors: true
        - name: Check the results
          ansible.builtin.assert:
            that:
              - off1 is changed and off1.fallback == 'ssh' and off1.vm.power_state == 'poweredOff'
              - off1.vm.name == 'web1' and off1.vm.moid == '7'
              - off1.warnings | select('search', 'used the SSH fallback') | list | length == 1
              - off2 is not changed
              - on_check is changed and on_check.vm.power_state == 'poweredOn'
              - on1 is changed and on1.vm.power_state == 'poweredOn'
              - restarted is changed and restarted.vm.power_state == 'poweredOn'
              - restarted.warnings | select('search', 'ToolsUnavailable') | list | length == 1
              - absent_no_force is failed
              - "'needs force: true' in absent_no_force.msg"
              - absent_check is changed
              - absent1 is changed and absent1.vm == {{}}
              - absent2 is not changed
              - present is failed
              - "'the SSH fallback only handles state poweredon, poweredoff, restarted, absent' in present.msg"
              - no_fallback is failed
              - "no_fallback.msg is search('^Failed to connect to the vSphere API at 127.0.0.1:{api_port}: ')"
              - unknown_host_key is failed
              - "'Failed to connect over SSH to {user}@127.0.0.1:{ssh_port}' in unknown_host_key.msg"
              - "'Host key verification failed' in unknown_host_key.msg"
''')


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def keygen(path, kind="ed25519"):
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "ghost-fallback-test", "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    return path.with_name(path.name + ".pub").read_text().strip()


@pytest.fixture
def esxi_over_ssh(testbed, tmp_path):
    """An sshd on a high 127.0.0.1 port whose sessions find the test vim-cmd, esxcli and
    localcli on PATH."""
    # The testbed's sshd, unpacked into its cache (never a system sshd: a machine without
    # openssh-server installed must run this test too).
    sshd = testbed.get("GHOST_SSHD")
    if not sshd or not os.path.exists(sshd):
        pytest.fail("the SSH fallback test needs the testbed's sshd (GHOST_SSHD: %r, see tests/testbed/debs.py)" % sshd)
    if not shutil.which("ssh"):
        pytest.fail("the SSH fallback test needs the ssh client (bindep.txt: openssh-client)")
    user = getpass.getuser()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"log": [], "hostd": "up", "tools": {"esxcli": "ok", "localcli": "ok"}, "vms": {
        "1": {"name": "ubuntu-22.04-template", "state": "off", "tools": False},
        "7": {"name": "web1", "state": "on", "tools": True, "note": "built by ghost.infra"},
        "9": {"name": "db 01", "state": "on", "tools": False},
    }}))
    vim_cmd = bin_dir / "vim-cmd"
    vim_cmd.write_text(VIM_CMD.replace("__STATE__", repr(str(state))))
    vim_cmd.chmod(0o755)
    for tool in ("esxcli", "localcli"):
        script = bin_dir / tool
        script.write_text(PROCESS_TOOL.replace("__STATE__", repr(str(state))))
        script.chmod(0o755)
    host_pub = keygen(tmp_path / "host_ed25519")
    client_pub = keygen(tmp_path / "client_ed25519")
    (tmp_path / "authorized_keys").write_text(client_pub + "\n")
    port = free_port()
    # Every process a session starts carries this: how the tests find what was left behind.
    token = "ghost-fake-esxi-%d-%d" % (os.getpid(), port)
    (tmp_path / "known_hosts").write_text("[127.0.0.1]:%d %s\n" % (port, host_pub))
    (tmp_path / "empty_known_hosts").write_text("")
    config = tmp_path / "sshd_config"
    config.write_text("\n".join([
        "Port %d" % port,
        "ListenAddress 127.0.0.1",
        "HostKey %s" % (tmp_path / "host_ed25519"),
        "PidFile %s" % (tmp_path / "sshd.pid"),
        "AuthorizedKeysFile %s" % (tmp_path / "authorized_keys"),
        "AllowUsers %s" % user,
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "SetEnv PATH=%s:/usr/local/bin:/usr/bin:/bin GHOST_FAKE_ESXI=%s" % (bin_dir, token),
        "",
    ]))
    with open(str(tmp_path / "sshd.log"), "w") as log:
        proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail("sshd exited: %s" % (tmp_path / "sshd.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("sshd did not listen on port %d" % port)
                time.sleep(0.1)
        yield {"port": port, "user": user, "key": tmp_path / "client_ed25519", "known_hosts": tmp_path / "known_hosts",
               "empty_known_hosts": tmp_path / "empty_known_hosts", "state": state, "dir": tmp_path, "bin": bin_dir,
               "token": token}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def ansible_playbook(text, esxi, tmp_path):
    """Runs the play ``text`` (formatted with the fixture's ports, user and files) at -vvv."""
    play = tmp_path / "play.yml"
    play.write_text(text.format(api_port=free_port(),  # nothing listens there: the API "does not answer"
                                ssh_port=esxi["port"], user=esxi["user"], key=esxi["key"],
                                known_hosts=esxi["known_hosts"], empty_known_hosts=esxi["empty_known_hosts"]))
    env = dict(os.environ)
    env.update({"VMWARE_PASSWORD": PASSWORD, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,", str(play),
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    return subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600, check=False)


def test_vim_cmd_through_sshd_answers_like_esxi(esxi_over_ssh):
    """The stand-in works through the real sshd before the module is pointed at it."""
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere.ssh import SshRunner, VimCmd

    vim = VimCmd(SshRunner(host="127.0.0.1", user=esxi_over_ssh["user"], port=esxi_over_ssh["port"],
                           private_key_file=str(esxi_over_ssh["key"]),
                           known_hosts_file=str(esxi_over_ssh["known_hosts"])))
    vms = vim.list_vms()
    assert [(vm["vmid"], vm["name"]) for vm in vms] == [("1", "ubuntu-22.04-template"), ("7", "web1"), ("9", "db 01")]
    assert vms[1]["annotation"] == "built by ghost.infra"
    assert vim.power_state("7") == "poweredOn"


def test_esxi_vm_falls_back_to_ssh(esxi_over_ssh, tmp_path):
    proc = ansible_playbook(PLAY, esxi_over_ssh, tmp_path)
    assert proc.returncode == 0, "\n".join(proc.stdout.splitlines()[-60:])
    assert PASSWORD not in proc.stdout

    state = json.loads(esxi_over_ssh["state"].read_text())
    assert sorted(state["vms"]) == ["1", "9"]  # web1 is gone, the others stay
    assert state["vms"]["9"]["state"] == "on"
    changes = [entry for entry in state["log"] if not entry.startswith(("vmsvc/getallvms", "vmsvc/power.getstate"))]
    assert changes == [
        "vmsvc/power.shutdown 7",  # poweredoff: guest shutdown first
        "vmsvc/power.on 7",  # poweredon (the check-mode run changed nothing)
        "vmsvc/power.shutdown 9",  # restarted: no Tools -> fault ...
        "vmsvc/power.off 9",  # ... so a hard power-off
        "vmsvc/power.on 9",
        "vmsvc/power.off 7",  # absent with force: powered on, so off first
        "vmsvc/destroy 7",
    ]


# --- hostd hung or down: esxcli / localcli -------------------------------------------------

PROBE = 2  # seconds: the direct calls below use a short probe, the playbook the default one
# What a handful of SSH round trips may take on top of the probes: one is ~1 s on a loaded
# 2-CPU machine (handshake plus the Python fakes' start) and several seconds at a load of 10, as
# when the whole suite runs. Still far below COMMAND_TIMEOUT (120 s), which is what a hung
# vim-cmd would cost without the short probe, so the bound still tells a hang.
ROUND_TRIPS = 45


def set_host(esxi, **changes):
    """Changes the fake host's JSON state (hostd, tools, per-VM fields as vm_<vmid>={...})."""
    state = json.loads(esxi["state"].read_text())
    for key, value in changes.items():
        if key.startswith("vm_"):
            state["vms"][key[3:]].update(value)
        elif key == "tools":
            state["tools"].update(value)
        else:
            state[key] = value
    esxi["state"].write_text(json.dumps(state))


def host_state(esxi):
    return json.loads(esxi["state"].read_text())


def ssh_runner(esxi):
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere.ssh import SshRunner

    return SshRunner(host="127.0.0.1", user=esxi["user"], port=esxi["port"], private_key_file=str(esxi["key"]),
                     known_hosts_file=str(esxi["known_hosts"]))


def ensure_direct(esxi, state, *, processes_timeout=PROBE, **kwargs):
    """ensure_power() through the real sshd, with short bounds; (result or GhostError, seconds)."""
    from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere import ssh

    runner = ssh_runner(esxi)
    start = time.monotonic()
    try:
        outcome = ssh.ensure_power(ssh.VimCmd(runner, probe_timeout=PROBE), name=kwargs.pop("name", "web1"),
                                   state=state, processes=ssh.ProcessTool(runner, timeout=processes_timeout), **kwargs)
    except GhostError as exc:
        outcome = exc
    return outcome, time.monotonic() - start


def alive(pid):
    """True for a running process (a zombie is not running)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def session_processes(token):
    """Live processes started by the fake host's SSH sessions (their environment has ``token``)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if token.encode() not in f.read():
                    continue
        except OSError:
            continue
        if alive(int(pid)):
            found.append(int(pid))
    return found


def assert_nothing_left(esxi, *, hung_expected):
    """Every command the fallback started over SSH has ended, the hanging fakes included."""
    pids_file = esxi["dir"] / "state.json.hung-pids"
    hung = [int(line) for line in pids_file.read_text().split()] if pids_file.exists() else []
    assert len(hung) == hung_expected
    deadline = time.monotonic() + 5
    while (session_processes(esxi["token"]) or any(alive(pid) for pid in hung)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in hung if alive(pid)] == []
    assert session_processes(esxi["token"]) == []


@pytest.mark.parametrize("hostd, hung", [("hung", 1), ("down", 0)])
def test_poweredoff_through_esxcli_when_vim_cmd_hangs_or_fails(esxi_over_ssh, hostd, hung):
    set_host(esxi_over_ssh, hostd=hostd)
    result, seconds = ensure_direct(esxi_over_ssh, "poweredoff", shutdown_timeout=5)
    assert not isinstance(result, Exception), result
    assert result["changed"] is True
    assert (result["fallback"], result["fallback_tool"]) == ("ssh", "esxcli")
    assert result["vm"]["power_state"] == "poweredOff"
    assert result["vm"]["uuid"] == "564d0000-0000-0000-0000-000000000007"
    cause = {"hung": "vim-cmd vmsvc/getallvms did not answer within %d s (hostd hung?)" % PROBE,
             "down": "vim-cmd vmsvc/getallvms: Connect to localhost failed: Connection failure. (hostd down?)"}[hostd]
    assert result["warnings"][0].startswith("hostd did not answer (%s): the power state comes from `esxcli vm "
                                            "process list`" % cause)
    assert "stopped with `esxcli vm process kill --type=soft`" in result["warnings"][1]
    assert seconds < PROBE + ROUND_TRIPS, seconds  # the probe, then list, kill, list
    state = host_state(esxi_over_ssh)
    assert state["vms"]["7"]["state"] == "off" and state["vms"]["9"]["state"] == "on"
    assert state["log"] == ["vmsvc/getallvms", "esxcli --formatter=csv vm process list",
                            "esxcli vm process kill --type=soft --world-id=2100071",
                            "esxcli --formatter=csv vm process list"]
    assert_nothing_left(esxi_over_ssh, hung_expected=hung)

    again, _seconds = ensure_direct(esxi_over_ssh, "poweredoff")
    assert again["changed"] is False
    assert "VM 'web1' is not running according to esxcli" in again["warnings"][-1]


def test_soft_kill_ignored_then_hard(esxi_over_ssh):
    set_host(esxi_over_ssh, hostd="down", vm_7={"ignores": ["soft"]})
    result, seconds = ensure_direct(esxi_over_ssh, "poweredoff", shutdown_timeout=2)
    assert result["changed"] is True, result
    kills = [entry for entry in host_state(esxi_over_ssh)["log"] if " kill " in entry]
    assert kills == ["esxcli vm process kill --type=soft --world-id=2100071",
                     "esxcli vm process kill --type=hard --world-id=2100071"]
    assert "--type=hard" in result["warnings"][-1]
    assert 2 <= seconds < 2 + ROUND_TRIPS, seconds
    assert host_state(esxi_over_ssh)["vms"]["7"]["state"] == "off"


def test_esxcli_hung_with_hostd_then_localcli(esxi_over_ssh):
    """What a hung hostd does on a real host: esxcli waits on it as well; localcli does not."""
    set_host(esxi_over_ssh, hostd="hung", tools={"esxcli": "hung"})
    result, seconds = ensure_direct(esxi_over_ssh, "poweredoff", shutdown_timeout=5)
    assert result["fallback_tool"] == "localcli", result
    assert "`localcli vm process list`" in result["warnings"][0]
    assert seconds < 2 * PROBE + ROUND_TRIPS, seconds
    assert host_state(esxi_over_ssh)["vms"]["7"]["state"] == "off"
    assert_nothing_left(esxi_over_ssh, hung_expected=2)


def test_poweredon_with_hostd_hung_names_the_cause(esxi_over_ssh):
    set_host(esxi_over_ssh, hostd="hung", vm_7={"state": "off"})
    error, _seconds = ensure_direct(esxi_over_ssh, "poweredon")
    assert str(error) == (
        "Failed to power on VM 'web1': vim-cmd vmsvc/getallvms did not answer within %d s (hostd hung?), and "
        "`esxcli vm process list` shows it is not running; powering on needs hostd (vim-cmd); esxcli cannot "
        "power on a VM" % PROBE)
    # Already running: nothing to do, and esxcli can tell.
    ok, _seconds = ensure_direct(esxi_over_ssh, "poweredon", name="db 01")
    assert (ok["changed"], ok["vm"]["power_state"], ok["fallback_tool"]) == (False, "poweredOn", "esxcli")
    assert not [entry for entry in host_state(esxi_over_ssh)["log"] if " kill " in entry]
    assert_nothing_left(esxi_over_ssh, hung_expected=2)


@pytest.mark.parametrize("tools, detail", [
    ("missing", "esxcli vm process list: bash: line 1: esxcli: command not found; localcli vm process list: "
                "bash: line 1: localcli: command not found"),
    ({"esxcli": "fail", "localcli": "fail"},
     "esxcli vm process list: Connect to localhost failed: Connection failure.; localcli vm process list: "
     "Connect to localhost failed: Connection failure."),
])
def test_no_esxcli_either_is_a_clear_error(esxi_over_ssh, tools, detail):
    set_host(esxi_over_ssh, hostd="down")
    if tools == "missing":
        for tool in ("esxcli", "localcli"):
            (esxi_over_ssh["bin"] / tool).unlink()
    else:
        set_host(esxi_over_ssh, tools=tools)
    error, _seconds = ensure_direct(esxi_over_ssh, "poweredoff")
    message = str(error)
    assert message.startswith("Failed to power off VM 'web1': vim-cmd vmsvc/getallvms: Connect to localhost failed: "
                              "Connection failure. (hostd down?); the fallback to esxcli/localcli failed too: ")
    if tools == "missing":  # the wording of "not found" is the login shell's (bash here, ash on ESXi)
        assert "esxcli vm process list: " in message and "localcli vm process list: " in message
        assert message.count("not found") == 2
    else:
        assert message.endswith(detail)
    assert host_state(esxi_over_ssh)["vms"]["7"]["state"] == "on"


HUNG_PLAY = textwrap.dedent('''\
    - hosts: localhost
      connection: local
      gather_facts: false
      module_defaults:
        ghost.infra.esxi_vm:
          hostname: 127.0.0.1
          port: {api_port}
          username: root
          validate_certs: false
          fallback: ssh
          ssh_port: {ssh_port}
          ssh_user: {user}
          ssh_private_key_file: {key}
          ssh_known_hosts_file: {known_hosts}
          shutdown_timeout: 5
      tasks:
        - name: Power off while hostd hangs (vim-cmd never answers)
          ghost.infra.esxi_vm:
            name: web1
            state: poweredoff
          register: hung_off
        - name: Power on while hostd hangs
          ghost.infra.esxi_vm:
            name: web1
            state: poweredon
          register: hung_on
          ignore_errors: true
        - name: Check the results
          ansible.builtin.assert:
            that:
              - hung_off is changed and hung_off.fallback == 'ssh' and hung_off.fallback_tool == 'esxcli'
              - hung_off.vm.power_state == 'poweredOff'
              - hung_off.duration < 15 + 15  # the probe, then a few SSH round trips
              - hung_off.warnings | select('search', 'the power state comes from `esxcli vm process list`') | list | length == 1
              - hung_off.warnings | select('search', 'kill --type=soft') | list | length == 1
              - hung_on is failed
              - "'did not answer within 15 s (hostd hung?)' in hung_on.msg"
              - "'powering on needs hostd (vim-cmd); esxcli cannot power on a VM' in hung_on.msg"
''')


def test_esxi_vm_with_hostd_hung_uses_esxcli(esxi_over_ssh, tmp_path):
    """The module with its default bounds: the probe gives up after PROBE_TIMEOUT (15 s)."""
    from ansible_collections.ghost.infra.plugins.module_utils._vsphere.ssh import PROBE_TIMEOUT

    assert PROBE_TIMEOUT == 15
    set_host(esxi_over_ssh, hostd="hung")
    start = time.monotonic()
    proc = ansible_playbook(HUNG_PLAY, esxi_over_ssh, tmp_path)
    assert proc.returncode == 0, "\n".join(proc.stdout.splitlines()[-60:])
    assert time.monotonic() - start < 2 * (PROBE_TIMEOUT + ROUND_TRIPS) + 20  # + ansible-playbook's own start
    assert host_state(esxi_over_ssh)["vms"]["7"]["state"] == "off"
    assert_nothing_left(esxi_over_ssh, hung_expected=2)
