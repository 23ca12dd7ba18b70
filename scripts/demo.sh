#!/usr/bin/env bash
# Cocoon's main job, on this machine: define an example Firecracker domain, start it and show
# its console. On the real Firecracker when /dev/kvm opens and a firecracker binary is found
# (COCOON_FIRECRACKER, PATH, or ../shared/vmm beside this checkout), booting Cocoon's test
# guest (tests/guest), or a Linux kernel and root filesystem given as COCOON_DEMO_KERNEL /
# COCOON_DEMO_ROOTFS; otherwise on Cocoon's Firecracker simulator, saying what is missing.
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

# Where a real Firecracker could come from, and whether this machine can run it.
firecracker=
if [ -n "${COCOON_FIRECRACKER:-}" ]; then
    [ -x "$COCOON_FIRECRACKER" ] && firecracker=$COCOON_FIRECRACKER
elif command -v firecracker >/dev/null 2>&1; then
    firecracker=$(command -v firecracker)
elif [ -x "$top/../shared/vmm/firecracker" ]; then
    firecracker=$(cd "$top/../shared/vmm" && pwd)/firecracker
fi
missing=()
if ! kvm_error=$( { exec 3<>/dev/kvm; } 2>&1 ); then
    missing+=("/dev/kvm does not open (${kvm_error##*: })")
fi
if [ -z "$firecracker" ]; then
    if [ -n "${COCOON_FIRECRACKER:-}" ]; then
        missing+=("COCOON_FIRECRACKER='$COCOON_FIRECRACKER' is not an executable")
    else
        missing+=("no firecracker binary (tried COCOON_FIRECRACKER, PATH and $top/../shared/vmm)")
    fi
fi

cmdline="root=/dev/vda rw"
guest=linux
if [ ${#missing[@]} -eq 0 ]; then
    export COCOON_FIRECRACKER=$firecracker
    if [ -n "${COCOON_DEMO_KERNEL:-}" ]; then
        # The user's own Linux guest.
        kernel=$COCOON_DEMO_KERNEL
        rootfs=${COCOON_DEMO_ROOTFS:-/var/lib/cocoon/images/rootfs.ext4}
        for f in "$kernel" "$rootfs"; do
            [ -r "$f" ] || { echo "error: '$f' is missing: set COCOON_DEMO_KERNEL and COCOON_DEMO_ROOTFS to a guest kernel and root filesystem" >&2; exit 1; }
        done
        echo "Running on the real Firecracker ($firecracker), booting $kernel."
    else
        # Cocoon's own test guest (tests/guest): boots in milliseconds, answers commands.
        guest=test
        kernel="$build/tests/guest/cocoon-test-guest"
        rootfs="$demo/disk.img"
        cmdline="console=ttyS0 reboot=k panic=1"
        [ -r "$kernel" ] || { echo "error: '$kernel' was not built (it needs gcc on x86-64)" >&2; exit 1; }
        printf 'written by scripts/demo.sh' > "$rootfs"
        truncate -s 1M "$rootfs"
        echo "Running on the real Firecracker ($firecracker), booting Cocoon's test guest"
        echo "($kernel; COCOON_DEMO_KERNEL / COCOON_DEMO_ROOTFS boot a Linux guest instead)."
    fi
else
    guest=sim
    export COCOON_FIRECRACKER="$build/tests/sim/fc-sim"
    kernel="$demo/vmlinux"
    rootfs="$demo/rootfs.ext4"
    [ -e "$kernel" ] || printf '\177ELF-simulated-kernel' > "$kernel"
    [ -e "$rootfs" ] || truncate -s 64M "$rootfs"
    echo "Not running a real Firecracker here: $(IFS=';'; echo "${missing[*]}" | sed 's/;/; /g')."
    echo "Running on Cocoon's Firecracker simulator ($COCOON_FIRECRACKER), which boots a"
    echo "simulated guest."
fi

# The example domain, pointed at this machine's kernel and disk.
sed -e "s|/var/lib/cocoon/images/vmlinux|$kernel|" \
    -e "s|/var/lib/cocoon/images/rootfs.ext4|$rootfs|" \
    -e "s|<cmdline>root=/dev/vda rw</cmdline>|<cmdline>$cmdline</cmdline>|" \
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
    if [ "$guest" = test ]; then
        echo "Attaching to the console: try 'echo hi', 'ticks', 'devices', 'read 0'; Ctrl+] to leave."
    else
        echo "Attaching to the console: log in as root, Ctrl+] to leave."
    fi
    v console fc-minimal || true
elif [ "$guest" = test ]; then
    echo "+ cocoonvirsh console fc-minimal   (scripted: a few of the test guest's commands)"
    { sleep 0.5; for c in 'echo hello from the demo' ticks devices 'read 0' ticks; do
          printf '%s\r' "$c"; sleep 0.5; done; } |
        v console fc-minimal || true
else
    echo "+ cocoonvirsh console fc-minimal   (scripted: log in, ask the guest who it is)"
    { sleep 1; printf 'root\n'; sleep 0.5; printf 'cat /proc/cmdline\n'; sleep 1; } |
        v console fc-minimal || true
fi
echo
set -x
v destroy fc-minimal
