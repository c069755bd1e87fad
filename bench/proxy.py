"""A counting reverse proxy in front of the emulator: every AWS API call made through it is
counted by operation (X-Amz-Target for JSON APIs, Action for query APIs), and the time spent
waiting for the emulator is summed, so bench/run measures the calls of cmk-guardrails and of its
peers in the same way and can tell a rule's own time from the emulator's.

    python proxy.py UPSTREAM_PORT PORT_FILE     # GET /__counts returns and resets the counts
"""

from __future__ import annotations

import collections
import http.client
import http.server
import json
import sys
import threading
import time
import urllib.parse

UPSTREAM = ("127.0.0.1", int(sys.argv[1]))
COUNTS: collections.Counter[str] = collections.Counter()
# Total seconds spent waiting for the emulator, reported as "_upstream_ms".
UPSTREAM_SECONDS = [0.0]
LOCK = threading.Lock()


def operation(headers, body: bytes) -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return target.split(".")[-1]
    if body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return "other"


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.path == "/__counts":
            with LOCK:
                data = json.dumps(dict(COUNTS, _upstream_ms=round(UPSTREAM_SECONDS[0] * 1000))).encode()
                COUNTS.clear()
                UPSTREAM_SECONDS[0] = 0.0
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.forward()

    def do_POST(self):
        self.forward()

    do_PUT = do_DELETE = do_HEAD = do_POST

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with LOCK:
            COUNTS[operation(self.headers, body)] += 1
        started = time.perf_counter()
        conn = http.client.HTTPConnection(*UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        with LOCK:
            UPSTREAM_SECONDS[0] += time.perf_counter() - started
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    with open(sys.argv[2], "w") as f:
        f.write(f"{server.server_address[1]}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
