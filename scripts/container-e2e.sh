#!/usr/bin/env bash
# Real container images, built and run with podman: the adapter image (the
# root Dockerfile), every example's image (examples/*/Dockerfile, unchanged:
# only the image names passed as build arguments differ) and the layer zip
# unpacked into /opt of an image, each run as Lambda runs it, behind
# cargo-lambda's Runtime API, and the example images run as `docker run` would.
#
#   scripts/container-e2e.sh        one `ok:`/`FAIL:` line per check, then `N passed, M failed`
#
# Installs what it needs (podman, runc, debootstrap, slirp4netns from Debian's
# packages; cargo-lambda as scripts/lib.sh does). No registry is needed: the
# base image is Debian bookworm made here with `debootstrap --variant=minbase`
# (Python and Node.js from Debian's packages, npm from the npm registry as the
# node images ship it) and `podman import`, tagged with a hash of its recipe, so
# a re-run reuses it; the adapter image is the root Dockerfile's `prebuilt`
# target, from target/dist/x86_64/lambda-adapter (scripts/build-static.sh makes
# it when missing), as no Rust image is reachable here.
#
# Settings this kind of machine needs: `--runtime runc` (crun fails on the
# cgroups), explicit rlimits (copying the host's is refused), and the host's CA
# bundle mounted over the image's during builds (pip and npm go through a
# TLS-inspecting proxy). Override the bundle with HOST_CA, the Debian mirror
# with DEBIAN_MIRROR.
#
# As Lambda runs an image: read-only root, /tmp a tmpfs, a non-root user
# (993:990), the Lambda environment, AWS_LAMBDA_RUNTIME_API pointing at
# cargo-lambda on the host (reached from the container's own network through
# slirp4netns's host loopback, 10.0.2.2), and an init that starts every
# executable in /opt/extensions before the image's ENTRYPOINT + CMD (or before
# AWS_LAMBDA_EXEC_WRAPPER and the runtime's command, for the layer). Requests
# go through cargo-lambda's Function URL front end. Logs: target/container-e2e/.
set -euo pipefail
cd "$(dirname "$0")/.."
E2E=target/container-e2e
LOGDIR=$E2E
source scripts/lib.sh
mkdir -p "$E2E"

PODMAN=(podman --runtime runc)
LIMITS=(--ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
HOST_CA=${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
BASE_PACKAGES=python3,python3-pip,python3-venv,nodejs,ca-certificates
NPM_VERSION=10.9.2
PREFIX=localhost/lambda-adapter-e2e
ADAPTER_IMAGE=$PREFIX/adapter:latest
LABEL=lambda-adapter-e2e=1  # on every image built here, so that their old versions can be pruned
ADAPTER_BIN=target/dist/x86_64/lambda-adapter
LAMBDA_USER=993:990  # Lambda's sandbox user and group
PASSED=0 FAILED=0 CONTAINERS=()

# check DESCRIPTION CONDITION: one `ok:` or `FAIL:` line; a failure shows the
# last answer and the container's log, and the run goes on.
check() {
  if eval "$2"; then
    echo "  ok: $1"; PASSED=$((PASSED + 1))
  else
    echo "  FAIL: $1"; FAILED=$((FAILED + 1))
    echo "    status ${STATUS:-}; body: $(head -c 200 "$LOGDIR/body" 2>/dev/null | tr '\n' ' ' | cat -v)"
    [[ -f "$LOGDIR/container.log" ]] && tail -n 15 "$LOGDIR/container.log" | sed 's/^/    | /'
  fi
  return 0
}

# send (scripts/lib.sh): a request re-sent once without an answer; here a
# missing answer is a FAIL line for its check, not the end of the run.
export SEND_NO_FAIL=1 SEND_TIMEOUT=10
header() { tr -d '\r' <"$LOGDIR/headers" | grep -i "^$1:" | head -n 1 | cut -d: -f2- | sed 's/^ *//'; }
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not eval(sys.argv[2]))' "$LOGDIR/body" "$@" 2>/dev/null; }

remove_containers() {
  [[ ${#CONTAINERS[@]} == 0 ]] || "${PODMAN[@]}" rm -f -t 0 "${CONTAINERS[@]}" >/dev/null 2>&1 || true
  CONTAINERS=()
}
on_exit() {
  local rc=$?
  remove_containers
  (exit "$rc")
  cleanup  # scripts/lib.sh: stops the emulators, exits with rc
}
trap on_exit EXIT

started=$SECONDS
bold "==> tools: podman, runc, debootstrap, slirp4netns; cargo-lambda $CARGO_LAMBDA_VERSION"
missing=()
for tool in podman runc debootstrap slirp4netns curl npm; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null || fail "needs ${missing[*]}: apt-get install them (as root)"
  echo "  apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
fi
install_cargo_lambda >/dev/null
"${PODMAN[@]}" --version

bold "==> the adapter binary ($ADAPTER_BIN) and the layer zip (scripts/build-layer.sh)"
[[ -x $ADAPTER_BIN ]] || scripts/build-static.sh --no-check x86_64
scripts/build-layer.sh x86_64 >"$E2E/layer-zip.log" 2>&1 || { tail -n 20 "$E2E/layer-zip.log"; fail "scripts/build-layer.sh x86_64"; }
LAYER_ZIP=target/layer/lambda-adapter-layer-x86_64.zip

# The base image for every example (standing in for the python and node
# images): Debian minbase plus Python, pip and Node.js from Debian, npm from
# the npm registry (Debian's npm package is some 300 packages, which
# debootstrap's resolver cannot install). Keyed by its recipe.
make_base() {
  local root=$E2E/rootfs
  rm -rf "$root"
  echo "  debootstrap --variant=minbase --include=$BASE_PACKAGES $SUITE (log: $E2E/debootstrap.log)"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$root" "$MIRROR" >"$E2E/debootstrap.log" 2>&1 \
    || { tail -n 20 "$root/debootstrap/debootstrap.log" "$E2E/debootstrap.log" 2>/dev/null; fail "debootstrap"; }
  # As in the python images, pip installs into the image's Python (no PEP 668 marker).
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  (cd "$E2E" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$E2E/npm-$NPM_VERSION.tgz" --strip-components=1 -C "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | "${PODMAN[@]}" import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root" "$E2E/npm-$NPM_VERSION.tgz"
}
BASE=$PREFIX/debian:$(printf '%s\n' "$SUITE" "$BASE_PACKAGES" "$NPM_VERSION" "$(declare -f make_base)" | sha256sum | cut -c1-16)
bold "==> base image $BASE"
if "${PODMAN[@]}" image exists "$BASE"; then echo "  cached"; else
  t=$SECONDS; make_base; echo "  made in $((SECONDS - t)) s"
  # older recipes' base images
  "${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}}' "$PREFIX/debian" | grep -vxF "$BASE" \
    | xargs -r "${PODMAN[@]}" rmi >/dev/null 2>&1 || true
fi

# build NAME ARGS...: podman build with this machine's settings, as $PREFIX/NAME:latest.
build() {
  local name=$1 t=$SECONDS; shift
  "${PODMAN[@]}" build "${LIMITS[@]}" -v "$HOST_CA:/etc/ssl/certs/ca-certificates.crt:ro" --label "$LABEL" \
    -t "$PREFIX/$name:latest" "$@" >"$E2E/image-$name.log" 2>&1 || { tail -n 20 "$E2E/image-$name.log"; return 1; }
  echo "  built $PREFIX/$name:latest in $((SECONDS - t)) s (log: $E2E/image-$name.log)"
}

echo
bold "==> the adapter image: the root Dockerfile, --target prebuilt"
LOGDIR=$E2E/adapter; mkdir -p "$LOGDIR"
if build adapter --target prebuilt .; then
  cid=$("${PODMAN[@]}" create "$ADAPTER_IMAGE" /lambda-adapter)
  "${PODMAN[@]}" export "$cid" >"$LOGDIR/adapter.tar"; "${PODMAN[@]}" rm "$cid" >/dev/null
  tar -tvf "$LOGDIR/adapter.tar" >"$LOGDIR/listing"
  tar -xOf "$LOGDIR/adapter.tar" lambda-adapter >"$LOGDIR/lambda-adapter" || true
  check "adapter image: FROM scratch, only /lambda-adapter (mode 755), identical to $ADAPTER_BIN" \
    '[[ $(wc -l <"$LOGDIR/listing") == 1 ]] && grep -q "^-rwxr-xr-x .* lambda-adapter$" "$LOGDIR/listing" && cmp -s "$LOGDIR/lambda-adapter" "$ADAPTER_BIN"'
else
  check "adapter image builds" false
fi

EXAMPLES=()
for dockerfile in examples/*/Dockerfile; do EXAMPLES+=("$(basename "$(dirname "$dockerfile")")"); done
echo
bold "==> the examples' images, from their own Dockerfiles: ${EXAMPLES[*]}"
for name in "${EXAMPLES[@]}"; do
  LOGDIR=$E2E/$name; mkdir -p "$LOGDIR"
  built=0
  build "$name" -f "examples/$name/Dockerfile" --build-arg "ADAPTER_IMAGE=$ADAPTER_IMAGE" --build-arg "BASE_IMAGE=$BASE" . && built=1
  check "$name: the image builds from examples/$name/Dockerfile with ADAPTER_IMAGE and BASE_IMAGE" '[[ $built == 1 ]]'
done

# The layer as Lambda lays it out: the zip unpacked into /opt (modes kept) of a
# Debian image; the function's zip (flask-zip: its files plus `pip install
# --target` of its requirements) in /var/task.
LAYER_CTX=$E2E/layer-image
rm -rf "$LAYER_CTX"; mkdir -p "$LAYER_CTX/task"
python3 -c 'import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        os.chmod(z.extract(info, sys.argv[2]), (info.external_attr >> 16) & 0o777)' "$LAYER_ZIP" "$LAYER_CTX/opt"
cp -R examples/flask-zip/. "$LAYER_CTX/task/"
cat >"$LAYER_CTX/Containerfile" <<EOF
FROM $BASE
COPY opt/ /opt/
WORKDIR /var/task
COPY task/ ./
RUN pip install --no-cache-dir --target /var/task -r requirements.txt
EOF
LOGDIR=$E2E/layer; mkdir -p "$LOGDIR"
built=0
build layer "$LAYER_CTX" && built=1
check "layer: an image with $LAYER_ZIP unpacked into /opt and examples/flask-zip in /var/task builds" '[[ $built == 1 ]]'

# What Lambda's init does, as far as the function sees it: starts every
# executable in /opt/extensions, then the function (through
# AWS_LAMBDA_EXEC_WRAPPER when set, which Lambda honours on managed runtimes).
INIT=$PWD/$E2E/lambda-init
cat >"$INIT" <<'EOF'
#!/bin/sh
for ext in /opt/extensions/*; do
  [ -f "$ext" ] && [ -x "$ext" ] && "$ext" &
done
[ -z "${AWS_LAMBDA_EXEC_WRAPPER:-}" ] || exec "$AWS_LAMBDA_EXEC_WRAPPER" "$@"
exec "$@"
EOF
chmod 755 "$INIT"

# run_lambda NAME IMAGE [ENV...] -- ARGV...: starts IMAGE as Lambda would,
# behind a fresh cargo-lambda; ARGV is what Lambda starts after the extensions.
run_lambda() {
  local name=$1 image=$2 env=() a
  shift 2
  while [[ $1 != -- ]]; do env+=(-e "$1"); shift; done
  shift
  start_emulator
  rm -f "$LOGDIR/container.log"
  "${PODMAN[@]}" run -d --name "$name" --replace "${LIMITS[@]}" \
    --read-only --read-only-tmpfs=false --tmpfs /tmp:rw,mode=1777,size=512m --user "$LAMBDA_USER" \
    --network slirp4netns:allow_host_loopback=true \
    --log-driver k8s-file --log-opt "path=$PWD/$LOGDIR/container.log" \
    -v "$INIT:/lambda-init:ro" --entrypoint /lambda-init \
    -e "AWS_LAMBDA_RUNTIME_API=http://10.0.2.2:$EMU_PORT/.rt/$FUNCTION" -e "AWS_LAMBDA_FUNCTION_NAME=$FUNCTION" \
    -e 'AWS_LAMBDA_FUNCTION_VERSION=$LATEST' -e AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 \
    -e AWS_REGION=us-east-1 -e AWS_DEFAULT_REGION=us-east-1 -e "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/$FUNCTION" \
    -e AWS_LAMBDA_LOG_STREAM_NAME=e2e -e AWS_EXECUTION_ENV=AWS_Lambda_Image -e LAMBDA_TASK_ROOT=/var/task \
    -e LAMBDA_RUNTIME_DIR=/var/runtime -e TZ=:UTC \
    "${env[@]}" "$image" "$@" >/dev/null || echo "  podman run $image failed"
  CONTAINERS+=("$name")
  # The first request waits for the app's start-up: the adapter takes the
  # invocation from the Runtime API once the app is ready.
  SEND_TIMEOUT=60 send GET /
}

# image_argv IMAGE: the image's ENTRYPOINT + CMD, one per line.
image_argv() {
  local field
  for field in Entrypoint Cmd; do
    "${PODMAN[@]}" image inspect --format "{{json .Config.$field}}" "$1" \
      | python3 -c 'import json, sys; print(*(json.load(sys.stdin) or []), sep="\n")'
  done | sed '/^$/d'
}
image_env() {
  "${PODMAN[@]}" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$1" | sed -n "s/^$2=//p"
}

# The same requests through the Function URL for every app (the routes are the
# same in each); the first answer is already in $LOGDIR (run_lambda).
check_common() {
  local name=$1
  check "$name: GET / through the Function URL answers 200 with the app's greeting" '[[ $STATUS == 200 && $(body) == Hello* ]]'
  send GET '/query?a=1&a=2&na%20me=J%C3%BCrgen&k%26=v%3D%26&empty=&flag'
  check "$name: the query string reaches the app (repeated, percent-encoded, empty keys), via the adapter" \
    "[[ \$STATUS == 200 ]] && json \"d['pairs'] == [['a', '1'], ['a', '2'], ['na me', 'Jürgen'], ['k&', 'v=&'], ['empty', ''], ['flag', '']] and d['via_lambda'] is True\""
  send POST /json -H 'content-type: application/json' --data-binary "@$E2E/sent.json"
  check "$name: a JSON body arrives as sent" \
    "[[ \$STATUS == 200 ]] && json \"d['received'] == json.load(open(sys.argv[3]))\" \"\$E2E/sent.json\""
  send GET /cookies
  check "$name: three Set-Cookie headers arrive" '[[ $STATUS == 200 && $(header_count set-cookie) == 3 ]]'
  send GET /binary
  local binary_ok=0
  [[ $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$E2E/expected-binary" && binary_ok=1
  send POST /echo -H 'content-type: application/octet-stream' --data-binary "@$E2E/random-256k"
  check "$name: binary bodies byte for byte (a 1 KiB answer; 256 KiB of random bytes there and back)" \
    '[[ $binary_ok == 1 && $STATUS == 200 ]] && cmp -s "$LOGDIR/body" "$E2E/random-256k"'
  send GET /no/such/route
  local not_found=$STATUS
  send GET /error
  check "$name: the app's error statuses pass through (404, then 500)" '[[ $not_found == 404 && $STATUS == 500 ]]'
}

# Server-Sent Events through the Function URL in response streaming mode: the
# first must arrive well before the last.
check_events() {
  local name=$1 count=5 interval=400 attempt
  for attempt in 1 2; do  # re-sent once when nothing arrives (cargo-lambda now and then loses a response)
    curl -sN --max-time 20 -D "$LOGDIR/headers" "$URL/events?count=$count&interval_ms=$interval" \
      | python3 -c 'import sys, time
t0 = time.monotonic()
for line in sys.stdin.buffer:
    if line.startswith(b"data:"):
        print(f"{time.monotonic() - t0:.3f} {line.decode().strip()}", flush=True)' >"$LOGDIR/events" || true
    [[ ! -s "$LOGDIR/events" ]] || break
  done
  sed 's/^/    /' "$LOGDIR/events"
  STATUS=$(head -n 1 "$LOGDIR/headers" | cut -d' ' -f2); cp "$LOGDIR/events" "$LOGDIR/body"
  check "$name: $count Server-Sent Events (200, text/event-stream) arrive in order, one by one (first to last > $(((count - 1) * interval / 2)) ms)" \
    "[[ \$STATUS == 200 && \$(header content-type) == text/event-stream* ]] && python3 -c 'import json, sys
rows = [line.split(\" \", 1) for line in open(sys.argv[1])]
ns = [json.loads(r[1].split(\"data: \", 1)[1])[\"n\"] for r in rows]
sys.exit(not (ns == list(range(1, $count + 1)) and float(rows[-1][0]) - float(rows[0][0]) > ($count - 1) * $interval / 2000))' \"\$LOGDIR/events\""
}

# run_direct NAME IMAGE: the image as `docker run -p` runs it (ECS, Fargate):
# its own ENTRYPOINT and CMD, no Lambda; then `podman stop` (SIGTERM).
run_direct() {
  local name=$1 image=$2 container=lae-e2e-$1-direct port host_port t until
  port=$(image_env "$image" PORT)
  host_port=$(free_ports 1)
  LOGDIR=$E2E/$name/direct; mkdir -p "$LOGDIR"; rm -f "$LOGDIR/container.log"
  "${PODMAN[@]}" run -d --name "$container" --replace "${LIMITS[@]}" -p "127.0.0.1:$host_port:$port" \
    --log-driver k8s-file --log-opt "path=$PWD/$LOGDIR/container.log" "$image" >/dev/null || echo "  podman run $image failed"
  CONTAINERS+=("$container")
  URL=http://127.0.0.1:$host_port
  until=$((SECONDS + 30)) STATUS=000
  while [[ $SECONDS -lt $until ]]; do
    STATUS=$(curl -s --max-time 2 -o "$LOGDIR/body" -w '%{http_code}' "$URL/query?a=1") && [[ $STATUS == 200 ]] && break
    sleep 0.2
  done
  check "$name: outside Lambda (podman run -p $host_port:$port) the app answers directly" \
    "[[ \$STATUS == 200 ]] && json \"d['via_lambda'] is False\""
  if [[ $(image_argv "$image" | head -n 1) == /lambda-adapter ]]; then
    STATUS=$(curl -s --max-time 5 -o "$LOGDIR/body" -w '%{http_code}' "$URL/pid") || true
    check "$name: outside Lambda the wrapper ENTRYPOINT only execs the app (PID 1)" "[[ \$STATUS == 200 ]] && json \"d['pid'] == 1\""
  fi
  t=$(date +%s.%N)
  "${PODMAN[@]}" stop -t 10 "$container" >/dev/null || true
  local took exit_code
  took=$(python3 -c "import sys; print(f'{$(date +%s.%N) - $t:.1f}')")
  exit_code=$("${PODMAN[@]}" inspect --format '{{.State.ExitCode}}' "$container" || echo none)
  check "$name: podman stop: SIGTERM reaches the app, which exits with 0 in ${took} s" \
    "[[ \$exit_code == 0 ]] && python3 -c 'import sys; sys.exit(not $took < 5)'"
}

# Fixed inputs and outputs, as in scripts/e2e.sh.
python3 - "$E2E" <<'EOF'
import os, sys
d = sys.argv[1]
open(f"{d}/expected-binary", "wb").write(bytes(range(256)) * 4)
open(f"{d}/random-256k", "wb").write(os.urandom(256 << 10))
open(f"{d}/sent.json", "w", encoding="utf-8").write('{"name": "J\u00fcrgen", "list": [1, 2.5, null], "nested": {"ok": true, "quote": "\\"<>&"}}')
EOF

for name in "${EXAMPLES[@]}"; do
  image=$PREFIX/$name:latest
  "${PODMAN[@]}" image exists "$image" || continue
  echo
  mapfile -t argv < <(image_argv "$image")
  bold "==> $name as Lambda runs it: /opt/extensions/*, then ${argv[*]}"
  LOGDIR=$E2E/$name LOGS="$E2E/$name/emulator.log"
  run_lambda "lae-e2e-$name" "$image" -- "${argv[@]}"
  check_common "$name"
  if [[ ${argv[0]} == /lambda-adapter ]]; then
    send GET /pid
    check "$name: wrapper mode: the ENTRYPOINT exec'd the app, which is PID 1" "[[ \$STATUS == 200 ]] && json \"d['pid'] == 1\""
  fi
  if [[ $(image_env "$image" AWS_LWA_INVOKE_MODE) == response_stream ]]; then check_events "$name"; fi
  remove_containers; stop_all

  echo
  bold "==> $name as docker run runs it"
  run_direct "$name" "$image"
  remove_containers
done

if "${PODMAN[@]}" image exists "$PREFIX/layer:latest"; then
  echo
  bold "==> the layer: /opt/extensions/lambda-adapter, then /opt/bootstrap (AWS_LAMBDA_EXEC_WRAPPER) with handler run.sh"
  LOGDIR=$E2E/layer LOGS="$E2E/layer/emulator.log"
  # environment.json's variables, as `aws lambda create-function --environment` sets them
  mapfile -t function_env < <(python3 -c 'import json, sys
for k, v in json.load(open(sys.argv[1]))["Variables"].items(): print(f"{k}={v}")' examples/flask-zip/environment.json)
  run_lambda lae-e2e-layer "$PREFIX/layer:latest" "${function_env[@]}" _HANDLER=run.sh AWS_EXECUTION_ENV=AWS_Lambda_python3.12 \
    -- /var/lang/bin/python3.12 /var/runtime/bootstrap.py
  check_common layer
  remove_containers; stop_all
fi

# Old versions of the images built here (untagged by this run's builds).
"${PODMAN[@]}" image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true

echo
bold "container-e2e: done in $((SECONDS - started)) s"
echo "$PASSED passed, $FAILED failed"
[[ $FAILED == 0 ]]
