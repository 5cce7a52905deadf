# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH fallback: VM power and deletion through ``vim-cmd vmsvc/...`` on an ESXi host.
Private to ghost.infra; no compatibility promise.

Used when the vSphere API does not answer (hostd hung, management network half down) but
the host's SSH service does. The system ``ssh`` client runs in BatchMode (never prompts),
with the given key, a connect timeout and host key checking. The parsers read the formats
ESXi's vim-cmd prints; they and ensure_power() are pure apart from the runner they are given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex
import shutil
import subprocess
import time

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError, failure
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.records import (
    POWERED_OFF,
    POWERED_ON,
    SUSPENDED,
)
from ansible_collections.ghost.infra.plugins.module_utils._vsphere.views import blank_vm

# States the fallback can reach; creating or reconfiguring needs the API.
FALLBACK_STATES = ("poweredon", "poweredoff", "restarted", "absent")

SSH_TIMEOUT = 10  # seconds to connect
COMMAND_TIMEOUT = 120  # seconds one vim-cmd may run

# `vim-cmd vmsvc/getallvms`: Vmid, Name, File ("[datastore] path.vmx"), Guest OS, Version,
# Annotation. Columns are padded with spaces, names may contain spaces, an annotation may run
# on over following lines (which do not start with a Vmid).
_VM_LINE = re.compile(
    r"^(?P<vmid>\d+)\s+(?P<name>.*?)\s+\[(?P<datastore>[^\]]*)\]\s+(?P<file>.*?\.vmx)"
    r"(?:\s+(?P<guest>\S+))?(?:\s+(?P<version>vmx-\d+))?(?:\s+(?P<annotation>.*?))?\s*$")
_POWER_STATES = {
    "powered on": POWERED_ON,
    "powered off": POWERED_OFF,
    "suspended": SUSPENDED,
}
_FAULT = re.compile(r"\((?:vim|vmodl)\.fault\.(?P<name>\w+)\)")
_FAULT_MSG = re.compile(r'^\s*msg\s*=\s*"(?P<msg>.*)",?\s*$', re.M)


def parse_getallvms(text):
    """VMs listed by ``vim-cmd vmsvc/getallvms`` as [{vmid, name, datastore, file, guest_os,
    version, annotation}]; the header, continuation lines and warnings are skipped."""
    vms = []
    for line in text.splitlines():
        match = _VM_LINE.match(line)
        if not match:
            if vms and line.strip() and not line.lower().startswith(("vmid", "skipping")):
                vms[-1]["annotation"] = (vms[-1]["annotation"] + "\n" + line.strip()).strip()
            continue
        vms.append({
            "vmid": match.group("vmid"),
            "name": match.group("name").strip(),
            "datastore": match.group("datastore"),
            "file": "[%s] %s" % (match.group("datastore"), match.group("file")),
            "guest_os": match.group("guest"),
            "version": match.group("version"),
            "annotation": (match.group("annotation") or "").strip(),
        })
    return vms


def parse_power_state(text):
    """``Retrieved runtime info`` / ``Powered on`` (power.getstate) as a vSphere power state."""
    for line in reversed(text.strip().splitlines()):
        state = _POWER_STATES.get(line.strip().lower())
        if state:
            return state
    raise GhostError("cannot read the power state from vim-cmd's answer: %r" % text.strip()[:200])


def parse_fault(text):
    """The fault vim-cmd printed, as ``FaultName: message``, or None."""
    match = _FAULT.search(text)
    if match:
        msg = _FAULT_MSG.search(text)
        return "%s: %s" % (match.group("name"), msg.group("msg")) if msg else match.group("name")
    for line in text.splitlines():
        lowered = line.strip().lower()
        if lowered.startswith("unable to find") or lowered.endswith(" failed") or "failed:" in lowered:
            return line.strip()
    return None


class SshRunner:
    """Runs one remote command through the system ``ssh`` client, never prompting."""

    def __init__(self, *, host, user="root", port=22, private_key_file=None, known_hosts_file=None,
                 host_key_checking="strict", ssh_binary=None):
        user, port = user or "root", int(port or 22)
        self.where = "%s@%s:%s" % (user, host, port)
        self._ssh_binary = ssh_binary
        # The arguments between the ssh binary (found at run time) and the command.
        self._options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=%d" % SSH_TIMEOUT,
                         "-o", "StrictHostKeyChecking=%s" % ("accept-new" if host_key_checking == "accept-new" else "yes"),
                         "-o", "LogLevel=ERROR", "-p", str(port), "-l", user]
        if known_hosts_file:
            self._options += ["-o", "UserKnownHostsFile=%s" % known_hosts_file]
        if private_key_file:
            self._options += ["-i", private_key_file, "-o", "IdentitiesOnly=yes"]
        # "--" ends ssh's options: a host name beginning with "-" (``-oProxyCommand=...``) is
        # then a host name, never an option; the first argument after the host is the command.
        self._options += ["--", host]

    def argv(self, command):
        binary = self._ssh_binary or shutil.which("ssh")
        if not binary:
            raise GhostError("the SSH fallback needs the OpenSSH client (ssh) on the host running the module")
        return [binary] + self._options + [command]

    def run(self, command):
        """(rc, stdout, stderr) of ``command``; rc 255 (ssh's own failure) raises GhostError."""
        try:
            proc = subprocess.run(self.argv(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=COMMAND_TIMEOUT, check=False,
                                  universal_newlines=True)
        except subprocess.TimeoutExpired:
            raise GhostError("Failed to run '%s' over SSH on %s: no answer within %s seconds"
                             % (command, self.where, COMMAND_TIMEOUT))
        except OSError as exc:
            raise GhostError("Failed to run ssh: %s" % exc)
        if proc.returncode == 255:
            last = (proc.stderr.strip().splitlines() or ["ssh failed"])[-1]
            raise GhostError("Failed to connect over SSH to %s: %s" % (self.where, last))
        return proc.returncode, proc.stdout, proc.stderr


class VimCmd:
    """``vim-cmd vmsvc/...`` through a runner (SshRunner, or a fake in tests)."""

    def __init__(self, runner):
        self.runner = runner

    def _run(self, what, *args):
        command = " ".join(["vim-cmd"] + [shlex.quote(str(a)) for a in args])
        rc, out, err = self.runner.run(command)
        fault = parse_fault(out + "\n" + err)
        if rc != 0 or fault:
            reason = fault or (err.strip() or out.strip() or "exit status %s" % rc).splitlines()[-1]
            raise GhostError("%s: vim-cmd %s: %s" % (what, args[0], reason))
        return out

    def list_vms(self):
        return parse_getallvms(self._run("Failed to list VMs", "vmsvc/getallvms"))

    def power_state(self, vmid):
        return parse_power_state(self._run("Failed to read the power state", "vmsvc/power.getstate", vmid))

    def power_on(self, vmid):
        self._run("Failed to power on", "vmsvc/power.on", vmid)

    def power_off(self, vmid):
        self._run("Failed to power off", "vmsvc/power.off", vmid)

    def shutdown(self, vmid):
        self._run("Failed to shut down the guest", "vmsvc/power.shutdown", vmid)

    def destroy(self, vmid):
        self._run("Failed to delete", "vmsvc/destroy", vmid)


def _shutdown(vim, vmid, *, name, timeout, warnings, sleep, clock):
    """Guest shutdown, wait up to ``timeout`` seconds, then hard power-off."""
    if timeout > 0:
        try:
            vim.shutdown(vmid)
        except GhostError as exc:
            warnings.append("VM '%s' could not be shut down through the guest (%s); powered off hard" % (name, exc))
        else:
            deadline = clock() + timeout
            while clock() < deadline:
                if vim.power_state(vmid) == POWERED_OFF:
                    return
                sleep(1)
            warnings.append("VM '%s' did not shut down within %s seconds; powered off hard" % (name, timeout))
    if vim.power_state(vmid) != POWERED_OFF:
        vim.power_off(vmid)


def _result(*, changed, vm, before_state, diff, warnings):
    after_state = vm.get("power_state") if vm else None
    result = {"changed": changed, "vm": vm, "fallback": "ssh", "warnings": warnings, "changes": []}
    if changed:
        result["changes"] = ["power_state: %s -> %s" % (before_state, after_state or "absent")]
    if diff:
        result["diff"] = {"before": {"power_state": before_state} if before_state else {},
                          "after": {"power_state": after_state} if after_state else {}}
    return result


def ensure_power(vim, *, name, state, force=False, shutdown_timeout=120, check_mode=False, diff=False,
                 sleep=time.sleep, clock=time.monotonic):
    """Bring VM ``name`` to ``state`` (FALLBACK_STATES) through vim-cmd. Returns the module
    result without ``duration``: changed, vm, fallback, changes, warnings (and diff when
    asked). Raises GhostError."""
    if state not in FALLBACK_STATES:
        raise GhostError("state '%s' needs the vSphere API; the SSH fallback handles %s"
                         % (state, ", ".join(FALLBACK_STATES)), option="fallback")
    verb = {"absent": "delete", "poweredon": "power on", "poweredoff": "power off", "restarted": "restart"}[state]
    if state == "absent" and not force:
        raise GhostError(failure(verb, "VM", name, "without the vSphere API its ownership cannot be checked; "
                                 "deleting through the SSH fallback needs force: true"))
    warnings = []
    matches = [vm for vm in vim.list_vms() if vm["name"] == name]
    if len(matches) > 1:
        raise GhostError(failure(verb, "VM", name, "%d VMs have that name (vmids %s)" % (
            len(matches), ", ".join(vm["vmid"] for vm in matches))))
    if not matches:
        if state == "absent":
            return _result(changed=False, vm={}, before_state=None, diff=diff, warnings=warnings)
        raise GhostError(failure(verb, "VM", name, "it does not exist on the host (the SSH fallback "
                                 "cannot create VMs)"))
    vmid = matches[0]["vmid"]
    current = vim.power_state(vmid)
    final = current
    changed = False
    if state == "absent":
        if not check_mode:
            if current != POWERED_OFF:
                vim.power_off(vmid)
            vim.destroy(vmid)
        return _result(changed=True, vm={}, before_state=current, diff=diff, warnings=warnings)
    if state == "poweredon" and current != POWERED_ON:
        changed, final = True, POWERED_ON
        if not check_mode:
            vim.power_on(vmid)
    elif state == "poweredoff" and current != POWERED_OFF:
        changed, final = True, POWERED_OFF
        if not check_mode:
            if current == POWERED_ON:
                _shutdown(vim, vmid, name=name, timeout=shutdown_timeout, warnings=warnings, sleep=sleep, clock=clock)
            else:
                vim.power_off(vmid)
    elif state == "restarted":
        changed, final = True, POWERED_ON
        if not check_mode:
            if current == POWERED_ON:
                _shutdown(vim, vmid, name=name, timeout=shutdown_timeout, warnings=warnings, sleep=sleep, clock=clock)
            vim.power_on(vmid)
    if changed and not check_mode:
        final = vim.power_state(vmid)
    # What vim-cmd tells of the VM; on ESXi its moid is the vmid.
    vm = blank_vm(name=name, moid=vmid, power_state=final)
    return _result(changed=changed, vm=vm, before_state=current, diff=diff, warnings=warnings)
