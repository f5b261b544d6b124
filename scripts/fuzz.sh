#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (see fuzz/fuzz_targets/*.rs for what
# each one asserts), each seeded from tests/fixtures/ and fuzz/seeds/.
#
#   scripts/fuzz.sh --smoke            # a few seconds per target (CI)
#   scripts/fuzz.sh                    # 10 minutes per target
#   FUZZ_SECONDS=3600 scripts/fuzz.sh decode encode
#
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`). Full
# runs are niced. The corpus grows in fuzz/corpus/<target> (not committed);
# a crash stops the run and leaves its input in fuzz/artifacts/<target>/.
# Ends with one line per target: executions, coverage, features, corpus, time.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-600}
nice_cmd=(nice -n 19)
targets=()
for arg in "$@"; do
    case "$arg" in
        --smoke) seconds=${FUZZ_SECONDS:-5}; nice_cmd=() ;;
        -*) echo "usage: $0 [--smoke] [target...]" >&2; exit 2 ;;
        *) targets+=("$arg") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(decode encode config uri dots hook_path routes)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

# Seeds: the fixtures as payloads (decode), as JSON bodies of an answer for
# every source (encode), their paths and queries (uri); fuzz/seeds/ for the rest.
seed() {
    local target=$1 dir=corpus/$1
    mkdir -p "$dir"
    if [ -d "seeds/$target" ]; then cp seeds/"$target"/* "$dir"/; fi
    local f name
    for f in ../tests/fixtures/*.json; do
        name=$(basename "$f" .json)
        case "$target" in
            decode) cp "$f" "$dir/fixture-$name" ;;
            encode)
                for s in 0 1 2 3 4; do
                    { printf "\\x0$s\\x00\\x64content-type: application/json\\n\\n"; cat "$f"; } \
                        >"$dir/fixture-$s-$name"
                done ;;
            uri)
                # "rawPath"/"path" NUL "rawQueryString", as the event has them.
                local path query
                path=$(sed -n 's/^  "\(rawPath\|path\)": "\(.*\)",\{0,1\}$/\2/p' "$f" | head -1)
                query=$(sed -n 's/^  "rawQueryString": "\(.*\)",\{0,1\}$/\1/p' "$f" | head -1)
                if [ -n "$path$query" ]; then
                    printf '%s\0%s' "$path" "$query" >"$dir/fixture-$name"
                fi ;;
        esac
    done
}

summary=()
for t in "${targets[@]}"; do
    seed "$t"
    log=artifacts/$t.log
    mkdir -p artifacts
    echo "==> fuzz $t for ${seconds}s"
    start=$(date +%s)
    status=0
    "${nice_cmd[@]}" cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -max_len=8192 \
        >"$log" 2>&1 || status=$?
    took=$(($(date +%s) - start))
    if [ "$status" -ne 0 ]; then
        tail -60 "$log"
        echo "fuzz $t FAILED (exit $status); the input is in fuzz/artifacts/$t/" >&2
        exit "$status"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -a -E '^#[0-9]+' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
    summary+=("$(printf '%-7s execs %-10s cov %-6s ft %-6s corpus %-12s %ss' \
        "$t" "$execs" "$cov" "$ft" "$corp" "$took")")
done
echo "==> fuzz summary"
printf '%s\n' "${summary[@]}"
