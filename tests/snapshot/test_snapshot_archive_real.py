#!/usr/bin/python3
"""A snapshot of a running test guest on the real Firecracker moves between two cocoond states
through snapshot-export / snapshot-import over the daemon: exported from the first daemon,
imported under another domain and snapshot name into the second, reverted there, and the
guest's `ticks` continue from the value they had at the snapshot (the sector written before it
reads back). Skips (77) without /dev/kvm, ../shared/vmm/firecracker or the built guest."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
sys.path.insert(0, HERE)
from lifeutil import VIRSH, Root, check, finish  # noqa: E402
from test_daemon import Daemon  # noqa: E402
from test_snapshot_real import FC, GUEST, Console, require_real_fc, ticks  # noqa: E402

import subprocess  # noqa: E402


def virsh(uri, env, *args):
    return subprocess.run([VIRSH, "-c", uri, *args], capture_output=True, text=True, env=env,
                          timeout=120)


def main():
    require_real_fc()
    with Root(COCOON_FIRECRACKER=FC) as r1, Root(COCOON_FIRECRACKER=FC) as r2:
        disk = r1.disk("vda.img", size=1 << 20)
        r1.define("g1", disks=[disk], kernel=GUEST)
        d1, d2 = Daemon(r1), Daemon(r2)
        try:
            p = virsh(d1.uri, r1.env, "start", "g1")
            check(p.returncode == 0, f"start the guest on the real FC through cocoond {p.stderr!r}")
            con = Console(os.path.join(r1.live("g1"), "console.sock"))
            check(con.until("guest> ", 30) is not None, "the guest booted")
            check(con.cmd("write 3 at-snapshot", "wrote sector 3") is not None, "write before")
            time.sleep(0.5)
            t_snap = ticks(con)
            p = virsh(d1.uri, r1.env, "snapshot-create-as", "g1", "s1")
            check(p.returncode == 0, f"snapshot of the running guest {p.stderr!r}")
            check(con.cmd("write 3 after-snapshot", "wrote sector 3") is not None,
                  "marker after")
            time.sleep(2.0)
            t_late = ticks(con)
            check(t_late > t_snap + 100, f"two seconds later ticks moved on ({t_late})")
            con.close()

            archive = os.path.join(r1.dir, "s1.tar.zst")
            p = virsh(d1.uri, r1.env, "snapshot-export", "g1", "s1", archive)
            check(p.returncode == 0 and p.stderr == "",
                  f"snapshot-export through cocoond {p.stderr!r}")
            t = subprocess.run(["tar", "--zstd", "-tf", archive], capture_output=True, text=True)
            check(t.returncode == 0 and "s1/memory" in t.stdout.split(),
                  f"GNU tar lists the exported archive {t.stderr!r}")
            # the source is gone: nothing of it can be used by the import
            virsh(d1.uri, r1.env, "destroy", "g1")

            p = virsh(d2.uri, r2.env, "snapshot-import", archive, "g2", "--name", "moved")
            check(p.returncode == 0 and
                  p.stdout == "Domain snapshot moved imported into domain 'g2'\n\n",
                  f"snapshot-import through the second cocoond {p.stdout!r} {p.stderr!r}")
            p = virsh(d2.uri, r2.env, "snapshot-list", "g2", "--name")
            check(p.stdout.split() == ["moved"], f"the imported snapshot is listed {p.stdout!r}")
            p = virsh(d2.uri, r2.env, "snapshot-revert", "g2", "moved")
            check(p.returncode == 0, f"snapshot-revert of the imported snapshot {p.stderr!r}")
            p = virsh(d2.uri, r2.env, "domstate", "g2", "--reason")
            check(p.stdout.strip() == "running (from snapshot)", f"state {p.stdout!r}")
            live = r2.live("g2")
            check(os.path.exists(os.path.join(live, "console.sock")),
                  f"the console of g2: {os.listdir(live) if os.path.isdir(live) else None}")
            con = Console(os.path.join(live, "console.sock"))
            t_rev = ticks(con)
            check(t_snap <= t_rev < t_late,
                  f"ticks continue from the snapshot on the other state: snapshot {t_snap}, "
                  f"later {t_late}, after import and revert {t_rev}")
            m = con.cmd("read 3", r"sector 3: ([^\r]*)\r\n")
            check(m is not None and m.group(1) == "at-snapshot",
                  f"the disk is the snapshot's: {m.group(1) if m else None!r}")
            time.sleep(0.5)
            t_on = ticks(con)
            check(t_on > t_rev, f"the moved guest runs on ({t_rev} -> {t_on})")
            con.close()
            virsh(d2.uri, r2.env, "destroy", "g2")
        finally:
            check(d1.stop() == 0, "the first cocoond exits cleanly")
            check(d2.stop() == 0, "the second cocoond exits cleanly")
    finish()


main()
