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
LOGDIR=target/demo
source scripts/lib.sh
trap 'echo; echo "stopping..."; exit 0' INT TERM
mkdir -p "$LOGDIR"

bold "==> 1/4 building the adapter"
cargo build --release --locked
ADAPTER=target/release/lambda-adapter

bold "==> 2/4 cargo-lambda $CARGO_LAMBDA_VERSION (Lambda emulator) in $CARGO_LAMBDA_VENV"
install_cargo_lambda

bold "==> 3/4 starting the emulator, the app and the adapter (logs in $LOGDIR/)"
start_emulator
APP_PORT=$(free_ports 1)
PORT=$APP_PORT python3 -u examples/hello/app.py >"$LOGDIR/app.log" 2>&1 &
APP_PID=$!; track "$APP_PID"
wait_for "the app" "$APP_PID" "$APP_PORT"
AWS_LAMBDA_RUNTIME_API="$RUNTIME_API" AWS_LWA_PORT=$APP_PORT \
  AWS_LWA_READINESS_CHECK_PATH=/ AWS_LAMBDA_FUNCTION_NAME=$FUNCTION AWS_LAMBDA_FUNCTION_VERSION=1 \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=4096 "$ADAPTER" >"$LOGDIR/adapter.log" 2>&1 &
ADAPTER_PID=$!; track "$ADAPTER_PID"; LOGS="$LOGS $LOGDIR/app.log $LOGDIR/adapter.log"
echo "emulator :$EMU_PORT (pid $EMU_PID), app :$APP_PORT (pid $APP_PID), adapter (pid $ADAPTER_PID)"

# show METHOD PATH [CONTENT_TYPE BODY]: one request through the Function URL (lib.sh's
# send), shown with its answer. Sets STATUS; the answer is in $LOGDIR/headers and $LOGDIR/body.
show() {
  local method=$1 path=$2 args=()
  [[ $# -lt 4 ]] || args=(-H "Content-Type: $3" --data-binary "$4")
  echo; bold "> $method $path${4:+   ($3) $4}"
  send "$method" "$path" ${args[@]+"${args[@]}"}
  tr -d '\r' <"$LOGDIR/headers" | sed -e '/^$/d' -e 's/^/< /'
  if grep -qi '^content-type: image/' "$LOGDIR/headers"; then
    echo "< ($(wc -c <"$LOGDIR/body" | tr -d ' ') bytes of binary; first 8:$(head -c 8 "$LOGDIR/body" | od -An -tx1 | tr -s ' '))"
  else
    sed 's/^/< /' "$LOGDIR/body"
    [[ -z "$(tail -c 1 "$LOGDIR/body")" ]] || echo
  fi
}

# check DESCRIPTION CONDITION: a mismatch fails in CI mode and is only reported otherwise.
check() {
  if eval "$2"; then echo "  ok: $1"
  elif [[ $CI_MODE == 1 ]]; then fail "mismatch: $1 (status $STATUS; the answer is above)"
  else echo "  MISMATCH: $1"; fi
}
# jcheck DESCRIPTION PYTHON_EXPR: is it true of the body parsed as `d` (lib.sh's json)?
jcheck() { check "$1" "json $(printf '%q' "$2")"; }

bold "==> 4/4 requests through the Function URL $URL/..."
show GET /
check "200 and a greeting" '[[ $STATUS == 200 && $(body) == Hello* ]]'
show GET '/json?a=1&a=2'
check "200 and JSON" '[[ $STATUS == 200 ]] && json True'
jcheck "method, path and repeated query" "d['method'] == 'GET' and d['path'] == '/json' and d['query'] == {'a': ['1', '2']}"
jcheck "x-amzn-request-context (the event's requestContext)" "d['request_context']['http']['method'] == 'GET'"
jcheck "x-amzn-lambda-context (the invocation's context)" "bool(d['lambda_context']['request_id'])"
JSON='{"hello":"lambda","n":[1,2,3]}'
show POST /echo application/json "$JSON"
check "the body echoed as sent" '[[ $STATUS == 200 && $(body) == "$JSON" ]]'
show GET /cookie
check "two Set-Cookie lines" '[[ $STATUS == 200 && $(header_count set-cookie) == 2 ]]'
show GET /image.png
curl -s -o "$LOGDIR/direct.png" "http://127.0.0.1:$APP_PORT/image.png"
check "the same PNG bytes as the app serves directly" '[[ $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$LOGDIR/direct.png"'

echo
if [[ $CI_MODE == 1 ]]; then
  bold "All checks passed in ${SECONDS}s."
  exit 0
fi
bold "Everything is running. Try more requests, e.g.:"
echo "  curl -i '$URL/json?name=you'"
echo "  curl -i -X POST -H 'Content-Type: text/plain' --data 'hi there' $URL/echo"
echo "  curl -i $URL/nothing-here"
echo "Logs: $LOGDIR/emulator.log $LOGDIR/app.log $LOGDIR/adapter.log"
bold "Press Ctrl-C to stop."
while kill -0 "$EMU_PID" 2>/dev/null && kill -0 "$APP_PID" 2>/dev/null && kill -0 "$ADAPTER_PID" 2>/dev/null; do
  sleep 1
done
fail "a process stopped unexpectedly"
