#!/usr/bin/python3
"""clone --snapshot on the real Firecracker with our test guest: a clone made while its source
runs writes to its own disk only (the source's disk never gets the clone's marker); a clone is
made after the source's disk file is gone (FC's recorded path is made in the clone's mount
namespace); the clone's own snapshot reverts after the source is undefined; the clones share
the snapshot's memory file and never write it; each gets its own TAP."""

import hashlib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import realutil as R  # noqa: E402
from realutil import finish  # noqa: E402


def check(cond, what):
    """realutil's check, and the condition back, to guard the steps that need it."""
    R.check(cond, what)
    return cond

BOOT = 20.0


def attach_restored(s, name, timeout=BOOT):
    """A console on a restored guest: it prints nothing by itself (its prompt went out before
    the snapshot), so a command shows it is there. None when it does not answer. The first
    line a restored test guest gets is echoed and otherwise lost (seen on the real FC after a
    plain snapshot-revert too): an empty line goes first."""
    c = s.console(name)
    if c.expect(rb"Escape character", 5.0) is not None:
        c.send(b"\r")
        time.sleep(0.3)
        if c.cmd("echo restored", timeout) == "restored\n":
            return c
    print(f"  no answer from '{name}': {c.text()!r}", flush=True)
    c.close()
    return None


def sector(path, n):
    with open(path, "rb") as f:
        f.seek(n * 512)
        return f.read(512).split(b"\0", 1)[0]


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    kernel = R.test_guest()
    R.require("fc", guest=kernel)
    ns = R.Netns()
    s = R.Session("fc", False, ns)
    tag = f"{os.getpid() % 100000}"
    try:
        run(s, ns, kernel, tag)
    finally:
        s.close()
        ns.close()
    finish()


def run(s, ns, kernel, tag):
    disk = os.path.join(s.dir, "src.img")
    with open(disk, "wb") as f:
        f.write(b"\0" * (5 * 512) + b"source-data")
        f.truncate(4 << 20)
    devices = f"""
    <disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='ethernet'><target dev='ccs{tag}'/><mac address='52:54:00:12:34:56'/>
      <model type='virtio'/></interface>"""
    s.define("src", kernel=kernel, devices=devices, memory_mib=64)
    check(s.ok("start", "src"), "the source starts on the real FC")
    c = s.attach("src", BOOT)
    if not check(c is not None, "the source's guest is up"):
        return
    check(c.cmd("write 7 before-snapshot") == "wrote sector 7\n", "the source writes a marker")
    check(s.ok("snapshot-create-as", "src", "s1"), "snapshot of the running source")
    root = os.path.join(s.dir, "root")
    memory = os.path.join(root, "domains", "src", "snapshots", "s1", "memory")
    mem_digest = digest(memory)

    # a clone while the source runs
    rc, out, err = s.run("clone", "--snapshot", "s1", "src", "c1")
    check(rc == 0 and "Domain 'c1' cloned from snapshot 's1' of domain 'src' and started" in out,
          f"clone c1 while the source runs ({out.strip()} {err.strip()})")
    check("the guest's MAC 52:54:00:12:34:56" in out, "the output says the guest keeps its MAC")
    check(s.state("c1").startswith("running"), f"c1 runs ({s.state('c1')})")
    k = attach_restored(s, "c1")
    if check(k is not None, "c1's console answers"):
        check(k.cmd("read 7") == "sector 7: before-snapshot\n",
              "c1 sees the disk as it was at the snapshot")
        check(k.cmd(f"write 9 clone-{tag}") == "wrote sector 9\n", "c1 writes its own marker")
        k.close()
    c1_disk = os.path.join(root, "domains", "c1", "disks", "vda.img")
    check(sector(c1_disk, 9) == f"clone-{tag}".encode(), "the marker is in c1's own disk file")
    check(sector(disk, 9) == b"", "the source's disk does not have c1's marker")
    check(c.cmd("read 9") == "sector 9: \n", "the running source does not see it either")
    check(c.cmd("echo alive") == "alive\n", "the source still runs its guest")
    c.close()
    taps = ns.links()
    c1_tap = s.status("c1").get("taps", "").strip(";")
    check(c1_tap and c1_tap != f"ccs{tag}" and c1_tap in taps,
          f"c1 has a TAP of its own ('{c1_tap}')")

    # the source's disk file gone: FC's recorded path does not exist any more
    os.rename(disk, disk + ".away")
    rc, out, err = s.run("clone", "--snapshot", "s1", "src", "c2")
    check(rc == 0, f"clone c2 after the source's disk is gone ({err.strip()})")
    k = attach_restored(s, "c2")
    if check(k is not None, "c2's console answers"):
        check(k.cmd("read 5") == "sector 5: source-data\n", "c2 reads the snapshot's disk data")
        check(k.cmd("write 11 c2-marker") == "wrote sector 11\n", "c2 writes")
        k.close()
    check(not os.path.exists(disk), "nothing was made at the source's old path")
    os.rename(disk + ".away", disk)
    check(sector(disk, 11) == b"", "the source's disk has nothing of c2")

    # the clone's own snapshot, reverted after the source is undefined
    k = attach_restored(s, "c1")
    if check(k is not None, "c1 still answers"):
        check(k.cmd("write 12 in-c1-snap") == "wrote sector 12\n", "c1 writes before its snapshot")
        k.close()
    check(s.ok("snapshot-create-as", "c1", "c1s"), "snapshot of the clone")
    k = attach_restored(s, "c1")
    if k:
        k.cmd("write 12 after-c1-snap")
        k.close()
    check(digest(memory) == mem_digest,
          "the snapshot's memory file is unchanged after two clones ran on it")
    check(s.ok("destroy", "src") and s.ok("undefine", "src", "--snapshots-metadata"),
          "the source is destroyed and undefined, its snapshots with it")
    check(s.ok("snapshot-revert", "c1", "c1s"), "c1 reverts to its own snapshot")
    k = attach_restored(s, "c1")
    if check(k is not None, "c1 answers after the revert"):
        check(k.cmd("read 12") == "sector 12: in-c1-snap\n",
              "the write after the clone's snapshot is gone after the revert")
        k.close()
    check(sector(disk, 12) == b"", "the revert of the clone never touched the source's disk")

    # memory: shared and never written, nothing copied
    for n in ("c1", "c2"):
        d = os.path.join(root, "domains", n)
        files = [os.path.join(dp, f) for dp, _, fs in os.walk(d) for f in fs]
        big = [f for f in files if os.path.getsize(f) >= 32 << 20 and "/snapshots/" not in f]
        check(big == [], f"{n} holds no copy of the guest memory ({big})")
    for n in ("c1", "c2"):
        s.run("destroy", n)


if __name__ == "__main__":
    main()
