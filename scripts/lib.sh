# Helpers shared by scripts/demo.sh, scripts/e2e.sh and scripts/container-e2e.sh (sourced, not run):
# background processes with cleanup, free ports, cargo-lambda (the Lambda
# emulator) from PyPI, and requests through its Function URL front end.
#
# The sourcing script sets LOGDIR (where logs and answers go) and may append
# log files to LOGS (shown by `fail`); it tracks its processes with `track PID`.

CARGO_LAMBDA_VERSION=1.9.2
CARGO_LAMBDA_VENV=target/demo-venv
FUNCTION=lambda-adapter  # cargo-lambda only invokes functions named after a bin target of ./Cargo.toml
PIDS=""
LOGS=""
bold() { printf '\033[1m%s\033[0m\n' "$*"; }
track() { PIDS="$PIDS $*"; }

# stop PID...: SIGTERM, up to 5 s for a graceful stop, then SIGKILL; reaps them.
stop() {
  local pid alive
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "$@"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
}
stop_all() { local pids=$PIDS; PIDS=""; [[ -z "${pids// /}" ]] || stop $pids; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "stopping..."; exit 130' INT TERM

fail() {
  local log
  echo >&2; echo "FAILED: $*" >&2
  for log in $LOGS; do
    [[ -f "$log" ]] && { echo "---- $log (last 40 lines) ----" >&2; tail -n 40 "$log" >&2; }
  done
  exit 1
}

# free_ports N: N TCP ports free on 127.0.0.1 right now, space-separated.
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "$1"
}

# wait_for WHAT PID PORT: polls until something listens on 127.0.0.1:PORT,
# failing if PID exits first or after 30 s.
wait_for() {
  local what=$1 pid=$2 port=$3 until=$((SECONDS + 30))
  until python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
      "$port" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "$what exited during start-up"
    [[ $SECONDS -lt $until ]] || fail "$what did not listen on port $port within 30 s"
    sleep 0.1
  done
}

# install_cargo_lambda: cargo-lambda, pinned, into $CARGO_LAMBDA_VENV (once).
install_cargo_lambda() {
  local venv=$CARGO_LAMBDA_VENV
  if [[ "$("$venv/bin/cargo-lambda" lambda --version 2>/dev/null || true)" != "cargo-lambda $CARGO_LAMBDA_VERSION "* ]]; then
    # --no-deps: its one dependency, ziglang (~400 MB), is for cross-compiling, which the emulator never does.
    local pip_args=(-m pip install --quiet --disable-pip-version-check --no-deps "cargo-lambda==$CARGO_LAMBDA_VERSION")
    rm -rf "$venv"
    if python3 -m venv "$venv" 2>/dev/null; then
      "$venv/bin/python" "${pip_args[@]}"
    else  # no venv module (Debian/Ubuntu without python3-venv): --target also gives $venv/bin/cargo-lambda
      rm -rf "$venv"; python3 "${pip_args[@]}" --target "$venv"
    fi
  fi
  "$venv/bin/cargo-lambda" lambda --version
}

# start_emulator: starts `cargo lambda watch` on a free port, logging to
# $LOGDIR/emulator.log. Sets EMU_PID, EMU_PORT, RUNTIME_API (for the function's
# AWS_LAMBDA_RUNTIME_API) and URL (the Function URL front end, no trailing /).
start_emulator() {
  EMU_PORT=$(free_ports 1)
  # cargo-lambda runs `cargo metadata` here, so it needs this Cargo.toml; `cargo lambda` execs cargo-lambda.
  PATH="$PWD/$CARGO_LAMBDA_VENV/bin:$PATH" cargo lambda watch --only-lambda-apis --ignore-changes \
    --invoke-address 127.0.0.1 --invoke-port "$EMU_PORT" >"$LOGDIR/emulator.log" 2>&1 &
  EMU_PID=$!; track "$EMU_PID"; LOGS="$LOGS $LOGDIR/emulator.log"
  wait_for "cargo-lambda" "$EMU_PID" "$EMU_PORT"
  RUNTIME_API="http://127.0.0.1:$EMU_PORT/.rt/$FUNCTION"
  URL="http://127.0.0.1:$EMU_PORT/lambda-url/$FUNCTION"
}

# send METHOD PATH [CURL_ARGS...]: one request to $URL$PATH; sets STATUS, the
# answer goes to $LOGDIR/headers and $LOGDIR/body. A request with no answer
# within $SEND_TIMEOUT s (default 5) is re-sent once: cargo-lambda 1.9.2 now and
# then loses a response body (lambda-protocol.md §5.1). Fails if $ADAPTER_PID
# (when set) is gone; with SEND_NO_FAIL=1, a request that got no answer twice
# sets STATUS=000 instead of failing the run (the caller reports it).
send() {
  local method=$1 path=$2 attempt
  shift 2
  for attempt in 1 2; do
    STATUS=$(curl -s --max-time "${SEND_TIMEOUT:-5}" -X "$method" -D "$LOGDIR/headers" -o "$LOGDIR/body" \
      -w '%{http_code}' "$@" "$URL$path") && return 0
    [[ -z "${ADAPTER_PID:-}" ]] || kill -0 "$ADAPTER_PID" 2>/dev/null || fail "the adapter exited; no answer to $method $path"
    if [[ $attempt == 2 && ${SEND_NO_FAIL:-} == 1 ]]; then STATUS=000; return 0; fi
    [[ $attempt == 1 ]] || fail "no answer to $method $path within ${SEND_TIMEOUT:-5} s, twice"
    echo "  (no answer to $method $path within ${SEND_TIMEOUT:-5} s: cargo-lambda $CARGO_LAMBDA_VERSION now and then loses a response body; re-sending once)"
  done
}
body() { cat "$LOGDIR/body"; }
header_count() { tr -d '\r' <"$LOGDIR/headers" | grep -ci "^$1:" || true; }
header() { tr -d '\r' <"$LOGDIR/headers" | grep -i "^$1:" | head -n 1 | cut -d: -f2- | sed 's/^ *//'; }
# json PYTHON_EXPR [ARG...]: is it true of the body parsed as `d`? ARGs are sys.argv[3:].
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not eval(sys.argv[2]))' "$LOGDIR/body" "$@"; }
