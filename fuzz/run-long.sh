#!/usr/bin/env bash
# Runs every proptest fuzz target with many cases (PROPTEST_CASES, 200,000
# by default), in release, one target at a time, and prints each target's
# cases and wall time. Run by hand; `cargo test` runs the same targets with
# 256 cases. See fuzz/README.md.
set -euo pipefail

cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-200000}"

# target package: every test of a target is named `fuzz_<target>_…` and lives
# in the package's `tests/fuzz` test binary.
targets=(
    "payload ronda-wire"
    "topic ronda-wire"
    "policy ronda-policy"
    "hikvision ronda-agent"
    "dahua ronda-agent"
    "shelly ronda-agent"
    "tasmota ronda-agent"
    "onvif ronda-agent"
    "frigate ronda-agent"
    "rtsp ronda-agent"
    "zigbee2mqtt ronda-agent"
)

# One package at a time, as the targets run: built together, the packages
# would share other dependency features and be built again alone.
echo "Building the fuzz targets (release)…"
for package in ronda-wire ronda-policy ronda-agent; do
    cargo test --release -p "$package" --test fuzz --no-run
done

echo "Running with PROPTEST_CASES=$PROPTEST_CASES"
printf '%-12s %-13s %11s %6s %10s  %s\n' target package cases tests seconds result
total_cases=0
total_ms=0
failed=()
for entry in "${targets[@]}"; do
    read -r target package <<<"$entry"
    log=$(mktemp)
    start=$(date +%s%N)
    status=ok
    # --nocapture: each test prints `fuzz-cases NAME N` on stderr when it passes.
    if ! cargo test --release -p "$package" --test fuzz "fuzz_${target}_" \
        -- --nocapture >"$log" 2>&1; then
        status=FAILED
        failed+=("$target")
    fi
    ms=$((($(date +%s%N) - start) / 1000000))
    # Tests run in parallel, so a count may share its line with other output.
    counts=$(grep -oE 'fuzz-cases [^ ]+ [0-9]+' "$log" || true)
    cases=$(awk '{ n += $3 } END { print n + 0 }' <<<"$counts")
    tests=$(grep -c . <<<"$counts" || true)
    if [[ "$tests" -eq 0 && "$status" == ok ]]; then
        # A filter that matches nothing passes quietly: say so instead.
        status="FAILED (no tests matched)"
        failed+=("$target")
    fi
    printf '%-12s %-13s %11d %6d %10.1f  %s\n' \
        "$target" "$package" "$cases" "$tests" "$((ms))e-3" "$status"
    awk 'NF == 3 { printf "    %-52s %9d\n", $2, $3 }' <<<"$counts"
    if [[ "$status" != ok ]]; then
        echo "---- output of $target ----"
        # A failing input of bytes prints one byte a line: leave those out.
        grep -vE '^ +[0-9]+,$' "$log" | tail -n 60
        echo "----"
    fi
    rm -f "$log"
    total_cases=$((total_cases + cases))
    total_ms=$((total_ms + ms))
done

echo
printf 'total: %d targets, %d cases, %.1f s' "${#targets[@]}" "$total_cases" "$((total_ms))e-3"
if [[ ${#failed[@]} -eq 0 ]]; then
    echo ", all passed"
else
    echo ", failed: ${failed[*]}"
    exit 1
fi
