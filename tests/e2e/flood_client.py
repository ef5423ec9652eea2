"""One local client that hammers a URL as fast as the server answers, in its own process (so
that its CPU is not the bot's event loop): ``python -m tests.e2e.flood_client URL [--close]``.
``--close`` sends ``Connection: close`` (a new connection per request) instead of keeping one
alive. Runs until SIGTERM, then prints the number of answers it got. SIGSTOP / SIGCONT pause
and resume it (how tests/e2e/status_flood.py switches the flood off and on)."""

from __future__ import annotations

import http.client
import signal
import sys
from typing import NoReturn
from urllib.parse import urlsplit


def flood(url: str, *, close: bool) -> NoReturn:
    parts = urlsplit(url)
    headers = {"Connection": "close"} if close else {}
    answers = 0
    conn: http.client.HTTPConnection | None = None
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
                conn.request("GET", parts.path or "/", headers=headers)
                response = conn.getresponse()
                response.read()
                answers += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                    conn = None
    finally:
        print(answers, flush=True)


if __name__ == "__main__":
    flood(sys.argv[1], close="--close" in sys.argv[2:])
