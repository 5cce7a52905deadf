# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""esxi_vm's SSH fallback end to end: the vSphere API points at a dead port, a real OpenSSH
server on 127.0.0.1 (own config, host key and authorized key in a temp dir, high port) stands
in for the ESXi host, and a test ``vim-cmd`` on its session PATH answers in ESXi's formats.

The module runs through ansible-playbook at -vvv; the play asserts the results and the test
checks the vim-cmd calls the host saw. sshd is started and stopped (by PID) by the fixture.
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

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
PASSWORD = "fallback-test-password-0a9e"

# A stand-in for ESXi's vim-cmd: state in a JSON file, output in ESXi's formats.
VIM_CMD = r'''#!/usr/bin/env python3
import json, sys
STATE = __STATE__
with open(STATE) as f:
    state = json.load(f)
args = sys.argv[1:]
state["log"].append(" ".join(args))

def save():
    with open(STATE, "w") as f:
        json.dump(state, f)

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
def esxi_over_ssh(tmp_path):
    """An sshd on a high 127.0.0.1 port whose sessions find the test vim-cmd on PATH."""
    if not os.path.exists(SSHD) or not shutil.which("ssh"):
        pytest.fail("the SSH fallback test needs OpenSSH (apt-get install openssh-server openssh-client)")
    user = getpass.getuser()
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"log": [], "vms": {
        "1": {"name": "ubuntu-22.04-template", "state": "off", "tools": False},
        "7": {"name": "web1", "state": "on", "tools": True, "note": "built by ghost.infra"},
        "9": {"name": "db 01", "state": "on", "tools": False},
    }}))
    vim_cmd = bin_dir / "vim-cmd"
    vim_cmd.write_text(VIM_CMD.replace("__STATE__", repr(str(state))))
    vim_cmd.chmod(0o755)
    host_pub = keygen(tmp_path / "host_ed25519")
    client_pub = keygen(tmp_path / "client_ed25519")
    (tmp_path / "authorized_keys").write_text(client_pub + "\n")
    port = free_port()
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
        "SetEnv PATH=%s:/usr/local/bin:/usr/bin:/bin" % bin_dir,
        "",
    ]))
    with open(str(tmp_path / "sshd.log"), "w") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT)
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
               "empty_known_hosts": tmp_path / "empty_known_hosts", "state": state, "dir": tmp_path}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
    api_port = free_port()  # nothing listens there: the vSphere API "does not answer"
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(api_port=api_port, ssh_port=esxi_over_ssh["port"], user=esxi_over_ssh["user"],
                                key=esxi_over_ssh["key"], known_hosts=esxi_over_ssh["known_hosts"],
                                empty_known_hosts=esxi_over_ssh["empty_known_hosts"]))
    env = dict(os.environ)
    env.update({"VMWARE_PASSWORD": PASSWORD, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp")})
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", "localhost,", str(play),
           "-e", "ansible_python_interpreter=%s" % sys.executable]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=600, check=False)
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
