#!/usr/bin/python3
"""A running VM's status, its live definition and the next domain id are runtime state: written
atomically, never synced (no VM outlives the host). What that promises a user:
* a start writes the status and marks itself in progress only while it runs (the mark is what
  makes the next start look for the processes of a start cut short);
* a status file a power cut left empty reads as shut off, and the domain starts again;
* a start forces nothing to disk: cocoonvirsh calls no fsync, no fdatasync (strace, when it
  is installed; the spawned helpers are not traced: they outlive the command)."""

import os
import shutil
import subprocess

from lifeutil import VIRSH, Root, check, finish

MARK = "launch.pending"


def main():
    with Root() as r:
        r.define("d")
        r.ok("start", "d")
        live = r.live("d")
        check(os.path.exists(os.path.join(live, "status")), "a running domain has its status")
        check(not os.path.exists(os.path.join(live, MARK)),
              "a finished start leaves no in-progress mark")
        r.ok("destroy", "d")
        check(not os.path.exists(os.path.join(live, MARK)), "nor does a destroy")

        # an empty status: what a power cut can leave of an unsynced write
        with open(os.path.join(live, "status"), "w"):
            pass
        check(r.state("d").startswith("shut off"), "an empty status file reads as shut off")
        p = r.virsh("start", "d")
        check(p.returncode == 0, f"the domain starts again after that ({p.stderr.strip()})")
        check(r.state("d").startswith("running"), "and runs")
        r.ok("destroy", "d")

        # a status that is not empty but garbage is an error that names the file's domain
        with open(os.path.join(live, "status"), "w") as f:
            f.write("\x00\x01garbage")
        p = r.virsh("domstate", "d")
        check(p.returncode != 0 and "status file of domain 'd'" in p.stderr,
              f"a garbage status file is an error naming the domain ({p.stderr.strip()})")
        os.unlink(os.path.join(live, "status"))

        strace = shutil.which("strace")
        if strace:
            p = subprocess.run([strace, "-qq", "-e", "trace=fsync,fdatasync,sync_file_range",
                                VIRSH, "-c", r.uri, "start", "d"],
                               capture_output=True, text=True, timeout=60,
                               # LeakSanitizer cannot run under ptrace
                               env=dict(r.env, ASAN_OPTIONS="detect_leaks=0"))
            synced = [l for l in p.stderr.splitlines() if "sync" in l and "resumed" not in l]
            check(p.returncode == 0 and not synced,
                  f"a start syncs nothing ({len(synced)} sync calls: {synced[:3]})")
            r.ok("destroy", "d")
        else:
            print("note: strace is not installed; the no-sync check is left out")
    finish()


if __name__ == "__main__":
    main()
