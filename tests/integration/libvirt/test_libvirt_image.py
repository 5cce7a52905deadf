# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ghost.infra.libvirt_image against the testbed's libvirtd and an HTTP server on 127.0.0.1.

The module runs as Ansible runs it (``ansible localhost -m``, so the action plugin downloads
and the module uploads) into a directory pool of the test's own. Outcomes are read back from
libvirt: the volume's bytes are downloaded through a libvirt stream and hashed, the pool's
volume names are listed, the server counts its requests, the download folder is listed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from image_http import STALL_BYTES, ImageServer

ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")
VIRTUAL_SIZE = 64 * 1024 * 1024


def _qcow2(folder, name, seed):
    """A real qcow2 image (qemu-img) of 64 MiB virtual size with ~3 MiB of data in it."""
    raw = os.path.join(folder, name + ".raw")
    with open(raw, "wb") as handle:
        handle.truncate(VIRTUAL_SIZE)
        for index in range(6):
            handle.seek(index * 9 * 1024 * 1024)
            handle.write(hashlib.sha256(b"%d-%d" % (seed, index)).digest() * (512 * 1024 // 32))
    path = os.path.join(folder, name)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, path], check=True)
    os.unlink(raw)
    with open(path, "rb") as handle:
        return handle.read()


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("images"))
    return {"a": _qcow2(folder, "a.qcow2", 1), "b": _qcow2(folder, "b.qcow2", 2)}


@pytest.fixture(scope="module")
def conn(testbed):
    import libvirt  # pylint: disable=import-outside-toplevel

    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    connection = libvirt.open(testbed["LIBVIRT_DEFAULT_URI"])
    yield connection
    connection.close()


@pytest.fixture
def pool(conn, tmp_path):
    """A transient dir pool of this test; its volumes and folder are removed afterwards."""
    folder = tmp_path / "pool"
    folder.mkdir()
    name = "ghost-image-test-%d" % os.getpid()
    handle = conn.storagePoolCreateXML(
        "<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>" % (name, folder), 0)
    yield {"name": name, "handle": handle, "dir": str(folder)}
    handle.refresh(0)
    for vol in handle.listAllVolumes(0):
        vol.delete(0)
    handle.destroy()
    shutil.rmtree(str(folder), ignore_errors=True)


@pytest.fixture
def server():
    srv = ImageServer()
    yield srv
    srv.close()


@pytest.fixture
def run(testbed, tmp_path):
    """``run(args, check_mode=False, diff=False, module="libvirt_image")``: a ghost.infra module
    through ``ansible -v``; its result with ``failed`` and ``_output`` (everything ansible printed)."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")

    def call(args, *, check_mode=False, diff=False, module="libvirt_image"):
        cmd = [ANSIBLE, "localhost", "-v", "-m", "ghost.infra." + module, "-a", json.dumps(args),
               "-e", "ansible_python_interpreter=%s" % sys.executable]
        cmd += ["--check"] if check_mode else []
        cmd += ["--diff"] if diff else []
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=300, check=False)
        match = re.search(r"localhost \| (\w+)[^{]*(\{.*\})\s*$", proc.stdout, re.S | re.M)
        assert match, proc.stdout[-3000:]
        result = json.loads(match.group(2))
        result["failed"] = match.group(1).startswith("FAILED") or result.get("failed") is True
        result["_output"] = proc.stdout
        return result

    return call


def names(pool):
    pool["handle"].refresh(0)
    return sorted(pool["handle"].listVolumes())


def read_back(conn, pool, name):
    """The volume's bytes, through virStorageVol.download (as a remote client would read them)."""
    vol = pool["handle"].storageVolLookupByName(name)
    stream = conn.newStream(0)
    vol.download(stream, 0, 0, 0)
    chunks = []
    stream.recvAll(lambda _stream, data, _opaque: chunks.append(data), None)
    stream.finish()
    return b"".join(chunks)


def put_volume(conn, pool, name, data):
    """A volume written by hand (no record of the module)."""
    vol = pool["handle"].createXML(
        "<volume><name>%s</name><capacity unit='bytes'>%d</capacity><target><format type='raw'/></target>"
        "</volume>" % (name, len(data)), 0)
    stream = conn.newStream(0)
    vol.upload(stream, 0, len(data), 0)
    stream.sendAll(lambda _stream, nbytes, source: source.read(nbytes), io.BytesIO(data))
    stream.finish()


def default_name(data):
    return "sha256-%s.qcow2" % sha256(data)[:16]


def record(data, name=None):
    return "%s.sha256-%s" % (name or default_name(data), sha256(data))


# -- import, cache, read back ---------------------------------------------------------------

def test_import_then_cached_without_a_request(conn, pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/cloud/a.qcow2", data)
    downloads = tmp_path / "dl"
    args = {"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"], "download_dir": str(downloads)}

    first = run(args, diff=True)
    assert not first["failed"], first["_output"][-3000:]
    assert first["changed"] and not first["cached"]
    assert first["downloaded"] == len(data)
    volume = first["volume"]
    assert volume["name"] == default_name(data) and volume["pool"] == pool["name"]
    assert volume["format"] == "qcow2" and volume["capacity"] == VIRTUAL_SIZE
    assert volume["path"] == os.path.join(pool["dir"], volume["name"])
    assert os.path.getsize(volume["path"]) == len(data)
    assert sha256(read_back(conn, pool, volume["name"])) == sha256(data)
    assert read_back(conn, pool, record(data)) == ("%s  %s\n" % (sha256(data), volume["name"])).encode()
    assert names(pool) == sorted([volume["name"], record(data)])
    assert server.hits() == [("/cloud/a.qcow2", None)]
    assert os.listdir(str(downloads)) == [], "the verified download is deleted after the upload"
    assert "libvirt_image: downloaded %s: %.1f MiB in" % (url, len(data) / 1048576.0) in first["_output"]
    assert "libvirt_image: uploading" in first["_output"]
    assert "+    \"%s\": {" % volume["name"] in first["_output"]  # the --diff

    second = run(args, diff=True)
    assert not second["failed"] and not second["changed"] and second["cached"]
    assert second["downloaded"] == 0 and second["volume"] == volume
    assert len(server.hits()) == 1, "a cached image costs no HTTP request"


def test_checksum_list_is_the_only_request_once_cached(conn, pool, server, run, images, tmp_path):
    data = images["b"]
    digest = hashlib.sha512(data).hexdigest()
    url = server.add("/debian/b.qcow2", data)
    sums = "%s  other.qcow2\n%s  b.qcow2\n" % ("0" * 128, digest)
    sums_url = server.add("/debian/SHA512SUMS", sums.encode())
    args = {"src": url, "checksum": sums_url, "pool": pool["name"], "name": "bookworm.qcow2",
            "download_dir": str(tmp_path / "dl")}
    first = run(args)
    assert not first["failed"], first["_output"][-3000:]
    assert first["checksum"] == "sha512:" + digest and first["volume"]["name"] == "bookworm.qcow2"
    assert names(pool) == sorted(["bookworm.qcow2", "bookworm.qcow2.sha512-" + digest])
    assert hashlib.sha512(read_back(conn, pool, "bookworm.qcow2")).hexdigest() == digest
    second = run(args)
    assert not second["changed"] and second["cached"]
    assert [hit[0] for hit in server.hits()] == ["/debian/SHA512SUMS", "/debian/b.qcow2", "/debian/SHA512SUMS"]


def test_check_mode_reads_the_header_only(pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data)
    result = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                  "download_dir": str(tmp_path / "dl")}, check_mode=True, diff=True)
    assert not result["failed"], result["_output"][-3000:]
    assert result["changed"] and not result["cached"] and result["downloaded"] == 0
    assert result["volume"] == {"name": default_name(data), "pool": pool["name"], "path": None,
                                "format": "qcow2", "capacity": VIRTUAL_SIZE, "allocation": None}
    assert server.hits() == [("/a.qcow2", "bytes=0-511")]
    assert names(pool) == []
    assert not (tmp_path / "dl").exists()


# -- failures leave nothing -----------------------------------------------------------------

def test_wrong_checksum_leaves_nothing(pool, server, run, images, tmp_path):
    url = server.add("/a.qcow2", images["a"])
    wrong = sha256(images["b"])
    result = run({"src": url, "checksum": "sha256:" + wrong, "pool": pool["name"], "download_dir": str(tmp_path / "dl")})
    assert result["failed"]
    assert result["msg"] == (
        "Failed to verify image '%s': checksum mismatch: the download is sha256:%s, sha256:%s was expected; "
        "it was deleted" % (url, sha256(images["a"]), wrong))
    assert names(pool) == []
    assert os.listdir(str(tmp_path / "dl")) == []


def test_not_found(pool, server, run, tmp_path):
    result = run({"src": server.url("/missing.qcow2"), "checksum": "sha256:" + "a" * 64, "pool": pool["name"],
                  "download_dir": str(tmp_path / "dl")})
    assert result["failed"]
    assert result["msg"] == "Failed to download image '%s': HTTP 404 Not Found" % server.url("/missing.qcow2")
    assert names(pool) == []


def test_cut_download_is_resumed_by_the_next_run(conn, pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data, mode="truncate-once")
    downloads = tmp_path / "dl"
    args = {"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"], "download_dir": str(downloads)}
    half = len(data) // 2
    first = run(args)
    assert first["failed"]
    assert "the connection ended after %d of %d bytes; the partial download is kept" % (half, len(data)) in first["msg"]
    assert os.listdir(str(downloads)) == ["sha256-%s.part" % sha256(data)]
    assert names(pool) == []

    second = run(args)
    assert not second["failed"], second["_output"][-3000:]
    assert second["downloaded"] == len(data) - half
    assert server.hits() == [("/a.qcow2", None), ("/a.qcow2", "bytes=%d-" % half)]
    assert "resuming at %.1f MiB" % (half / 1048576.0) in second["_output"]
    assert sha256(read_back(conn, pool, second["volume"]["name"])) == sha256(data)
    assert os.listdir(str(downloads)) == []


def test_server_without_range_sends_it_all_again(pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data, mode="norange")
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / ("sha256-%s.part" % sha256(data))).write_bytes(data[:1000])
    result = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                  "download_dir": str(downloads)})
    assert not result["failed"], result["_output"][-3000:]
    assert result["downloaded"] == len(data)
    assert server.hits() == [("/a.qcow2", "bytes=1000-")]


def test_complete_partial_file_is_used_as_it_is(pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data)
    downloads = tmp_path / "dl"
    downloads.mkdir()
    (downloads / ("sha256-%s.part" % sha256(data))).write_bytes(data)
    result = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                  "download_dir": str(downloads)})
    assert not result["failed"], result["_output"][-3000:]
    assert result["downloaded"] == 0 and result["changed"]
    assert server.hits() == [("/a.qcow2", "bytes=%d-" % len(data))]  # answered 416


def test_stalled_server_fails_after_timeout(pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data, mode="stall")
    downloads = tmp_path / "dl"
    started = time.monotonic()
    result = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"], "timeout": 2,
                  "download_dir": str(downloads)})
    elapsed = time.monotonic() - started
    assert result["failed"]
    assert result["msg"] == ("Failed to download image '%s': no data for 2 seconds (timeout); the partial "
                             "download is kept and the next run resumes it" % url)
    assert elapsed < 30, "the stall ended the task after %.0f s" % elapsed
    assert os.path.getsize(str(downloads / ("sha256-%s.part" % sha256(data)))) == STALL_BYTES
    assert names(pool) == []


# -- local files, records, names, removal ---------------------------------------------------

def test_raw_file_on_the_controller(conn, pool, run, tmp_path):
    data = os.urandom(300 * 1024) + b"\x00" * 4096
    image = tmp_path / "appliance.raw"
    image.write_bytes(data)
    result = run({"src": str(image), "pool": pool["name"]})
    assert not result["failed"], result["_output"][-3000:]
    volume = result["volume"]
    assert volume["name"] == "sha256-%s.raw" % sha256(data)[:16]
    assert volume["format"] == "raw" and volume["capacity"] == len(data)
    assert result["checksum"] == "sha256:" + sha256(data)
    assert read_back(conn, pool, volume["name"]) == data
    assert not run({"src": str(image), "pool": pool["name"]})["changed"]
    wrong = run({"src": str(image), "pool": pool["name"], "name": "x.raw", "checksum": "sha256:" + "0" * 64})
    assert wrong["failed"] and "checksum mismatch" in wrong["msg"] and "nothing was imported" in wrong["msg"]
    assert "x.raw" not in names(pool)


def test_volume_without_record_is_read_back_not_downloaded(conn, pool, server, run, images, tmp_path):
    data = images["a"]
    put_volume(conn, pool, default_name(data), data)
    url = server.add("/a.qcow2", data)
    result = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                  "download_dir": str(tmp_path / "dl")})
    assert not result["failed"], result["_output"][-3000:]
    assert result["changed"] and result["cached"] and result["downloaded"] == 0
    assert server.hits() == []
    assert names(pool) == sorted([default_name(data), record(data)])


def test_named_volume_with_another_image_is_kept(conn, pool, server, run, images, tmp_path):
    url_a = server.add("/a.qcow2", images["a"])
    url_b = server.add("/b.qcow2", images["b"])
    base = {"pool": pool["name"], "name": "web.qcow2", "download_dir": str(tmp_path / "dl")}
    assert not run(dict(base, src=url_a, checksum="sha256:" + sha256(images["a"])))["failed"]
    other = run(dict(base, src=url_b, checksum="sha256:" + sha256(images["b"])))
    assert other["failed"]
    assert other["msg"] == ("Failed to import image into volume '%s/web.qcow2': the volume holds another "
                            "image (sha256:%s); remove it with state=absent or choose another name"
                            % (pool["name"], sha256(images["a"])))
    assert sha256(read_back(conn, pool, "web.qcow2")) == sha256(images["a"])
    assert [hit[0] for hit in server.hits()] == ["/a.qcow2"]


def test_absent_is_refused_while_an_overlay_uses_the_image(conn, pool, server, run, images, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data)
    imported = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                    "download_dir": str(tmp_path / "dl")})
    path = imported["volume"]["path"]
    overlay = pool["handle"].createXML(
        "<volume><name>vm1.qcow2</name><capacity unit='bytes'>%d</capacity><target><format type='qcow2'/>"
        "</target><backingStore><path>%s</path><format type='qcow2'/></backingStore></volume>"
        % (VIRTUAL_SIZE, path), 0)
    absent = {"checksum": "sha256:" + sha256(data), "pool": pool["name"], "state": "absent"}
    refused = run(absent)
    assert refused["failed"]
    assert refused["msg"] == ("Failed to remove image volume '%s/%s': it is in use by volume %s/vm1.qcow2; "
                              "remove those first" % (pool["name"], default_name(data), pool["name"]))
    assert default_name(data) in names(pool)
    overlay.delete(0)

    checked = run(absent, check_mode=True, diff=True)
    assert checked["changed"] and checked["removed"] == [default_name(data)]
    assert default_name(data) in names(pool)
    removed = run(absent)
    assert removed["changed"] and removed["removed"] == [default_name(data)]
    assert names(pool) == []
    again = run(absent)
    assert not again["failed"] and not again["changed"] and again["removed"] == []


def test_libvirt_domain_builds_on_the_imported_image(conn, pool, server, run, images, testbed, tmp_path):
    data = images["a"]
    url = server.add("/a.qcow2", data)
    image = run({"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
                 "download_dir": str(tmp_path / "dl")})["volume"]
    vm = {"name": "ghost-image-vm-%d" % os.getpid(), "pool": pool["name"], "memory_mb": 64,
          "base_image": "%s/%s" % (pool["name"], image["name"]), "state": "present",
          "domain_type": testbed["GHOST_LIBVIRT_DOMAIN_TYPE"]}
    try:
        domain = run(vm, module="libvirt_domain")
        assert not domain["failed"], domain["_output"][-3000:]
        disk = domain["domain"]["disks"][0]
        assert disk["backing"] == image["path"]
        overlay = pool["handle"].storageVolLookupByName("%s.qcow2" % vm["name"]).XMLDesc(0)
        assert "<path>%s</path>" % image["path"] in overlay and "<format type='qcow2'/>" in overlay.split(
            "<backingStore>")[1], overlay
        refused = run({"checksum": "sha256:" + sha256(data), "pool": pool["name"], "state": "absent"})
        assert refused["failed"]
        assert refused["msg"].endswith("it is in use by domain {vm}, volume {pool}/{vm}.qcow2; remove those first"
                                       .format(vm=vm["name"], pool=pool["name"]))
    finally:
        run(dict(vm, state="absent"), module="libvirt_domain")
    removed = run({"checksum": "sha256:" + sha256(data), "pool": pool["name"], "state": "absent"})
    assert removed["changed"] and removed["removed"] == [image["name"]]


def test_bad_input_is_named(pool, run, tmp_path):
    no_sum = run({"src": "https://example.invalid/x.qcow2", "pool": pool["name"]})
    assert no_sum["failed"] and no_sum["msg"].startswith("checksum: is required when src is a URL")
    scheme = run({"src": "ftp://example.invalid/x.qcow2", "checksum": "sha256:" + "a" * 64, "pool": pool["name"]})
    assert scheme["failed"] and scheme["msg"].startswith("src: only http://, https:// or a file on the controller")
    xz = tmp_path / "image.qcow2.xz"
    xz.write_bytes(b"\xfd7zXZ\x00" + b"\x00" * 100)
    packed = run({"src": str(xz), "pool": pool["name"]})
    assert packed["failed"] and "xz-compressed" in packed["msg"]
    missing_pool = run({"src": str(xz), "pool": "no-such-pool-here"})
    assert missing_pool["failed"]
    assert missing_pool["msg"].startswith("Failed to find storage pool 'no-such-pool-here': no such pool")
    assert names(pool) == []


# -- a managed node that is not the controller ----------------------------------------------

@pytest.fixture
def sshd(testbed, tmp_path):
    """An OpenSSH server on 127.0.0.1 (a throw-away host key, one authorized key), so Ansible
    reaches this machine as a remote managed node: the image is copied over SFTP/SCP into the
    node's temporary folder before the module uploads it. Stopped by its pid afterwards.
    The testbed's sshd and sftp-server, unpacked into its cache: no system sshd is needed."""
    binary, sftp_server = testbed.get("GHOST_SSHD"), testbed.get("GHOST_SFTP_SERVER")
    for what, path in (("sshd", binary), ("sftp-server", sftp_server)):
        if not path or not os.path.exists(path):
            pytest.fail("the testbed's %s is missing (%r, see tests/testbed/debs.py)" % (what, path))
    folder = tmp_path / "sshd"
    folder.mkdir()
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True)
    (folder / "authorized_keys").write_text((folder / "client_key.pub").read_text())
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress 127.0.0.1", "Port %d" % port, "HostKey %s" % (folder / "host_key"),
        "AuthorizedKeysFile %s" % (folder / "authorized_keys"), "PermitRootLogin prohibit-password",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "PidFile %s" % (folder / "sshd.pid"), "Subsystem sftp %s" % sftp_server, ""]))
    with open(str(folder / "sshd.log"), "wb") as log:
        proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL,
                                stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("sshd did not start: %s" % (folder / "sshd.log").read_text()[-2000:])
                time.sleep(0.2)
        yield {"port": port, "key": str(folder / "client_key")}
    finally:
        proc.terminate()
        proc.wait(10)


def test_image_is_copied_to_a_remote_managed_node(conn, pool, server, images, sshd, tmp_path):
    data = images["b"]
    url = server.add("/b.qcow2", data)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               ANSIBLE_HOST_KEY_CHECKING="False", no_proxy="127.0.0.1", NO_PROXY="127.0.0.1")
    args = {"src": url, "checksum": "sha256:" + sha256(data), "pool": pool["name"],
            "download_dir": str(tmp_path / "dl")}
    cmd = [ANSIBLE, "all", "-i", "node1,", "-v", "-m", "ghost.infra.libvirt_image", "-a", json.dumps(args),
           "-e", json.dumps({"ansible_host": "127.0.0.1", "ansible_port": sshd["port"], "ansible_user": "root",
                             "ansible_connection": "ssh", "ansible_ssh_private_key_file": sshd["key"],
                             "ansible_ssh_common_args": "-o UserKnownHostsFile=/dev/null",
                             "ansible_python_interpreter": sys.executable})]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    result = json.loads(re.search(r"node1 \| CHANGED => (\{.*\})\s*$", proc.stdout, re.S | re.M).group(1))
    assert "<node1> libvirt_image: copying the image to the managed node" in proc.stdout
    assert result["downloaded"] == len(data)
    assert sha256(read_back(conn, pool, result["volume"]["name"])) == sha256(data)
