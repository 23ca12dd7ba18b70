#!/bin/bash
# One cocoonvirsh session under valgrind: no invalid access, no definite leak, across define,
# list, dominfo, dumpxml, a failed lookup, autostart and undefine.
# valgrind cannot run an AddressSanitizer binary: such a build skips (77); CI runs this test in
# a build without sanitizers.
set -u

bin="$COCOON_BUILDDIR/tools/virsh/cocoonvirsh"
data="$(cd "$(dirname "$0")" && pwd)/data"

if ! command -v valgrind >/dev/null; then
    echo "SKIP: valgrind is not installed"
    exit 77
fi
if nm "$bin" 2>/dev/null | grep -q '__asan_init' || ldd "$bin" | grep -q libasan; then
    echo "SKIP: $bin is built with AddressSanitizer; run this test in a plain build"
    exit 77
fi

root="$(mktemp -d /tmp/cocoon-cli-vg.XXXXXX)"
trap 'rm -rf "$root"' EXIT
cd "$data" || exit 1

# the chain's last command succeeds, so cocoonvirsh exits 0; valgrind's findings exit 99
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    "$bin" -c "cocoon:///embed?root=$root" \
    "define web1.xml; list --all; dominfo web1; dumpxml web1; domstate --reason web1; \
     domid nope; autostart web1; undefine web1; uri"
status=$?
if [ "$status" != 0 ]; then
    echo "FAIL: valgrind reported errors or the session failed (status $status)"
    exit 1
fi
echo "ok: valgrind clean"
