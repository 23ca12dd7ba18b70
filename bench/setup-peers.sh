#!/usr/bin/env bash
# Install the peers the benchmarks compare against (bench-peers.md), as root on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends \
    libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 hyperfine \
    python3-libvirt socat bc
getent passwd libvirt-qemu >/dev/null || useradd -r -s /usr/sbin/nologin libvirt-qemu
