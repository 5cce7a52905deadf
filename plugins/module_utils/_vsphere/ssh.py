# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SSH fallback: VM power and deletion on an ESXi host over SSH. Private to ghost.infra;
no compatibility promise.

Used when the vSphere API does not answer but the host's SSH service does. ``vim-cmd
vmsvc/...`` talks to hostd: it lists, powers, shuts down and deletes VMs, and hangs or fails
exactly when a hung hostd is why the API did not answer. ``esxcli vm process list|kill`` (then
``localcli``: the same commands, bypassing hostd) only sees and stops running VMX processes:
without hostd, ``poweredoff`` still works and a running VM is still seen as on.

The system ``ssh`` client runs in BatchMode (never prompts), with the given key, a connect
timeout and host key checking; every remote command is bounded on the host itself. The
parsers and ensure_power() are pure apart from the tools they are given.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
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
COMMAND_TIMEOUT = 120  # seconds a vim-cmd that changes something (power, delete) may run
# Seconds a read (vim-cmd getallvms / power.getstate, esxcli vm process list|kill) may run:
# short, so that a hung hostd sends us to esxcli quickly instead of after COMMAND_TIMEOUT.
PROBE_TIMEOUT = 15
# esxcli kill escalation after the soft kill (which waits shutdown_timeout): type, seconds to
# wait for the VM to leave `vm process list`.
HARD_KILLS = (("hard", 15), ("force", 15))
# Tried in this order for the process commands: esxcli is the supported tool, but VMware
# documents localcli as the same commands bypassing hostd, for when hostd does not answer (and
# esxcli then may not either).
PROCESS_TOOLS = ("esxcli", "localcli")

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
# What vim-cmd (and esxcli) print when hostd does not take the connection.
_HOSTD_DOWN = re.compile(r"connect(?:ion)? to localhost failed|connection failure|connection refused|"
                         r"failed to login|hostd", re.I)
# `esxcli vm process list` fields, by their csv header or default-format label without spaces.
_PROCESS_FIELDS = {"worldid": "world_id", "processid": "process_id", "vmxcartelid": "cartel_id",
                   "uuid": "uuid", "displayname": "name", "configfile": "config_file"}
_KILLED = 137  # exit status of a command killed by SIGKILL: what bounded() does on the host


def bounded(command, seconds):
    """``command`` (ONE simple command, so that ``$!`` is its own pid) wrapped in POSIX sh so
    that the host kills it with SIGKILL after ``seconds``; it then exits 137.

    Why not ESXi's ``timeout``: its busybox changed the syntax in 1.30 (``-t SECS`` before,
    coreutils' ``SECS`` after) and ESXi releases ship both. Why not rely on the SSH session:
    sshd does not signal a command without a tty when the client goes away, so a vim-cmd
    stuck on hostd would stay behind. The bound's ``sleep`` is this shell's own child, so it
    is killed by pid as soon as the command ends (a watcher that starts it itself can be told to
    stop before it knows that pid, and leaves it behind); the watcher polls it each second, so
    nothing is left on the host a second later either way."""
    return ("%s & p=$!; sleep %d </dev/null >/dev/null 2>&1 & s=$!;"
            " (while kill -0 $s 2>/dev/null; do sleep 1; done; kill -9 $p 2>/dev/null) </dev/null >/dev/null 2>&1 & w=$!;"
            " wait $p; r=$?; kill $w $s 2>/dev/null; exit $r"
            % (command, int(seconds)))


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


def _process(fields):
    process = {key: (fields.get(label) or "").strip() for label, key in _PROCESS_FIELDS.items()}
    if not process["world_id"].isdigit():
        raise GhostError("cannot read `vm process list`: World ID %r is not a number" % process["world_id"])
    return process


def parse_process_list(text):
    """Running VMs from ``esxcli [--formatter=csv] vm process list`` (either format) as
    [{world_id, process_id, cartel_id, uuid, name, config_file}].

    Default format: per VM an unindented line (the display name), then indented ``Key: Value``
    lines, blocks separated by blank lines. csv: a header (``ConfigFile,DisplayName,...,``)
    and one row per VM, quoted where needed. No VM running: empty output."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = [cell.replace(" ", "").lower() for cell in next(csv.reader([lines[0]]))]
    if "worldid" in header:
        rows = csv.reader(lines[1:])
        return [_process(dict(zip(header, row))) for row in rows if any(cell.strip() for cell in row)]
    blocks, current = [], None
    for line in lines:
        if not line[0].isspace():
            current = {"displayname": line.strip()}  # Display Name below wins; same value
            blocks.append(current)
        elif current is not None and ":" in line:
            label, value = line.split(":", 1)
            current[label.replace(" ", "").lower()] = value
        else:
            raise GhostError("cannot read `vm process list`: unexpected line %r" % line.strip()[:200])
    return [_process(block) for block in blocks]


def bios_uuid(text):
    """esxcli's ``56 4d 9a ... bc-de f0 ...`` as vSphere writes config.uuid, or None."""
    digits = re.sub(r"[\s-]", "", text or "").lower()
    if not re.match(r"^[0-9a-f]{32}$", digits):
        return None
    return "%s-%s-%s-%s-%s" % (digits[:8], digits[8:12], digits[12:16], digits[16:20], digits[20:])


class CommandTimeout(GhostError):
    """A remote command did not answer within its bound (and was killed on the host)."""


class HostdUnavailable(GhostError):
    """vim-cmd did not answer or could not reach hostd: only esxcli/localcli may still work."""


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

    def run(self, command, *, timeout=COMMAND_TIMEOUT):
        """(rc, stdout, stderr) of ``command`` (one simple command), killed on the host after
        ``timeout`` seconds (CommandTimeout); rc 255 (ssh's own failure) raises GhostError."""
        # The host's own bound comes first; this one only covers a network that stops answering.
        local_timeout = timeout + SSH_TIMEOUT + 5
        try:
            proc = subprocess.run(self.argv(bounded(command, timeout)), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=local_timeout,
                                  check=False, universal_newlines=True)
        except subprocess.TimeoutExpired:
            raise CommandTimeout("'%s' over SSH on %s: no answer within %s seconds" % (command, self.where, local_timeout))
        except OSError as exc:
            raise GhostError("Failed to run ssh: %s" % exc)
        if proc.returncode == 255:
            last = (proc.stderr.strip().splitlines() or ["ssh failed"])[-1]
            raise GhostError("Failed to connect over SSH to %s: %s" % (self.where, last))
        if proc.returncode == _KILLED:
            raise CommandTimeout("'%s' did not answer within %s s on %s (killed there)" % (command, timeout, self.where))
        return proc.returncode, proc.stdout, proc.stderr


def _last_line(rc, out, err):
    return ((err.strip() or out.strip() or "exit status %s" % rc).splitlines() or [""])[-1].strip()


class VimCmd:
    """``vim-cmd vmsvc/...`` through a runner (SshRunner, or a fake in tests). Raises
    HostdUnavailable when vim-cmd does not answer or cannot reach hostd."""

    def __init__(self, runner, *, probe_timeout=PROBE_TIMEOUT, command_timeout=COMMAND_TIMEOUT):
        self.runner = runner
        self.probe_timeout = probe_timeout
        self.command_timeout = command_timeout

    def _run(self, what, *args, timeout=None, probe=False):
        """stdout of vim-cmd; HostdUnavailable when it does not answer, cannot reach hostd, or
        (``probe``) fails at all."""
        timeout = timeout or self.command_timeout
        command = " ".join(["vim-cmd"] + [shlex.quote(str(a)) for a in args])
        try:
            rc, out, err = self.runner.run(command, timeout=timeout)
        except CommandTimeout:
            raise HostdUnavailable("vim-cmd %s did not answer within %s s (hostd hung?)" % (args[0], timeout))
        fault = parse_fault(out + "\n" + err)
        if rc != 0 or fault:
            reason = fault or _last_line(rc, out, err)
            hostd_down = _HOSTD_DOWN.search(reason)
            if probe or hostd_down:
                raise HostdUnavailable("vim-cmd %s: %s%s" % (args[0], reason, " (hostd down?)" if hostd_down else ""))
            raise GhostError("%s: vim-cmd %s: %s" % (what, args[0], reason))
        return out

    def list_vms(self):
        """The probe: any failure here means vim-cmd cannot be used (HostdUnavailable)."""
        return parse_getallvms(self._run("Failed to list VMs", "vmsvc/getallvms", timeout=self.probe_timeout,
                                         probe=True))

    def power_state(self, vmid):
        return parse_power_state(self._run("Failed to read the power state", "vmsvc/power.getstate", vmid,
                                           timeout=self.probe_timeout))

    def power_on(self, vmid):
        self._run("Failed to power on", "vmsvc/power.on", vmid)

    def power_off(self, vmid):
        self._run("Failed to power off", "vmsvc/power.off", vmid)

    def shutdown(self, vmid):
        self._run("Failed to shut down the guest", "vmsvc/power.shutdown", vmid)

    def destroy(self, vmid):
        self._run("Failed to delete", "vmsvc/destroy", vmid)


class ProcessTool:
    """``esxcli vm process list|kill`` through a runner, falling back to ``localcli`` (same
    commands and output, without hostd) when esxcli does not answer. ``tool`` is the one
    that answered; the first to answer is kept for the later commands."""

    def __init__(self, runner, *, tools=PROCESS_TOOLS, timeout=PROBE_TIMEOUT):
        self.runner = runner
        self.tools = tuple(tools)
        self.timeout = timeout
        self.tool = None

    def _run(self, *args):
        command = " ".join(shlex.quote(a) for a in args)
        label = " ".join(a for a in args if not a.startswith("--"))
        try:
            rc, out, err = self.runner.run(command, timeout=self.timeout)
        except CommandTimeout:
            raise GhostError("%s did not answer within %s s" % (label, self.timeout))
        if rc != 0:
            raise GhostError("%s: %s" % (label, _last_line(rc, out, err)))
        return out

    def list_processes(self):
        """Running VMs; raises GhostError naming every tool's failure when none answers."""
        failures = []
        for tool in ((self.tool,) if self.tool else self.tools):
            try:
                processes = parse_process_list(self._run(tool, "--formatter=csv", "vm", "process", "list"))
            except GhostError as exc:
                failures.append(str(exc))
                continue
            self.tool = tool
            return processes
        raise GhostError("; ".join(failures))

    def kill(self, world_id, kind):
        self._run(self.tool or self.tools[0], "vm", "process", "kill", "--type=%s" % kind, "--world-id=%s" % world_id)


def _shutdown(vim, vmid, *, name, timeout, warnings, sleep, clock):
    """Guest shutdown, wait up to ``timeout`` seconds, then hard power-off."""
    if timeout > 0:
        try:
            vim.shutdown(vmid)
        except HostdUnavailable:
            raise
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


def _result(*, changed, vm, before_state, diff, warnings, tool):
    after_state = vm.get("power_state") if vm else None
    result = {"changed": changed, "vm": vm, "fallback": "ssh", "fallback_tool": tool, "warnings": warnings,
              "changes": []}
    if changed:
        result["changes"] = ["power_state: %s -> %s" % (before_state, after_state or "absent")]
    if diff:
        result["diff"] = {"before": {"power_state": before_state} if before_state else {},
                          "after": {"power_state": after_state} if after_state else {}}
    return result


# What each state needs that esxcli cannot do, for the error when hostd does not answer.
_NEEDS_HOSTD = {
    "poweredon": "powering on needs hostd (vim-cmd); esxcli cannot power on a VM",
    "restarted": "a restart powers the VM on, which needs hostd (vim-cmd); esxcli cannot power on a VM",
    "absent": "deleting needs hostd (vim-cmd); esxcli can only stop a running VM",
}
_VERBS = {"absent": "delete", "poweredon": "power on", "poweredoff": "power off", "restarted": "restart"}


def ensure_power(vim, *, name, state, force=False, shutdown_timeout=120, check_mode=False, diff=False,
                 sleep=time.sleep, clock=time.monotonic, processes=None):
    """Bring VM ``name`` to ``state`` (FALLBACK_STATES) through vim-cmd; when vim-cmd does not
    answer (hostd hung or down), ``poweredoff`` goes on through ``processes`` (a ProcessTool,
    by default on ``vim.runner``), ``poweredon`` succeeds only if the VM already runs, the
    other states fail naming why. Returns the module result without ``duration``: changed,
    vm, fallback, fallback_tool, changes, warnings (and diff when asked). Raises GhostError."""
    if state not in FALLBACK_STATES:
        raise GhostError("state '%s' needs the vSphere API; the SSH fallback handles %s"
                         % (state, ", ".join(FALLBACK_STATES)), option="fallback")
    verb = _VERBS[state]
    if state == "absent" and not force:
        raise GhostError(failure(verb, "VM", name, "without the vSphere API its ownership cannot be checked; "
                                 "deleting through the SSH fallback needs force: true"))
    warnings = []
    seen = {}  # the power state vim-cmd read, if it got that far before hostd stopped answering
    try:
        return _with_vim_cmd(vim, name=name, state=state, shutdown_timeout=shutdown_timeout, check_mode=check_mode,
                             diff=diff, warnings=warnings, sleep=sleep, clock=clock, seen=seen)
    except HostdUnavailable as exc:
        if state not in ("poweredoff", "poweredon"):
            raise GhostError(failure(verb, "VM", name, "%s; %s" % (exc, _NEEDS_HOSTD[state])))
        return _with_processes(processes or ProcessTool(vim.runner), name=name, state=state, cause=exc,
                               before=seen.get("power_state"), shutdown_timeout=shutdown_timeout,
                               check_mode=check_mode, diff=diff, warnings=warnings, sleep=sleep, clock=clock)


def _with_vim_cmd(vim, *, name, state, shutdown_timeout, check_mode, diff, warnings, sleep, clock, seen):
    verb = _VERBS[state]
    matches = [vm for vm in vim.list_vms() if vm["name"] == name]
    if len(matches) > 1:
        raise GhostError(failure(verb, "VM", name, "%d VMs have that name (vmids %s)" % (
            len(matches), ", ".join(vm["vmid"] for vm in matches))))
    if not matches:
        if state == "absent":
            return _result(changed=False, vm={}, before_state=None, diff=diff, warnings=warnings, tool="vim-cmd")
        raise GhostError(failure(verb, "VM", name, "it does not exist on the host (the SSH fallback "
                                 "cannot create VMs)"))
    vmid = matches[0]["vmid"]
    current = seen["power_state"] = vim.power_state(vmid)
    final = current
    changed = False
    if state == "absent":
        if not check_mode:
            if current != POWERED_OFF:
                vim.power_off(vmid)
            vim.destroy(vmid)
        return _result(changed=True, vm={}, before_state=current, diff=diff, warnings=warnings, tool="vim-cmd")
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
    return _result(changed=changed, vm=vm, before_state=current, diff=diff, warnings=warnings, tool="vim-cmd")


def _with_processes(processes, *, name, state, cause, before, shutdown_timeout, check_mode, diff, warnings, sleep,
                    clock):
    """``poweredoff`` (and an already running ``poweredon``) from the VMX processes alone.
    ``before``: the power state vim-cmd read before hostd stopped answering half-way (its
    power.on or shutdown may have gone through), else None."""
    verb = _VERBS[state]
    try:
        running = [p for p in processes.list_processes() if p["name"] == name]
    except GhostError as exc:
        if state == "poweredon":
            raise GhostError(failure(verb, "VM", name, "%s; %s (and the VMX processes could not be listed either: %s)"
                                     % (cause, _NEEDS_HOSTD[state], exc)))
        raise GhostError(failure(verb, "VM", name, "%s; the fallback to esxcli/localcli failed too: %s" % (cause, exc)))
    tool = processes.tool
    warnings.append("hostd did not answer (%s): the power state comes from `%s vm process list`, which lists "
                    "running VMs only" % (cause, tool))
    if len(running) > 1:
        raise GhostError(failure(verb, "VM", name, "%d running VMs have that name (%s)" % (len(running), ", ".join(
            "world ID %s, %s" % (p["world_id"], p["config_file"]) for p in running))))
    if not running:
        if state == "poweredon":
            raise GhostError(failure(verb, "VM", name, "%s, and `%s vm process list` shows it is not running; %s"
                                     % (cause, tool, _NEEDS_HOSTD[state])))
        warnings.append("VM '%s' is not running according to %s (which cannot tell powered off from suspended, "
                        "nor whether the VM exists)" % (name, tool))
        return _result(changed=before not in (None, POWERED_OFF), vm=blank_vm(name=name, power_state=POWERED_OFF),
                       before_state=before or POWERED_OFF, diff=diff, warnings=warnings, tool=tool)
    process = running[0]
    vm = blank_vm(name=name, uuid=bios_uuid(process["uuid"]), power_state=POWERED_ON)
    if state == "poweredon":
        return _result(changed=before not in (None, POWERED_ON), vm=vm, before_state=before or POWERED_ON, diff=diff,
                       warnings=warnings, tool=tool)
    if not check_mode:
        _kill(processes, process["world_id"], name=name, shutdown_timeout=shutdown_timeout, warnings=warnings,
              sleep=sleep, clock=clock)
    vm["power_state"] = POWERED_OFF
    return _result(changed=True, vm=vm, before_state=before or POWERED_ON, diff=diff, warnings=warnings, tool=tool)


def _kill(processes, world_id, *, name, shutdown_timeout, warnings, sleep, clock):
    """soft (waiting ``shutdown_timeout``; 0 skips it), hard, force, until the world is gone."""
    steps = ((("soft", shutdown_timeout),) if shutdown_timeout > 0 else ()) + HARD_KILLS
    tool = processes.tool
    for kind, wait in steps:
        try:
            processes.kill(world_id, kind)
        except GhostError as exc:
            warnings.append("VM '%s': %s kill failed (%s)" % (name, kind, exc))
        deadline = clock() + wait
        while True:
            try:
                gone = not any(p["world_id"] == world_id for p in processes.list_processes())
            except GhostError as exc:
                raise GhostError(failure("power off", "VM", name, "after the %s kill: %s" % (kind, exc)))
            if gone:
                warnings.append("VM '%s' was stopped with `%s vm process kill --type=%s` (no guest shutdown "
                                "without hostd)" % (name, tool, kind))
                return
            if clock() >= deadline:
                break
            sleep(1)
    raise GhostError(failure("power off", "VM", name, "world %s still runs after %s kills through %s" % (
        world_id, ", ".join(kind for kind, _wait in steps), tool)))
