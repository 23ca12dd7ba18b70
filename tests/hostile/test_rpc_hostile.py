"""cocoond against hostile clients and its least-privilege defaults (issue 13 §2, §5): socket
modes and group, the read-only socket refusing every write procedure with libvirt's error,
the peer's pid/uid logged per connection, truncated XDR for every procedure, procedure
numbers out of range, a client stalled half-way through a frame while others are served, and
10 000 connections opened and dropped with the daemon's fd count and RSS staying bounded.
After each, the root's files are exactly what they were."""

import grp
import hashlib
import os
import socket
import stat
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
from rpcutil import (ERROR, OK, REPLY, VIR_ERR_NO_SUPPORT,  # noqa: E402
                     VIR_ERR_RPC, Daemon, RawClient, binary, check,
                     daemon_answers, parse_error, xdr_string)

import libvirt  # noqa: E402

# every procedure the daemon serves as a write (RPC_PROC_WRITE), with libvirt's API name
WRITE_PROCS = {
    9: "virDomainCreate", 10: "virDomainCreateXML", 11: "virDomainDefineXML",
    12: "virDomainDestroy", 27: "virDomainReboot", 28: "virDomainResume",
    29: "virDomainSetAutostart", 33: "virDomainShutdown", 34: "virDomainSuspend",
    35: "virDomainUndefine", 136: "virConnectDomainXMLToNative", 196: "virDomainCreateWithFlags",
    201: "virDomainOpenConsole", 231: "virDomainUndefineFlags", 234: "virDomainDestroyFlags",
    258: "virDomainShutdownFlags", 350: "virDomainDefineXMLFlags",
    185: "virDomainSnapshotCreateXML", 192: "virDomainRevertToSnapshot",
    193: "virDomainSnapshotDelete", 30: "virDomainSetMaxMemory", 31: "virDomainSetMemory",
    32: "virDomainSetVcpus", 199: "virDomainSetVcpusFlags", 204: "virDomainSetMemoryFlags",
    226: "virDomainSendKey", 54: "virDomainRestore", 55: "virDomainSave",
    182: "virDomainManagedSave", 184: "virDomainManagedSaveRemove", 232: "virDomainSaveFlags",
    233: "virDomainRestoreFlags",
}
# procedures that take arguments, read ones included
ARG_PROCS = [1, 10, 11, 14, 15, 16, 19, 22, 23, 24, 27, 29, 60, 136, 167, 168, 196, 201,
             212, 231, 234, 258, 273, 316, 317, 350, 183, 150, 151]


def tree_digest(root):
    """Every path under root with its type, mode and content hash."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            h = ""
            if stat.S_ISREG(st.st_mode) and not n.endswith(".lock"):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), h)
    return out


def nonnull_domain(name, uuid=b"\x3b" * 16, id_=-1):
    return xdr_string(name) + uuid + struct.pack(">i", id_)


def socket_modes(d):
    st = os.stat(d.sock)
    check(stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid(),
          f"the read-write socket is 0600 and ours by default ({oct(st.st_mode)})")
    st = os.stat(d.ro_sock)
    check(stat.S_IMODE(st.st_mode) == 0o666, f"the read-only socket is 0666 ({oct(st.st_mode)})")


def socket_group():
    group = next((g for g in ("nogroup", "daemon", "adm") if _has_group(g)), None)
    if not group:
        print("ok - (no spare group on this host: --socket-group not checked)")
        return
    gid = grp.getgrnam(group).gr_gid
    with GroupDaemon(group) as g:
        st = os.stat(g.sock)
        check(stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == gid,
              f"--socket-group {group}: the read-write socket is 0660, group {group}")


def _has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


class GroupDaemon(Daemon):
    def __init__(self, group):
        self._group = group
        super().__init__()

    def wait_ready(self):
        # restart with the group option: Daemon starts without it
        super().wait_ready()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc = subprocess.Popen(
            [binary("tools", "daemon", "cocoond"), "--root", self.root, "--run-dir", self.run,
             "--socket", self.sock, "--socket-group", self._group],
            stdout=subprocess.DEVNULL, stderr=self.errlog)
        super().wait_ready()


def peer_logged(d):
    c = RawClient(d.sock)
    c.call(66)
    c.reply(0)
    c.close()
    time.sleep(0.3)
    want = f"connected: pid {os.getpid()} uid {os.getuid()} gid {os.getgid()}"
    check(want in d.stderr(), f"the peer's pid, uid and gid are logged ('{want}')")
    c = RawClient(d.ro_sock)
    c.call(66)
    c.reply(0)
    c.close()
    time.sleep(0.3)
    check(f"connected (read-only): pid {os.getpid()}" in d.stderr(),
          "a read-only connection is logged as such")


def read_only_refuses_writes(d):
    before = tree_digest(d.root)
    for sock, flags, what in ((d.ro_sock, 0, "the read-only socket"),
                              (d.sock, 1, "a VIR_CONNECT_RO open on the read-write socket")):
        c = RawClient(sock)
        c.call(66)
        c.reply(0)
        c.open(flags=flags)
        bad = []
        for proc, api in sorted(WRITE_PROCS.items()):
            s = c.call(proc, nonnull_domain("web1"))
            hdr, payload = c.reply(s)
            code, _, msg = parse_error(payload) if hdr[5] == ERROR else (None, None, None)
            if code != libvirt.VIR_ERR_OPERATION_DENIED or \
                    msg != f"operation forbidden: read only access prevents {api}":
                bad.append((proc, code, msg))
        check(not bad, f"{what}: every write procedure ({len(WRITE_PROCS)}) is refused with "
              f"OPERATION_DENIED 'read only access prevents <API>' {bad[:2]}")
        s = c.call(23, xdr_string("web1"))
        hdr, _ = c.reply(s)
        check(hdr[5] == OK, f"{what}: a read procedure (lookup by name) is answered")
        c.close()
    ro = libvirt.openReadOnly(d.ro_uri)
    try:
        ro.lookupByName("web1").create()
        check(False, "python3-libvirt: create on the read-only socket fails")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED,
              f"python3-libvirt: create on the read-only socket is OPERATION_DENIED ({e})")
    ro.close()
    check(tree_digest(d.root) == before, "nothing changed on disk")


def truncated_xdr(d):
    before = tree_digest(d.root)
    c = RawClient(d.sock)
    c.call(66)
    c.reply(0)
    c.open()
    bad = []
    for proc in ARG_PROCS:
        for payload in (b"\x00\x00", b"\x00\x00\x00\x10abc", b"\xff\xff\xff\xff" + b"x" * 8):
            s = c.call(proc, payload)
            hdr, body = c.reply(s)
            code, _, msg = parse_error(body) if hdr[5] == ERROR else (None, None, None)
            if hdr[5] != ERROR or code != VIR_ERR_RPC or "cannot decode the arguments" not in msg:
                bad.append((proc, payload[:4], code, msg))
    check(not bad, f"truncated or lying XDR arguments of {len(ARG_PROCS)} procedures are "
          f"refused with an RPC error {bad[:2]}")
    s = c.call(4, b"extra")
    hdr, body = c.reply(s)
    code, _, msg = parse_error(body)
    check(code == VIR_ERR_RPC and "unexpected arguments" in msg,
          f"arguments to a procedure that takes none are refused ({msg})")
    c.close()
    check(daemon_answers(d) and tree_digest(d.root) == before,
          "the daemon serves on and nothing changed on disk")


def procedures_out_of_range(d):
    c = RawClient(d.sock)
    c.call(66)
    c.reply(0)
    c.open()
    bad = []
    for proc in (0, -1, -2147483648, 511, 512, 513, 65536, 2147483647):
        s = c.call(proc)
        hdr, body = c.reply(s)
        code, _, msg = parse_error(body) if hdr[5] == ERROR else (None, None, None)
        if code != VIR_ERR_NO_SUPPORT or f"procedure {proc} " not in (msg or ""):
            bad.append((proc, code, msg))
    check(not bad, f"procedure numbers out of range are NO_SUPPORT naming them {bad[:2]}")
    for prog, vers in ((0x20008086, 0), (0x20008086, 2), (0, 1), (0xFFFFFFFF, 1)):
        s = c.call(4, prog=prog, vers=vers)
        hdr, body = c.reply(s)
        code, _, msg = parse_error(body)
        check(hdr[3] == REPLY and code == VIR_ERR_RPC and
              msg == f"RPC error: cannot find program 0x{prog:x} version {vers}",
              f"program 0x{prog:x} version {vers} is refused ({msg})")
    c.close()


def half_frame_stall(d):
    stalled = []
    for _ in range(4):
        c = RawClient(d.sock, timeout=30)
        c.send(struct.pack(">I", 4096) + b"\x20\x00\x80\x86" + b"\0" * 100)
        stalled.append(c)
    t0 = time.time()
    ok = all(daemon_answers(d) for _ in range(20))
    took = time.time() - t0
    check(ok and took < 10, f"4 clients stalled half-way through a frame: 20 others are served "
          f"meanwhile ({took:.2f} s)")
    for c in stalled:
        c.close()


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def many_connections(d):
    pid = d.proc.pid
    daemon_answers(d)
    fds0, rss0 = fd_count(pid), rss_kib(pid)
    t0 = time.time()
    for i in range(10000):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock if i % 2 == 0 else d.ro_sock)
        if i % 3 == 0:
            s.send(struct.pack(">I", 28) + struct.pack(">IIiiIi", 0x20008086, 1, 66, 0, 1, 0))
        elif i % 3 == 1:
            s.send(struct.pack(">I", 1000) + b"\0" * 10)  # half a frame, then gone
        s.close()
    took = time.time() - t0
    # the daemon closes the dropped ones as it notices them
    deadline = time.time() + 20
    while time.time() < deadline and fd_count(pid) > fds0 + 2:
        time.sleep(0.1)
    fds1, rss1 = fd_count(pid), rss_kib(pid)
    print(f"# 10000 connections in {took:.1f} s: fds {fds0} -> {fds1}, "
          f"RSS {rss0} -> {rss1} KiB")
    check(fds1 <= fds0 + 2, f"10000 connections opened and dropped: the daemon's fds return to "
          f"{fds0} (now {fds1})")
    check(rss1 - rss0 < 64 * 1024, f"and its RSS grows by less than 64 MiB "
          f"({(rss1 - rss0) // 1024} MiB)")
    check(daemon_answers(d), "the daemon serves after 10000 dropped connections")


def main():
    with Daemon() as d:
        conn = libvirt.open(d.uri)
        conn.defineXML(open(os.path.join(os.environ["COCOON_SRCDIR"], "tests", "cli", "data",
                                         "web1.xml")).read())
        conn.close()
        socket_modes(d)
        peer_logged(d)
        read_only_refuses_writes(d)
        truncated_xdr(d)
        procedures_out_of_range(d)
        half_frame_stall(d)
        many_connections(d)
        check(d.alive(), "the daemon is still running")
    socket_group()


if __name__ == "__main__":
    main()
