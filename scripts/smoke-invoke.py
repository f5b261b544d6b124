#!/usr/bin/env python3
"""One invocation through a built adapter, between a mock Lambda Runtime API
and a tiny app, both on loopback (Python standard library only).

    scripts/smoke-invoke.py CMD...      e.g. qemu-aarch64 target/aarch64-.../lambda-adapter

CMD is started as Lambda would start the adapter (AWS_LAMBDA_RUNTIME_API set,
the app's port in AWS_LWA_PORT). The mock registers the extension, hands out
one Function URL event (tests/fixtures/function-url-get.json), checks the
response (status, the app's body, a header and the cookies the app set, the
request the app saw), then sends SHUTDOWN and expects the adapter to exit 0.
Prints one line and exits 0 when all of that held, non-zero otherwise.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "function-url-get.json")
REQUEST_ID = "smoke-0001"
TIMEOUT = 60  # seconds, for the adapter under qemu-user on a busy machine


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class App(Quiet):
    """The web app: `/` for readiness, anything else echoes the request."""

    def do_GET(self):
        if self.path == "/":
            return self.reply(200, b"ready")
        seen = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}
        self.reply(
            201,
            json.dumps(seen).encode(),
            [("content-type", "application/json"), ("x-app", "smoke"),
             ("set-cookie", "a=1; Path=/"), ("set-cookie", "b=2; Path=/")],
        )


def runtime_handler(event, results, shutdown):
    handed_out = threading.Event()

    class Runtime(Quiet):
        def body(self):
            return self.rfile.read(int(self.headers.get("content-length", 0)))

        def do_POST(self):
            body = self.body()
            if self.path == "/2020-01-01/extension/register":
                return self.reply(200, b"{}", [("lambda-extension-identifier", "ext-1"),
                                               ("content-type", "application/json")])
            self.reply(202, b'{"status":"OK"}', [("content-type", "application/json")])
            results.put((self.path, body))

        def do_GET(self):
            if self.path == "/2020-01-01/extension/event/next":
                shutdown.wait()
                body = json.dumps({"eventType": "SHUTDOWN", "shutdownReason": "spindown",
                                   "deadlineMs": int(time.time() * 1000) + 2000}).encode()
                return self.reply(200, body, [("content-type", "application/json")])
            if self.path == "/2018-06-01/runtime/invocation/next":
                if handed_out.is_set():  # one invocation only: park the next poll until the end
                    shutdown.wait()
                    time.sleep(TIMEOUT)
                handed_out.set()
                return self.reply(200, event, [
                    ("content-type", "application/json"),
                    ("lambda-runtime-aws-request-id", REQUEST_ID),
                    ("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 30000)),
                    ("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:smoke"),
                    ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000001;Sampled=0"),
                ])
            self.reply(404)

    return Runtime


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    cmd = sys.argv[1:]
    if not cmd:
        sys.exit(__doc__)
    with open(FIXTURE, "rb") as f:
        event = f.read()
    results, shutdown = queue.Queue(), threading.Event()
    app = serve(App)
    runtime = serve(runtime_handler(event, results, shutdown))
    env = dict(os.environ,
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{runtime.server_port}",
               AWS_LWA_PORT=str(app.server_port),
               AWS_LAMBDA_FUNCTION_NAME="smoke", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128")
    started = time.monotonic()
    adapter = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = []
    threading.Thread(target=lambda: log.extend(adapter.stdout), daemon=True).start()

    def fail(why):
        adapter.kill()
        adapter.wait()
        time.sleep(0.1)
        sys.stderr.write(f"smoke-invoke: FAILED: {why}\n--- adapter output ---\n")
        sys.stderr.write(b"".join(log).decode(errors="replace"))
        sys.exit(1)

    while True:
        try:
            path, body = results.get(timeout=0.1)
            break
        except queue.Empty:
            if adapter.poll() is not None:
                fail(f"the adapter exited with {adapter.returncode} before answering")
            if time.monotonic() - started > TIMEOUT:
                fail(f"no response within {TIMEOUT} s")
    answered = time.monotonic() - started
    if path != f"/2018-06-01/runtime/invocation/{REQUEST_ID}/response":
        fail(f"expected a response, got POST {path}: {body[:300]!r}")
    out = json.loads(body)
    seen = json.loads(out.get("body") or "{}")
    problems = [what for what, ok in [
        ("statusCode 201", out.get("statusCode") == 201),
        ("the app's header", out.get("headers", {}).get("x-app") == "smoke"),
        ("both cookies", out.get("cookies") == ["a=1; Path=/", "b=2; Path=/"]),
        ("path and query", seen.get("path") == "/hello?x=1"),
        ("the request context", "x-amzn-request-context" in seen.get("headers", {})),
        ("the event's cookies", seen.get("headers", {}).get("cookie") == "session=f3a9c1; lang=en"),
    ] if not ok]
    if problems:
        fail(f"the response lacks {', '.join(problems)}: {body[:500]!r}")
    shutdown.set()
    try:
        code = adapter.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fail("the adapter did not exit within 10 s of SHUTDOWN")
    if code != 0:
        fail(f"the adapter exited with {code} after SHUTDOWN")
    print(f"served one Function URL invocation in {answered * 1000:.0f} ms from start "
          f"(status 201, headers, cookies, request as sent), exited 0 on SHUTDOWN")


if __name__ == "__main__":
    main()
