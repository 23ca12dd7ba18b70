#!/usr/bin/python3
"""Snapshots on the real Firecracker with the test guest (tests/guest, GUEST-PROTOCOL.md),
through cocoonvirsh on the embedded driver: after `snapshot-revert` the guest's `ticks`
continue from the value they had at the snapshot (not from the later value), and a marker
written to the disk after the snapshot is gone (the sector reads as it was at the snapshot).
Skips (77) without /dev/kvm, ../shared/vmm/firecracker or the built guest.

Cloud Hypervisor is not run here: this machine's kvm refuses CH's vm.snapshot, so CH
snapshots are verified on the simulator (snapshot-sim-ch)."""

import os
import re
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
from lifeutil import BUILD, Root, check, finish, skip  # noqa: E402

SHARED = os.environ.get("COCOON_SHARED") or os.path.join(HERE, "..", "..", "..", "shared")
FC = os.path.join(SHARED, "vmm", "firecracker")
GUEST = os.path.join(BUILD, "tests", "guest", "cocoon-test-guest")


class Console:
    """An interactive viewer of the domain's console relay."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.sendall(b"ATTACH force\n")
        reply = b""
        while not reply.endswith(b"\n"):
            c = self.s.recv(1)
            if not c:
                break
            reply += c
        if reply != b"OK\n":
            raise RuntimeError(f"relay refused: {reply!r}")
        self.buf = b""

    def until(self, pattern, timeout=20):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        self.s.settimeout(0.1)
        while time.monotonic() < end:
            m = rx.search(self.buf.decode(errors="replace"))
            if m:
                return m
            try:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
            except socket.timeout:
                pass
        return rx.search(self.buf.decode(errors="replace"))

    def cmd(self, line, pattern, timeout=20):
        self.buf = b""
        self.s.sendall(line.encode() + b"\r")
        return self.until(pattern, timeout)

    def close(self):
        self.s.close()


def ticks(con):
    m = con.cmd("ticks", r"ticks (\d+)\r\n")
    return int(m.group(1)) if m else -1


def require_real_fc():
    """Skip (77), saying why, without /dev/kvm, the real firecracker or the built guest."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        skip(f"/dev/kvm does not open ({e.strerror})")
    if not os.access(FC, os.X_OK):
        skip(f"no firecracker at {FC}")
    if not os.path.isfile(GUEST):
        skip(f"no test guest at {GUEST}")


def main():
    require_real_fc()
    with Root(COCOON_FIRECRACKER=FC) as r:
        disk = r.disk("vda.img", size=1 << 20)
        r.define("g1", disks=[disk], kernel=GUEST)
        check(r.ok("start", "g1").returncode == 0, "start the guest on the real FC")
        sock = os.path.join(r.live("g1"), "console.sock")
        con = Console(sock)
        check(con.until("guest> ", 30) is not None, "the guest booted")
        check(con.cmd("write 3 at-snapshot", "wrote sector 3") is not None, "write before")
        time.sleep(0.5)
        t_snap = ticks(con)
        check(r.ok("snapshot-create-as", "g1", "s1").returncode == 0, "snapshot of the running guest")
        t_after = ticks(con)
        check(t_after >= t_snap, f"the guest runs on after the snapshot ({t_snap} -> {t_after})")
        check(con.cmd("write 3 after-snapshot", "wrote sector 3") is not None, "marker after")
        time.sleep(2.0)
        t_late = ticks(con)
        check(t_late > t_snap + 100, f"two seconds later ticks moved on ({t_late})")
        con.close()

        p = r.ok("snapshot-revert", "g1", "s1")
        check(p.returncode == 0, f"snapshot-revert on the real FC {p.stderr!r}")
        check(r.state("g1") == "running (from snapshot)", f"state {r.state('g1')}")
        con = Console(sock)
        t_rev = ticks(con)
        # restored at t_snap (+ the moments between the ticks command and the pause, and
        # after the load): far below the two seconds later
        check(t_snap <= t_rev < t_late, f"ticks continue from the snapshot: snapshot {t_snap}, "
                                         f"later {t_late}, after revert {t_rev}")
        m = con.cmd("read 3", r"sector 3: ([^\r]*)\r\n")
        check(m is not None and m.group(1) == "at-snapshot",
              f"the marker written after the snapshot is gone: {m.group(1) if m else None!r}")
        con.close()
        r.ok("destroy", "g1")
        r.ok("undefine", "g1", "--snapshots-metadata")
    finish()


if __name__ == "__main__":
    main()
