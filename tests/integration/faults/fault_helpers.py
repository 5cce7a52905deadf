# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private backends the fault tests may break, and the runs they break.

The testbed's daemons are shared by everyone's tests, so a fault test never stops them. It
starts its own from the testbed's binaries instead and stops them by pid:

- ``Vcsim``: the testbed's vSphere simulator build ($GHOST_CACHE/bin/vcsim, fault endpoint
  included) on a free port, optionally with ``-delay`` / ``-method-delay``;
- ``DropProxy``: a proxy in front of it that drops the connection of the first request holding
  a given text after handing the request on (the call happens, its answer is lost);
- ``PrivateLibvirtd``: a root libvirtd in a mount namespace of its own (``unshare -m``), its
  /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt bind
  mounts of a temporary folder: its own socket, state and QEMU processes, nothing shared with
  the testbed's libvirtd (qemu:///session as root would reach the shared one);
- ``PrivateKube``: etcd + kube-apiserver with their own ports, data and PKI (the testbed's own
  command lines and PKI code, tests/testbed/kube.py), the KubeVirt CRDs applied.

``Playbook`` runs ansible-playbook in a session of its own, so a test can SIGKILL the whole run
(ansible-playbook, its worker, the module) at a moment of its choosing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request

TESTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(os.environ.get("GHOST_CACHE") or os.path.expanduser("~/.cache/ghost-infra"), "bin")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
RESULT = re.compile(r"^(fatal: \[localhost\]: FAILED! |(?:ok|changed): \[localhost\] )=> (\{.*?\n\})$", re.S | re.M)


def free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def wait_for(what, check, timeout=60, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))
        time.sleep(interval)


def stop(proc, sig=signal.SIGTERM, timeout=30):
    """Stop a process we started (by its Popen), harder if it does not go."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _binary(name):
    path = os.path.join(BIN, name)
    assert os.access(path, os.X_OK), "no %s at %s: `make testbed-up` builds it" % (name, path)
    return path


# ------------------------------------------------------------------------------------- vSphere

class Vcsim:
    """``with Vcsim(esx=True, method_delay="CreateVM_Task:3000") as sim:`` - sim.port, sim.env()."""

    USER = "fault@vsphere.local"
    TEMPLATE = "ubuntu-22.04-template"

    def __init__(self, *, esx=False, delay_ms=0, method_delay=None, log_dir=None):
        self.port = free_port()
        self.password = "Fault-" + secrets.token_urlsafe(12)
        self.args = [_binary("vcsim"), "-l", "127.0.0.1:%d" % self.port, "-username", self.USER, "-password",
                     self.password, "-template", self.TEMPLATE]
        vcenter = ["-dc", "1", "-cluster", "1", "-host", "1", "-ds", "1", "-vm", "0", "-pool", "1", "-folder", "0",
                   "-pg", "1"]
        self.args += ["-esx"] if esx else vcenter
        if delay_ms:
            self.args += ["-delay", str(delay_ms)]
        if method_delay:
            self.args += ["-method-delay", method_delay]
        self.log_path = os.path.join(log_dir or tempfile.gettempdir(), "vcsim-%d.log" % self.port)
        self.proc = None

    def __enter__(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def listening():
            assert self.proc.poll() is None, "vcsim exited: %s" % self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for("vcsim on port %d" % self.port, listening, timeout=120, interval=0.3)
        return self

    def __exit__(self, *exc):
        stop(self.proc)
        return False

    def log(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")[-2000:]

    def env(self, port=None):
        return {"VMWARE_HOST": "127.0.0.1", "VMWARE_PORT": str(port or self.port), "VMWARE_USER": self.USER,
                "VMWARE_PASSWORD": self.password, "VMWARE_VALIDATE_CERTS": "false"}

    def fault(self, rule):
        """Add a fault rule on the simulator's endpoint (tests/testbed/README.md); its id."""
        req = urllib.request.Request("https://127.0.0.1:%d/ghost-testbed/faults" % self.port,
                                     data=json.dumps(rule).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=_insecure(), timeout=10) as resp:
            return json.loads(resp.read())["id"]

    def faults(self):
        with urllib.request.urlopen("https://127.0.0.1:%d/ghost-testbed/faults" % self.port, context=_insecure(),
                                    timeout=10) as resp:
            return json.loads(resp.read())["faults"]

    @contextlib.contextmanager
    def _content(self):
        """The service content of a pyVmomi session to this simulator (logged out after)."""
        from pyVim.connect import Disconnect, SmartConnect  # pylint: disable=import-outside-toplevel

        si = SmartConnect(host="127.0.0.1", port=self.port, user=self.USER, pwd=self.password, sslContext=_insecure())
        try:
            yield si.RetrieveContent()
        finally:
            Disconnect(si)

    @staticmethod
    def _all(content, kind):
        view = content.viewManager.CreateContainerView(content.rootFolder, [kind], True)
        try:
            return list(view.view)
        finally:
            view.Destroy()

    def inventory(self):
        """{"vms": [names], "folders": {datastore name: [top-level entries]}} through the API,
        datastore folders from the datastore's folder on this machine (summary.url)."""
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel

        with self._content() as content:
            vms = sorted(vm.name for vm in self._all(content, vim.VirtualMachine))
            folders = {ds.name: sorted(os.listdir(ds.summary.url)) for ds in self._all(content, vim.Datastore)
                       if os.path.isdir(ds.summary.url)}
        return {"vms": vms, "folders": folders}

    def datastore_dir(self, name="LocalDS_0"):
        """The folder on this machine that holds datastore ``name`` (its summary.url)."""
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel

        with self._content() as content:
            return {ds.name: ds.summary.url for ds in self._all(content, vim.Datastore)}[name]


def _insecure():
    import ssl  # pylint: disable=import-outside-toplevel

    return ssl._create_unverified_context()  # the simulator's self-signed certificate, 127.0.0.1


def _send_all(sock, data):
    """sendall() for a non-blocking SSL socket."""
    import ssl  # pylint: disable=import-outside-toplevel

    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
            select.select([], [sock], [], 1.0)


class DropProxy:
    """A proxy to the simulator at 127.0.0.1:``port`` that ends TLS (a self-signed certificate)
    and speaks TLS on, so it sees each SOAP request. ``drop_on(text)`` arms it: the first request
    holding ``text`` is handed on to the simulator, then the client's connection is closed before
    the answer comes back (the call happens; its caller never hears of it)."""

    def __init__(self, port):
        self.target = port
        self.port = None
        self.trigger = None
        self.dropped = 0
        self.listener = None
        self.lock = threading.Lock()
        self.folder = None
        self.context = None

    def __enter__(self):
        import ssl  # pylint: disable=import-outside-toplevel

        from apiproxy import self_signed  # pylint: disable=import-outside-toplevel

        self.folder = tempfile.mkdtemp(prefix="dropproxy-")
        cert, key = self_signed(self.folder)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.listener.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return False

    def drop_on(self, text):
        with self.lock:
            self.trigger = text.encode()

    def _accept(self):
        while True:
            try:
                raw, _addr = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            client = self.context.wrap_socket(raw, server_side=True)
            upstream = _insecure().wrap_socket(socket.create_connection(("127.0.0.1", self.target)),
                                               server_hostname="127.0.0.1")
        except OSError:
            raw.close()
            return
        self._relay(client, upstream)

    def _relay(self, client, upstream):
        """Both directions in this one thread, on non-blocking sockets. An SSL socket must never
        be read in one thread while another writes it (OpenSSL's connection objects are not
        thread-safe: with a thread per direction the proxy now and then stopped answering and
        the module's connect ran into its timeout before any fault), and a blocking read would
        wait for application data after a TLS record that carries none (a session ticket)."""
        import ssl  # pylint: disable=import-outside-toplevel

        peers = {client: upstream, upstream: client}
        try:
            for sock in peers:
                sock.setblocking(False)
            while True:
                # Decrypted bytes already buffered in the SSL object do not make the fd readable.
                ready = [sock for sock in peers if sock.pending()]
                if not ready:
                    ready, _w, _x = select.select(list(peers), [], [], 1.0)
                for source in ready:
                    try:
                        data = source.recv(65536)
                    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                        continue  # a TLS record without application data
                    if not data:
                        return
                    _send_all(peers[source], data)
                    if source is client and self._hit(data):
                        # The request reached the simulator; its answer never reaches the client.
                        time.sleep(0.5)
                        return
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass

    def _hit(self, data):
        with self.lock:
            if self.trigger is not None and self.trigger in data:
                self.trigger = None
                self.dropped += 1
                return True
        return False


# ------------------------------------------------------------------------------------- libvirt

LIBVIRT_DIRS = {"run": "/run/libvirt", "lib": "/var/lib/libvirt", "cache": "/var/cache/libvirt",
                "log": "/var/log/libvirt", "etc": "/etc/libvirt"}


class PrivateLibvirtd:
    """A root libvirtd of the test's own in a private mount namespace (see the module docstring).

    ``uri`` reaches it through its socket; ``kill()`` SIGKILLs it (its QEMU processes go on, as
    with a crashed daemon), ``start()`` starts it again on the same state. ``pool`` is a dir pool
    in ``base/pool`` with a small qcow2 ``base.qcow2``.
    """

    def __init__(self, base):
        self.base = str(base)
        self.uri = "qemu+unix:///system?socket=%s/run/libvirt-sock" % self.base
        self.pool = "faultpool"
        self.pool_dir = os.path.join(self.base, "pool")
        self.proc = None
        self.log_path = os.path.join(self.base, "libvirtd.log")

    def prepare(self):
        for name in LIBVIRT_DIRS:
            os.makedirs(os.path.join(self.base, name), mode=0o700, exist_ok=True)
        os.makedirs(self.pool_dir, exist_ok=True)
        etc = os.path.join(self.base, "etc")
        # Only the daemon's and the QEMU driver's settings: no domain, network or pool of the
        # machine's own libvirtd may show up (and autostart) here.
        for name in ("libvirtd.conf", "qemu.conf"):
            if os.path.isfile(os.path.join("/etc/libvirt", name)):
                shutil.copyfile(os.path.join("/etc/libvirt", name), os.path.join(etc, name))
        with open(os.path.join(etc, "qemu.conf"), "a") as handle:
            handle.write('\n# Private daemon of a fault test: no virtlogd of its own.\nstdio_handler = "file"\n')
        script = ["set -e"] + ["mount --bind %s %s" % (os.path.join(self.base, name), target)
                               for name, target in LIBVIRT_DIRS.items()]
        script.append("exec /usr/sbin/libvirtd")
        with open(os.path.join(self.base, "start.sh"), "w") as handle:
            handle.write("\n".join(script) + "\n")
        return self

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "bash",
                                          os.path.join(self.base, "start.sh")], stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        wait_for("the private libvirtd", self._answers, timeout=90, interval=0.3)
        return self

    def _answers(self):
        assert self.proc.poll() is None, "the private libvirtd exited:\n%s" % self.log()
        return subprocess.run(["virsh", "-c", self.uri, "uri"], capture_output=True, check=False).returncode == 0

    def log(self):
        with open(self.log_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")[-3000:]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)

    def virsh(self, *args, check=True):
        proc = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args), capture_output=True, text=True,
                              check=False)
        if check:
            assert proc.returncode == 0, "virsh %s: %s" % (" ".join(args), proc.stderr)
        return proc.stdout

    def make_pool(self):
        xml = ("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (self.pool, self.pool_dir))
        path = os.path.join(self.base, "pool.xml")
        with open(path, "w") as handle:
            handle.write(xml)
        self.virsh("pool-define", path)
        self.virsh("pool-start", self.pool)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", os.path.join(self.pool_dir, "base.qcow2"), "64M"],
                       check=True)
        self.virsh("pool-refresh", self.pool)
        return "%s/base.qcow2" % self.pool

    def domains(self):
        return sorted(self.virsh("list", "--all", "--name").split())

    def volumes(self):
        self.virsh("pool-refresh", self.pool)
        return sorted(line.split()[0] for line in self.virsh("vol-list", self.pool).splitlines() if line.strip())

    def close(self):
        """Destroy its domains, stop it, then end any QEMU it left (by the pid files in its run folder)."""
        if self.proc is not None and self.proc.poll() is None:
            for name in self.domains():
                self.virsh("destroy", name, check=False)
            stop(self.proc)
        qemu_run = os.path.join(self.base, "run", "qemu")
        for name in os.listdir(qemu_run) if os.path.isdir(qemu_run) else []:
            if name.endswith(".pid"):
                try:
                    with open(os.path.join(qemu_run, name)) as handle:
                        os.kill(int(handle.read().strip()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass


# ---------------------------------------------------------------------------------- Kubernetes

class PrivateKube:
    """etcd + kube-apiserver of the test's own (stop/start the API server at will); ``kubeconfig``
    is its admin kubeconfig (a static token), the KubeVirt CRDs are applied."""

    def __init__(self, base):
        sys.path.insert(0, TESTS)
        from testbed.kube import Kube  # pylint: disable=import-outside-toplevel

        self.base = str(base)
        self.ports = {name: free_port() for name in ("etcd", "etcd_peer", "apiserver", "vapiserver", "kcm",
                                                     "scheduler", "kwok")}
        self.kube = Kube(self.base, BIN, self.ports)
        self.kubeconfig = self.kube.admin_kubeconfig
        self.procs = {}

    def _start(self, component):
        with open(os.path.join(self.base, "%s.log" % component), "ab") as log:
            self.procs[component] = subprocess.Popen(self.kube.argv(component), stdout=log, stderr=subprocess.STDOUT,
                                                     start_new_session=True)

        def healthy():
            assert self.procs[component].poll() is None, "%s exited: %s" % (component, self.log(component))
            return self.kube.health(component)[0]
        wait_for(component, healthy, timeout=240, interval=0.5)

    def log(self, component):
        with open(os.path.join(self.base, "%s.log" % component), "rb") as handle:
            return handle.read().decode("utf-8", "replace")[-2000:]

    def start(self):
        self.kube.prepare()
        self._start("etcd")
        self.start_apiserver()
        manifest = os.path.join(TESTS, "testbed", "manifests", "kubevirt-crds.yaml")
        subprocess.run([_binary("kubectl"), "--kubeconfig", self.kubeconfig, "apply", "-f", manifest],
                       check=True, capture_output=True)
        wait_for("the KubeVirt CRDs to be served", lambda: subprocess.run(
            [_binary("kubectl"), "--kubeconfig", self.kubeconfig, "get", "virtualmachinesnapshots", "-A"],
            capture_output=True, check=False).returncode == 0, timeout=60, interval=0.5)
        return self

    def start_apiserver(self):
        self._start("kube-apiserver")

    def stop_apiserver(self):
        stop(self.procs.pop("kube-apiserver"))

    def close(self):
        for component in ("kube-apiserver", "etcd"):
            stop(self.procs.pop(component, None))

    def client(self):
        import kubernetes  # pylint: disable=import-outside-toplevel

        return kubernetes.config.new_client_from_config(config_file=self.kubeconfig)


# ------------------------------------------------------------------------------------- playbooks

class Playbook:
    """One task's playbook, run with ansible-playbook -vvv in a session of its own."""

    def __init__(self, tmp, task, *, env=None, name="play"):
        self.tmp = str(tmp)
        self.path = os.path.join(self.tmp, "%s.yml" % name)
        with open(self.path, "w") as handle:
            handle.write(textwrap.dedent("""\
                - hosts: localhost
                  connection: local
                  gather_facts: false
                  tasks:
                """) + textwrap.indent(textwrap.dedent(task).strip() + "\n", "    "))
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "0",
                         "ANSIBLE_LOCAL_TEMP": os.path.join(self.tmp, "ansible-local"),
                         "ANSIBLE_ASYNC_DIR": os.path.join(self.tmp, "async")})
        self.proc = None
        self.outputs = []

    def argv(self):
        return [ANSIBLE_PLAYBOOK, "-vvv", "-i", "localhost,", self.path,
                "-e", "ansible_python_interpreter=%s" % sys.executable]

    def start(self):
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     universal_newlines=True, start_new_session=True)
        return self

    def kill(self):
        """SIGKILL the whole run: ansible-playbook, its workers and the module."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        out, _err = self.proc.communicate()
        self.outputs.append(out)
        return out

    def run(self, timeout=600):
        """Run to the end; (seconds, result dict of the task or None, output)."""
        started = time.monotonic()
        proc = subprocess.run(self.argv(), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=timeout, check=False)
        self.outputs.append(proc.stdout)
        return time.monotonic() - started, task_result(proc.stdout), proc.stdout


def task_result(output):
    """The result JSON the default callback printed for the (last) task, or None."""
    found = RESULT.findall(output)
    if not found:
        return None
    status, text = found[-1]
    result = json.loads(text)
    result["failed"] = status.startswith("fatal")
    return result


def no_traceback(result, output):
    """Problems that show a crash instead of a clear error."""
    problems = []
    if "Traceback (most recent call last)" in output:
        problems.append("a traceback in the output")
    if result is not None:
        msg = str(result.get("msg", ""))
        if "MODULE FAILURE" in msg or result.get("module_stderr"):
            problems.append("MODULE FAILURE")
        if result.get("exception") not in (None, "(traceback unavailable)"):
            problems.append("an exception in the result")
    return problems
