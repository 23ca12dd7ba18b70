#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), one after the other at nice 19, from its
# seeds (corpus/, regress/; the domain XML target also from the golden files), and print one
# line per target: executions, coverage (edges "cov", features "ft") and the verdict.
#   tests/fuzz/run.sh [SECONDS] [TARGET…]
# Uses the clang build build-fuzz (configured here when missing: CC=clang, -Dfuzz=true, ASan +
# UBSan). A crash, leak or timeout leaves its input in ${TMPDIR:-/tmp}/cocoon-fuzz-artifacts/;
# once fixed, it goes in regress/TARGET/ so every build replays it. Exit 1 if any target failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(domain_xml rpc console http snapshot)
dir=${COCOON_FUZZ_BUILD:-build-fuzz}

if [ ! -f "$dir/build.ninja" ]; then
    CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false \
        >/dev/null || { echo "error: cannot configure $dir" >&2; exit 1; }
fi
nice -n 19 ninja -C "$dir" "${targets[@]/#/tests/fuzz/fuzz_}" >/dev/null ||
    { echo "error: cannot build the fuzz targets" >&2; exit 1; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/cocoon-fuzz-logs.XXXXXX")
failed=0
for t in "${targets[@]}"; do
    bash tests/fuzz/smoke.sh "$dir/tests/fuzz/fuzz_$t" "$t" "$seconds" >"$logs/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$logs/$t.log" | grep -E 'cov: ' | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
    verdict=ok
    if [ $rc -ne 0 ]; then
        verdict="FAILED (exit $rc): $(grep -m1 -E 'ERROR:|SUMMARY:|g_error|ERROR' "$logs/$t.log")"
        failed=1
    fi
    printf '%-11s %4ss  execs %-9s cov %-6s ft %-6s corpus %-5s %s\n' "$t" "$seconds" \
        "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict"
done
echo "logs: $logs"
exit $failed
