#!/usr/bin/env bash
# Lambda layer zips for zip deployments on managed runtimes:
#
#   scripts/build-layer.sh [x86_64|arm64|all]     default x86_64
#   -> target/layer/lambda-adapter-layer-ARCH.zip, holding
#        bootstrap                  layer/bootstrap: with AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap
#                                   it execs $LAMBDA_TASK_ROOT/$_HANDLER instead of the runtime's client
#        extensions/lambda-adapter  the shipped static binary, target/dist/ARCH/lambda-adapter
#                                   (built by scripts/build-static.sh)
#
# Then checks each zip: exactly those two files, mode 755, the binary for the
# right machine; and the bootstrap, unpacked as Lambda unpacks layers into a
# fake /opt and run against a fake task root as Lambda runs an exec wrapper
# (`/opt/bootstrap <runtime command...>`, from another directory): it must exec
# the handler script (same PID, exit status passed on) in the task root with no
# arguments and the environment kept, and refuse with a clear message and
# status 126 a missing handler setting, a missing, non-executable or CRLF script
# and a missing LAMBDA_TASK_ROOT.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-x86_64}" in
  x86_64) ARCHS=(x86_64) ;;
  arm64) ARCHS=(arm64) ;;
  all) ARCHS=(x86_64 arm64) ;;
  *) echo "usage: $0 [x86_64|arm64|all]" >&2; exit 2 ;;
esac
OUT=target/layer
mkdir -p "$OUT"
rm -rf "$OUT"/check.* "$OUT"/opt.*  # left by a failed run
PASSED=0

scripts/build-static.sh --no-check "${1:-x86_64}" >/dev/null

# zip_layer ZIP BINARY: the layer zip, with fixed dates and modes (reproducible).
zip_layer() {
  python3 - "$1" "$2" layer/bootstrap <<'EOF'
import sys, zipfile
out, binary, bootstrap = sys.argv[1:]
with zipfile.ZipFile(out + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name, src in [("bootstrap", bootstrap), ("extensions/lambda-adapter", binary)]:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.create_system = 3  # Unix, so that Lambda applies the mode below
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, open(src, "rb").read())
import os
os.replace(out + ".tmp", out)
EOF
}

# unpack ZIP DIR: as Lambda unpacks a layer into /opt, modes kept. Checks the entries.
unpack() {
  python3 - "$1" "$2" "$3" <<'EOF'
import os, struct, sys, zipfile
zip_path, dest, machine = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(zip_path) as z:
    names = sorted(z.namelist())
    assert names == ["bootstrap", "extensions/lambda-adapter"], f"entries: {names}"
    for info in z.infolist():
        mode = info.external_attr >> 16
        assert mode == 0o100755, f"{info.filename}: mode {oct(mode)}, expected 0o100755"
        path = os.path.join(dest, info.filename)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(z.read(info))
        os.chmod(path, mode & 0o777)
head = open(os.path.join(dest, "extensions/lambda-adapter"), "rb").read(20)
assert head[:4] == b"\x7fELF" and struct.unpack_from("<H", head, 18)[0] == machine, "the binary is not for this layer's machine"
EOF
}

ok() { echo "  ok: $*"; PASSED=$((PASSED + 1)); }
fail() { echo "FAILED: $*" >&2; exit 1; }

# check_bootstrap OPT: the exec-wrapper behaviour of OPT/bootstrap.
check_bootstrap() {
  local opt=$1 fake task rc
  fake=$(mktemp -d "$PWD/$OUT/check.XXXXXX")
  task=$fake/var/task
  mkdir -p "$task" "$fake/elsewhere"
  # The handler script: reports how it was started, exits 42.
  cat >"$task/run.sh" <<'EOF'
#!/bin/sh
{ echo "pid=$$"; echo "argc=$#"; echo "args=$*"; echo "pwd=$(pwd -P)"; echo "marker=${MARKER:-}"; } >"$REPORT"
exit 42
EOF
  chmod 755 "$task/run.sh"
  # Lambda runs `$AWS_LAMBDA_EXEC_WRAPPER <the runtime's command...>`.
  run_bootstrap() {
    (cd "$fake/elsewhere" && exec env LAMBDA_TASK_ROOT="$task" REPORT="$fake/report" MARKER=kept "$@" \
      "$opt/bootstrap" /var/lang/bin/python3.12 /var/runtime/bootstrap.py) >"$fake/out" 2>&1 &
    BOOT_PID=$!
    rc=0; wait "$BOOT_PID" || rc=$?
  }
  report() { grep "^$1=" "$fake/report" | cut -d= -f2-; }

  rm -f "$fake/report"
  run_bootstrap _HANDLER=run.sh
  [[ -f "$fake/report" ]] || fail "bootstrap: the handler script did not run: $(cat "$fake/out")"
  ok "bootstrap runs \$LAMBDA_TASK_ROOT/\$_HANDLER"
  [[ $(report pid) == "$BOOT_PID" ]] || fail "bootstrap: the handler ran as PID $(report pid), not as the bootstrap's $BOOT_PID (no exec)"
  [[ $rc == 42 ]] || fail "bootstrap: exit status $rc, expected the handler's 42"
  ok "by exec: the handler keeps the PID Lambda started, and its exit status"
  [[ $(report argc) == 0 ]] || fail "bootstrap: the handler got the runtime's arguments: $(report args)"
  ok "the managed runtime's command (the bootstrap's arguments) is ignored"
  [[ $(report pwd) == "$(cd "$task" && pwd -P)" ]] || fail "bootstrap: the handler ran in $(report pwd), not in the task root"
  ok "the handler runs in the task root"
  [[ $(report marker) == kept ]] || fail "bootstrap: the environment was not passed on"
  ok "the environment is passed on"

  # refused PROBLEM ENV...: status 126, a message naming PROBLEM, the handler not run.
  refused() {
    local what=$1; shift
    rm -f "$fake/report"
    run_bootstrap "$@"
    [[ $rc == 126 && ! -f "$fake/report" ]] && grep -qi "$what" "$fake/out" \
      || fail "bootstrap with $*: status $rc, output: $(cat "$fake/out")"
    ok "refused with status 126 and a message: $(head -n 1 "$fake/out" | sed "s|$fake||g")"
  }
  refused "handler is empty" _HANDLER=
  refused "not a file" _HANDLER=start.sh
  chmod 644 "$task/run.sh"
  refused "chmod 755" _HANDLER=run.sh
  printf '#!/bin/sh\r\nexit 0\r\n' >"$task/crlf.sh"; chmod 755 "$task/crlf.sh"
  refused "CRLF" _HANDLER=crlf.sh
  chmod 755 "$task/run.sh"
  refused "LAMBDA_TASK_ROOT is not set" _HANDLER=run.sh LAMBDA_TASK_ROOT=
  rm -rf "$fake"
}

for arch in "${ARCHS[@]}"; do
  case $arch in
    x86_64) machine=62 ;;
    arm64) machine=183 ;;
  esac
  zip=$OUT/lambda-adapter-layer-$arch.zip
  zip_layer "$zip" "target/dist/$arch/lambda-adapter"
  echo "==> $zip ($(stat -c %s "$zip") bytes)"
  opt=$(mktemp -d "$PWD/$OUT/opt.XXXXXX")
  unpack "$zip" "$opt" "$machine"
  ok "two entries, bootstrap and extensions/lambda-adapter, mode 755, binary for $arch"
  check_bootstrap "$opt"
  rm -rf "$opt"
done
echo "build-layer: $PASSED passed, 0 failed"
