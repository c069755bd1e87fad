"""Starts moto in server mode (its WSGI app under waitress) on 127.0.0.1 with the
cmk-guardrails patches (see patches.py).

    python emulator/server.py [--port 0] [--port-file FILE]

Prints `READY <port>` on stdout once the server answers. It stops when its standard input
closes (so a test harness that dies takes it down) or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# moto's request recorder (off until /moto-api/recorder/start-recording; the tests use it to see
# every call the rule makes) writes to ./moto_recording unless told otherwise: never into the
# caller's working directory.
os.environ.setdefault(
    "MOTO_RECORDER_FILEPATH", os.path.join(tempfile.gettempdir(), f"cmk-moto-recording-{os.getpid()}")
)

import patches  # noqa: E402


def start(host: str, port: int):
    """Serves the patched moto on `host`:`port` (0: a free port) from a daemon thread; returns
    the server (`close()` stops it) and the bound port.

    moto's WSGI app runs under waitress rather than moto's own werkzeug development server, which
    ends every response with `Connection: close`: AWS endpoints keep HTTP/1.1 connections open and
    the SDKs reuse them (https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-reusing-connections.html:
    the SDK "reuses TCP connections by default"), so a client here opens one connection per call
    only where it would against AWS. 16 threads answer at once (werkzeug started one per
    connection)."""
    logging.getLogger("waitress").setLevel(logging.ERROR)  # no log line per slow queue
    patches.apply()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from waitress import create_server

    server = create_server(
        DomainDispatcherApplication(create_backend_app),
        host=host, port=port, threads=16, connection_limit=1000, channel_timeout=300,
        clear_untrusted_proxy_headers=False,
    )
    threading.Thread(target=server.run, daemon=True).start()
    return server, server.effective_port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="also write the port to this file")
    parser.add_argument(
        "--no-stdin-watch", action="store_true", help="keep running when stdin closes"
    )
    args = parser.parse_args()
    server, port = start(args.host, args.port)
    urllib.request.urlopen(f"http://{args.host}:{port}/moto-api/", timeout=10).read()
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(f"{port}\n")
    print(f"READY {port}", flush=True)

    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    if not args.no_stdin_watch:
        def watch() -> None:
            sys.stdin.read()
            done.set()

        threading.Thread(target=watch, daemon=True).start()
    done.wait()
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
