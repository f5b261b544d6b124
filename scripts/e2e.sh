#!/usr/bin/env bash
# End to end: each example in examples/, run the way Lambda would run its
# image (examples/*/Dockerfile) or its zip with the adapter's layer
# (examples/*/run.sh), behind the adapter, under a local Lambda emulator
# (cargo-lambda: Runtime API + Function URL front end), checked with curl.
#
#   scripts/e2e.sh [EXAMPLE...]     default: every examples/*/ with a Dockerfile or a run.sh
#
# No Docker engine is needed. scripts/dockerfile.py reads the final stage of the
# example's Dockerfile; its COPY lines are copied into target/e2e/NAME/task (the
# WORKDIR), its RUN lines are done the same way locally (pip into a venv under
# target/e2e/NAME, npm ci in the task directory; both pinned and skipped when
# already done), and its ENTRYPOINT/CMD runs there with exactly its ENV plus what
# Lambda sets, except PORT, which is replaced by a free port so that runs cannot
# collide. Sidecar images (adapter in /opt/extensions): the adapter and the app
# run as two processes, as Lambda starts them. Wrapper images (adapter as
# ENTRYPOINT): `lambda-adapter CMD...` is the one process started. Then the same
# command runs again without Lambda, as on ECS or `docker run`. Zip examples:
# see run_zip below.
#
# Checks, through the Function URL: a greeting; a query string with repeated,
# percent-encoded and empty keys, in order; a JSON POST; a binary response byte
# for byte; three Set-Cookie headers; 1 MiB request and response bodies (binary
# and text); the app's own 404 and 500; for wrapper images, that the app keeps
# the PID and stops on SIGTERM with the helper; for the streaming example, the
# Server-Sent Events, arriving one by one. Logs go to target/e2e/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."
E2E=target/e2e
LOGDIR=$E2E
source scripts/lib.sh
mkdir -p "$E2E"

if [[ $# -gt 0 ]]; then EXAMPLES=("$@"); else
  EXAMPLES=()
  for d in examples/*/; do
    [[ -f $d/Dockerfile || -f $d/run.sh ]] && EXAMPLES+=("$(basename "$d")")
  done
fi
PASSED=0

ok() { echo "  ok: $*"; PASSED=$((PASSED + 1)); }
# check DESCRIPTION CONDITION: fails the run, with the answer, unless CONDITION holds.
check() {
  if eval "$2"; then ok "$1"; return; fi
  echo "  status $STATUS; headers:"; tr -d '\r' <"$LOGDIR/headers" | sed 's/^/    /'
  echo "  body (first 300 bytes):"; head -c 300 "$LOGDIR/body" | cat -v | sed 's/^/    /'; echo
  fail "$EXAMPLE: $1"
}

bold "==> building the adapter (the shipped static binary, as in the images: scripts/build-static.sh)"
scripts/build-static.sh --no-check x86_64
ADAPTER=$PWD/target/dist/x86_64/lambda-adapter
bold "==> cargo-lambda $CARGO_LAMBDA_VERSION (Lambda emulator) in $CARGO_LAMBDA_VENV"
install_cargo_lambda

# Fixed inputs and expected outputs, made once.
python3 - "$E2E" <<'EOF'
import os, sys
d = sys.argv[1]
open(f"{d}/expected-binary", "wb").write(bytes(range(256)) * 4)
open(f"{d}/random-1mib", "wb").write(os.urandom(1 << 20))
line = "lambda-adapter e2e: 1 MiB of text, ünïcödé included\n"
text = (line * ((1 << 20) // len(line.encode()) + 1)).encode()[: 1 << 20]
open(f"{d}/text-1mib", "wb").write(text.decode("utf-8", "ignore").encode())
open(f"{d}/sent.json", "w", encoding="utf-8").write('{"name": "J\u00fcrgen", "list": [1, 2.5, null], "nested": {"ok": true, "quote": "\\"<>&"}}')
EOF

# stage: copies the Dockerfile's COPY sources into $TASK (its WORKDIR) and does
# its RUN lines locally. Sets PATH_PREFIX for the app's PATH.
stage() {
  local i src dest rel run stamp
  mkdir -p "$TASK"
  find "$TASK" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name .npm-stamp -exec rm -rf {} +
  for ((i = 0; i < ${#IMG_COPY[@]}; i += 2)); do
    src=${IMG_COPY[i]} dest=${IMG_COPY[i + 1]}
    [[ "$dest" == "$IMG_WORKDIR" || "$dest" == "$IMG_WORKDIR"/* ]] || fail "$EXAMPLE: COPY to $dest, outside WORKDIR $IMG_WORKDIR"
    rel=${dest#"$IMG_WORKDIR"}
    mkdir -p "$TASK$rel"
    cp -R "$src" "$TASK$rel/"
  done
  PATH_PREFIX=""
  for run in "${IMG_RUN[@]}"; do
    case "$run" in
      "pip install "*"-r requirements.txt"*)
        local venv=$E2E/$EXAMPLE/venv
        stamp=$(sha256sum <"$TASK/requirements.txt")
        if [[ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]]; then
          echo "  RUN $run  ->  into $venv"
          rm -rf "$venv"
          python3 -m venv "$venv"
          "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$TASK/requirements.txt"
          echo "$stamp" >"$venv/.stamp"
        fi
        PATH_PREFIX="$PWD/$venv/bin:" ;;
      "npm ci"*)
        stamp=$(sha256sum <"$TASK/package-lock.json")
        if [[ "$(cat "$TASK/.npm-stamp" 2>/dev/null)" != "$stamp" || ! -d "$TASK/node_modules" ]]; then
          echo "  RUN $run  ->  in $TASK"
          (cd "$TASK" && ${run/npm ci/npm ci --no-audit --no-fund --loglevel=error})
          echo "$stamp" >"$TASK/.npm-stamp"
        fi ;;
      *) fail "$EXAMPLE: e2e.sh does not know how to do this RUN line locally: $run" ;;
    esac
  done
}

# launch LOG ARGV...: starts ARGV in $TASK with only the image's environment
# (plus Lambda's when LAMBDA_ENV is set); sets LAUNCHED to its PID.
launch() {
  local log=$1; shift
  local env=(PATH="$PATH_PREFIX$PATH" HOME="$HOME" LANG=C.UTF-8 "${IMG_ENV[@]}" PORT="$APP_PORT")
  # the image's own AWS_LWA_PORT, if any, is overridden too
  printf '%s\n' "${IMG_ENV[@]}" | grep -q '^AWS_LWA_PORT=' && env+=(AWS_LWA_PORT="$APP_PORT")
  [[ -z "${LAMBDA_ENV:-}" ]] || env+=(AWS_LAMBDA_RUNTIME_API="$RUNTIME_API" AWS_LAMBDA_FUNCTION_NAME="$FUNCTION"
    AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_REGION=us-east-1
    LAMBDA_TASK_ROOT="$PWD/$TASK" ${HANDLER:+_HANDLER="$HANDLER"})
  (cd "$TASK" && exec env -i "${env[@]}" "$@") >"$log" 2>&1 &
  LAUNCHED=$!; track "$LAUNCHED"; LOGS="$LOGS $log"
}

# The checks every example passes: the routes are the same in each app.
check_common() {
  send GET /
  check "GET / answers 200 with the app's greeting" '[[ $STATUS == 200 && $(body) == Hello* ]]'

  send GET '/query?a=1&a=2&na%20me=J%C3%BCrgen&k%26=v%3D%26&plus=a+b&empty=&flag'
  check "repeated, percent-encoded and empty query keys reach the app, in order" \
    "[[ \$STATUS == 200 ]] && json \"d['pairs'] == [['a', '1'], ['a', '2'], ['na me', 'Jürgen'], ['k&', 'v=&'], ['plus', 'a b'], ['empty', ''], ['flag', '']]\""
  check "the app sees the adapter's x-amzn-request-context" "json \"d['via_lambda'] is True\""

  send POST /json -H 'content-type: application/json' --data-binary "@$E2E/sent.json"
  check "a JSON POST arrives as sent" \
    "[[ \$STATUS == 200 ]] && json \"d['received'] == json.load(open(sys.argv[3])) and d['content_type'].startswith('application/json')\" \"\$E2E/sent.json\""

  send GET /binary
  check "a binary response arrives byte for byte" '[[ $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$E2E/expected-binary"'

  send GET /cookies
  check "three Set-Cookie headers arrive" \
    '[[ $STATUS == 200 && $(header_count set-cookie) == 3 ]] && grep -qi "^set-cookie: session=abc123" "$LOGDIR/headers"'

  send POST /echo -H 'content-type: application/octet-stream' --data-binary "@$E2E/random-1mib"
  check "1 MiB of random bytes, there and back, byte for byte" '[[ $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$E2E/random-1mib"'
  send POST /echo -H 'content-type: text/plain; charset=utf-8' --data-binary "@$E2E/text-1mib"
  check "1 MiB of UTF-8 text, there and back, byte for byte" '[[ $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$E2E/text-1mib"'

  send GET /no/such/route
  check "the app's 404 passes through" '[[ $STATUS == 404 ]]'
  send GET /error
  check "the app's 500 passes through, with its body" '[[ $STATUS == 500 ]] && grep -q "Internal Server Error" "$LOGDIR/body"'
}

# Server-Sent Events through the Function URL; with response streaming the first
# event must arrive well before the last (buffered, all come at the end).
check_events() {
  local count=5 interval=400 attempt
  for attempt in 1 2; do
    curl -sN --max-time 15 -D "$LOGDIR/headers" "$URL/events?count=$count&interval_ms=$interval" \
      | python3 -c 'import sys, time
t0 = time.monotonic()
for line in sys.stdin.buffer:
    if line.startswith(b"data:"):
        print(f"{time.monotonic() - t0:.3f} {line.decode().strip()}", flush=True)' >"$LOGDIR/body" && \
      [[ -s "$LOGDIR/body" ]] && break
    [[ $attempt == 1 ]] || fail "$EXAMPLE: no events, twice"
    echo "  (no events: cargo-lambda $CARGO_LAMBDA_VERSION now and then loses a response; re-sending once)"
  done
  STATUS=$(head -n 1 "$LOGDIR/headers" | cut -d' ' -f2)
  check "GET /events answers 200 text/event-stream" '[[ $STATUS == 200 && $(header content-type) == text/event-stream* ]]'
  check "all $count events arrive, in order" "python3 -c 'import json, sys
events = [json.loads(line.split(\"data: \", 1)[1]) for line in open(sys.argv[1])]
sys.exit([e[\"n\"] for e in events] != list(range(1, $count + 1)))' \"\$LOGDIR/body\""
  sed 's/^/    /' "$LOGDIR/body"
  check "the events arrive one by one (streamed, not buffered)" \
    "awk 'NR == 1 {first = \$1} END {exit !(\$1 - first > ($count - 1) * $interval / 2000)}' \"\$LOGDIR/body\""
}

# An image: the adapter as extension (sidecar) or ENTRYPOINT (wrapper).
run_image() {
  eval "$(python3 scripts/dockerfile.py "examples/$EXAMPLE/Dockerfile")"
  echo
  bold "==> $EXAMPLE ($IMG_MODE mode): ${IMG_ARGV[*]}"
  echo "  ENV ${IMG_ENV[*]}; WORKDIR $IMG_WORKDIR -> $TASK"
  stage

  start_emulator
  APP_PORT=$(free_ports 1)
  if [[ $IMG_MODE == sidecar ]]; then
    # Lambda starts the extensions first, then the image's command.
    LAMBDA_ENV=1 launch "$LOGDIR/adapter.log" "$ADAPTER"; ADAPTER_PID=$LAUNCHED
    LAMBDA_ENV=1 launch "$LOGDIR/app.log" "${IMG_ARGV[@]}"; APP_PID=$LAUNCHED
  else
    LAMBDA_ENV=1 launch "$LOGDIR/app.log" "$ADAPTER" "${IMG_ARGV[@]:1}"; APP_PID=$LAUNCHED
    ADAPTER_PID=$APP_PID  # after the exec, the app; the helper is its child
    ln -sf app.log "$LOGDIR/adapter.log"
  fi
  wait_for "$EXAMPLE" "$APP_PID" "$APP_PORT"
  echo "  emulator :$EMU_PORT, app :$APP_PORT (pid $APP_PID)${ADAPTER_PID:+, adapter pid $ADAPTER_PID}; logs in $LOGDIR/"

  check_common
  if [[ $IMG_MODE == wrapper ]]; then
    send GET /pid
    check "wrapper: the app runs as the process Lambda started (exec, same PID)" "json \"d['pid'] == $APP_PID\""
    helper=$(pgrep -P "$APP_PID" -x lambda-adapter || true)
    check "wrapper: the helper serving invocations is the app's child" '[[ -n "$helper" ]]'
    kill -TERM "$APP_PID"
    for _ in $(seq 1 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
    for _ in $(seq 1 50); do kill -0 "$helper" 2>/dev/null || break; sleep 0.1; done
    check "wrapper: SIGTERM reaches the app, which stops, and the helper goes with it" \
      '! kill -0 "$APP_PID" 2>/dev/null && ! kill -0 "$helper" 2>/dev/null && grep -q SIGTERM "$LOGDIR/app.log"'
  fi
  if printf '%s\n' "${IMG_ENV[@]}" | grep -qx 'AWS_LWA_INVOKE_MODE=response_stream'; then
    check_events
  fi
  stop_all

  # The same image outside Lambda (ECS, Fargate, `docker run`): nothing starts
  # /opt/extensions, and a wrapper ENTRYPOINT just execs the app.
  if [[ $IMG_MODE == sidecar ]]; then argv=("${IMG_ARGV[@]}"); else argv=("$ADAPTER" "${IMG_ARGV[@]:1}"); fi
  LOGDIR=$E2E/$EXAMPLE/direct; mkdir -p "$LOGDIR"
  LAMBDA_ENV="" launch "$LOGDIR/app.log" "${argv[@]}"; APP_PID=$LAUNCHED
  wait_for "$EXAMPLE outside Lambda" "$APP_PID" "$APP_PORT"
  URL=http://127.0.0.1:$APP_PORT ADAPTER_PID=""
  send GET '/query?a=1'
  check "outside Lambda (ECS, docker run): the same command serves directly" "[[ \$STATUS == 200 ]] && json \"d['via_lambda'] is False\""
  if [[ $IMG_MODE == wrapper ]]; then
    send GET /pid
    check "outside Lambda: the wrapper execs the app (same PID, no helper)" \
      "json \"d['pid'] == $APP_PID\" && ! pgrep -P $APP_PID >/dev/null"
  fi
  stop_all
}

# A zip function on a managed runtime with the layer (scripts/build-layer.sh):
# packages installed into the task root as `pip install --target` puts them in
# the zip, the function's environment from environment.json (the file given to
# `aws lambda create-function --environment`), handler run.sh. Lambda starts
# /opt/extensions/lambda-adapter, then `$AWS_LAMBDA_EXEC_WRAPPER <runtime command>`.
run_zip() {
  local opt=$PWD/$E2E/opt packages=$E2E/$EXAMPLE/packages stamp wrapper
  echo
  bold "==> $EXAMPLE (zip with the layer): handler run.sh"
  scripts/build-layer.sh x86_64 >/dev/null 2>&1 || fail "scripts/build-layer.sh x86_64 failed"
  rm -rf "$opt"
  python3 -c 'import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        path = z.extract(info, sys.argv[2])
        os.chmod(path, (info.external_attr >> 16) & 0o777)' target/layer/lambda-adapter-layer-x86_64.zip "$opt"
  stamp=$(sha256sum <"examples/$EXAMPLE/requirements.txt")
  if [[ "$(cat "$packages/.stamp" 2>/dev/null)" != "$stamp" ]]; then
    echo "  pip install --target $packages -r examples/$EXAMPLE/requirements.txt"
    rm -rf "$packages"
    PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check --target "$packages" -r "examples/$EXAMPLE/requirements.txt"
    echo "$stamp" >"$packages/.stamp"
  fi
  rm -rf "$TASK"; mkdir -p "$TASK"
  cp -R "$packages/." "examples/$EXAMPLE/." "$TASK/"
  # The function's variables; /opt is the unpacked layer.
  mapfile -t IMG_ENV < <(python3 -c 'import json, sys
for k, v in json.load(open(sys.argv[1]))["Variables"].items():
    if v.startswith("/opt/"):
        v = sys.argv[2] + v[4:]
    print(f"{k}={v}")' \
    "examples/$EXAMPLE/environment.json" "$opt")
  wrapper=$(printf '%s\n' "${IMG_ENV[@]}" | sed -n 's/^AWS_LAMBDA_EXEC_WRAPPER=//p')
  [[ -n $wrapper ]] || fail "$EXAMPLE: environment.json sets no AWS_LAMBDA_EXEC_WRAPPER"
  echo "  function environment (environment.json, /opt = the unpacked layer): ${IMG_ENV[*]}"
  PATH_PREFIX="" HANDLER=run.sh
  start_emulator
  APP_PORT=$(free_ports 1)
  LAMBDA_ENV=1 launch "$LOGDIR/adapter.log" "$opt/extensions/lambda-adapter"; ADAPTER_PID=$LAUNCHED
  # what Lambda's Python runtime starts, which the bootstrap ignores
  LAMBDA_ENV=1 launch "$LOGDIR/app.log" "$wrapper" /var/lang/bin/python3.12 /var/runtime/bootstrap.py; APP_PID=$LAUNCHED
  HANDLER=""
  wait_for "$EXAMPLE" "$APP_PID" "$APP_PORT"
  echo "  emulator :$EMU_PORT, app :$APP_PORT (pid $APP_PID), adapter pid $ADAPTER_PID; logs in $LOGDIR/"
  check_common
  check "zip: the handler replaced the runtime process (exec) and runs in the task root" \
    'grep -q gunicorn "/proc/$APP_PID/cmdline" && [[ $(readlink "/proc/$APP_PID/cwd") == "$(cd "$TASK" && pwd -P)" ]]'
  stop_all
}

for EXAMPLE in "${EXAMPLES[@]}"; do
  started=$SECONDS
  LOGDIR=$E2E/$EXAMPLE LOGS="" TASK=$E2E/$EXAMPLE/task ADAPTER_PID="" HANDLER=""
  mkdir -p "$LOGDIR"
  if [[ -f examples/$EXAMPLE/Dockerfile ]]; then run_image
  elif [[ -f examples/$EXAMPLE/run.sh ]]; then run_zip
  else fail "examples/$EXAMPLE has neither a Dockerfile nor a run.sh"; fi
  echo "  $EXAMPLE: done in $((SECONDS - started)) s"
done

echo
bold "e2e: $PASSED passed, 0 failed (${#EXAMPLES[@]} examples, ${SECONDS} s)"
