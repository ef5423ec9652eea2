"""A stand-in for jupiter-swap-api, packed into fake release archives by the tests.

Accepts the real binary's flags (only --host/--port matter), serves /program-id-to-label,
/quote and /tokens, and is steered through FAKE_JUPITER_DIR (a control directory):

* writes ``launch-<n>.json`` (argv, pid, selected env) at every start, n counting from 1;
* env FAKE_JUPITER_CRASHES=N: launches 1..N exit with status 3 right after starting;
* env FAKE_JUPITER_STARTUP_DELAY_S: sleep before listening (the real one takes minutes);
* file ``unhealthy``: /program-id-to-label answers 503; ``empty_labels``: answers {};
* file ``die``: the next request makes the process exit with status 3;
* file ``ignore_sigterm`` (read at start): SIGTERM is ignored (tests the SIGKILL fallback).

Plain stdlib (threads), so it runs as a script outside galileo.
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, overload
from urllib.parse import parse_qs, urlsplit

CONTROL = os.environ.get("FAKE_JUPITER_DIR", ".")
LABELS = {
    "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4": "Jupiter V6",
    "whirLbMiicVdio4qvUfM5KAg6Ct8VwpYzGff3uctyCc": "Orca Whirlpool",
}


@overload
def flag(name: str, default: str) -> str: ...
@overload
def flag(name: str, default: str | None = None) -> str | None: ...
def flag(name: str, default: str | None = None) -> str | None:
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def control(name: str) -> bool:
    return os.path.exists(os.path.join(CONTROL, name))


def launch_number() -> int:
    n = 1
    while True:
        try:
            fd = os.open(
                os.path.join(CONTROL, f"launch-{n}.json"), os.O_CREAT | os.O_EXCL | os.O_WRONLY
            )
        except FileExistsError:
            n += 1
            continue
        env = {
            k: v
            for k, v in os.environ.items()
            if k in ("RPC_URL", "RUST_LOG", "YELLOWSTONE_GRPC_X_TOKEN", "EXTRA_ENV")
        }
        record = {"argv": sys.argv[1:], "pid": os.getpid(), "env": env}
        os.write(fd, json.dumps(record).encode())
        os.close(fd)
        return n


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt: str, *args: Any) -> None:
        sys.stdout.write("request " + (fmt % args) + "\n")
        sys.stdout.flush()

    def send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if control("die"):
            sys.stdout.write("dying on request\n")
            sys.stdout.flush()
            os._exit(3)
        parts = urlsplit(self.path)
        if parts.path == "/program-id-to-label":
            if control("unhealthy"):
                self.send_json(503, {"error": "unhealthy"})
                return
            self.send_json(200, {} if control("empty_labels") else LABELS)
            return
        if parts.path == "/quote":
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if control("fail_quote"):
                self.send_json(400, {"error": "no route", "errorCode": "COULD_NOT_FIND_ANY_ROUTE"})
                return
            self.send_json(
                200,
                {
                    "inputMint": q.get("inputMint"),
                    "outputMint": q.get("outputMint"),
                    "inAmount": q.get("amount"),
                    "outAmount": q.get("amount"),
                    "routePlan": [],
                },
            )
            return
        if parts.path == "/tokens":
            self.send_json(200, ["EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"])
            return
        self.send_json(404, {"error": "not found"})


def main() -> None:
    n = launch_number()
    if control("ignore_sigterm"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rpc = flag("--rpc-url", os.environ.get("RPC_URL"))
    print(f"fake jupiter launch {n} pid {os.getpid()} rpc {rpc}", flush=True)
    if n <= int(os.environ.get("FAKE_JUPITER_CRASHES", "0")):
        print("crashing on purpose", flush=True)
        sys.exit(3)
    time.sleep(float(os.environ.get("FAKE_JUPITER_STARTUP_DELAY_S", "0")))
    host, port = flag("--host", "0.0.0.0"), int(flag("--port", "8080"))
    server = ThreadingHTTPServer((host, port), Handler)
    print(f"Server listening on http://{host}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
