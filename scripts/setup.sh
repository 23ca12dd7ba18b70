#!/usr/bin/env bash
# Install everything Cocoon needs to build, run and test on Debian 12, as root.
# Idempotent: packages already present are left alone.
set -euo pipefail

packages=(
    # build
    build-essential meson ninja-build pkg-config
    libxml2-dev libjson-c-dev libarchive-dev libzstd-dev
    libnl-3-dev libnl-route-3-dev libglib2.0-dev libtirpc-dev rpcsvc-proto libvirt-dev
    musl-tools  # the VMM waiter, static on musl: see tools/waiter/meson.build
    # run and test with real clients
    libvirt-clients libxml2-utils python3 python3-libvirt python3-jsonschema python3-yaml
    tmux socat tar zstd iproute2 valgrind
    btrfs-progs  # host-overlay: a reflink overlay on a btrfs loop device
    iputils-ping  # real-linux: the host pings the guest
    virt-manager xvfb xauth x11-apps dbus
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
