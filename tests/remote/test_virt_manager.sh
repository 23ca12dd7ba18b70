#!/bin/bash
# virt-manager (Debian's 4.1, unmodified) lists Cocoon's domains through cocoond: a daemon on a
# temporary root with two domains (one running on the Firecracker simulator once the local
# driver runs VMs, else both shut off), virt-manager under Xvfb with a private HOME, until its
# debug log shows both domains with their states; a screenshot of the main window is kept as
# meson-logs/virt-manager.png. Needs: virt-manager xvfb xauth x11-apps (xwd), dbus.
set -u

if [ "${1:-}" = "--inner" ]; then
    # Under xvfb-run and dbus-run-session: run virt-manager, wait for the domains, screenshot.
    virt-manager --no-fork --debug --connect "$VM_URI" >"$VM_LOG" 2>&1 &
    vm_pid=$!
    seen=no
    for _ in $(seq 1 300); do
        if ! kill -0 "$vm_pid" 2>/dev/null; then
            echo "virt-manager exited early" >&2
            break
        fi
        all=yes
        for want in $VM_EXPECT; do
            grep -q "domain=${want%%:*} status=${want#*:}" "$VM_LOG" || all=no
        done
        if [ "$all" = yes ]; then
            seen=yes
            break
        fi
        sleep 0.2
    done
    sleep 2 # let the window draw the rows the log announced
    xwd -root -silent >"$VM_SHOT.xwd"
    kill "$vm_pid" 2>/dev/null
    wait "$vm_pid" 2>/dev/null
    [ "$seen" = yes ]
    exit $?
fi

fail() { echo "not ok - $*"; exit 1; }
ok() { echo "ok - $*"; }

for tool in virt-manager xvfb-run xauth xwd dbus-run-session; do
    if ! command -v "$tool" >/dev/null; then
        echo "SKIP: $tool is not installed (scripts/setup.sh installs virt-manager xvfb xauth x11-apps)"
        exit 77
    fi
done

: "${COCOON_BUILDDIR:?run through meson test}"
SRCDIR=${COCOON_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
COCOOND=$COCOON_BUILDDIR/tools/daemon/cocoond
VIRSH=$COCOON_BUILDDIR/tools/virsh/cocoonvirsh
FC_SIM=$COCOON_BUILDDIR/tests/sim/fc-sim
LOGDIR=$COCOON_BUILDDIR/meson-logs
mkdir -p "$LOGDIR"

tmp=$(mktemp -d /tmp/cocoon-virt-manager-XXXXXX)
daemon_pid=
cleanup() {
    if [ -n "$daemon_pid" ]; then
        "$VIRSH" -c "cocoon+unix:///system?socket=$tmp/sock" destroy vm-alpha >/dev/null 2>&1
    fi
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
        wait "$daemon_pid"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

sock=$tmp/sock
COCOON_FIRECRACKER=$FC_SIM COCOON_CONFIG=$tmp/none.conf "$COCOOND" --root "$tmp/root" --run-dir "$tmp/run" --socket "$sock" \
    >"$tmp/cocoond.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 1 100); do
    [ -S "$sock-ro" ] && break
    sleep 0.1
done
[ -S "$sock" ] || fail "cocoond did not start: $(cat "$tmp/cocoond.log")"
uri="cocoon+unix:///system?socket=$sock"

# the driver checks for an ELF vmlinux; the simulator does not run it
printf '\177ELF\002\001\001' >"$tmp/vmlinux"
truncate -s 1M "$tmp/vmlinux"
for name in vm-alpha vm-beta; do
    truncate -s 8M "$tmp/$name.ext4"
    cat >"$tmp/$name.xml" <<EOF
<domain type='kvm'>
  <name>$name</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$tmp/vmlinux</kernel>
    <cmdline>console=ttyS0 reboot=k panic=1</cmdline></os>
  <devices>
    <emulator>/usr/bin/firecracker</emulator>
    <disk type='file' device='disk'><source file='$tmp/$name.ext4'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
EOF
    out=$("$VIRSH" -c "$uri" define "$tmp/$name.xml" 2>&1) || fail "define $name: $out"
done
ok "two domains defined through cocoond"

out=$("$VIRSH" -c "$uri" start vm-alpha 2>&1) || fail "start vm-alpha: $out"
expect="vm-alpha:Running vm-beta:Shutoff"
ok "vm-alpha running on the Firecracker simulator"

home=$tmp/home
mkdir -p "$home/run"
chmod 700 "$home/run"
shot=$LOGDIR/virt-manager
rm -f "$shot.png" "$shot.xwd"
env HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache" \
    XDG_DATA_HOME="$home/.local/share" XDG_RUNTIME_DIR="$home/run" GSETTINGS_BACKEND=memory \
    NO_AT_BRIDGE=1 VM_URI="$uri" VM_LOG="$tmp/virt-manager.log" VM_SHOT="$shot" \
    VM_EXPECT="$expect" \
    timeout 150 xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- bash "$0" --inner
inner=$?
cp "$tmp/virt-manager.log" "$LOGDIR/virt-manager.log" 2>/dev/null

grep -q "processing cli command uri=cocoon+unix" "$tmp/virt-manager.log" ||
    fail "virt-manager did not start (see meson-logs/virt-manager.log)"
for want in $expect; do
    grep -q "domain=${want%%:*} status=${want#*:} added" "$tmp/virt-manager.log" ||
        fail "virt-manager did not list ${want%%:*} as ${want#*:} (see meson-logs/virt-manager.log)"
    ok "virt-manager lists ${want%%:*} as ${want#*:}"
done
[ "$inner" -eq 0 ] || fail "virt-manager run failed (status $inner)"
[ -s "$shot.xwd" ] || fail "no screenshot taken"
colours=$(/usr/bin/python3 "$SRCDIR/tests/remote/xwd2png.py" "$shot.xwd" "$shot.png") ||
    fail "screenshot conversion"
rm -f "$shot.xwd"
[ "${colours:-0}" -ge 8 ] || fail "the screenshot is blank ($colours colours)"
ok "screenshot of the main window: meson-logs/virt-manager.png ($colours colours)"

out=$("$VIRSH" -c "$uri" destroy vm-alpha 2>&1) || fail "destroy vm-alpha: $out"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
status=$?
daemon_pid=
[ "$status" -eq 0 ] || fail "cocoond exited with $status: $(tail -5 "$tmp/cocoond.log")"
if grep -q "Sanitizer\|runtime error" "$tmp/cocoond.log"; then
    fail "sanitizer report from cocoond: $(cat "$tmp/cocoond.log")"
fi
ok "cocoond stopped cleanly"
