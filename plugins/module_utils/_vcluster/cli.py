# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running the real vcluster CLI. Private to ghost.infra; no compatibility promise.

The CLI has no ``--kubeconfig`` flag: it reads ``KUBECONFIG`` and takes ``--context``. So the
module's kubernetes.core connection options (with their ``K8S_AUTH_*`` fallbacks) become:

- ``host`` with ``api_key``, ``username``/``password`` or ``client_cert``/``client_key``: a
  kubeconfig written for this run only (mode 0600 in a 0700 temporary directory, removed
  afterwards);
- ``kubeconfig`` as a dict: the same, from the dict; as a path: ``KUBECONFIG=<path>``;
- nothing: the CLI's own default (``KUBECONFIG`` of the environment, ``~/.kube/config``);
- ``context``: ``--context`` plus a tiny kubeconfig listed first in ``KUBECONFIG`` that only sets
  ``current-context``, because the CLI reads the installed vcluster config for ``--upgrade``
  with the *current* context, ignoring ``--context`` (vcluster v0.30 getConfigfileFromSecret).

Options the CLI cannot apply on top of a kubeconfig (``ca_cert``, ``validate_certs: false``,
``host`` without credentials, impersonation, proxy headers) are an error rather than being
silently ignored, so the CLI and the API client never talk to different clusters.

Argument vectors are built by pure functions; the process runner is injectable so unit tests
check the argv without a binary. Nothing here imports ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError

INSTALL_HINT = (
    "install the vcluster CLI (https://www.vcluster.com/docs/vcluster/#deploy-vcluster, e.g. "
    "`curl -L -o /usr/local/bin/vcluster https://github.com/loft-sh/vcluster/releases/download/"
    "v0.30.0/vcluster-linux-amd64 && chmod +x /usr/local/bin/vcluster`, or `go install "
    "github.com/loft-sh/vcluster/cmd/vclusterctl@v0.30.0`) and helm, or point the "
    "vcluster_binary option at it")
HELM_HINT = "install helm 3 (https://helm.sh/docs/intro/install/) on the host running the module, on its PATH"
MIN_CLI_TIMEOUT = 60
OUTPUT_TAIL_LINES = 15
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# kubernetes.core's option names and the K8S_AUTH_* variables it falls back to (args_common.py
# AUTH_ARG_MAP: the option name first, then the kubernetes client's name).
AUTH_ENV = {
    "kubeconfig": ("K8S_AUTH_KUBECONFIG",),
    "context": ("K8S_AUTH_CONTEXT",),
    "host": ("K8S_AUTH_HOST",),
    "api_key": ("K8S_AUTH_API_KEY",),
    "username": ("K8S_AUTH_USERNAME",),
    "password": ("K8S_AUTH_PASSWORD",),
    "validate_certs": ("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"),
    "ca_cert": ("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"),
    "client_cert": ("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"),
    "client_key": ("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"),
    "proxy": ("K8S_AUTH_PROXY",),
    "no_proxy": ("K8S_AUTH_NO_PROXY",),
    "impersonate_user": ("K8S_AUTH_IMPERSONATE_USER",),
    "impersonate_groups": ("K8S_AUTH_IMPERSONATE_GROUPS",),
}
_BOOL_OPTIONS = ("validate_certs",)
_LIST_OPTIONS = ("impersonate_groups",)


def resolve_auth(params, environ):
    """The connection options in effect: module parameters, else K8S_AUTH_* like kubernetes.core."""
    auth = {}
    for option, variables in AUTH_ENV.items():
        value = params.get(option)
        if value is None:
            for variable in variables:
                if environ.get(variable):
                    value = environ[variable]
                    break
            if isinstance(value, str) and option in _BOOL_OPTIONS:
                value = value.lower() not in ("0", "false", "no")
            elif isinstance(value, str) and option in _LIST_OPTIONS:
                value = [item for item in value.split(",") if item]
        if value is not None and value != "" and value != []:
            auth[option] = value
    headers = params.get("proxy_headers") or {}
    if any(v is not None for v in headers.values()):
        auth["proxy_headers"] = headers
    return auth


def _has_credentials(auth):
    return bool(auth.get("api_key") or (auth.get("username") and auth.get("password"))
                or (auth.get("client_cert") and auth.get("client_key")))


def generated_kubeconfig(auth):
    """A kubeconfig dict for ``host`` plus credentials (kubernetes.core's "enough to authenticate")."""
    cluster = {"server": auth["host"].rstrip("/")}
    if auth.get("validate_certs") is False:
        # client-go refuses a CA file together with the insecure flag.
        cluster["insecure-skip-tls-verify"] = True
    elif auth.get("ca_cert"):
        cluster["certificate-authority"] = os.path.abspath(os.path.expanduser(auth["ca_cert"]))
    if auth.get("proxy"):
        cluster["proxy-url"] = auth["proxy"]
    user = {}
    if auth.get("api_key"):
        user["token"] = auth["api_key"]
    elif auth.get("username") and auth.get("password"):
        user["username"] = auth["username"]
        user["password"] = auth["password"]
    else:
        user["client-certificate"] = os.path.abspath(os.path.expanduser(auth["client_cert"]))
        user["client-key"] = os.path.abspath(os.path.expanduser(auth["client_key"]))
    if auth.get("impersonate_user"):
        user["as"] = auth["impersonate_user"]
    if auth.get("impersonate_groups"):
        user["as-groups"] = list(auth["impersonate_groups"])
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "host", "cluster": cluster}],
        "users": [{"name": "host", "user": user}],
        "contexts": [{"name": "host", "context": {"cluster": "host", "user": "host"}}],
        "current-context": "host",
    }


def connection_plan(auth):
    """How the CLI reaches the host cluster, as plain data.

    Returns ``{"generated": dict or None, "paths": list or None, "context": str or None,
    "env": {...}}``: ``generated`` is written to a temporary file that goes first in
    ``KUBECONFIG``; ``paths`` are the user's kubeconfig files (None keeps the environment's);
    ``context`` becomes ``--context``; ``env`` holds proxy variables.
    """
    env = {}
    if auth.get("no_proxy"):
        env["NO_PROXY"] = env["no_proxy"] = auth["no_proxy"]
    if auth.get("host") and _has_credentials(auth):
        return {"generated": generated_kubeconfig(auth), "paths": [], "context": None, "env": env}

    unsupported = [option for option in ("host", "ca_cert", "impersonate_user", "impersonate_groups", "proxy_headers")
                   if auth.get(option)]
    if auth.get("validate_certs") is False:
        unsupported.append("validate_certs")
    if unsupported:
        raise GhostError(
            "the vcluster CLI only reads a kubeconfig and a context: %s cannot be applied on top of a "
            "kubeconfig; set them in the kubeconfig, or give host with api_key (or username/password, "
            "or client_cert/client_key) instead" % ", ".join(sorted(unsupported)))
    if auth.get("proxy"):
        env["HTTPS_PROXY"] = env["https_proxy"] = auth["proxy"]
        env["HTTP_PROXY"] = env["http_proxy"] = auth["proxy"]
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        return {"generated": kubeconfig, "paths": [], "context": auth.get("context"), "env": env}
    paths = None
    if kubeconfig:
        paths = [os.path.expanduser(p) for p in str(kubeconfig).split(os.pathsep) if p]
    return {"generated": None, "paths": paths, "context": auth.get("context"), "env": env}


def default_kubeconfig_paths(environ):
    """Where client-go looks when the module gives no kubeconfig: $KUBECONFIG, else ~/.kube/config."""
    if environ.get("KUBECONFIG"):
        return [p for p in environ["KUBECONFIG"].split(os.pathsep) if p]
    return [os.path.join(os.path.expanduser("~"), ".kube", "config")]


def create_argv(binary, name, namespace, *, upgrade=False, chart_version=None, chart_dir=None,
                values_paths=(), context=None):
    """`vcluster create <name> -n <ns> --connect=false [...]`."""
    argv = [binary, "create", name, "--namespace", namespace, "--connect=false"]
    if upgrade:
        argv.append("--upgrade")
    if chart_version:
        argv += ["--chart-version", str(chart_version)]
    if chart_dir:
        argv += ["--local-chart-dir", chart_dir]
    for path in values_paths:
        argv += ["--values", path]
    if context:
        argv += ["--context", context]
    return argv


def delete_argv(binary, name, namespace, *, wait=True, context=None):
    """`vcluster delete <name> -n <ns> --ignore-not-found` (kube contexts are left alone)."""
    argv = [binary, "delete", name, "--namespace", namespace, "--ignore-not-found",
            "--delete-context=false", "--wait=%s" % ("true" if wait else "false")]
    if context:
        argv += ["--context", context]
    return argv


def uninstall_argv(binary, name, namespace, *, wait=True, timeout=300, context=None):
    """`helm uninstall <name> -n <ns>`: for a vcluster release whose workload never appeared."""
    argv = [binary, "uninstall", name, "--namespace", namespace, "--timeout", "%ds" % timeout]
    if wait:
        argv.append("--wait")
    if context:
        argv += ["--kube-context", context]
    return argv


def find_binary(binary, environ, *, option="vcluster_binary", label="the vcluster CLI", hint=INSTALL_HINT):
    """Absolute path of a CLI (a name looked up on PATH, or a path); GhostError with guidance."""
    if os.sep in binary:
        path = os.path.abspath(os.path.expanduser(binary))
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
        raise GhostError("Failed to find %s: %s is not an executable file; %s" % (label, path, hint), option=option)
    found = shutil.which(binary, path=environ.get("PATH", os.defpath))
    if not found:
        raise GhostError("Failed to find %s: no '%s' on PATH (%s); %s" % (
            label, binary, environ.get("PATH", ""), hint), option=option)
    return found


def clean_output(text, secrets=()):
    """CLI output without colour codes, its last lines only, with any secret masked."""
    text = _ANSI_RE.sub("", text or "")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-OUTPUT_TAIL_LINES:])


def run_process(argv, env, cwd, timeout):
    """Run ``argv`` without a shell or a terminal; returns ``(rc, stdout, stderr)``.

    The CLI runs helm: on timeout the whole process group (started here) is killed, and
    TimeoutError is raised.
    """
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        raise TimeoutError("timed out after %ds" % timeout)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class VclusterCli:
    """The vcluster CLI for one module run: resolved binary, connection plan, timeouts."""

    def __init__(self, binary, auth, *, environ=None, runner=run_process, timeout=300):
        self.environ = dict(os.environ if environ is None else environ)
        self.binary = find_binary(binary or "vcluster", self.environ)
        self.plan = connection_plan(auth)
        self.runner = runner
        self.timeout = max(int(timeout or 0), MIN_CLI_TIMEOUT)
        self.secrets = [auth[key] for key in ("api_key", "password") if auth.get(key)]

    def _prepare(self, workdir):
        """Environment for one CLI run; temporary files go to ``workdir`` (0700)."""
        env = dict(self.environ)
        env.update(self.plan["env"])
        paths = []
        context = self.plan["context"]
        if context:
            # First file to set current-context wins when client-go merges KUBECONFIG.
            shim = os.path.join(workdir, "context.yaml")
            _write_private(shim, json.dumps({"apiVersion": "v1", "kind": "Config", "current-context": context}))
            paths.append(shim)
        if self.plan["generated"] is not None:
            generated = os.path.join(workdir, "kubeconfig.yaml")
            _write_private(generated, json.dumps(self.plan["generated"]))  # JSON is valid YAML
            paths.append(generated)
        user_paths = self.plan["paths"]
        if user_paths is None:
            user_paths = default_kubeconfig_paths(self.environ) if paths else None
        if user_paths is not None:
            paths += user_paths
            env["KUBECONFIG"] = os.pathsep.join(paths)
        return env

    def run(self, args_for, what, values_documents=(), *, binary=None, command="vcluster"):
        """Run the CLI (or ``binary``, named ``command`` in messages); ``args_for(values_paths, context)``
        builds the arguments after it.

        ``values_documents`` (dicts) are written as values files next to the temporary
        kubeconfig. Returns the cleaned output; GhostError with the CLI's own words on failure.
        """
        binary = binary or self.binary
        workdir = tempfile.mkdtemp(prefix="ghost-vcluster-")
        try:
            os.chmod(workdir, 0o700)
            env = self._prepare(workdir)
            values_paths = []
            for index, document in enumerate(values_documents):
                path = os.path.join(workdir, "values-%d.yaml" % index)
                _write_private(path, json.dumps(document, default=str))
                values_paths.append(path)
            argv = [binary] + args_for(values_paths, self.plan["context"])
            # The CLI refuses to run in a directory holding a "vcluster" entry: run it in ours.
            try:
                rc, out, err = self.runner(argv, env, workdir, self.timeout)
            except TimeoutError as exc:
                raise GhostError("%s: `%s %s` %s" % (what, command, argv[1], exc))
            except OSError as exc:
                raise GhostError("%s: cannot run %s: %s; %s" % (what, binary, exc,
                                                                INSTALL_HINT if command == "vcluster" else HELM_HINT))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        output = clean_output((out or "") + "\n" + (err or ""), self.secrets)
        if rc != 0:
            raise GhostError("%s: `%s %s` exited with %d: %s" % (what, command, argv[1], rc, output or "no output"))
        return output

    def create(self, name, namespace, *, upgrade=False, chart_version=None, chart_dir=None,
               values_files=(), values_documents=(), what=None):
        def args_for(generated_paths, context):
            argv = create_argv(self.binary, name, namespace, upgrade=upgrade, chart_version=chart_version,
                               chart_dir=chart_dir, values_paths=list(values_files) + generated_paths, context=context)
            return argv[1:]
        return self.run(args_for, what or "Failed to create vcluster '%s/%s'" % (namespace, name), values_documents)

    def delete(self, name, namespace, *, wait=True, what=None):
        def args_for(_paths, context):
            return delete_argv(self.binary, name, namespace, wait=wait, context=context)[1:]
        return self.run(args_for, what or "Failed to delete vcluster '%s/%s'" % (namespace, name))

    def uninstall(self, name, namespace, *, wait=True, what=None):
        """`helm uninstall` of a vcluster release that has no workload (`vcluster delete` cannot see it)."""
        helm = find_binary("helm", self.environ, option=None, label="helm", hint=HELM_HINT)

        def args_for(_paths, context):
            return uninstall_argv(helm, name, namespace, wait=wait, timeout=self.timeout, context=context)[1:]
        return self.run(args_for, what or "Failed to delete vcluster '%s/%s'" % (namespace, name), binary=helm, command="helm")
