#!/usr/bin/env python3
"""An SQS consumer as a plain web app (Python 3 standard library only).

With AWS_LWA_PASS_THROUGH_ROUTES=aws:sqs=/sqs, lambda-adapter POSTs each SQS
batch to /sqs, byte for byte as Lambda delivered it. The app handles every
message and answers with the ones that failed, in Lambda's partial batch
response shape; with ReportBatchItemFailures on the event source mapping,
Lambda deletes the others and retries only those.

Here a message fails when its body is not a JSON object with a "job" key.

Routes:
  GET  /     readiness: "ok"
  POST /sqs  {"batchItemFailures": [{"itemIdentifier": "<messageId>"}, ...]}

Run: PORT=8080 python3 examples/sqs/app.py
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handle(message):
    """Processes one message; raises when it cannot."""
    job = json.loads(message["body"])
    if not isinstance(job, dict) or "job" not in job:
        raise ValueError("not a job")
    print(f"sqs: {job['job']} from {message['messageId']}", flush=True)


def failures(batch):
    """The messageIds of the records that could not be processed."""
    failed = []
    for record in batch.get("Records", []):
        try:
            handle(record)
        except Exception:  # one bad message must not fail the batch
            failed.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failed}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer(200, b"ok", "text/plain")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path != "/sqs" or self.headers.get("x-amzn-event-source") != "aws:sqs":
            return self.answer(404, b"not an SQS batch", "text/plain")
        result = json.dumps(failures(json.loads(body))).encode()
        self.answer(200, result, "application/json")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
