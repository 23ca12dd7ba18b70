#!/bin/bash
# cocoonvirsh under valgrind: no invalid access, no definite leak, in three sessions: define,
# list, dominfo, dumpxml, a failed lookup, autostart and undefine; domxml-to-native of every
# golden file of both backends in each of their formats (errors included); and the lifecycle
# on the Firecracker and Cloud Hypervisor simulators (start, suspend, resume, console-less
# state queries, destroy). The VMMs, relay and waiter are not under valgrind: only the CLI.
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
echo "ok: valgrind clean on define/list/dumpxml/undefine"

vg() { # description, cocoonvirsh arguments…
    local what=$1; shift
    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-leak-kinds=definite "$bin" "$@" >"$root/out" 2>&1
    local rc=$?
    if [ "$rc" = 99 ]; then
        cat "$root/out"
        echo "FAIL: valgrind reported errors in $what"
        exit 1
    fi
    return $rc
}

# every golden file, in every native format of its backend: the refusals run the error paths
golden="$(cd "$data/../../xml2argv" && pwd)"
chain=""
for f in "$golden"/fc/*.xml; do
    chain+="domxml-to-native firecracker-json $f; domxml-to-native firecracker-api $f; "
done
for f in "$golden"/ch/*.xml; do
    chain+="domxml-to-native cloud-hypervisor-argv $f; domxml-to-native cloud-hypervisor-json $f; "
done
vg "the golden files" -c "cocoon:///embed?root=$root" "${chain}uri"
echo "ok: valgrind clean on domxml-to-native of $(ls "$golden"/fc/*.xml "$golden"/ch/*.xml | wc -l) golden files"

# the lifecycle on the simulators
sims="$COCOON_BUILDDIR/tests/sim"
if [ ! -x "$sims/fc-sim" ] || [ ! -x "$sims/ch-sim" ]; then
    echo "FAIL: the simulators are not built in $COCOON_BUILDDIR"
    exit 1
fi
kernel="$root/vmlinux"
printf '\177ELF\002\001\001' >"$kernel"
truncate -s 1M "$kernel"
for backend in firecracker cloud-hypervisor; do
    if [ $backend = firecracker ]; then
        console="<serial type='pty'><target port='0'/></serial>"
    else
        console="<console type='pty'><target type='virtio' port='0'/></console>"
    fi
    cat >"$root/vg-$backend.xml" <<XML
<domain type='kvm'>
  <name>vg-$backend</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$kernel</kernel></os>
  <devices><emulator>/usr/bin/$backend</emulator>$console</devices>
</domain>
XML
    COCOON_FIRECRACKER="$sims/fc-sim" COCOON_CLOUD_HYPERVISOR="$sims/ch-sim" \
        COCOON_CONFIG="$root/none.conf" \
        vg "the $backend lifecycle" -c "cocoon:///embed?root=$root" \
        "define $root/vg-$backend.xml; start vg-$backend; domstate --reason vg-$backend; \
         dominfo vg-$backend; list --all; suspend vg-$backend; domstate vg-$backend; \
         resume vg-$backend; dumpxml vg-$backend; destroy vg-$backend; \
         domstate --reason vg-$backend; undefine vg-$backend; uri" ||
        { cat "$root/out"; echo "FAIL: the $backend lifecycle session failed"; exit 1; }
    grep -q "Domain 'vg-$backend' started" "$root/out" && grep -q "paused" "$root/out" ||
        { cat "$root/out"; echo "FAIL: the $backend lifecycle did not run"; exit 1; }
    echo "ok: valgrind clean on the $backend lifecycle"
done
