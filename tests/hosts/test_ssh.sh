#!/usr/bin/env bash
# libvirt's own remote transports reach Cocoon on another host with no Cocoon code on the
# client: Debian's virsh with cocoon+ssh://root@127.0.0.1:PORT/system, through an sshd this
# test starts on a loopback port of its own with keys it makes. libvirt's remote driver runs
# its helper on the "remote" side (virt-ssh-helper where installed, else `nc -U` on the
# daemon's socket), which reaches a cocoond listening on /run/libvirt/virtcocoond-sock.
#
# The "remote host" is a mount namespace whose /run/libvirt is its own (a tmpfs): sshd and
# cocoond run in it, so the system socket path is used without touching this host's. The
# client side is untouched but for one thing: libvirt's command= parameter names an ssh that
# adds -F with this test's known_hosts, so ~/.ssh is never written.
set -uo pipefail
. "${COCOON_TEST_SRCDIR:?}/checks.sh"
B=${COCOON_BUILDDIR:?}
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "the sshd and the namespace need root"
for t in sshd ssh ssh-keygen virsh nc unshare; do
    command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
        skip "$t is missing (scripts/setup.sh installs openssh-server, netcat-openbsd, libvirt-clients)"
done
tmp=$(mktemp -d /tmp/cocoon-ssh-XXXXXX)
chmod 755 "$tmp"
ns_pid=
cleanup() {
    [ -n "$ns_pid" ] && kill "$ns_pid" 2>/dev/null
    [ -f "$tmp/sshd.pid" ] && kill "$(cat "$tmp/sshd.pid")" 2>/dev/null
    [ -f "$tmp/cocoond.pid" ] && kill "$(cat "$tmp/cocoond.pid")" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/client_key"
cp "$tmp/client_key.pub" "$tmp/authorized_keys"
echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$tmp/host_key.pub")" >"$tmp/known_hosts"
cat >"$tmp/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $tmp/host_key
AuthorizedKeysFile $tmp/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $tmp/sshd.pid
LogLevel VERBOSE
CFG
cat >"$tmp/ssh" <<SSH
#!/bin/sh
exec ssh -F /dev/null -o UserKnownHostsFile=$tmp/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes "\$@"
SSH
chmod +x "$tmp/ssh"

# the "remote host": its own /run/libvirt, a cocoond on the system socket, an sshd
mkdir -p /run/sshd  # sshd's privilege separation folder, as its package makes it
cat >"$tmp/remote.sh" <<REMOTE
mount -t tmpfs tmpfs /run/libvirt 2>/dev/null || { mkdir -p /run/libvirt; mount -t tmpfs tmpfs /run/libvirt; }
COCOON_CONFIG=$tmp/none.conf COCOON_FIRECRACKER=$B/tests/sim/fc-sim $B/tools/daemon/cocoond --root $tmp/root --run-dir $tmp/run 2>$tmp/cocoond.err &
echo \$! >$tmp/cocoond.pid
/usr/sbin/sshd -f $tmp/sshd_config -E $tmp/sshd.log
exec sleep 3600
REMOTE
unshare --mount --propagation private sh "$tmp/remote.sh" &
ns_pid=$!
for _ in $(seq 100); do
    [ -f "$tmp/sshd.pid" ] && nc -z 127.0.0.1 "$port" 2>/dev/null && break
    sleep 0.1
done
check "sshd listens on 127.0.0.1:$port" nc -z 127.0.0.1 "$port"
check "the namespace's socket is not this host's" test ! -e /run/libvirt/virtcocoond-sock -o -S /run/libvirt/virtcocoond-sock

# a domain on the "remote" root, defined there through the embedded driver
head -c 1048576 /dev/zero >"$tmp/vmlinux"
printf '\177ELF\002\001\001' | dd of="$tmp/vmlinux" conv=notrunc status=none
cat >"$tmp/far1.xml" <<XML
<domain type='kvm'>
  <name>far1</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$tmp/vmlinux</kernel></os>
  <devices><emulator>/usr/bin/firecracker</emulator>
    <serial type='pty'><target port='0'/></serial></devices>
</domain>
XML

# socket= (libvirt's own parameter): where the helper on the far side connects. Without it, and
# without virt-ssh-helper there, nc goes to libvirtd's /run/libvirt/libvirt-sock ("legacy"
# mode; mode=direct is refused for ssh with nc); virt-ssh-helper would find the driver's socket
uri="cocoon+ssh://root@127.0.0.1:$port/system?socket=/run/libvirt/virtcocoond-sock&keyfile=$tmp/client_key&command=$tmp/ssh"
virsh -c "$uri" define "$tmp/far1.xml" >"$tmp/define.out" 2>&1
check "virsh -c cocoon+ssh://root@127.0.0.1:$port/system define" has "$tmp/define.out" "Domain 'far1' defined"
virsh -c "$uri" list --all >"$tmp/list.out" 2>&1
check "... list --all shows it" has "$tmp/list.out" "far1"
virsh -c "$uri" uri >"$tmp/uri.out" 2>&1
check "... uri" has "$tmp/uri.out" "cocoon+ssh://root@127.0.0.1:$port/system"
virsh -c "$uri" start far1 >"$tmp/start.out" 2>&1
check "... start (the far side's FC simulator)" has "$tmp/start.out" "Domain 'far1' started"
virsh -c "$uri" domstate far1 >"$tmp/state.out" 2>&1
check "... domstate" has "$tmp/state.out" "running"
virsh -c "$uri" destroy far1 >"$tmp/destroy.out" 2>&1
check "... destroy" has "$tmp/destroy.out" "Domain 'far1' destroyed"
virsh -c "$uri" version >"$tmp/version.out" 2>&1
check "... version" has "$tmp/version.out" "Running hypervisor"
check "the definition is on the remote root" test -f "$tmp/root/domains/far1/domain.xml"
check "sshd served it" has "$tmp/sshd.log" "Accepted publickey for root"
# without mode=direct and with no virt-ssh-helper on the far side: libvirtd's socket, which a
# Cocoon host does not have; the error says where it looked
if ! command -v virt-ssh-helper >/dev/null; then
    virsh -c "cocoon+ssh://root@127.0.0.1:$port/system?keyfile=$tmp/client_key&command=$tmp/ssh" \
        list >"$tmp/legacy.out" 2>&1
    check "legacy mode: libvirtd's socket, named in the error" has "$tmp/legacy.out" "/run/libvirt/libvirt-sock: No such file or directory"
fi

# python3-libvirt the same way
if /usr/bin/python3 -c 'import libvirt' 2>/dev/null; then
    /usr/bin/python3 - "$uri" >"$tmp/py.out" 2>&1 <<'PY'
import sys, libvirt
c = libvirt.open(sys.argv[1])
print("domains:", sorted(d.name() for d in c.listAllDomains()))
PY
    check "python3-libvirt over ssh" has "$tmp/py.out" "domains: ['far1']"
fi

# tcp and tls are not offered: cocoond listens on UNIX sockets only
tcp_port=$(free_port)
virsh -c "cocoon+tcp://127.0.0.1:$tcp_port/system" list >"$tmp/tcp.out" 2>&1
check "cocoon+tcp:// is refused" test $? -ne 0
check "... with libvirt's connection error" has "$tmp/tcp.out" "error: failed to connect to the hypervisor"
virsh -c "cocoon+tls://127.0.0.1:$tcp_port/system" list >"$tmp/tls.out" 2>&1
check "cocoon+tls:// is refused" test $? -ne 0

echo "$fails failed"
[ "$fails" = 0 ]
