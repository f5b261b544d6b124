#!/usr/bin/env bash
# Static release binaries of the adapter for both Lambda architectures:
#
#   x86_64   target/x86_64-unknown-linux-musl/release/lambda-adapter
#   arm64    target/aarch64-unknown-linux-musl/release/lambda-adapter   (Graviton)
#
#   scripts/build-static.sh              build both, print their sizes, check them
#   scripts/build-static.sh --no-check   build both and print their sizes only
#
# The check: each file is a static executable for its machine (no ELF
# interpreter), and starts and serves one Function URL invocation between a
# mock Runtime API and a tiny app (scripts/smoke-invoke.py), then exits on
# SHUTDOWN: x86_64 natively, aarch64 under qemu-user.
#
# Needs rustup, and for arm64 a cross linker and qemu-user from Debian's
# packages (gcc-aarch64-linux-gnu, qemu-user); run as root with apt-get, this
# installs them when they are missing. .cargo/config.toml sets the static
# relocation model for both targets.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECK=1
case "${1:-}" in
  --no-check) CHECK=0 ;;
  "") ;;
  *) echo "usage: $0 [--no-check]" >&2; exit 2 ;;
esac
TARGETS=(x86_64-unknown-linux-musl aarch64-unknown-linux-musl)
# The linker by name, found on PATH: Debian's cross gcc links Rust's self-contained musl objects.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER:-aarch64-linux-gnu-gcc}

QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
if ! command -v "$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER" >/dev/null || [[ $CHECK == 1 && -z "$QEMU" ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "==> installing the arm64 cross linker and qemu-user (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu qemu-user >/dev/null
    QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
  else
    echo "$0: needs $CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER and qemu-aarch64: apt-get install gcc-aarch64-linux-gnu qemu-user" >&2
    exit 1
  fi
fi

installed=$(rustup target list --installed)
for target in "${TARGETS[@]}"; do
  grep -qx "$target" <<<"$installed" || rustup target add "$target"
done

echo "==> building"
for target in "${TARGETS[@]}"; do
  cargo build --locked --release --target "$target"
done

# elf_check FILE MACHINE: a static ELF executable for MACHINE (62 x86_64, 183 aarch64)?
elf_check() {
  python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit little-endian ELF file"
e_type, e_machine = struct.unpack_from("<HH", data, 16)
assert e_machine == int(sys.argv[2]), f"machine {e_machine}, expected {sys.argv[2]}"
assert e_type == 2, f"ELF type {e_type}, expected 2 (EXEC: position-dependent, as .cargo/config.toml asks)"
phoff, = struct.unpack_from("<Q", data, 32)
phentsize, phnum = struct.unpack_from("<HH", data, 54)
types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
assert 3 not in types, "has an ELF interpreter (PT_INTERP): dynamically linked"
assert 2 not in types, "has a dynamic section (PT_DYNAMIC)"
EOF
}

echo "==> sizes"
for target in "${TARGETS[@]}"; do
  bin=target/$target/release/lambda-adapter
  printf '%-28s %9d bytes  %s\n' "$target" "$(stat -c %s "$bin")" "$bin"
done
[[ $CHECK == 1 ]] || exit 0

echo "==> checks"
started=$SECONDS
bin=target/x86_64-unknown-linux-musl/release/lambda-adapter
elf_check "$bin" 62
echo "x86_64: static executable; $(python3 scripts/smoke-invoke.py "$bin")"
bin=target/aarch64-unknown-linux-musl/release/lambda-adapter
elf_check "$bin" 183
echo "aarch64 (under $(basename "$QEMU")): static executable; $("$QEMU" "$bin" --version); $(python3 scripts/smoke-invoke.py "$QEMU" "$bin")"
echo "build-static: 4 passed, 0 failed (checks took $((SECONDS - started)) s)"
