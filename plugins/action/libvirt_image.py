# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin for ghost.infra.libvirt_image: the controller half of the image cache.

A module cannot print while it runs, and ``src`` is a URL or a file of the controller, so the
controller does what involves the image file, and the module what involves libvirt (from the
managed node, with the same ``uri`` as ghost.infra.libvirt_domain):

1. resolve ``checksum`` (download a SHA256SUMS list; hash a local file given without one);
2. run the module in check mode: one listing of the pool says whether the image is there.
   Found, or ``state=absent``: that result is the task's (``absent`` runs the module once as
   the task asks);
3. check mode: read the image's first 512 bytes (an HTTP Range request) to report the name,
   format and capacity the import would have;
4. otherwise download into the controller's cache with progress lines at ``-v``
   (image_fetch.ImageCache: resumable, verified, then renamed), copy the file to the managed
   node unless that is the controller, and run the module again to upload it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.ghost.infra.plugins.module_utils._common.errors import GhostError
from ansible_collections.ghost.infra.plugins.module_utils._libvirt import image_spec as spec
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_fetch import (
    Fetcher,
    ImageCache,
    hash_file,
    safe_url,
)
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_runner import read_header

display = Display()

MODULE = "ghost.infra.libvirt_image"
# The action's view of the options: uri is only passed on (the module applies its fallback,
# LIBVIRT_DEFAULT_URI, on the managed node, not the controller's).
ACTION_SPEC = dict(spec.OPTIONS, uri={"type": "str"})


def default_download_dir():
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "ghost.infra", "images")


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    _force_check_mode = False
    _host = None

    def _update_module_args(self, module_name, module_args, task_vars, *args, **kwargs):
        super(ActionModule, self)._update_module_args(module_name, module_args, task_vars, *args, **kwargs)
        if self._force_check_mode:
            module_args["_ansible_check_mode"] = True  # the look into the pool before a download

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no effect since Ansible 2.5
        task_vars = task_vars or {}
        self._host = task_vars.get("inventory_hostname")
        try:
            _validation, opts = self.validate_argument_spec(
                argument_spec=ACTION_SPEC,
                required_if=[("state", "present", ("src",)), ("state", "absent", ("name", "checksum"), True)])
            result.update(self._ensure(opts, task_vars))
        except GhostError as exc:
            result.update(failed=True, msg=str(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _report(self, line):
        display.v("libvirt_image: %s" % line, host=self._host)

    def _fetcher(self, opts):
        return Fetcher(timeout=opts["timeout"], validate_certs=opts["validate_certs"], report=self._report)

    def _module(self, args, task_vars, *, check_mode=False):
        self._force_check_mode = check_mode
        try:
            return self._execute_module(module_name=MODULE, module_args=dict(args), task_vars=task_vars)
        finally:
            self._force_check_mode = False

    def _ensure(self, opts, task_vars):
        if opts["timeout"] is not None and opts["timeout"] < 1:
            raise GhostError("must be at least 1 second, got %d" % opts["timeout"], option="timeout")
        checksum = self._checksum(opts)
        args = dict(self._task.args)
        if spec.is_url(opts["src"]):
            args["src"] = safe_url(opts["src"])  # the module never fetches it; no credentials in its invocation
        if checksum is not None:
            args["checksum"] = spec.checksum_text(checksum["algorithm"], checksum["digest"])
        if opts["state"] == "absent":
            return self._module(args, task_vars)
        probe = self._module(args, task_vars, check_mode=True)
        if probe.get("failed") or probe.get("cached"):
            if probe.get("cached") and probe.get("changed") and not self._task.check_mode:
                return self._module(args, task_vars)  # found by reading it back: write its record
            return probe
        if self._task.check_mode:
            return self._planned(probe, opts, checksum)
        return self._import(args, opts, checksum, task_vars)

    # -- the controller's side of the image ---------------------------------------------

    def _local_path(self, src):
        try:
            path = self._find_needle("files", src)
        except AnsibleError as exc:
            raise GhostError("file not found on the controller: %s" % exc, option="src")
        if os.path.isdir(path):
            raise GhostError("%s is a directory, not an image file" % path, option="src")
        return path

    def _checksum(self, opts):
        """``{"algorithm", "digest"}`` of the image, or None (state=absent by name)."""
        src = opts["src"]
        if src:
            spec.check_source(src)
        parsed = spec.parse_checksum(opts["checksum"])
        if parsed is None:
            if opts["state"] == "absent":
                return None
            if spec.is_url(src):
                raise GhostError("is required when src is a URL: it names the volume and proves the "
                                 "download (sha256:<hex> or the URL of a SHA256SUMS file)", option="checksum")
            return {"algorithm": "sha256", "digest": hash_file(self._local_path(src), "sha256", report=self._report),
                    "computed": True}
        if "url" not in parsed:
            return parsed
        if not src:
            raise GhostError("a checksum file needs src, whose file name picks the entry", option="checksum")
        text = self._fetcher(opts).text(parsed["url"])
        return spec.parse_sums(text, spec.source_filename(src), algorithm=parsed["algorithm"],
                               source=safe_url(parsed["url"]))

    def _planned(self, probe, opts, checksum):
        """Check mode: the probe's result, with what the image's header says it would become."""
        src = opts["src"]
        if spec.is_url(src):
            header, size = self._fetcher(opts).peek(src)
        else:
            header, size = read_header(self._local_path(src))
        facts = spec.import_facts(header, size, fmt_option=opts["format"])
        name = opts["name"] or spec.default_name(checksum["algorithm"], checksum["digest"], facts["format"])
        volume = spec.planned_view(name=name, pool=opts["pool"], fmt=facts["format"], capacity=facts["capacity"])
        result = dict(probe, volume=volume)
        if isinstance(probe.get("diff"), dict):
            result["diff"] = {"before": probe["diff"].get("before", {}),
                              "after": spec.diff_side([volume], probe.get("checksum"))}
        return result

    def _import(self, args, opts, checksum, task_vars):
        src = opts["src"]
        cache = None
        if spec.is_url(src):
            cache = ImageCache(opts["download_dir"] or default_download_dir(), fetcher=self._fetcher(opts))
            path, downloaded = cache.acquire(src, algorithm=checksum["algorithm"], digest=checksum["digest"])
        else:
            path, downloaded = self._local_path(src), 0
            if not checksum.get("computed"):
                actual = hash_file(path, checksum["algorithm"], report=self._report)
                if actual != checksum["digest"]:
                    raise GhostError("checksum mismatch: %s is %s:%s, %s was expected; nothing was imported"
                                     % (path, checksum["algorithm"], actual, args["checksum"]), option="src")
        try:
            header, size = read_header(path)
            facts = spec.import_facts(header, size, fmt_option=opts["format"])  # refuse before copying
            args["src"] = self._on_managed_node(path)
            self._report("uploading %.1f MiB (%s) into pool %s" % (size / 1048576.0, facts["format"], opts["pool"]))
            result = self._module(args, task_vars)
        finally:
            if cache is not None:
                cache.release(path)
        result["downloaded"] = downloaded
        return result

    def _on_managed_node(self, path):
        """A path of the image the module can read: the controller's own file when the module
        runs on the controller as a user that can read it, else a copy in the remote tmp dir."""
        if self._connection.transport == "local" and not self._is_become_unprivileged():
            return path
        tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
        remote = self._connection._shell.join_path(tmpdir, "image")
        self._report("copying the image to the managed node")
        self._transfer_file(path, remote)
        self._fixup_perms2((tmpdir, remote), execute=False)
        return remote
