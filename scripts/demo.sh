#!/usr/bin/env bash
# Cocoon's main job, on this machine: define an example Firecracker domain, start it and show
# its console. On a real hypervisor when /dev/kvm and a firecracker binary are present (the
# guest kernel and root filesystem come from COCOON_DEMO_KERNEL / COCOON_DEMO_ROOTFS);
# otherwise on Cocoon's Firecracker simulator, and it says so.
#
# With a terminal, the console is interactive (type at the guest; Ctrl+] leaves). Without one,
# the demo logs in, runs a command in the guest and shows what came back.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" = 0 ]; then
    bash scripts/setup.sh
fi
build=${COCOON_DEMO_BUILD:-build-plain}
[ -f "$build/build.ninja" ] || meson setup "$build" -Dbuildtype=debugoptimized >/dev/null
ninja -C "$build" >/dev/null
build=$(cd "$build" && pwd)

demo=${COCOON_DEMO_DIR:-/tmp/cocoon-demo}
mkdir -p "$demo"
uri="cocoon:///embed?root=$demo/state"
v() { "$build/tools/virsh/cocoonvirsh" -c "$uri" "$@"; }

if [ -e /dev/kvm ] && command -v firecracker >/dev/null 2>&1; then
    kernel=${COCOON_DEMO_KERNEL:-/var/lib/cocoon/images/vmlinux}
    rootfs=${COCOON_DEMO_ROOTFS:-/var/lib/cocoon/images/rootfs.ext4}
    for f in "$kernel" "$rootfs"; do
        [ -r "$f" ] || { echo "error: '$f' is missing: set COCOON_DEMO_KERNEL and COCOON_DEMO_ROOTFS to a guest kernel and root filesystem" >&2; exit 1; }
    done
    echo "Running on the real Firecracker: $(command -v firecracker)"
else
    export COCOON_FIRECRACKER="$build/tests/sim/fc-sim"
    kernel="$demo/vmlinux"
    rootfs="$demo/rootfs.ext4"
    [ -e "$kernel" ] || printf '\177ELF-simulated-kernel' > "$kernel"
    [ -e "$rootfs" ] || truncate -s 64M "$rootfs"
    echo "No /dev/kvm or firecracker binary on this machine: running on Cocoon's Firecracker"
    echo "simulator ($COCOON_FIRECRACKER), which boots a simulated guest."
fi

# The example domain, pointed at this machine's kernel and root filesystem.
sed -e "s|/var/lib/cocoon/images/vmlinux|$kernel|" \
    -e "s|/var/lib/cocoon/images/rootfs.ext4|$rootfs|" \
    examples/domains/fc-minimal.xml > "$demo/fc-minimal.xml"

if v domstate fc-minimal >/dev/null 2>&1; then
    v destroy fc-minimal >/dev/null 2>&1 || true
    v undefine fc-minimal >/dev/null
fi
set -x
v define "$demo/fc-minimal.xml"
v start fc-minimal
v list --all
{ set +x; } 2>/dev/null

if [ -t 0 ] && [ -t 1 ]; then
    echo "Attaching to the console: log in as root, Ctrl+] to leave."
    v console fc-minimal || true
else
    echo "+ cocoonvirsh console fc-minimal   (scripted: log in, ask the guest who it is)"
    { sleep 1; printf 'root\n'; sleep 0.5; printf 'cat /proc/cmdline\n'; sleep 1; } |
        v console fc-minimal || true
fi
echo
set -x
v destroy fc-minimal
