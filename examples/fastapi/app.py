"""A plain FastAPI app: nothing in it knows about Lambda.

On Lambda, lambda-adapter (in /opt/extensions) turns each invocation into an
HTTP request to it on 127.0.0.1:$PORT; anywhere else it is just a web app.

Routes (the same in every example, so scripts/e2e.sh checks them all alike):
  GET  /          a greeting, text/plain
  GET  /query     the raw query string and its (key, value) pairs in order
  POST /json      the JSON body parsed and sent back, with its content type
  GET  /binary    1024 bytes, 0..255 four times, application/octet-stream
  GET  /cookies   three Set-Cookie headers
  POST /echo      the request body, byte for byte, with the request's content type
  GET  /error     an unhandled exception: the framework's own 500
  anything else   the framework's own 404

Run: uvicorn --host 0.0.0.0 --port 8000 app:app
"""
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

app = FastAPI()


@app.get("/", response_class=PlainTextResponse)
def index():
    return "Hello from FastAPI\n"


@app.get("/query")
def query(request: Request):
    return {
        "raw": request.url.query,
        "pairs": request.query_params.multi_items(),
        # set by lambda-adapter: the Lambda event's requestContext
        "via_lambda": "x-amzn-request-context" in request.headers,
    }


@app.post("/json")
async def echo_json(request: Request):
    return {"received": await request.json(), "content_type": request.headers.get("content-type")}


@app.get("/binary")
def binary():
    return Response(bytes(range(256)) * 4, media_type="application/octet-stream")


@app.get("/cookies", response_class=PlainTextResponse)
def cookies(response: Response):
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark", path="/")
    response.set_cookie("lang", "en", max_age=3600)
    return "three cookies\n"


@app.post("/echo")
async def echo(request: Request):
    return Response(
        await request.body(),
        media_type=request.headers.get("content-type", "application/octet-stream"),
    )


@app.get("/error")
def error():
    raise RuntimeError("an error the app did not handle")
