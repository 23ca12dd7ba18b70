#!/usr/bin/env bash
# cocoonvirsh doctor: on this host with the simulators as the hypervisors, with binaries of
# another version, with a running daemon's sockets, with a bad configuration file, and in a
# mount namespace where /dev/kvm is masked and no hypervisor is on PATH.
set -uo pipefail
. "${COCOON_TEST_SRCDIR:?}/checks.sh"
B=${COCOON_BUILDDIR:?}
V=$B/tools/virsh/cocoonvirsh
tmp=$(mktemp -d /tmp/cocoon-doctor-XXXXXX)
daemon=
cleanup() { [ -n "$daemon" ] && kill "$daemon" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

export COCOON_CONFIG=$tmp/none.conf
unset COCOON_JAILER

# 1. this host, the simulators standing in for the binaries (they print the tested versions)
COCOON_FIRECRACKER=$B/tests/sim/fc-sim COCOON_CLOUD_HYPERVISOR=$B/tests/sim/ch-sim \
    "$V" doctor --root "$tmp/root" --socket "$tmp/none-sock" >"$tmp/host.out" 2>"$tmp/host.err"
rc=$?
check "firecracker found, tested version" has "$tmp/host.out" "[ok  ] firecracker: '$B/tests/sim/fc-sim' v1.16.1, the version Cocoon was tested with"
check "cloud-hypervisor found, tested version" has "$tmp/host.out" "[ok  ] cloud-hypervisor: '$B/tests/sim/ch-sim' v53.0.0, the version Cocoon was tested with"
check "free space under the root given" has "$tmp/host.out" "free under '$tmp/root'"
for what in "/dev/net/tun:" "/dev/vhost-net:" "] bridge:" "] io_uring:" "] cgroup v2:" \
    "] cocoon-vmm-waiter: '$B/tools/waiter/cocoon-vmm-waiter'" "] jailer:"; do
    check "reports $what" has "$tmp/host.out" "$what"
done
# what this kernel says, against what doctor says
if [ -d /sys/module/bridge ]; then
    check "bridge support seen" has "$tmp/host.out" "[ok  ] bridge:"
fi
if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    check "cgroup v2 seen" has "$tmp/host.out" "[ok  ] cgroup v2:"
else
    check "no cgroup v2 seen, with a fix" has "$tmp/host.out" "[warn] cgroup v2:"
fi
check "absent daemon socket, with a fix" has "$tmp/host.out" "[warn] $tmp/none-sock: absent"
if [ -e /dev/kvm ] && exec 3<>/dev/kvm; then
    exec 3>&-
    check "usable /dev/kvm: exit 0" test "$rc" = 0
    check "/dev/kvm usable" has "$tmp/host.out" "[ok  ] /dev/kvm: present and usable"
    for m in kvm_intel kvm_amd kvm_pvm; do
        [ -d /sys/module/$m ] && { check "KVM kind $m named" has "$tmp/host.out" "KVM kind: $m:"; break; }
    done
    check "both backends can run" has "$tmp/host.out" "cloud-hypervisor: can run"
else
    check "no usable /dev/kvm: exit 1" test "$rc" = 1
fi

# 2. binaries of another version: a warning naming both versions, still runnable
printf '#!/bin/sh\necho "Firecracker v1.15.0"\n' >"$tmp/firecracker"
printf '#!/bin/sh\necho "Jailer v1.16.1"\n' >"$tmp/jailer"
printf '#!/bin/sh\necho "no version here"\n' >"$tmp/cloud-hypervisor"
chmod +x "$tmp/firecracker" "$tmp/jailer" "$tmp/cloud-hypervisor"
printf '[hypervisors]\njailer = %s\n' "$tmp/jailer" >"$tmp/jailer.conf"
COCOON_CONFIG=$tmp/jailer.conf PATH="$tmp:$PATH" "$V" doctor --root "$tmp" >"$tmp/old.out" 2>&1
check "older firecracker: a warning with both versions" has "$tmp/old.out" "[warn] firecracker: '$tmp/firecracker' v1.15.0; Cocoon was tested with v1.16.1"
check "jailer from cocoon.conf" has "$tmp/old.out" "[ok  ] jailer: '$tmp/jailer' v1.16.1"
check "a binary with no version fails its backend" has "$tmp/old.out" "[FAIL] cloud-hypervisor: '$tmp/cloud-hypervisor' does not tell its version"
check "... and says so" has "$tmp/old.out" "cloud-hypervisor: cannot run"
check "firecracker still runs" has "$tmp/old.out" "firecracker: can run"

# 3. a running daemon: its sockets answer, with the modes cocoond gives them
"$B/tools/daemon/cocoond" --root "$tmp/droot" --run-dir "$tmp/drun" --socket "$tmp/sock" \
    2>"$tmp/daemon.err" &
daemon=$!
for _ in $(seq 100); do [ -S "$tmp/sock-ro" ] && break; sleep 0.05; done
"$V" doctor --root "$tmp" --socket "$tmp/sock" >"$tmp/sock.out" 2>&1
check "read-write socket answers, 0600" has "$tmp/sock.out" "[ok  ] $tmp/sock: answers, mode 0600 (read-write)"
check "read-only socket answers, 0666" has "$tmp/sock.out" "[ok  ] $tmp/sock-ro: answers, mode 0666 (read-only)"
kill -9 "$daemon"; wait "$daemon" 2>/dev/null; daemon=
"$V" doctor --root "$tmp" --socket "$tmp/sock" >"$tmp/dead.out" 2>&1
check "a dead daemon's socket: nobody answers" has "$tmp/dead.out" "[warn] $tmp/sock: a socket nobody answers on (mode 0600"

# 4. a bad configuration file: an error naming the file and the line
printf '[hypervisors]\ndefault = firecracker\n\n[timeouts]\nshutdwon = 5\n' >"$tmp/bad.conf"
COCOON_CONFIG=$tmp/bad.conf "$V" doctor >"$tmp/bad.out" 2>&1
check "bad config: exit 1" test $? = 1
check "bad config: file and line named" has "$tmp/bad.out" "error: configuration file '$tmp/bad.conf' line 5: unknown key 'shutdwon' in [timeouts]"

# 5. a namespace with /dev/kvm masked and no hypervisor on PATH
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    echo "SKIP namespace part: needs root and unshare"
else
    : >"$tmp/empty"
    mkdir -p "$tmp/bin"
    unshare --mount sh -c "mount --bind '$tmp/empty' /dev/kvm 2>/dev/null || true
        env -u COCOON_FIRECRACKER -u COCOON_CLOUD_HYPERVISOR PATH='$tmp/bin' \
            '$V' doctor --root '$tmp'" >"$tmp/ns.out" 2>&1
    rc=$?
    check "namespace: exit 1" test "$rc" = 1
    check "namespace: /dev/kvm missing, with the fix" has "$tmp/ns.out" "[FAIL] /dev/kvm: missing: no VM can run on this host"
    check "namespace: the fix for /dev/kvm" has "$tmp/ns.out" "fix: enable virtualization"
    check "namespace: firecracker not found" has "$tmp/ns.out" "[FAIL] firecracker: not found: this backend cannot run"
    check "namespace: neither backend runs" has "$tmp/ns.out" "firecracker: cannot run"
    check "namespace: the error line" has "$tmp/ns.out" "error: a backend cannot run on this host"
    check "the masking stayed inside the namespace" test -c /dev/kvm -o ! -e /dev/kvm
fi

echo "$fails failed"
[ "$fails" = 0 ]
