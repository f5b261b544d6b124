"""A plain Flask app: nothing in it knows about Lambda.

Deployed as a zip on Lambda's Python runtime with the lambda-adapter layer:
the function's handler is run.sh, which starts it under gunicorn; the layer's
/opt/bootstrap (AWS_LAMBDA_EXEC_WRAPPER) runs run.sh instead of the Python
runtime's client, and the layer's extension serves the invocations.

Routes (the same in every example, so scripts/e2e.sh checks them all alike):
  GET  /          a greeting, text/plain
  GET  /query     the raw query string and its [key, value] pairs in order
  POST /json      the JSON body parsed and sent back, with its content type
  GET  /binary    1024 bytes, 0..255 four times, application/octet-stream
  GET  /cookies   three Set-Cookie headers
  POST /echo      the request body, byte for byte, with the request's content type
  GET  /error     an unhandled exception: the framework's own 500
  anything else   the framework's own 404

Run: gunicorn -b 127.0.0.1:8000 app:app
"""
from flask import Flask, Response, jsonify, request

app = Flask(__name__)


@app.get("/")
def index():
    return Response("Hello from Flask\n", mimetype="text/plain")


@app.get("/query")
def query():
    return jsonify(
        raw=request.query_string.decode("latin-1"),
        pairs=list(request.args.items(multi=True)),
        # set by lambda-adapter: the Lambda event's requestContext
        via_lambda="x-amzn-request-context" in request.headers,
    )


@app.post("/json")
def echo_json():
    return jsonify(received=request.get_json(), content_type=request.content_type)


@app.get("/binary")
def binary():
    return Response(bytes(range(256)) * 4, mimetype="application/octet-stream")


@app.get("/cookies")
def cookies():
    response = Response("three cookies\n", mimetype="text/plain")
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark", path="/")
    response.set_cookie("lang", "en", max_age=3600)
    return response


@app.post("/echo")
def echo():
    return Response(request.get_data(), content_type=request.content_type or "application/octet-stream")


@app.get("/error")
def error():
    raise RuntimeError("an error the app did not handle")
