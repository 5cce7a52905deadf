# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input campaign's machinery: cases as data, each run as the module's own process.

A case is one module call with one bad input (``Case``). ``cases_*.py`` files in this folder each
hold a list ``CASES``; a new module adds its file (or its lines), nothing else. Values in
``args`` and ``files`` may hold placeholders, replaced per run (``Run.expand``):

  @NAME@      a name of the case's own (a DNS-1123 label that carries the run's token): every
              object a case could create must be named with it, so a leftover is found and
              attributed to its case
  @TOKEN@     the run's token (for names a case makes invalid on purpose)
  @SECRET@    a secret of the case's own; the campaign fails if it appears in any output
  @DIR@       the case's own folder (its ``files`` are written there first, mode 0600)
  @HOME@      HOME of the run (a temporary folder)
  @NS@        a namespace of the run's own; @VM@ a KubeVirt VirtualMachine in it
  and the testbed's: @ESXI_PORT@ (an int), @TEMPLATE@, @POOL@, @POOL_DIR@, @BASE_IMAGE@,
  @DOMAIN_TYPE@, @APISERVER@ (the host cluster's URL), @VCLUSTER_API@, @VCLUSTER_CHART@,
  @VCLUSTER_VALUES@, @KUBECONFIG@

Each case runs as Ansible runs a module on its target: the module's file under the collection's
Python path, its arguments in an ANSIBLE_MODULE_ARGS file. That is what decides what a user sees
(the module masks its no_log values itself) and costs a third of an ansible-playbook task on a
loaded machine; ``lanes`` cases run at a time. Modules with an action plugin (libvirt_image,
vcluster) do part of their work on the controller, so their cases run through one
ansible-playbook at -vvv instead, beside the others (secrets as host variables; each host dumps
its registered results to JSON in a no_log task).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import concurrent.futures
import importlib.util
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import time

import yaml

TESTS = pathlib.Path(__file__).resolve().parent.parent.parent
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
CASE_TIMEOUT = 240


class Case(collections.namedtuple("Case", "id module args option problem files note")):
    """``id`` (unique, kebab case), ``module`` (short name in ghost.infra), ``args`` (dict),
    ``option`` (the option the message must name; None only for rejected credentials, where the
    server cannot tell which option is wrong and ``problem`` must say it refused them), ``problem`` (a regular expression the message
    must match, case-insensitive: what is wrong), ``files`` ({name: text} written to @DIR@ first),
    ``note`` (what the input is, for the table; default: the args)."""

    def __new__(cls, id, module, args, option, problem, files=None, note=None):  # noqa: A002 (the field's name)
        return super(Case, cls).__new__(cls, id, module, args, option, problem, files or {}, note)


def _walk(value, replace):
    if isinstance(value, dict):
        return {_walk(k, replace): _walk(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, replace) for v in value]
    if isinstance(value, str):
        return replace(value)
    return value


class Run:
    """One run of the campaign: its token, folders, the placeholders' values, the results."""

    def __init__(self, cases, *, workdir, testbed, lanes=2, playbook_hosts=2):
        ids = [c.id for c in cases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        assert not dupes, "duplicate case ids: %s" % dupes
        self.cases = list(cases)
        self.token = secrets.token_hex(3)
        self.workdir = str(workdir)
        self.home = os.path.join(self.workdir, "home")
        self.lanes = lanes
        self.playbook_hosts = playbook_hosts
        self.testbed = testbed
        self.markers = {c.id: "gb%sc%03d" % (self.token, i) for i, c in enumerate(self.cases)}
        self.case_secrets = {c.id: "GhostBadSecret%sx%03d" % (self.token, i) for i, c in enumerate(self.cases)}
        self.namespace = "gb%s-ns" % self.token
        self.values = {
            "@TOKEN@": self.token,
            "@HOME@": self.home,
            "@NS@": self.namespace,
            "@VM@": "gb%s-vm" % self.token,
            "@ESXI_PORT@": int(testbed.get("GHOST_ESXI_PORT", 0) or 0),
            "@TEMPLATE@": testbed.get("GHOST_VSPHERE_TEMPLATE", ""),
            "@POOL@": testbed.get("GHOST_LIBVIRT_POOL", ""),
            "@POOL_DIR@": testbed.get("GHOST_LIBVIRT_POOL_DIR", ""),
            "@BASE_IMAGE@": testbed.get("GHOST_BASE_IMAGE", ""),
            "@DOMAIN_TYPE@": testbed.get("GHOST_LIBVIRT_DOMAIN_TYPE", "qemu"),
            "@VCLUSTER_API@": testbed.get("GHOST_VCLUSTER_API", ""),
            "@VCLUSTER_CHART@": testbed.get("GHOST_VCLUSTER_CHART_DIR", ""),
            # env.sh's GHOST_VCLUSTER_VALUES may name a staged copy that is gone: this tree has it.
            "@VCLUSTER_VALUES@": str(TESTS / "testbed" / "manifests" / "vcluster-values.yaml"),
            "@KUBECONFIG@": testbed.get("K8S_AUTH_KUBECONFIG", ""),
            "@APISERVER@": _server(testbed.get("K8S_AUTH_KUBECONFIG")),
        }
        self.direct = [c for c in self.cases if not has_action_plugin(c.module)]
        self.through_ansible = [c for c in self.cases if has_action_plugin(c.module)]
        self.results = {}
        self.outputs = {}
        self.playbook_output = ""
        self.seconds = 0.0

    def case_dir(self, case):
        return os.path.join(self.workdir, "cases", self.markers[case.id])

    def secret_var(self, case):
        return "s_" + self.markers[case.id]

    def expand(self, case, value, *, in_playbook=False):
        """``value`` with the placeholders replaced (an exact placeholder may become an int). In a
        playbook, @SECRET@ is a variable (a host variable of the inventory), as a user keeps it
        in a vault: Ansible quotes the playbook's text in its error messages."""
        values = dict(self.values)
        secret = "{{ %s }}" % self.secret_var(case) if in_playbook else self.case_secrets[case.id]
        values.update({"@NAME@": self.markers[case.id], "@SECRET@": secret, "@DIR@": self.case_dir(case)})

        def replace(text):
            if text in values:
                return values[text]
            return re.sub(r"@[A-Z_]+@", lambda m: str(values.get(m.group(0), m.group(0))), text)

        return _walk(value, replace)

    @staticmethod
    def _write(path, text, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)

    def args_file(self, case):
        return os.path.join(self.workdir, "args", self.markers[case.id] + ".json")

    def prepare(self):
        """The run's HOME, each case's folder with its files, the arguments files of the direct
        cases, the playbook of the others."""
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        os.makedirs(os.path.join(self.workdir, "args"), mode=0o700, exist_ok=True)
        vcluster = shutil.which("vcluster", path=self.env()["PATH"])
        if vcluster:
            # The testbed has no internet: no usage reporting from this HOME either.
            subprocess.run([vcluster, "telemetry", "disable"], env=self.env(), capture_output=True, check=True)
        for case in self.cases:
            folder = self.case_dir(case)
            os.makedirs(folder, mode=0o700)
            for name, text in case.files.items():
                self._write(os.path.join(folder, name), self.expand(case, text))
        for case in self.direct:
            self._write(self.args_file(case), json.dumps({"ANSIBLE_MODULE_ARGS": self.expand(case, case.args)}))
        if self.through_ansible:
            self._prepare_playbook()

    def _prepare_playbook(self):
        """One play over ``playbook_hosts`` local hosts; each includes its own task file, whose
        last task dumps the registered results (no_log) to JSON."""
        hosts = collections.OrderedDict(("host%d" % i, []) for i in range(self.playbook_hosts))
        for index, case in enumerate(self.through_ansible):
            hosts["host%d" % (index % self.playbook_hosts)].append(case)
        inventory = {"all": {"hosts": {}}}
        for host, cases in hosts.items():
            tasks = [{"name": "case %s" % case.id, "register": "r_" + self.markers[case.id], "ignore_errors": True,
                      "timeout": CASE_TIMEOUT,
                      "ghost.infra.%s" % case.module: self.expand(case, case.args, in_playbook=True)}
                     for case in cases]
            dump = "{{ {%s} | to_json }}" % ", ".join(
                '"%s": r_%s | default(None)' % (c.id, self.markers[c.id]) for c in cases)
            tasks.append({"name": "Results of %s" % host, "no_log": True, "ansible.builtin.copy": {
                "content": dump, "mode": "0600", "dest": os.path.join(self.workdir, "%s.json" % host)}})
            self._write(os.path.join(self.workdir, "%s.yml" % host), json.dumps(tasks, indent=1))
            variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
            variables.update((self.secret_var(c), self.case_secrets[c.id]) for c in cases)
            inventory["all"]["hosts"][host] = variables
        play = [{"hosts": "all", "gather_facts": False, "strategy": "free", "tasks": [
            {"ansible.builtin.include_tasks": os.path.join(self.workdir, "{{ inventory_hostname }}.yml")}]}]
        self._write(os.path.join(self.workdir, "play.yml"), json.dumps(play, indent=1))
        self._write(os.path.join(self.workdir, "inventory.json"), json.dumps(inventory))

    def env(self):
        env = dict(os.environ)
        env.update(self.testbed)
        env.update({"HOME": self.home, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                    "ANSIBLE_REMOTE_TEMP": os.path.join(self.home, ".ansible", "tmp"),
                    "ANSIBLE_LOCAL_TEMP": os.path.join(self.home, ".ansible", "local"),
                    "ANSIBLE_FORKS": str(self.playbook_hosts), "ANSIBLE_PIPELINING": "1"})
        return env

    def run_case(self, case, env):
        """One module process, as Ansible starts it on a target; its result dict (a crash becomes
        Ansible's MODULE FAILURE shape) and everything it printed."""
        started = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, module_file(case.module), self.args_file(case)], env=env,
                                  cwd=self.case_dir(case), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, timeout=CASE_TIMEOUT, check=False)
        except subprocess.TimeoutExpired as exc:
            return {"failed": True, "msg": "the module did not end within %d s" % CASE_TIMEOUT}, "%s\n%s" % (
                exc.stdout or "", exc.stderr or "")
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            result = {"failed": True, "msg": "MODULE FAILURE", "module_stdout": proc.stdout[-3000:], "rc": proc.returncode}
        if proc.stderr.strip():
            result["module_stderr"] = proc.stderr[-3000:]
        result["_seconds"] = round(time.monotonic() - started, 2)
        return result, proc.stdout + "\n" + proc.stderr

    def run_playbook(self, env):
        """The cases of modules with an action plugin, through ansible-playbook -vvv."""
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-vvv", "-i", os.path.join(self.workdir, "inventory.json"),
                               os.path.join(self.workdir, "play.yml")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=CASE_TIMEOUT * (1 + len(self.through_ansible)), check=False)
        results = {}
        for host in range(self.playbook_hosts):
            path = os.path.join(self.workdir, "host%d.json" % host)
            if os.path.isfile(path):
                with open(path) as handle:
                    results.update(json.load(handle))
        return results, proc.stdout

    def play(self):
        """Every case: ``lanes`` module processes at a time, beside the playbook."""
        env = self.env()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.lanes + 1) as pool:
            playbook = pool.submit(self.run_playbook, env) if self.through_ansible else None
            with concurrent.futures.ThreadPoolExecutor(max_workers=self.lanes) as lanes:
                futures = {lanes.submit(self.run_case, case, env): case for case in self.direct}
                for future in concurrent.futures.as_completed(futures):
                    case = futures[future]
                    self.results[case.id], self.outputs[case.id] = future.result()
            if playbook is not None:
                results, self.playbook_output = playbook.result()
                for case in self.through_ansible:
                    self.results[case.id] = results.get(case.id)
                    # Each case's secret is its own, so the whole output is every such case's.
                    self.outputs[case.id] = self.playbook_output
        self.seconds = time.monotonic() - started
        self._write(os.path.join(self.workdir, "results.json"), json.dumps(self.results, indent=1, sort_keys=True))
        return self


def has_action_plugin(module):
    """Whether ``module`` has an action plugin (it runs only through Ansible then)."""
    return importlib.util.find_spec("ansible_collections.ghost.infra.plugins.action.%s" % module) is not None


def module_file(module):
    """The file of a ghost.infra module in the collection on the Python path (the staged copy)."""
    spec = importlib.util.find_spec("ansible_collections.ghost.infra.plugins.modules.%s" % module)
    assert spec and spec.origin, "module ghost.infra.%s is not on the Python path" % module
    return spec.origin


def names_option(option, msg):
    """Whether ``msg`` names ``option`` (``base_image`` also as "base image")."""
    words = re.escape(option).replace("_", "[_ -]")
    return re.search(r"(^|[^A-Za-z0-9_])%s([^A-Za-z0-9_]|$)" % words, msg) is not None


def verdict(case, result):
    """The problems of one case's result, as a list of strings (empty: the case is handled well)."""
    if result is None:
        return ["no result: the case did not run"]
    problems = []
    msg = result.get("msg")
    msg = msg if isinstance(msg, str) else json.dumps(msg)
    if result.get("failed") is not True:
        problems.append("did not fail (changed=%s)" % result.get("changed"))
    # Ansible 2.19 puts "(traceback unavailable)" under ``exception`` of every failed task.
    exception = result.get("exception")
    if "Traceback" in json.dumps(result) or "MODULE FAILURE" in msg or exception not in (None, "(traceback unavailable)"):
        problems.append("ended in a traceback / MODULE FAILURE")
    if result.get("module_stderr"):
        problems.append("wrote to stderr: %s" % result["module_stderr"][-200:])
    if case.option and not names_option(case.option, msg):
        problems.append("the message does not name the option '%s'" % case.option)
    if not re.search(case.problem, msg, re.I):
        problems.append("the message does not say /%s/" % case.problem)
    return problems


def describe(case):
    if case.note:
        return case.note
    text = json.dumps(case.args, sort_keys=True)
    return text if len(text) <= 70 else text[:67] + "..."


def table(rows):
    """Markdown-ish table: case, input, outcome, message."""
    lines = ["| case | input | outcome | msg |", "| --- | --- | --- | --- |"]
    for case_id, what, outcome, msg in rows:
        msg = " ".join(str(msg).split())
        lines.append("| %s | %s | %s | %s |" % (case_id, what, outcome, msg if len(msg) <= 160 else msg[:157] + "..."))
    return "\n".join(lines)


def _server(kubeconfig):
    if not kubeconfig or not os.path.isfile(kubeconfig):
        return ""
    with open(kubeconfig) as handle:
        config = yaml.safe_load(handle) or {}
    clusters = config.get("clusters") or [{}]
    return (clusters[0].get("cluster") or {}).get("server", "")
