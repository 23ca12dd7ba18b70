#!/usr/bin/env bash
# Install what is needed, build with ASan + UBSan and -Werror, run every suite, and end with
# one line "N passed, N failed[, N skipped]" over all of them. Exit status 0 only when nothing
# failed. A second, plain (release) build serves the checks that cannot run under ASan
# (valgrind) and runs the lifecycle again with the helpers as users get them (suite 'plain').
# A third, clang build with -Dfuzz=true runs every fuzz target briefly (suite 'fuzz-smoke');
# tests/fuzz/run.sh runs them longer. A fourth, with ThreadSanitizer, builds only the daemon,
# the CLI, the simulators and the helpers and runs cocoond's concurrency test (suite 'tsan').
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ]; then
    bash scripts/setup.sh || { echo "error: setup failed" >&2; exit 1; }
fi

build_dir=${COCOON_TEST_BUILD:-build-test}
plain_dir=${COCOON_PLAIN_BUILD:-build-plain}
fuzz_dir=${COCOON_FUZZ_BUILD:-build-fuzz}
tsan_dir=${COCOON_TSAN_BUILD:-build-tsan}
tsan_targets=(tools/daemon/cocoond tools/virsh/cocoonvirsh tests/sim/fc-sim tests/sim/ch-sim
              tools/relay/cocoon-console-relay tools/waiter/cocoon-vmm-waiter)

configure() { # dir, extra meson options…
    local dir=$1; shift
    if [ ! -f "$dir/build.ninja" ]; then
        meson setup "$dir" "$@" >/dev/null || return 1
    fi
}

status=0
configure "$build_dir" -Db_sanitize=address,undefined -Db_lundef=false &&
    ninja -C "$build_dir" >/dev/null || { echo "error: sanitizer build failed" >&2; status=1; }
configure "$plain_dir" -Dbuildtype=release &&
    ninja -C "$plain_dir" >/dev/null || { echo "error: plain build failed" >&2; status=1; }
CC=clang configure "$fuzz_dir" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false &&
    ninja -C "$fuzz_dir" >/dev/null || { echo "error: fuzz build failed" >&2; status=1; }
configure "$tsan_dir" -Db_sanitize=thread -Db_lundef=false &&
    ninja -C "$tsan_dir" "${tsan_targets[@]}" >/dev/null ||
    { echo "error: ThreadSanitizer build failed" >&2; status=1; }

if [ $status -ne 0 ]; then
    ninja -C "$build_dir" 2>&1 | tail -30
    echo "0 passed, 1 failed"
    exit 1
fi

# The sanitized build runs every suite; the plain build the valgrind and plain suites.
meson test -C "$build_dir" --print-errorlogs --no-rebuild --num-processes 2 \
    --no-suite valgrind "$@"
meson test -C "$plain_dir" --print-errorlogs --no-rebuild --num-processes 2 \
    --suite valgrind --suite plain
meson test -C "$fuzz_dir" --print-errorlogs --no-rebuild --num-processes 1 --suite fuzz-smoke
meson test -C "$tsan_dir" --print-errorlogs --no-rebuild --num-processes 1 --suite tsan

/usr/bin/python3 - "$build_dir/meson-logs/testlog.json" "$plain_dir/meson-logs/testlog.json" \
    "$fuzz_dir/meson-logs/testlog.json" "$tsan_dir/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        print(f"error: no test log at {path}", file=sys.stderr)
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
