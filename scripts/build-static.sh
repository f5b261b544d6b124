#!/usr/bin/env bash
# The shipped binaries: static, stripped, for both Lambda architectures.
#
#   target/dist/x86_64/lambda-adapter
#   target/dist/arm64/lambda-adapter     (Graviton)
#
#   scripts/build-static.sh [--no-check] [x86_64|arm64|all]    default all
#     --no-check   build and print the sizes only (the size budget still holds)
#
# Built with a pinned, dated nightly (installed here with rustup, with its
# rust-src and the musl rust-std of both targets: build-std still takes
# musl's crt objects, libc and libunwind from there), which rebuilds std for
# size: `-Zbuild-std` with std's `optimize_for_size` feature and no
# `backtrace` (cargo's default std features are replaced, not extended, by
# `-Zbuild-std-features`), the immediate-abort panic strategy (no panic
# machinery: a panic is an abort with no message), no caller locations in
# the binary, no unwind tables. Same source and Cargo.toml as the stable
# build: the nightly-only settings are passed here, never written into
# Cargo.toml, so `cargo build --release` on stable keeps working (it gives
# the ~0.9 MB binary; bench.sh checks its own budget). .cargo/config.toml's
# linker flags apply to both builds: `--config` arrays are appended to it.
#
# Budget: the x86_64 binary must be at most DIST_BUDGET bytes (default
# 480,000), or the script fails. DIST_OPT_LEVEL=z (or s, 1, 2, 3) builds everything at that level
# instead, into target/dist-LEVEL/ (scripts/bench.sh --opt-level z).
# DIST_SYMBOLS=1 keeps the symbols, into target/dist-symbols/, for profiles
# (scripts/bench.sh --profile); no budget, no checks.
#
# The check: each file is a static executable for its machine (no ELF
# interpreter), and starts and serves one Function URL invocation between a
# mock Runtime API and a tiny app (scripts/smoke-invoke.py), then exits on
# SHUTDOWN: x86_64 natively, aarch64 under qemu-user.
#
# Needs rustup, and for arm64 a cross linker and qemu-user from Debian's
# packages (gcc-aarch64-linux-gnu, qemu-user); run as root with apt-get, this
# installs them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Has rustc, cargo, rust-src and the rust-std of both musl targets on the
# toolchain server these machines reach (2026-05-20 lacks aarch64 musl).
NIGHTLY=nightly-2026-10-15
DIST_BUDGET=${DIST_BUDGET:-480000}
OPT_LEVEL=${DIST_OPT_LEVEL:-}

CHECK=1
ARCHS=(x86_64 arm64)
for arg in "$@"; do
  case $arg in
    --no-check) CHECK=0 ;;
    x86_64) ARCHS=(x86_64) ;;
    arm64) ARCHS=(arm64) ;;
    all) ARCHS=(x86_64 arm64) ;;
    *) echo "usage: $0 [--no-check] [x86_64|arm64|all]" >&2; exit 2 ;;
  esac
done
# Opt-level "s" (Cargo.toml's "z" is for the stable build), but the
# adapter's own crate, where the hot path's generic code (header maps,
# ureq-proto's state machine) is instantiated, at 2: measured with
# scripts/bench.sh, -18% instructions per small GET for +68 KB. Only here:
# on stable, with std prebuilt, the same override costs 257 KB.
# `--cfg lambda_adapter_dist` marks the code that runs once (configuration,
# start-up, wrapper mode, error messages) `#[optimize(size)]`: -22 KB.
# (With a package override, cargo passes `-C strip=debuginfo` whatever the
# profile says: the symbols are stripped by a rustflag instead.)
OURS_OPT_LEVEL=${DIST_OURS_OPT_LEVEL:-2}
OPT_OURS=(--config "profile.release.package.lambda-adapter.opt-level = $OURS_OPT_LEVEL")
STRIP=', "-Cstrip=symbols"'
case $OPT_LEVEL in
  "") DIST=target/dist; BUILD_DIR=target/nightly
      export CARGO_PROFILE_RELEASE_OPT_LEVEL=s ;;
  s|z|1|2|3) DIST=target/dist-$OPT_LEVEL; BUILD_DIR=target/nightly-$OPT_LEVEL
       export CARGO_PROFILE_RELEASE_OPT_LEVEL=$OPT_LEVEL; OPT_OURS=() ;;
  *) echo "$0: DIST_OPT_LEVEL is s, z, 1, 2 or 3, not $OPT_LEVEL" >&2; exit 2 ;;
esac
if [[ -n ${DIST_SYMBOLS:-} ]]; then
  DIST=target/dist-symbols${OPT_LEVEL:+-$OPT_LEVEL}; BUILD_DIR=target/nightly-symbols${OPT_LEVEL:+-$OPT_LEVEL}
  export CARGO_PROFILE_RELEASE_STRIP=false
  STRIP=
  DIST_BUDGET=999999999 CHECK=0
fi
triple() { case $1 in x86_64) echo x86_64-unknown-linux-musl ;; arm64) echo aarch64-unknown-linux-musl ;; esac; }
# The linker by name, found on PATH: Debian's cross gcc links Rust's self-contained musl objects.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER:-aarch64-linux-gnu-gcc}

if [[ " ${ARCHS[*]} " == *" arm64 "* ]]; then
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
fi

# The pinned toolchain, once: `rustup run` fails until it is installed with every part.
installed=$(rustup target list --installed --toolchain "$NIGHTLY" 2>/dev/null || true)
for arch in "${ARCHS[@]}"; do
  if ! grep -qx "$(triple "$arch")" <<<"$installed" \
      || ! rustup component list --installed --toolchain "$NIGHTLY" 2>/dev/null | grep -qx rust-src; then
    echo "==> installing $NIGHTLY with rust-src and the musl targets"
    rustup toolchain install "$NIGHTLY" --profile minimal --component rust-src
    rustup target add --toolchain "$NIGHTLY" x86_64-unknown-linux-musl aarch64-unknown-linux-musl
    break
  fi
done

echo "==> building with $NIGHTLY${OPT_LEVEL:+ at opt-level $OPT_LEVEL} into $DIST"
for arch in "${ARCHS[@]}"; do
  target=$(triple "$arch")
  CARGO_PROFILE_RELEASE_PANIC=immediate-abort \
    cargo "+$NIGHTLY" build --locked --release --target "$target" --target-dir "$BUILD_DIR" \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size -Zpanic-immediate-abort \
    --config "target.$target.rustflags = [\"-Zlocation-detail=none\", \"-Cforce-unwind-tables=no\", \"--cfg\", \"lambda_adapter_dist\"$STRIP]" \
    "${OPT_OURS[@]}"
  mkdir -p "$DIST/$arch"
  cp "$BUILD_DIR/$target/release/lambda-adapter" "$DIST/$arch/lambda-adapter.tmp"
  mv "$DIST/$arch/lambda-adapter.tmp" "$DIST/$arch/lambda-adapter"
done

# elf_check FILE MACHINE: a static ELF executable for MACHINE (62 x86_64, 183 aarch64), no symbols?
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
shoff, = struct.unpack_from("<Q", data, 40)
shentsize, shnum = struct.unpack_from("<HH", data, 58)
sh_types = [struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] for i in range(shnum)]
assert 2 not in sh_types, "has a symbol table (SHT_SYMTAB): not stripped"
EOF
}

echo "==> sizes"
for arch in "${ARCHS[@]}"; do
  printf '%-8s %9d bytes  %s\n' "$arch" "$(stat -c %s "$DIST/$arch/lambda-adapter")" "$DIST/$arch/lambda-adapter"
done
if [[ " ${ARCHS[*]} " == *" x86_64 "* ]]; then
  size=$(stat -c %s "$DIST/x86_64/lambda-adapter")
  if ((size > DIST_BUDGET)); then
    echo "FAIL: $DIST/x86_64/lambda-adapter is $size bytes, over the budget of $DIST_BUDGET bytes" >&2
    exit 1
  fi
  echo "x86_64 size: $size bytes, within the budget of $DIST_BUDGET"
fi
[[ $CHECK == 1 ]] || exit 0

echo "==> checks"
started=$SECONDS
passed=0
for arch in "${ARCHS[@]}"; do
  bin=$DIST/$arch/lambda-adapter
  case $arch in
    x86_64)
      elf_check "$bin" 62
      echo "x86_64: static executable, stripped; $(python3 scripts/smoke-invoke.py "$bin")" ;;
    arm64)
      elf_check "$bin" 183
      echo "arm64 (under $(basename "$QEMU")): static executable, stripped; $("$QEMU" "$bin" --version); $(python3 scripts/smoke-invoke.py "$QEMU" "$bin")" ;;
  esac
  passed=$((passed + 2))
done
echo "build-static: $passed passed, 0 failed (checks took $((SECONDS - started)) s)"
