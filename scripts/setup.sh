#!/usr/bin/env bash
# Install everything Cocoon needs to build, run and test on Debian 12, as root.
# Idempotent: packages already present are left alone. When another apt or dpkg holds the
# package lock, wait for it (up to COCOON_SETUP_LOCK_WAIT seconds, 300 by default).
set -euo pipefail

packages=(
    # build
    build-essential meson ninja-build pkg-config
    libxml2-dev libjson-c-dev libarchive-dev libzstd-dev
    libnl-3-dev libnl-route-3-dev libglib2.0-dev zlib1g-dev libtirpc-dev rpcsvc-proto libvirt-dev
    musl-tools  # the VMM waiter, static on musl: see tools/waiter/meson.build
    scdoc       # the man pages (doc/*.scd), rendered at build time
    clang libclang-rt-14-dev  # libFuzzer + sanitizer runtimes of the fuzz build (tests/fuzz)
    # run and test with real clients
    libvirt-clients libxml2-utils python3 python3-libvirt python3-jsonschema python3-yaml
    tmux socat tar zstd iproute2 valgrind strace
    btrfs-progs  # host-overlay: a reflink overlay on a btrfs loop device
    iputils-ping  # real-linux: the host pings the guest
    virt-manager xvfb xauth x11-apps dbus
    bash-completion              # completion: the test loads it as an interactive shell does
    openssh-server netcat-openbsd  # remote-ssh: cocoon+ssh:// against an sshd the test starts
    systemd                      # systemd-socket-activate for the socket-activation checks
    # packaging: the Debian package test (tests/packaging)
    debhelper dpkg-dev fakeroot lintian
)

# The locks apt and dpkg take; fuser is not always there, so try to take them ourselves.
locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock)
wait_for_locks() {
    local limit=${COCOON_SETUP_LOCK_WAIT:-300} waited=0 said=
    while :; do
        local busy=
        for l in "${locks[@]}"; do
            [ -e "$l" ] || continue
            # apt and dpkg take fcntl (POSIX) locks, which flock(1) does not see: lockf does
            if ! /usr/bin/python3 -c 'import fcntl,sys
f=open(sys.argv[1],"a")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)' "$l" 2>/dev/null; then
                busy=$l
                break
            fi
        done
        [ -z "$busy" ] && return 0
        if [ "$waited" -ge "$limit" ]; then
            echo "error: '$busy' is still held by another apt or dpkg after ${limit}s" >&2
            return 1
        fi
        if [ -z "$said" ]; then
            echo "setup: waiting for another apt or dpkg to release '$busy' (up to ${limit}s)" >&2
            said=1
        fi
        sleep 5
        waited=$((waited + 5))
    done
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # apt waits for the lock itself too (DPkg::Lock::Timeout); the loop above says so first
    wait_for_locks
    timeout=(-o "DPkg::Lock::Timeout=${COCOON_SETUP_LOCK_WAIT:-300}")
    # no service of a package we install starts here (an sshd on port 22 nobody asked for):
    # invoke-rc.d asks policy-rc.d, which we provide only for this install, when there is none
    policy=/usr/sbin/policy-rc.d made_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    trap '[ -n "$made_policy" ] && rm -f "$policy"' EXIT
    apt-get "${timeout[@]}" update -q
    apt-get "${timeout[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi
