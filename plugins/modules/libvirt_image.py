#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_image
short_description: Import a disk image into a libvirt storage pool once, verified by its checksum
version_added: 0.1.0
description:
  - Downloads a qcow2 or raw image over HTTP(S) (or takes a file on the controller), verifies
    its checksum, and uploads it into a libvirt storage pool as a volume that
    M(ghost.infra.libvirt_domain) can use as O(ghost.infra.libvirt_domain#module:base_image).
  - The pool is the cache. Next to the image volume the module writes a small record volume
    C(<name>.sha256-<digest>) (the digest in its name, a C(sha256sum) line as content), last,
    once the upload is complete. libvirt volumes have no metadata of their own; a record
    named after the digest lets one listing of the pool's volume names tell whether the image
    is there, complete, and under which name. When it is, nothing is downloaded and the task
    reports no change. Without O(name), the image is stored once whatever volume it was
    imported as.
  - A volume that exists without a record (imported by hand, or an upload cut off before its
    record was written) is read back through libvirt and hashed by that run; if it holds the image
    the record is written, if it is named after the digest but holds something else it is
    replaced, otherwise the task fails.
  - The download happens on the Ansible controller (an action plugin), with progress lines at
    C(-v). It goes to a partial file in O(download_dir) that a failed or interrupted run
    leaves for the next run to resume (HTTP Range, when the server offers it); once its
    checksum matches it is renamed, copied to the managed node when that is not the controller,
    and streamed into the pool with C(virStorageVol.upload), so a remote hypervisor
    (C(qemu+ssh://)) works like a local one. The uploaded bytes are hashed again on the way;
    any failure deletes the new volume, so a pool never holds half an image.
  - Only the libvirt API is used; no C(qemu-img), C(wget) or C(curl) runs.
author:
  - ghost.infra contributors (@ghost-infra)
options:
  src:
    description:
      - The image, an C(http://) or C(https://) URL or a file on the controller (a relative
        path is looked up like M(ansible.builtin.copy) looks up its O(ansible.builtin.copy#module:src)).
      - Required with O(state=present). Compressed files and formats other than qcow2 and
        raw are refused, as are qcow2 images with a backing file, encryption or an external
        data file.
    type: str
  checksum:
    description:
      - V(sha256:<hex>) or V(sha512:<hex>), or the URL of a checksum list such as
        C(SHA256SUMS) or C(SHA512SUMS) (optionally prefixed with the algorithm,
        V(sha256:https://...)), in which the entry for the file name of O(src) is used. Lines as
        C(sha256sum) writes them, with or without C(--tag), are read; a PGP clearsigned list
        is read but its signature is not checked.
      - Required when O(src) is a URL. For a file on the controller it defaults to the file's
        SHA-256, computed on every run.
      - A checksum list is downloaded on every run (the image it names may have changed);
        with a digest given, a run that finds the image in the pool makes no HTTP request.
      - With O(state=absent) and no O(name), removes the volumes holding this image.
    type: str
  pool:
    description:
      - The storage pool of the image volume. It must exist and be active.
      - Directory pools (C(dir), C(fs), C(netfs)) see a qcow2 image as qcow2. Pools of block
        devices (such as C(logical)) store the bytes but list the volume as raw, so use raw
        images there.
    type: str
    default: default
  name:
    description:
      - The volume name. Default C(<algorithm>-<first 16 hex digits of the digest>.<format>),
        for example C(sha256-6f2d3c1b0a9e8d7c.qcow2), so an image is stored once.
      - With a name, that volume must hold this image; a volume of that name recorded with
        another checksum makes the task fail rather than replace an image that domains may use.
    type: str
  format:
    description:
      - The image format. V(auto) takes it from the image's header (qcow2 when it starts with
        the qcow2 magic, else raw). V(qcow2) or V(raw) also make the task fail when the image is
        another format; a directory pool lists a volume by its header whatever is declared.
    type: str
    choices: [auto, qcow2, raw]
    default: auto
  timeout:
    description:
      - Seconds to wait for an HTTP connection and, during a download, for the next bytes; a
        server that sends nothing for that long fails the task (a later run resumes the
        download).
      - Proxies come from the controller's environment (C(https_proxy), C(http_proxy),
        C(no_proxy)).
    type: int
    default: 30
  validate_certs:
    description:
      - Check the server's TLS certificate for C(https://) URLs.
    type: bool
    default: true
  download_dir:
    description:
      - Folder on the controller for downloads in progress, created with mode C(0700).
      - Default C($XDG_CACHE_HOME/ghost.infra/images), else C(~/.cache/ghost.infra/images).
      - A verified download is deleted once no run uses it; a partial one stays for the next
        run to resume (delete C(*.part) files there to discard them).
    type: path
  state:
    description:
      - V(present) imports the image unless the pool holds it.
      - V(absent) deletes the image volume and its record, the volume O(name) if set, else every
        volume recorded with O(checksum) (and the default-named one). A volume that is the
        backing file of another volume, or a disk or backing file of a domain, is not deleted;
        the task fails naming its users.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - ghost.infra._attributes
  - ghost.infra._attributes.ACTIONGROUP_LIBVIRT
  - ghost.infra.libvirt
attributes:
  action:
    description: Runs on the controller as an action plugin as well as a module on the managed node.
    support: full
    details:
      - The action plugin fetches O(src) and checksum lists on the controller; the module
        talks to libvirt from the managed node, as M(ghost.infra.libvirt_domain) does.
  check_mode:
    support: full
    details:
      - Check mode lists the pool, and for an image it would import reads the first 512 bytes
        (an HTTP Range request) to report its name, format and capacity. Nothing is downloaded,
        created or deleted.
  diff_mode:
    support: full
    details:
      - The diff shows the image volumes by name with pool, format, capacity and checksum.
  platform:
    platforms: posix
notes:
  - The task runs the module twice when it imports; first in check mode to look into the pool,
    then, after the download, to upload. A run that finds the image runs it once.
  - Several hosts importing the same image at once share one download on the controller.
  - The volume's capacity is the image's virtual size for qcow2 (what the guest sees), the file
    size for raw; RV(volume.allocation) is what it takes in the pool.
  - C(async) is not supported.
seealso:
  - module: ghost.infra.libvirt_domain
  - name: libvirt storage volume XML
    description: The volume definitions libvirt reports.
    link: https://libvirt.org/formatstorage.html
"""

EXAMPLES = r"""
- name: Import the Debian 12 cloud image, verified against Debian's SHA512SUMS
  ghost.infra.libvirt_image:
    src: https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2
    checksum: https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS
    pool: default
  register: debian

- name: A VM on top of it
  ghost.infra.libvirt_domain:
    name: web1
    base_image: "{{ debian.volume.pool }}/{{ debian.volume.name }}"
    memory_mb: 2048

- name: An Ubuntu image under a name of my choosing, on a remote KVM host
  ghost.infra.libvirt_image:
    uri: qemu+ssh://root@kvm1.example.com/system
    src: https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img
    checksum: https://cloud-images.ubuntu.com/noble/current/SHA256SUMS
    name: noble.qcow2
    timeout: 60

- name: A raw image from the controller, with a pinned digest
  ghost.infra.libvirt_image:
    src: images/appliance.raw
    checksum: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    format: raw

- name: Remove an image (fails while volumes or domains still use it)
  ghost.infra.libvirt_image:
    name: noble.qcow2
    state: absent
"""

RETURN = r"""
volume:
  description:
    - The image volume (in check mode, as it would be imported; RV(volume.path) and
      RV(volume.allocation) are then V(null)).
    - V(null) with O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: Volume name.
      type: str
      sample: sha256-6f2d3c1b0a9e8d7c.qcow2
    pool:
      description: Storage pool.
      type: str
      sample: default
    path:
      description: Path of the volume on the hypervisor.
      type: str
      sample: /var/lib/libvirt/images/sha256-6f2d3c1b0a9e8d7c.qcow2
    format:
      description: V(qcow2) or V(raw).
      type: str
      sample: qcow2
    capacity:
      description: Size the guest sees, in bytes (the virtual size of a qcow2 image).
      type: int
      sample: 3221225472
    allocation:
      description: Bytes the volume takes in the pool.
      type: int
      sample: 348127232
checksum:
  description: The image's checksum, C(<algorithm>:<hex>) (V(null) for O(state=absent) by O(name) alone).
  returned: always
  type: str
  sample: sha256:6f2d3c1b0a9e8d7c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060f5e
cached:
  description: Whether the pool held the image already, so nothing was downloaded.
  returned: always
  type: bool
  sample: true
downloaded:
  description: Bytes downloaded by this run (a resumed download counts only the rest).
  returned: always
  type: int
  sample: 348127232
removed:
  description: Names of the image volumes O(state=absent) deleted (or would delete), without their records.
  returned: when O(state=absent)
  type: list
  elements: str
  sample: [sha256-6f2d3c1b0a9e8d7c.qcow2]
duration:
  description: Seconds the module ran.
  returned: always
  type: float
  sample: 4.2
"""

import copy  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.ghost.infra.plugins.module_utils._common.module import require_libraries, run  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.argspec import libvirt_argument_spec  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.connection import LIBVIRT  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image import ImageClient  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_runner import ensure_image  # noqa: E402
from ansible_collections.ghost.infra.plugins.module_utils._libvirt.image_spec import OPTIONS  # noqa: E402


def argument_spec():
    spec = libvirt_argument_spec()
    spec.update(copy.deepcopy(OPTIONS))
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_if=[("state", "present", ("src",)),
                                        ("state", "absent", ("name", "checksum"), True)])
    require_libraries(module, LIBVIRT)
    client = ImageClient(module.params["uri"])

    def action():
        try:
            return ensure_image(client, module.params, check_mode=module.check_mode, diff=module._diff)
        finally:
            client.close()

    run(module, action)


if __name__ == "__main__":
    main()
