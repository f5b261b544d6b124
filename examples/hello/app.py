#!/usr/bin/env python3
"""A tiny web app for the lambda-adapter demo (Python 3 standard library only).

Routes:
  GET  /           a greeting, text/plain
  GET  /json       the request as JSON: method, path, query and the adapter's
                   x-amzn-request-context / x-amzn-lambda-context headers (parsed)
  GET  /cookie     two Set-Cookie headers
  GET  /image.png  a tiny PNG (binary body)
  POST /echo       the request body, with the request's Content-Type

Run: PORT=8080 python3 examples/hello/app.py
"""
import json
import os
import struct
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def tiny_png(width=4, height=4):
    """An RGB PNG, a red/blue checkerboard, built by hand (no Pillow)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(
        b"\x00" + b"".join(b"\xff\x00\x00" if (x + y) % 2 else b"\x00\x00\xff" for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = tiny_png()


def parsed_header(value):
    """A JSON header parsed, the raw text if it is not JSON, None if absent."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = "hello/1.0"

    def send(self, status, body, content_type, extra=()):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/":
            self.send(200, "Hello from a plain Python web app, running behind lambda-adapter!\n",
                      "text/plain; charset=utf-8")
        elif url.path == "/json":
            doc = {
                "method": self.command,
                "path": url.path,
                "query": parse_qs(url.query, keep_blank_values=True),
                "request_context": parsed_header(self.headers.get("x-amzn-request-context")),
                "lambda_context": parsed_header(self.headers.get("x-amzn-lambda-context")),
            }
            self.send(200, json.dumps(doc, indent=2) + "\n", "application/json")
        elif url.path == "/cookie":
            self.send(200, "two cookies set\n", "text/plain; charset=utf-8",
                      [("Set-Cookie", "flavour=chocolate; Path=/"),
                       ("Set-Cookie", "session=abc123; Path=/; HttpOnly")])
        elif url.path == "/image.png":
            self.send(200, PNG, "image/png")
        else:
            self.send(404, "not found: %s\n" % url.path, "text/plain; charset=utf-8")

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if urlsplit(self.path).path == "/echo":
            self.send(200, body, self.headers.get("Content-Type") or "application/octet-stream")
        else:
            self.send(404, "not found: %s\n" % self.path, "text/plain; charset=utf-8")

    def log_message(self, fmt, *args):
        sys.stderr.write("app: %s\n" % (fmt % args))


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("app: listening on http://127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
