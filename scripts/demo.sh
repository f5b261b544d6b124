#!/usr/bin/env bash
# The lambda-adapter demo: a plain Python web app (examples/hello/app.py) served
# through the adapter and a local Lambda emulator (cargo-lambda), called with curl
# through the emulator's Function URL front end.
#
#   scripts/demo.sh        run, show a few requests, keep running until Ctrl-C
#   scripts/demo.sh --ci   (or CI=1) check every answer, then stop; non-zero on a mismatch
#
# Needs Rust, Python 3 (with venv and pip) and curl. cargo-lambda is installed from
# PyPI into target/demo-venv; logs go to target/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."

CI_MODE=0
case "${1:-}" in
  --ci) CI_MODE=1 ;;
  "") [[ "${CI:-}" == 1 || "${CI:-}" == true ]] && CI_MODE=1 ;;
  *) echo "usage: $0 [--ci]" >&2; exit 2 ;;
esac
CARGO_LAMBDA_VERSION=1.9.2
VENV=target/demo-venv
DEMO=target/demo
FUNCTION=lambda-adapter  # cargo-lambda only invokes functions named after a bin target of ./Cargo.toml
PIDS=""
bold() { printf '\033[1m%s\033[0m\n' "$*"; }

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do   # up to 5 s for a graceful stop, then SIGKILL
    local alive=0
    for pid in $PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in $PIDS; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "stopping..."; exit 0' INT TERM

fail() {
  echo >&2; echo "DEMO FAILED: $*" >&2
  for log in "$DEMO"/emulator.log "$DEMO"/app.log "$DEMO"/adapter.log; do
    [[ -f "$log" ]] && { echo "---- $log (last 40 lines) ----" >&2; tail -n 40 "$log" >&2; }
  done
  exit 1
}

# Polls until something listens on 127.0.0.1:<port>, failing if <pid> exits first.
wait_for() {
  local what=$1 pid=$2 port=$3 until=$((SECONDS + 30))
  until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
      "$port" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up"
    [[ $SECONDS -lt $until ]] || fail "$what did not listen on port $port within 30 s"
    sleep 0.1
  done
}

bold "==> 1/4 building the adapter"
cargo build --release --locked
ADAPTER=target/release/lambda-adapter

bold "==> 2/4 cargo-lambda $CARGO_LAMBDA_VERSION (Lambda emulator) in $VENV"
if [[ "$("$VENV/bin/cargo-lambda" lambda --version 2>/dev/null || true)" != "cargo-lambda $CARGO_LAMBDA_VERSION "* ]]; then
  # --no-deps: its one dependency, ziglang (~400 MB), is for cross-compiling, which the emulator never does.
  PIP_ARGS=(-m pip install --quiet --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION")
  rm -rf "$VENV"
  if python3 -m venv "$VENV" 2>/dev/null; then
    "$VENV/bin/python" "${PIP_ARGS[@]}"
  else  # no venv module (Debian/Ubuntu without python3-venv): --target also gives $VENV/bin/cargo-lambda
    rm -rf "$VENV"; python3 "${PIP_ARGS[@]}" --target "$VENV"
  fi
fi
"$VENV/bin/cargo-lambda" lambda --version

bold "==> 3/4 starting the emulator, the app and the adapter (logs in $DEMO/)"
mkdir -p "$DEMO"
read -r EMU_PORT APP_PORT < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
# cargo-lambda runs `cargo metadata` here, so it needs this Cargo.toml; `cargo lambda` execs cargo-lambda.
PATH="$PWD/$VENV/bin:$PATH" cargo lambda watch --only-lambda-apis --ignore-changes \
  --invoke-address 127.0.0.1 --invoke-port "$EMU_PORT" >"$DEMO/emulator.log" 2>&1 &
EMU_PID=$!; PIDS="$EMU_PID"
wait_for "cargo-lambda" "$EMU_PID" "$EMU_PORT"
PORT=$APP_PORT python3 -u examples/hello/app.py >"$DEMO/app.log" 2>&1 &
APP_PID=$!; PIDS="$PIDS $APP_PID"
wait_for "the app" "$APP_PID" "$APP_PORT"
AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$EMU_PORT/.rt/$FUNCTION" AWS_LWA_PORT=$APP_PORT \
  AWS_LWA_READINESS_CHECK_PATH=/ AWS_LAMBDA_FUNCTION_NAME=$FUNCTION AWS_LAMBDA_FUNCTION_VERSION=1 \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=4096 "$ADAPTER" >"$DEMO/adapter.log" 2>&1 &
ADAPTER_PID=$!; PIDS="$PIDS $ADAPTER_PID"
echo "emulator :$EMU_PORT (pid $EMU_PID), app :$APP_PORT (pid $APP_PID), adapter (pid $ADAPTER_PID)"
URL="http://127.0.0.1:$EMU_PORT/lambda-url/$FUNCTION"

# send METHOD PATH [CONTENT_TYPE BODY]: one request through the Function URL, shown with
# its answer. Sets STATUS; the answer is in $DEMO/headers and $DEMO/body.
send() {
  local method=$1 path=$2 args=()
  [[ $# -lt 4 ]] || args=(-H "Content-Type: $3" --data-binary "$4")
  echo; bold "> $method $path${4:+   ($3) $4}"
  for attempt in 1 2; do
    STATUS=$(curl -s --max-time 5 -X "$method" -D "$DEMO/headers" -o "$DEMO/body" -w '%{http_code}' \
      ${args[@]+"${args[@]}"} "$URL$path") && break
    kill -0 "$ADAPTER_PID" 2>/dev/null || fail "the adapter exited; no answer to $method $path"
    [[ $attempt == 1 ]] || fail "no answer to $method $path within 5 s, twice"
    echo "  (no answer within 5 s: cargo-lambda $CARGO_LAMBDA_VERSION now and then loses a response body; re-sending once)"
  done
  tr -d '\r' <"$DEMO/headers" | sed -e '/^$/d' -e 's/^/< /'
  if grep -qi '^content-type: image/' "$DEMO/headers"; then
    echo "< ($(wc -c <"$DEMO/body" | tr -d ' ') bytes of binary; first 8:$(head -c 8 "$DEMO/body" | od -An -tx1 | tr -s ' '))"
  else
    sed 's/^/< /' "$DEMO/body"
    [[ -z "$(tail -c 1 "$DEMO/body")" ]] || echo
  fi
}

# check DESCRIPTION CONDITION: a mismatch fails in CI mode and is only reported otherwise.
check() {
  if eval "$2"; then echo "  ok: $1"
  elif [[ $CI_MODE == 1 ]]; then fail "mismatch: $1 (status $STATUS; the answer is above)"
  else echo "  MISMATCH: $1"; fi
}
body() { cat "$DEMO/body"; }
header_count() { tr -d '\r' <"$DEMO/headers" | grep -ci "^$1:" || true; }
# json PYTHON_EXPR: is it true of the body parsed as `d`? jcheck DESCRIPTION PYTHON_EXPR checks it.
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not eval(sys.argv[2]))' "$DEMO/body" "$1"; }
jcheck() { check "$1" "json $(printf '%q' "$2")"; }

bold "==> 4/4 requests through the Function URL $URL/..."
send GET /
check "200 and a greeting" '[[ $STATUS == 200 && $(body) == Hello* ]]'
send GET '/json?a=1&a=2'
check "200 and JSON" '[[ $STATUS == 200 ]] && json True'
jcheck "method, path and repeated query" "d['method'] == 'GET' and d['path'] == '/json' and d['query'] == {'a': ['1', '2']}"
jcheck "x-amzn-request-context (the event's requestContext)" "d['request_context']['http']['method'] == 'GET'"
jcheck "x-amzn-lambda-context (the invocation's context)" "bool(d['lambda_context']['request_id'])"
JSON='{"hello":"lambda","n":[1,2,3]}'
send POST /echo application/json "$JSON"
check "the body echoed as sent" '[[ $STATUS == 200 && $(body) == "$JSON" ]]'
send GET /cookie
check "two Set-Cookie lines" '[[ $STATUS == 200 && $(header_count set-cookie) == 2 ]]'
send GET /image.png
curl -s -o "$DEMO/direct.png" "http://127.0.0.1:$APP_PORT/image.png"
check "the same PNG bytes as the app serves directly" '[[ $STATUS == 200 ]] && cmp -s "$DEMO/body" "$DEMO/direct.png"'

echo
if [[ $CI_MODE == 1 ]]; then
  bold "All checks passed in ${SECONDS}s."
  exit 0
fi
bold "Everything is running. Try more requests, e.g.:"
echo "  curl -i '$URL/json?name=you'"
echo "  curl -i -X POST -H 'Content-Type: text/plain' --data 'hi there' $URL/echo"
echo "  curl -i $URL/nothing-here"
echo "Logs: $DEMO/emulator.log $DEMO/app.log $DEMO/adapter.log"
bold "Press Ctrl-C to stop."
while kill -0 "$EMU_PID" 2>/dev/null && kill -0 "$APP_PID" 2>/dev/null && kill -0 "$ADAPTER_PID" 2>/dev/null; do
  sleep 1
done
fail "a process stopped unexpectedly"
