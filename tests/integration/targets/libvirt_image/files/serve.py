# -*- coding: utf-8 -*-
# Copyright: ghost.infra contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Serve a folder over HTTP on 127.0.0.1 in the background for the libvirt_image target.

Usage: serve.py FOLDER LOG. Prints {"port": ..., "pid": ...} and returns; the server process
logs one line per request to LOG and stops by itself after 15 minutes (the target kills it by
its pid when done).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import json
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

LIFETIME = 900


def main(folder, log):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SimpleHTTPRequestHandler, directory=folder))
    pid = os.fork()
    if pid:
        print(json.dumps({"port": server.server_address[1], "pid": pid}))
        return
    os.setsid()
    with open(os.devnull, "rb") as null:
        os.dup2(null.fileno(), 0)
    with open(log, "ab", 0) as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    threading.Timer(LIFETIME, server.shutdown).start()
    server.serve_forever()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
