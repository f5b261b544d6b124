#!/usr/bin/env python3
"""Conformance run: our adapter against a recording of upstream's behaviour.

    scripts/conformance.py FIXTURES_DIR [--adapter BIN] [--results FILE]
                           [--case SUBSTRING] [--json OUT] [-v]

FIXTURES_DIR holds third-party event payloads and, under results/, a
recording ("lwa-conformance/1") of what upstream AWS Lambda Web Adapter did
with each one behind an echo app: the HTTP request the app received and what
the adapter posted to the Runtime API. The fixtures are not part of this
project: pass their directory, never copy them in.

For every recorded case this script runs OUR adapter (default
target/debug/lambda-adapter; build it with `cargo build`) the same way:
the recording's environment (`settings.base_env` + `extra_env`), a mock
Runtime + Extensions API on loopback that hands out the event once (request
id, deadline, function ARN and trace id as recorded), and an echo app that
answers as the recorded app did for the case's variant. It then compares

  (a) the request the app received: method, path, query, headers (names,
      values, order), body, x-amzn-request-context, x-amzn-lambda-context;
  (b) what was posted to the Runtime API: response or error, and its JSON;

and classifies every difference as
  INTENDED  a deliberate difference of shared/spec/decisions.md (numbered),
  HARMLESS  no effect on a correct HTTP peer (the reason is printed),
  BUG       something decisions.md says to match.

Exit status: 0 when no BUG was found, 1 when one was, 2 on a usage or setup
error. Python 3 standard library only.
"""

import argparse
import base64
import collections
import difflib
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PLACEHOLDER_RC = "<json, see request_context>"
PLACEHOLDER_LC = "<json, see lambda_context>"

# ---------------------------------------------------------------------------
# The echo app's answers, per variant of the recording's `variants` table.
# Only "text" occurs in the upstream-0.9.1 recording; its body and headers are
# those of the recorded runtime results (content-type + content-length, 28
# bytes). The others follow the recording's one-line descriptions.

TEXT_BODY = "hello from the echo app \u2713\n".encode()


def variant_response(variant):
    """(status, reason, [(name, value bytes)], body) for a variant."""
    ct = lambda v: ("Content-Type", v)  # noqa: E731
    table = {
        "text": (200, "OK", [ct(b"text/plain; charset=utf-8")], TEXT_BODY),
        "json": (200, "OK", [ct(b"application/json")], b'{"hello":"from the echo app"}'),
        "json-suffix": (200, "OK", [ct(b"application/problem+json")],
                        b'{"type":"about:blank","title":"echo"}'),
        "empty-200": (200, "OK", [ct(b"text/plain")], b""),
        "status-204": (204, "No Content", [], b""),
        "status-302": (302, "Found", [("Location", b"/elsewhere")], b""),
        "status-500": (500, "Internal Server Error", [ct(b"text/plain")], b"echo app error\n"),
        "cookies": (200, "OK", [ct(b"text/plain"), ("Set-Cookie", b"a=1; Path=/"),
                                ("Set-Cookie", b"b=2"), ("X-Multi", b"one"),
                                ("X-Multi", b"two")], b"cookies\n"),
        "gzip": (200, "OK", [ct(b"text/plain"), ("Content-Encoding", b"gzip")],
                 gzip.compress(b"hello from the echo app\n", mtime=0)),
        "header-latin1-value": (200, "OK", [ct(b"text/plain"),
                                            ("Content-Disposition", b"inline; filename=\xe9.txt")],
                                b"latin1 header\n"),
        "latin1": (200, "OK", [ct(b"text/plain; charset=iso-8859-1")], b"caf\xe9\n"),
        "no-content-type": (200, "OK", [], "no content type \u2713\n".encode()),
        "octet-text-hint": (200, "OK", [ct(b"application/octet-stream"),
                                        ("X-Lambda-Http-Content-Encoding", b"text")], b"hinted text\n"),
        "png": (200, "OK", [ct(b"image/png")],
                bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")),
        "raw-bytes-no-ct": (200, "OK", [], b"\xff\x00\xfe\x80raw"),
        "utf16-bom-no-ct": (200, "OK", [], b"\xff\xfeh\x00i\x00"),
    }
    return table.get(variant)


# ---------------------------------------------------------------------------
# A small HTTP/1.1 server on loopback that keeps raw header order and case.

class Request:
    def __init__(self):
        self.method = ""
        self.target = ""
        self.version = ""
        self.headers = []  # [(name as sent, value bytes)]
        self.body = b""
        self.framing = "none"
        self.seq = 0

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None


def read_request(f):
    line = f.readline(65536)
    if not line:
        return None
    while line in (b"\r\n", b"\n"):
        line = f.readline(65536)
        if not line:
            return None
    req = Request()
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3:
        raise ValueError("bad request line %r" % line)
    req.method, req.target, req.version = (p.decode("latin-1") for p in parts)
    while True:
        h = f.readline(1 << 20)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.rstrip(b"\r\n").partition(b":")
        req.headers.append((name.decode("latin-1"), value.strip(b" \t")))
    te = req.header("transfer-encoding")
    cl = req.header("content-length")
    if te is not None and b"chunked" in te.lower():
        req.framing = "chunked"
        chunks = []
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(f.read(size))
            f.readline()
        req.body = b"".join(chunks)
    elif cl is not None:
        req.framing = "content-length"
        req.body = f.read(int(cl))
    return req


class Server:
    """Threaded loopback server; `handle(req)` returns (status, reason,
    headers, body) or None to close the connection without an answer."""

    def __init__(self, handle):
        self.handle = handle
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while not self.stopped.is_set():
                req = read_request(f)
                if req is None:
                    return
                answer = self.handle(req)
                if answer is None:
                    return
                status, reason, headers, body = answer
                head = [b"HTTP/1.1 %d %s\r\n" % (status, reason.encode())]
                for n, v in headers:
                    head.append(n.encode() + b": " + v + b"\r\n")
                if status not in (204, 304) and req.method != "HEAD":
                    head.append(b"Content-Length: %d\r\n" % len(body))
                head.append(b"\r\n")
                out = b"".join(head)
                if req.method != "HEAD":
                    out += body
                conn.sendall(out)
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopped.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# One case: mock Runtime API + echo app + our adapter.

class Run:
    def __init__(self, settings, event, variant):
        self.settings = settings
        self.event = event
        self.variant = variant
        self.request_id = str(uuid.uuid4())
        self.lock = threading.Lock()
        self.seq = 0
        self.event_given_at = None   # seq when /next handed out the event
        self.result_at = None        # seq when the result was posted
        self.app_requests = []
        self.posts = []              # (kind, Request, id_matches)
        self.calls = []
        self.done = threading.Event()
        self.stop = threading.Event()
        self.given = False

    def tick(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def app(self, req):
        req.seq = self.tick()
        self.app_requests.append(req)
        return variant_response(self.variant)

    def runtime(self, req):
        path = req.target.split("?")[0]
        call = "%s %s" % (req.method, re.sub(r"/invocation/[^/]+/", "/invocation/{REQUEST_ID}/", path))
        self.calls.append(call)
        if path.endswith("/extension/register"):
            return (200, "OK", [("Lambda-Extension-Identifier", str(uuid.uuid4()).encode()),
                                ("Content-Type", b"application/json")],
                    json.dumps({"functionName": self.settings["base_env"].get("AWS_LAMBDA_FUNCTION_NAME", ""),
                                "functionVersion": "$LATEST", "handler": ""}).encode())
        if path.endswith("/extension/event/next") or (
                path.endswith("/runtime/invocation/next") and self.given):
            self.stop.wait()
            return None
        if path.endswith("/runtime/invocation/next"):
            self.given = True
            self.event_given_at = self.tick()
            s = self.settings
            return (200, "OK", [
                ("Lambda-Runtime-Aws-Request-Id", self.request_id.encode()),
                ("Lambda-Runtime-Deadline-Ms", str(s["deadline_ms"]).encode()),
                ("Lambda-Runtime-Invoked-Function-Arn", s["function_arn"].encode()),
                ("Lambda-Runtime-Trace-Id", s["trace_id"].encode()),
                ("Content-Type", b"application/json"),
            ], self.event)
        m = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", path)
        if m or path.endswith("/runtime/init/error"):
            kind = m.group(2) if m else "init-error"
            matches = bool(m) and m.group(1) == self.request_id
            if self.result_at is None:
                self.result_at = self.tick()
            self.posts.append((kind, req, matches))
            self.done.set()
            return (202, "Accepted", [("Content-Type", b"application/json")], b'{"status":"OK"}')
        return (404, "Not Found", [], b"")


def run_case(adapter, settings, event, variant, passthrough_path):
    r = Run(settings, event, variant)
    app = Server(r.app)
    rt = Server(r.runtime)
    env = dict(settings.get("base_env", {}))
    env.update(settings.get("extra_env", {}))
    env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % rt.port
    env["AWS_LWA_PORT"] = str(app.port)
    proc = subprocess.Popen([adapter], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log = []
    threading.Thread(target=lambda: log.extend(proc.stdout.read().decode("utf-8", "replace").splitlines()),
                     daemon=True).start()
    timeout = float(settings.get("timeout_s", 10.0))
    grace = float(settings.get("grace_s", 0.15))
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline and not r.done.is_set() and proc.poll() is None:
        r.done.wait(0.01)
    if r.done.is_set():
        time.sleep(grace)
    elapsed_ms = int((time.monotonic() - t0) * 1000)
    exited = proc.poll() is not None
    exit_code = proc.returncode if exited else None
    if not exited:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    r.stop.set()
    app.stop()
    rt.stop()
    time.sleep(0.02)
    return observe(r, settings, event, app.port, passthrough_path,
                   exited, exit_code, log, elapsed_ms)


def body_record(body, event):
    rec = {"len": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    if body == event:
        rec["same_as_event"] = "exact"
    elif body and body == event.strip():
        rec["same_as_event"] = "whitespace-trimmed"
    else:
        try:
            rec["text"] = body.decode("utf-8")
        except UnicodeDecodeError:
            rec["base64"] = base64.b64encode(body).decode()
    return rec


def observe(r, settings, event, app_port, passthrough_path, exited, exit_code, log, elapsed_ms):
    """Our run, in the recording's format (plus raw extras under `ours_*`)."""
    rid = r.request_id

    def norm(s):
        return s.replace(rid, "{REQUEST_ID}").replace("127.0.0.1:%d" % app_port, "127.0.0.1:{APP_PORT}")

    def app_req(req):
        headers, name_case = [], []
        rc = lc = None
        rc_raw = lc_raw = None
        for n, v in req.headers:
            text = v.decode("utf-8", "surrogateescape")
            ln = n.lower()
            if n != ln:
                name_case.append(n)
            if ln == "x-amzn-request-context":
                rc_raw, text = text, PLACEHOLDER_RC
            elif ln == "x-amzn-lambda-context":
                lc_raw, text = text, PLACEHOLDER_LC
            headers.append([ln, norm(text)])
        if rc_raw is not None:
            rc = json.loads(rc_raw)
        if lc_raw is not None:
            lc = json.loads(norm(lc_raw), object_pairs_hook=collections.OrderedDict)
        path, q, query = req.target.partition("?")
        return {
            "method": req.method, "target": req.target, "path": path,
            "query": query if q else None, "version": req.version,
            "headers": headers, "framing": req.framing,
            "body": body_record(req.body, event),
            "request_context": rc, "lambda_context": lc,
            "ours_request_context_raw": rc_raw,
            "ours_header_name_case": name_case,
        }

    during = [q for q in r.app_requests
              if r.event_given_at is not None and q.seq > r.event_given_at
              and (r.result_at is None or q.seq < r.result_at)]
    after = [q for q in r.app_requests if r.result_at is not None and q.seq > r.result_at]
    runtime = {"outcome": "none"}
    if r.posts:
        kind, req, matches = r.posts[0]
        try:
            body = {"json": json.loads(req.body)}
        except ValueError:
            body = {"text": req.body.decode("utf-8", "replace")}
        runtime = {"outcome": kind, "body": body, "framing": req.framing,
                   "headers": {n.lower(): v.decode("latin-1") for n, v in req.headers
                               if n.lower().startswith("lambda-runtime-")},
                   "request_id_matches": matches}
    return {
        "app_requests": [app_req(q) for q in during],
        "runtime": runtime,
        "adapter": {"exit_code": exit_code, "exited_during_case": exited, "log_tail": log[-10:]},
        "info": {"elapsed_ms": elapsed_ms,
                 "extra_runtime_posts": [k for k, _, _ in r.posts[1:]],
                 "post_result_app_requests": ["%s %s" % (q.method, q.target) for q in after],
                 "readiness_requests": len([q for q in r.app_requests
                                            if r.event_given_at is None or q.seq < r.event_given_at]),
                 "runtime_calls": sorted(r.calls)},
    }


# ---------------------------------------------------------------------------
# Classification.

BUG, INTENDED, HARMLESS = "BUG", "INTENDED", "HARMLESS"


class Diffs:
    def __init__(self):
        self.items = []  # (class, key, detail)

    def add(self, cls, key, detail):
        self.items.append((cls, key, detail))


def loads_ordered(b):
    return json.loads(b, object_pairs_hook=collections.OrderedDict)


def http_kind(ev):
    """The event's kind by decisions.md #2 (None: not HTTP-shaped)."""
    if not isinstance(ev, dict):
        return None
    rc = ev.get("requestContext")
    if isinstance(rc, dict) and "connectionId" in rc:
        return None
    if ev.get("type") in ("REQUEST", "TOKEN") and ("methodArn" in ev or "routeArn" in ev):
        return None
    if isinstance(rc, dict) and isinstance(rc.get("http"), dict):
        return "v2"
    if isinstance(rc, dict) and "elb" in rc:
        return "alb"
    if "httpMethod" in ev and isinstance(rc, dict):
        return "rest"
    return None


def why_pass_through(ev):
    if isinstance(ev, dict):
        rc = ev.get("requestContext")
        if isinstance(rc, dict) and "connectionId" in rc:
            return "WebSocket event (requestContext.connectionId) is pass-through here (#2)"
        if ev.get("type") in ("REQUEST", "TOKEN") and ("methodArn" in ev or "routeArn" in ev):
            return "API Gateway authorizer event is pass-through here (#2)"
    return None


def is_pass_through_req(req, pt_path):
    return req["method"] == "POST" and req["path"] == pt_path and req["request_context"] is None


def check_pass_through(ours, event_bytes, pt_path, d):
    """Our pass-through request against decisions.md's pass-through row."""
    problems = []
    if ours["method"] != "POST" or ours["target"] != pt_path:
        problems.append("request line %s %s, expected POST %s" % (ours["method"], ours["target"], pt_path))
    ct = [v for n, v in ours["headers"] if n == "content-type"]
    if ct != ["application/json"]:
        problems.append("content-type %r, expected application/json" % ct)
    if ours["body"].get("same_as_event") not in ("exact", "whitespace-trimmed"):
        problems.append("body is not the invocation payload")
    if ours["request_context"] is not None:
        problems.append("x-amzn-request-context is not null")
    for p in problems:
        d.add(BUG, "pass-through request shape", p)


def check_v2_request(ours, ev, d):
    """A v2 / Function URL request against decisions.md (no upstream answer to compare)."""
    want_target = ev.get("rawPath") or "/"
    if ev.get("rawQueryString"):
        want_target += "?" + ev["rawQueryString"]
    if ours["method"] != ev["requestContext"]["http"]["method"]:
        d.add(BUG, "v2 method", "method %s, event %s" % (ours["method"], ev["requestContext"]["http"]["method"]))
    if ours["target"] != want_target:
        d.add(BUG, "v2 target", "target %s, expected rawPath?rawQueryString %s" % (ours["target"], want_target))
    got = collections.defaultdict(list)
    for n, v in ours["headers"]:
        got[n].append(v)
    for n, v in (ev.get("headers") or {}).items():
        if got.get(n.lower()) != [v]:
            d.add(BUG, "v2 header", "header %s: event %r, app got %r" % (n, v, got.get(n.lower())))
    if ev.get("cookies"):
        want = "; ".join(ev["cookies"])
        if got.get("cookie") != [want]:
            d.add(BUG, "v2 cookie", "cookie %r, expected %r (#14)" % (got.get("cookie"), want))
    body = (ev.get("body") or "").encode()
    if ev.get("isBase64Encoded"):
        body = base64.b64decode(body)
    if ours["body"]["sha256"] != hashlib.sha256(body).hexdigest():
        d.add(BUG, "v2 body", "body differs from the event's")


def compare_request_context(up, ours, ev, d):
    raw = ours.get("ours_request_context_raw")
    evrc = ev.get("requestContext") if isinstance(ev, dict) else None
    if up["request_context"] == ours["request_context"]:
        return
    if raw is None:
        d.add(BUG, "x-amzn-request-context missing", "the app got no x-amzn-request-context")
        return
    if evrc is not None and loads_ordered(raw) == loads_ordered(json.dumps(evrc)):
        extra = sorted(set(_flat(ours["request_context"])) - set(_flat(up["request_context"])))
        changed = sorted(k for k in set(_flat(ours["request_context"])) & set(_flat(up["request_context"]))
                         if _flat(ours["request_context"])[k] != _flat(up["request_context"])[k])
        missing = sorted(set(_flat(up["request_context"])) - set(_flat(ours["request_context"])))
        d.add(INTENDED, "x-amzn-request-context is the event's requestContext verbatim (#13)",
              "fields kept that upstream drops: %s; upstream's null/0 fill-ins for absent fields: %s; "
              "values upstream changed: %s" % (", ".join(extra) or "-", ", ".join(missing) or "-",
                                               ", ".join(changed) or "-"))
    else:
        d.add(BUG, "x-amzn-request-context not the event's requestContext",
              "ours %s; event %s" % (raw[:300], json.dumps(evrc)[:300]))


def _flat(v, prefix=""):
    out = {}
    if isinstance(v, dict):
        for k, x in v.items():
            out.update(_flat(x, prefix + "." + k if prefix else k))
        if not v and prefix:
            out[prefix] = {}
    else:
        out[prefix] = v
    return out


LC_ORDER = ["request_id", "deadline", "invoked_function_arn", "xray_trace_id", "client_context",
            "identity", "tenant_id", "env_config"]
ENV_ORDER = ["function_name", "memory", "version", "log_stream", "log_group"]


def compare_lambda_context(up, ours, d):
    u, o = up["lambda_context"], ours["lambda_context"]
    if o is None:
        d.add(BUG, "x-amzn-lambda-context missing", "the app got no x-amzn-lambda-context")
        return
    o_plain = json.loads(json.dumps(o))
    if "tenant_id" in o_plain and "tenant_id" not in u and o_plain["tenant_id"] is None:
        o_plain.pop("tenant_id")
        d.add(INTENDED, "x-amzn-lambda-context has tenant_id: null (decisions.md 'injected request headers', as upstream 1.x)",
              "0.9.1 has no tenant_id field")
    if o_plain != u:
        fu, fo = _flat(u), _flat(o_plain)
        diffs = ["%s: upstream %r, ours %r" % (k, fu.get(k), fo.get(k))
                 for k in sorted(set(fu) | set(fo)) if fu.get(k) != fo.get(k)]
        d.add(BUG, "x-amzn-lambda-context differs", "; ".join(diffs))
    order = list(o.keys())
    env = list(o.get("env_config", {}).keys())
    if order != [k for k in LC_ORDER if k in order] or env != [k for k in ENV_ORDER if k in env]:
        d.add(HARMLESS, "x-amzn-lambda-context key order differs from upstream's",
              "ours %s / %s (a JSON object's members are unordered)" % (order, env))


def multi_values(ev, name):
    """Values of `name` in the event's multiValueHeaders (case-insensitive)."""
    for n, v in (ev.get("multiValueHeaders") or {}).items():
        if n.lower() == name and isinstance(v, list):
            return v
    return None


def single_value(ev, name):
    for n, v in (ev.get("headers") or {}).items():
        if n.lower() == name:
            return v
    return None


def compare_headers(up, ours, ev, kind, d):
    skip = ("x-amzn-request-context", "x-amzn-lambda-context")
    U = [(n, v) for n, v in up["headers"] if n not in skip]
    O = [(n, v) for n, v in ours["headers"] if n not in skip]
    for n in ours.get("ours_header_name_case") or []:
        d.add(HARMLESS, "header name case", "%r sent as is (field names are case-insensitive, RFC 9110 5.1)" % n)
    missing = collections.Counter(U) - collections.Counter(O)
    extra = collections.Counter(O) - collections.Counter(U)
    names = sorted({n for n, _ in missing} | {n for n, _ in extra})
    explained = set()
    for name in names:
        uv = [v for n, v in U if n == name]
        ov = [v for n, v in O if n == name]
        if (name == "content-length" and uv == ["0"] and not ov
                and ours["body"]["len"] == 0 and not any(n == "transfer-encoding" for n, _ in O)):
            d.add(HARMLESS, "no content-length: 0 on a body-less request",
                  "%s with an empty body: a request with neither Content-Length nor "
                  "Transfer-Encoding has a zero-length body (RFC 9112 6.3)" % ours["method"])
            explained.add(name)
            continue
        mv = multi_values(ev, name) if kind in ("rest", "alb") else None
        if mv and len(mv) > 1 and ov == mv and uv == [single_value(ev, name)]:
            d.add(INTENDED, "repeated request header keeps every value (#16)",
                  "%s: upstream %r, ours %r" % (name, uv, ov))
            explained.add(name)
            continue
        if (name == "content-length" and up["body"].get("same_as_event") == "whitespace-trimmed"
                and ours["body"].get("same_as_event") == "exact" and uv == [str(up["body"]["len"])]
                and ov == [str(ours["body"]["len"])]):
            explained.add(name)  # reported with the body (PASS_THROUGH_TRIM)
            continue
        ev_cl = single_value(ev, "content-length") if isinstance(ev, dict) else None
        if name == "content-length" and ev_cl is not None and ov == [str(ours["body"]["len"])]:
            d.add(INTENDED, "real body length, not the event's content-length (#7)",
                  "upstream %r, ours %r" % (uv, ov))
            explained.add(name)
            continue
        d.add(BUG, "request header differs", "%s: upstream %r, ours %r" % (name, uv, ov))
    # Order, over the headers both sent.
    common = [n for n in dict.fromkeys(n for n, _ in U) if n not in explained and any(m == n for m, _ in O)]
    uo = [n for n, _ in U if n in common]
    oo = [n for n, _ in O if n in common]
    for n in common:
        if [v for m, v in U if m == n] != [v for m, v in O if m == n] and n not in names:
            d.add(BUG, "order of a repeated header's values", n)
    if uo != oo:
        d.add(HARMLESS, "header order",
              "the order of differently named fields carries no meaning (RFC 9110 5.3); "
              "placed differently: %s" % ", ".join(_moved(uo, oo)))


def _moved(a, b):
    """Names of `b` outside its longest common subsequence with `a`."""
    sm = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    kept = set()
    for blk in sm.get_matching_blocks():
        kept.update(range(blk.b, blk.b + blk.size))
    return [n for i, n in enumerate(b) if i not in kept]


def compare_query(up, ours, kind, d):
    if up["query"] == ours["query"]:
        return
    split = lambda q: sorted((q or "").split("&")) if q else []  # noqa: E731
    if kind in ("rest", "alb") and split(up["query"]) == split(ours["query"]):
        d.add(INTENDED, "query parameter order (#4)", "upstream %r, ours %r" % (up["query"], ours["query"]))
    elif (up["query"] == "" and ours["query"] is None) or (up["query"] is None and ours["query"] == ""):
        d.add(HARMLESS, "bare '?' with an empty query", "upstream %r, ours %r" % (up["target"], ours["target"]))
    else:
        d.add(BUG, "query differs", "upstream %r, ours %r" % (up["query"], ours["query"]))


PASS_THROUGH_TRIM = ("pass-through body is the payload byte for byte, upstream trims surrounding "
                     "whitespace, so content-length differs too (decisions.md pass-through row: both accepted)")


def compare_app_request(up, ours, ev, ev_bytes, kind, pt_path, d):
    for field in ("method", "path", "version"):
        if up[field] != ours[field]:
            d.add(BUG, "request %s differs" % field, "upstream %r, ours %r" % (up[field], ours[field]))
    compare_query(up, ours, kind, d)
    compare_headers(up, ours, ev, kind, d)
    ub, ob = up["body"], ours["body"]
    if ub["sha256"] != ob["sha256"]:
        if is_pass_through_req(up, pt_path) and ob.get("same_as_event") == "exact" \
                and ub.get("same_as_event") == "whitespace-trimmed":
            d.add(INTENDED, PASS_THROUGH_TRIM,
                  "upstream %d bytes (content-length %d), ours %d bytes (content-length %d)"
                  % (ub["len"], ub["len"], ob["len"], ob["len"]))
        else:
            d.add(BUG, "request body differs", "upstream %d bytes %s, ours %d bytes %s"
                  % (ub["len"], ub["sha256"][:12], ob["len"], ob["sha256"][:12]))
    if up["framing"] != ours["framing"] and not (ours["framing"] == "none" and ob["len"] == 0):
        d.add(HARMLESS if ob["sha256"] == ub["sha256"] else BUG, "request body framing",
              "upstream %s, ours %s" % (up["framing"], ours["framing"]))
    compare_request_context(up, ours, ev, d)
    compare_lambda_context(up, ours, d)


def compare_runtime(upr, our, d, up_panicked, ours_served, kind):
    if upr["outcome"] != our["outcome"]:
        if up_panicked and our["outcome"] == "response" and ours_served:
            d.add(INTENDED, "upstream panicked on the event, we serve it (#1)",
                  "upstream /error %s" % upr["body"].get("json"))
        else:
            d.add(BUG, "runtime outcome differs", "upstream %s, ours %s %s" % (
                upr["outcome"], our["outcome"], json.dumps(our.get("body"))[:300]))
        return
    if our["outcome"] == "none":
        return
    if not our.get("request_id_matches", True):
        d.add(BUG, "result posted for the wrong request id", "")
    if upr["outcome"] == "error":
        ue, oe = upr["body"].get("json") or {}, our["body"].get("json") or {}
        if set(oe) != {"errorType", "errorMessage"}:
            d.add(BUG, "error body shape", json.dumps(our["body"])[:300])
        elif (ue.get("errorType"), ue.get("errorMessage")) != (oe.get("errorType"), oe.get("errorMessage")):
            d.add(INTENDED, "stable errorType and an actionable errorMessage (#3)",
                  "upstream %s; ours %s: %s" % (ue.get("errorType"), oe.get("errorType"),
                                                (oe.get("errorMessage") or "")[:160]))
        uh = upr.get("headers", {}).get("lambda-runtime-function-error-type")
        oh = our.get("headers", {}).get("lambda-runtime-function-error-type")
        if uh != oh:
            d.add(INTENDED, "Lambda-Runtime-Function-Error-Type is the errorType (#3)",
                  "upstream %r, ours %r" % (uh, oh))
        return
    if upr["body"] != our["body"]:
        u, o = upr["body"].get("json"), our["body"].get("json")
        if kind == "alb" and isinstance(u, dict) and isinstance(o, dict) \
                and {k: v for k, v in u.items() if k in o} == o and set(u) - set(o) <= {"headers", "multiValueHeaders"}:
            d.add(BUG, "ALB response has only one header map (upstream always sends both `headers` and "
                       "`multiValueHeaders`; decisions.md 'response shapes' row)",
                  "missing %s; ours %s" % (sorted(set(u) - set(o)), json.dumps(o)[:200]))
        else:
            d.add(BUG, "response JSON differs", _json_diff(u, o))
    if upr.get("framing") != our.get("framing"):
        d.add(HARMLESS, "runtime post framing", "upstream %s, ours %s (the Runtime API reads either)"
              % (upr.get("framing"), our.get("framing")))


def _json_diff(u, o):
    fu, fo = _flat(u), _flat(o)
    if not isinstance(u, dict) or not isinstance(o, dict):
        return "upstream %s, ours %s" % (json.dumps(u)[:200], json.dumps(o)[:200])
    return "; ".join("%s: upstream %s, ours %s" % (k, json.dumps(fu.get(k)), json.dumps(fo.get(k)))
                     for k in sorted(set(fu) | set(fo)) if fu.get(k) != fo.get(k))


def classify(case, ours, ev_bytes, settings):
    d = Diffs()
    try:
        ev = json.loads(ev_bytes)
    except ValueError:
        ev = None
    kind = http_kind(ev)
    pt_path = settings.get("extra_env", {}).get("AWS_LWA_PASS_THROUGH_PATH", "/events")
    upr, our = case["runtime"], ours["runtime"]
    up_reqs, our_reqs = case["app_requests"], ours["app_requests"]
    up_panicked = upr["outcome"] == "error" and "Any" in str((upr["body"].get("json") or {}).get("errorType"))

    if ours["adapter"]["exited_during_case"]:
        d.add(BUG, "adapter exited during the case", "exit %s; %s" % (
            ours["adapter"]["exit_code"], " | ".join(ours["adapter"]["log_tail"][-3:])))
    if ours["info"]["extra_runtime_posts"]:
        d.add(BUG, "more than one runtime post", str(ours["info"]["extra_runtime_posts"]))
    if ours["info"]["post_result_app_requests"]:
        d.add(BUG, "app requests after the result", str(ours["info"]["post_result_app_requests"]))

    served_ok = True
    if len(up_reqs) == len(our_reqs):
        for u, o in zip(up_reqs, our_reqs):
            up_pt, our_pt = is_pass_through_req(u, pt_path), is_pass_through_req(o, pt_path)
            if up_pt == our_pt:
                compare_app_request(u, o, ev, ev_bytes, kind, pt_path, d)
            elif our_pt and why_pass_through(ev):
                d.add(INTENDED, why_pass_through(ev).replace(" (#2)", "") + " (#2)",
                      "upstream sent %s %s as an HTTP request" % (u["method"], u["target"]))
                check_pass_through(o, ev_bytes, pt_path, d)
                served_ok = False
            else:
                d.add(BUG, "event routed differently", "upstream %s %s, ours %s %s"
                      % (u["method"], u["target"], o["method"], o["target"]))
                served_ok = False
    elif not up_reqs and up_panicked and len(our_reqs) == 1 and kind == "v2":
        check_v2_request(our_reqs[0], ev, d)
        if case.get("_lc_reference"):
            compare_lambda_context({"lambda_context": case["_lc_reference"]}, our_reqs[0], d)
    elif not up_reqs and not our_reqs:
        pass
    else:
        d.add(BUG, "number of app requests differs", "upstream %d, ours %d" % (len(up_reqs), len(our_reqs)))

    if served_ok:
        compare_runtime(upr, our, d, up_panicked, bool(our_reqs), kind)
    else:
        # Routed differently on purpose: the result follows our route.
        if our["outcome"] != "response":
            d.add(BUG, "runtime outcome after pass-through", json.dumps(our.get("body"))[:300])
        elif our["body"].get("json") != upr["body"].get("json"):
            d.add(INTENDED, "result is the pass-through result (null for a non-JSON body), not a proxy response (#2)",
                  "upstream %s..., ours %s" % (json.dumps(upr["body"].get("json"))[:60],
                                               json.dumps(our["body"].get("json"))))
    result_post = re.compile(r"/invocation/\{REQUEST_ID\}/(response|error)$")
    uc = {c for c in case.get("info", {}).get("runtime_calls", []) if not result_post.search(c)}
    oc = {c for c in ours["info"]["runtime_calls"] if not result_post.search(c)}
    if uc and uc != oc:
        d.add(BUG, "runtime API calls differ",
              "upstream only %s; ours only %s" % (sorted(uc - oc), sorted(oc - uc)))
    return d


# ---------------------------------------------------------------------------

def locate(fixtures, rel, sha):
    parts = Path(rel).parts
    for i in range(len(parts)):
        p = fixtures.joinpath(*parts[i:])
        if p.is_file():
            b = p.read_bytes()
            if not sha or hashlib.sha256(b).hexdigest() == sha:
                return p, b
    return None, None


def setup_error(msg):
    print("conformance: " + msg, file=sys.stderr)
    return 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fixtures", type=Path, help="the conformance-fixtures directory")
    ap.add_argument("--adapter", type=Path, default=REPO / "target/debug/lambda-adapter",
                    help="adapter binary (default: target/debug/lambda-adapter)")
    ap.add_argument("--results", type=Path, action="append",
                    help="recording(s) to compare with (default: FIXTURES/results/*.json)")
    ap.add_argument("--case", help="only cases whose name contains this")
    ap.add_argument("--json", type=Path, help="write our observations and the differences here")
    ap.add_argument("-v", "--verbose", action="store_true", help="also list identical cases")
    a = ap.parse_args()

    if not a.adapter.is_file() or not os.access(a.adapter, os.X_OK):
        return setup_error("no adapter binary at %s (run `cargo build`, or pass --adapter)" % a.adapter)
    recordings = a.results or sorted((a.fixtures / "results").glob("*.json"))
    if not recordings:
        return setup_error("no recording under %s/results (pass the conformance-fixtures directory)"
                           % a.fixtures)

    any_bug = False
    dump = {}
    for rec_path in recordings:
        rec = json.loads(rec_path.read_text())
        if rec.get("format") != "lwa-conformance/1":
            print("conformance: %s: unknown format %r, skipped" % (rec_path, rec.get("format")))
            continue
        settings = rec["settings"]
        print("== %s: %s, %d cases, adapter %s" % (rec_path.name, rec.get("label"), len(rec["cases"]), a.adapter))
        # The lambda context every served case recorded (the panicked case has none).
        lc_ref = next((q["lambda_context"] for c in rec["cases"].values() for q in c["app_requests"]), None)
        per_class = collections.Counter()
        groups = collections.defaultdict(set)
        worst = collections.Counter()
        for name, case in sorted(rec["cases"].items()):
            if a.case and a.case not in name:
                continue
            path, ev = locate(a.fixtures, case["fixture"], case.get("event_sha256"))
            short = name.split("/")[-3] + "/" + name.split("/")[-1] if "aws-lambda-web-adapter" in name \
                else name.split("/")[-1]
            if ev is None:
                print("\n%s: SKIPPED (fixture %s not found with sha256 %s)" % (short, case["fixture"], case.get("event_sha256")))
                worst["skipped"] += 1
                continue
            if variant_response(case.get("variant")) is None:
                print("\n%s: SKIPPED (unknown variant %r)" % (short, case.get("variant")))
                worst["skipped"] += 1
                continue
            case = dict(case, _lc_reference=lc_ref)
            ours = run_case(str(a.adapter), settings, ev, case["variant"],
                            settings.get("extra_env", {}).get("AWS_LWA_PASS_THROUGH_PATH", "/events"))
            d = classify(case, ours, ev, settings)
            classes = {c for c, _, _ in d.items}
            w = BUG if BUG in classes else INTENDED if INTENDED in classes else HARMLESS if classes else "identical"
            worst[w] += 1
            for c, k, _ in d.items:
                per_class[c] += 1
                groups[(c, k)].add(short)
            dump[name] = {"ours": ours, "differences": [list(x) for x in d.items], "verdict": w}
            if d.items or a.verbose:
                print("\n%s  [%s; upstream %s, ours %s]" % (short, case["kind"], case["runtime"]["outcome"],
                                                          ours["runtime"]["outcome"]))
                if not d.items:
                    print("  identical")
                for c, k, detail in sorted(d.items, key=lambda x: ("BUG", "INTENDED", "HARMLESS").index(x[0])):
                    print("  %-8s %s%s" % (c, k, (": " + detail) if detail else ""))
        any_bug |= worst[BUG] > 0
        total = sum(worst.values())
        print("\n== summary (%s): %d cases: %d identical, %d with only harmless differences, "
              "%d with intended differences (and no bug), %d with a BUG, %d skipped"
              % (rec_path.name, total, worst["identical"], worst[HARMLESS], worst[INTENDED], worst[BUG],
                 worst["skipped"]))
        for cls in (BUG, INTENDED, HARMLESS):
            for (c, k), cases in sorted(groups.items()):
                if c == cls:
                    print("  %-8s %3d case%s  %s" % (c, len(cases), " " if len(cases) == 1 else "s", k))
    if a.json:
        a.json.write_text(json.dumps(dump, indent=1, ensure_ascii=False, default=str))
    return 1 if any_bug else 0


if __name__ == "__main__":
    sys.exit(main())
