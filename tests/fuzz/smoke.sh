#!/usr/bin/env bash
# One short libFuzzer run of a target from its seeds: smoke.sh FUZZER NAME SECONDS.
# New inputs go to a temporary directory, never into the source tree; a crash fails the test
# and leaves its input in $TMPDIR/cocoon-fuzz-artifacts/NAME-crash-*, ready for regress/NAME/.
set -uo pipefail
fuzzer=$(realpath "$1") name=$2 seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cocoon-fuzz-$name.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
seeds=("$here/corpus/$name" "$here/regress/$name")
if [ "$name" = domain_xml ]; then
    # the golden files of both backends are seeds too
    cp "$here"/../xml2argv/*/*.xml "$here"/../../examples/domains/*.xml "$work/corpus/"
fi
existing=()
for d in "${seeds[@]}"; do [ -d "$d" ] && existing+=("$d"); done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
artifacts=${TMPDIR:-/tmp}/cocoon-fuzz-artifacts
mkdir -p "$artifacts"
cd "$work"
nice -n 19 "$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
    "$work/corpus" "${existing[@]}"
