#!/usr/bin/env bash
# `meson install --destdir`: the tree it makes (programs, helpers in libexecdir/cocoon, man
# pages, bash completion, systemd units naming the installed paths, the default config), and
# the installed programs running from there: the helpers are found in the installed tree
# (not the build's), a domain starts on the Firecracker simulator with a console, and the
# daemon serves it.
set -uo pipefail
. "${COCOON_TEST_SRCDIR:?}/checks.sh"
B=${COCOON_BUILDDIR:?}
tmp=$(mktemp -d /tmp/cocoon-install-XXXXXX)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
    [ -x "${V:-}" ] && "$V" -c "$uri" -q destroy boot1 >/dev/null 2>&1
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

D=$tmp/dest
if ! meson install -C "$B" --destdir "$D" --no-rebuild >"$tmp/install.log" 2>&1; then
    echo "FAIL meson install"; cat "$tmp/install.log"; exit 1
fi
intro() { meson introspect "$B" --buildoptions | /usr/bin/python3 -c "
import json, sys
print({o['name']: o['value'] for o in json.load(sys.stdin)}['$1'])"; }
prefix=$(intro prefix)
abs() { case $1 in /*) echo "$1" ;; *) echo "$prefix/$1" ;; esac; }
bindir=$(abs "$(intro bindir)") sbindir=$(abs "$(intro sbindir)")
libexecdir=$(abs "$(intro libexecdir)") mandir=$(abs "$(intro mandir)")
sysconfdir=$(abs "$(intro sysconfdir)")
V=$D$bindir/cocoonvirsh

check "cocoonvirsh in bindir" test -x "$V"
check "cocoond in sbindir" test -x "$D$sbindir/cocoond"
check "console relay in libexecdir/cocoon" test -x "$D$libexecdir/cocoon/cocoon-console-relay"
check "VMM waiter in libexecdir/cocoon" test -x "$D$libexecdir/cocoon/cocoon-vmm-waiter"
check "clone's VMM namespace launcher in libexecdir/cocoon" test -x "$D$libexecdir/cocoon/cocoon-vmm-ns"
for page in man1/cocoonvirsh.1 man8/cocoond.8 man5/cocoon.conf.5; do
    check "man page $page" test -s "$D$mandir/$page"
done
check "the default cocoon.conf" test -s "$D$sysconfdir/cocoon/cocoon.conf"
check "bash completion" test -n "$(find "$D" -path '*/bash-completion/completions/cocoonvirsh')"
unitdir=$(dirname "$(find "$D" -name cocoond.service | head -1)")
check "systemd units" test -s "$unitdir/cocoond.socket" -a -s "$unitdir/cocoond-ro.socket"
check "ExecStart= names the installed cocoond" has "$unitdir/cocoond.service" "ExecStart=$sbindir/cocoond"
check "cocoond.socket listens where clients look" has "$unitdir/cocoond.socket" "ListenStream=$(intro socketdir)/virtcocoond-sock"
check "cocoond-ro.socket is read-only for all" has "$unitdir/cocoond-ro.socket" "SocketMode=0666"
check "nothing of the tests is installed" test -z "$(find "$D" -name '*sim*' -o -name 'test_*')"
if command -v systemd-analyze >/dev/null; then
    # the units parse; the one complaint allowed is that ExecStart's path is not there yet
    # (it is, inside the DESTDIR)
    systemd-analyze verify --man=no "$unitdir"/cocoond*.s* >"$tmp/verify" 2>&1
    grep -v "Command $sbindir/cocoond is not executable" "$tmp/verify" >"$tmp/verify.rest"
    check "units pass systemd-analyze verify" test ! -s "$tmp/verify.rest"
fi

# the installed programs find their own helpers, not the build tree's
export COCOON_CONFIG=$tmp/none.conf
unset COCOON_CONSOLE_RELAY COCOON_VMM_WAITER
"$V" doctor --root "$tmp" --socket "$tmp/sock" >"$tmp/doctor.out" 2>&1
check "installed doctor finds the installed waiter" has "$tmp/doctor.out" "[ok  ] cocoon-vmm-waiter: '$D$libexecdir/cocoon/cocoon-vmm-waiter'"
check "installed doctor finds the installed relay" has "$tmp/doctor.out" "[ok  ] cocoon-console-relay: '$D$libexecdir/cocoon/cocoon-console-relay'"

# a domain starts from the installed tree (waiter and relay from there) on the FC simulator
export COCOON_FIRECRACKER=$B/tests/sim/fc-sim
uri="cocoon:///embed?root=$tmp/root"
head -c 1048576 /dev/zero >"$tmp/vmlinux" && printf '\177ELF\002\001\001' | dd of="$tmp/vmlinux" conv=notrunc status=none
cat >"$tmp/boot1.xml" <<XML
<domain type='kvm'>
  <name>boot1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$tmp/vmlinux</kernel><cmdline>console=ttyS0</cmdline></os>
  <devices>
    <emulator>/usr/bin/firecracker</emulator>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
XML
"$V" -c "$uri" -q define "$tmp/boot1.xml" >/dev/null
check "installed cocoonvirsh starts a domain" "$V" -c "$uri" -q start boot1
"$V" -c "$uri" domstate boot1 >"$tmp/state" 2>&1
check "it runs" has "$tmp/state" "running"
relay_pids=$(pgrep -f "^$D$libexecdir/cocoon/cocoon-console-relay" || true)
check "its console relay is the installed one" test -n "$relay_pids"

# the installed daemon serves it (on sockets of the test's own)
"$D$sbindir/cocoond" --root "$tmp/root" --run-dir "$tmp/root/run" --socket "$tmp/sock" 2>"$tmp/daemon.err" &
daemon=$!
for _ in $(seq 100); do [ -S "$tmp/sock-ro" ] && break; sleep 0.05; done
"$V" -c "cocoon+unix:///system?socket=$tmp/sock" list >"$tmp/list" 2>&1
check "the installed daemon lists it" has "$tmp/list" "boot1"
"$V" -c "$uri" -q destroy boot1 >/dev/null 2>&1

echo "$fails failed"
[ "$fails" = 0 ]
