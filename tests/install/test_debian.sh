#!/usr/bin/env bash
# The Debian package built from the tree with Debian's own tooling (dpkg-buildpackage,
# debhelper's meson build system), checked by lintian, installed with dpkg on this host and
# smoke-tested: `cocoonvirsh -c cocoon:///system version` against a cocoond started by socket
# activation, then purged. Skips (77) when the tooling is missing, when not root, or when a
# cocoon package is installed already (it is not ours to replace).
#
# Socket activation: where systemd is PID 1 the package's cocoond.socket is started; where it
# is not (a container), systemd-socket-activate plays its part with the same two sockets, in
# a mount namespace whose /run/libvirt, /run/cocoon and /var/lib/cocoon are its own, so the
# system paths of cocoon:///system are used without touching the host's.
set -uo pipefail
. "${COCOON_TEST_SRCDIR:?}/checks.sh"
SRC=${COCOON_SRCDIR:?}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "installing a package needs root"
for t in dpkg-buildpackage dh lintian dpkg; do
    command -v "$t" >/dev/null || skip "$t is missing (scripts/setup.sh installs debhelper, dpkg-dev, lintian)"
done
[ -f /usr/share/perl5/Debian/Debhelper/Buildsystem/meson.pm ] || skip "debhelper has no meson build system"
if dpkg-query -W -f='${Status}' cocoon 2>/dev/null | grep -q installed; then
    skip "a cocoon package is installed already; not replacing it"
fi

tmp=$(mktemp -d /tmp/cocoon-deb-XXXXXX)
installed=
activator=
cleanup() {
    [ -n "$activator" ] && kill "$activator" 2>/dev/null
    wait 2>/dev/null
    [ -n "$installed" ] && dpkg -P cocoon >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT

# the tree as a user has it: no build folders, no git metadata
mkdir "$tmp/src"
tar -C "$SRC" --exclude=./.git --exclude='./build*' --exclude=./obj-* --exclude=./debian/cocoon \
    --exclude=./debian/.debhelper -cf - . | tar -C "$tmp/src" -xf -
start=$(date +%s)
# the unit suite runs in scripts/test.sh already: here the build and the package only
(cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" nice dpkg-buildpackage -us -uc -b) \
    >"$tmp/build.log" 2>&1
rc=$?
echo "     dpkg-buildpackage took $(($(date +%s) - start)) s"
deb=$(ls "$tmp"/cocoon_*_*.deb 2>/dev/null | head -1)
check "dpkg-buildpackage -us -uc -b" test "$rc" = 0 -a -n "$deb"
[ -n "$deb" ] || { tail -40 "$tmp/build.log"; exit 1; }
check "built with debhelper's meson build system" has "$tmp/build.log" "meson setup .. --wrap-mode=nodownload --buildtype=plain --prefix=/usr"

dpkg -c "$deb" | awk '{print $6}' >"$tmp/contents"
for f in ./usr/bin/cocoonvirsh ./usr/sbin/cocoond ./usr/libexec/cocoon/cocoon-console-relay \
    ./usr/libexec/cocoon/cocoon-vmm-waiter ./usr/libexec/cocoon/cocoon-vmm-ns ./etc/cocoon/cocoon.conf \
    ./lib/systemd/system/cocoond.socket ./lib/systemd/system/cocoond-ro.socket \
    ./lib/systemd/system/cocoond.service ./usr/share/man/man1/cocoonvirsh.1.gz \
    ./usr/share/man/man8/cocoond.8.gz ./usr/share/man/man5/cocoon.conf.5.gz \
    ./usr/share/bash-completion/completions/cocoonvirsh; do
    check "package holds $f" has "$tmp/contents" "$f"
done

# lintian: clean, the overrides (debian/cocoon.lintian-overrides) say why each is one
lintian --no-tag-display-limit "$tmp"/cocoon_*.changes >"$tmp/lintian" 2>&1
grep -E '^[EW]: ' "$tmp/lintian" >"$tmp/lintian.ew"
check "lintian: no error or warning" test ! -s "$tmp/lintian.ew"
[ -s "$tmp/lintian.ew" ] && sed 's/^/     | /' "$tmp/lintian.ew"

# install on this host
if dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then installed=1; fi
check "dpkg -i" test -n "$installed"
[ -n "$installed" ] || { cat "$tmp/dpkg.log"; exit 1; }
check "/etc/cocoon/cocoon.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' cocoon | grep -q /etc/cocoon/cocoon.conf"
check "installed cocoonvirsh runs" sh -c "/usr/bin/cocoonvirsh --version | grep -q ."

unit_sock() { sed -n 's/^ListenStream=//p' "/lib/systemd/system/$1"; }
rw=$(unit_sock cocoond.socket) ro=$(unit_sock cocoond-ro.socket)
check "the units' sockets are where cocoon:///system looks" test "$rw" = /run/libvirt/virtcocoond-sock -a "$ro" = /run/libvirt/virtcocoond-sock-ro
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/cocoond.service)

if [ "$(ps -p 1 -o comm=)" = systemd ] && [ -d /run/systemd/system ]; then
    echo "     systemd is PID 1: the package's cocoond.socket activates the daemon"
    check "cocoond.socket active" systemctl is-active --quiet cocoond.socket
    COCOON_CONFIG=/etc/cocoon/cocoon.conf /usr/bin/cocoonvirsh -c cocoon:///system version >"$tmp/version" 2>&1
    check "cocoonvirsh -c cocoon:///system version" has "$tmp/version" "Running hypervisor: Cocoon"
    check "the socket started cocoond.service" systemctl is-active --quiet cocoond.service
    systemctl stop cocoond.service cocoond.socket cocoond-ro.socket
else
    command -v systemd-socket-activate >/dev/null || skip "systemd is not PID 1 and systemd-socket-activate is missing"
    echo "     systemd is not PID 1 ($(ps -p 1 -o comm=)): systemd-socket-activate passes the units' sockets"
    cat >"$tmp/smoke.sh" <<SMOKE
set -u
mount -t tmpfs tmpfs /run/libvirt 2>/dev/null || { mkdir -p /run/libvirt && mount -t tmpfs tmpfs /run/libvirt; }
mkdir -p /run/cocoon /var/lib/cocoon
mount -t tmpfs tmpfs /run/cocoon && mount -t tmpfs tmpfs /var/lib/cocoon
systemd-socket-activate -l "$rw" -l "$ro" $exec_start 2>"$tmp/daemon.err" &
act=\$!
for _ in \$(seq 100); do [ -S "$ro" ] && break; sleep 0.05; done
# systemd-socket-activate execs the program in its own place on the first connection
[ "\$(cat /proc/\$act/comm)" = cocoond ] && echo "cocoond ran before any connection"
/usr/bin/cocoonvirsh -c cocoon:///system version
rc=\$?
ls -l "$rw" "$ro"
[ "\$(cat /proc/\$act/comm)" = cocoond ] && echo "activated: cocoond running"
if command -v virsh >/dev/null; then virsh -c cocoon:///system list --all && echo "virsh listed"; fi
kill \$act; wait \$act 2>/dev/null
exit \$rc
SMOKE
    host_before=$(stat -c %i "$rw" "$ro" 2>&1)
    unshare --mount --propagation private sh "$tmp/smoke.sh" >"$tmp/version" 2>&1
    rc=$?
    check "cocoonvirsh -c cocoon:///system version (exit 0)" test "$rc" = 0
    check "... reaches the socket-activated cocoond" has "$tmp/version" "Running hypervisor: Cocoon (Firecracker, Cloud Hypervisor) 0.1.0"
    check "cocoond started on the first connection, not before" sh -c "! grep -q 'cocoond ran before' '$tmp/version' && grep -q 'activated: cocoond running' '$tmp/version'"
    command -v virsh >/dev/null && check "Debian's virsh through the same socket" has "$tmp/version" "virsh listed"
    check "the sockets were made in the namespace" has "$tmp/version" "srw"
    check "... and the host's were left as they were" test "$(stat -c %i "$rw" "$ro" 2>&1)" = "$host_before"
fi

dpkg -P cocoon >"$tmp/purge.log" 2>&1 && installed=
check "dpkg -P removes it" test -z "$installed" -a ! -e /usr/bin/cocoonvirsh -a ! -e /etc/cocoon/cocoon.conf
echo "$fails failed"
[ "$fails" = 0 ]
