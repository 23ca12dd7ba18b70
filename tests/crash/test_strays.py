#!/usr/bin/python3
"""A start killed (SIGKILL of cocoonvirsh) once the VMM runs but before the status names it
(found by tests/crash/run.py --op start): the console relay, the waiter and the VMM kept
running unknown to Cocoon, and the next start failed on the console socket they held. Now:
the domain shows shut off, `gc --dry-run` lists the processes and leaves them, `gc` stops
them, and a start of a domain with such leftovers stops them itself and boots. And gc removes
the temporary file of an interrupted write of the next domain id."""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lifecycle"))
from lifeutil import FC_SIM, VIRSH, Root, check, finish  # noqa: E402


def strays(r):
    live = r.live("d") + "/"
    return [p for p, cmd in r.processes() if live in cmd]


def killed_start(r):
    """Start 'd' and SIGKILL cocoonvirsh as soon as the VMM shows up, before the status names it;
    True when that left processes behind, the domain shut off."""
    proc = subprocess.Popen([VIRSH, "-c", r.uri, "start", "d"], env=r.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline and proc.poll() is None:
        if any(FC_SIM in cmd and r.live("d") in cmd for _, cmd in r.processes()):
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    return bool(strays(r)) and r.state("d").startswith("shut off")


def main():
    with Root() as r:
        r.define("d")
        for how in ("gc", "start"):
            for _ in range(20):
                if killed_start(r):
                    break
                r.virsh("destroy", "d")
            else:
                check(False, f"{how}: a start killed between the VMM's spawn and its status")
                continue
            left = strays(r)
            check(r.state("d").startswith("shut off"), f"{how}: the domain shows shut off "
                  f"({r.state('d')})")
            if how == "gc":
                dry = r.virsh("gc", "--dry-run")
                check(f"(stopped {len(left)} processes of a start cut short)" in dry.stdout,
                      f"gc --dry-run lists the {len(left)} processes ({dry.stdout.strip()})")
                check(sorted(strays(r)) == sorted(left), "gc --dry-run leaves them running")
                p = r.virsh("gc")
                check(p.returncode == 0 and "stopped 3 processes of a start cut short" in p.stdout,
                      f"gc says it stopped them ({p.stdout.strip()})")
                check(strays(r) == [], f"gc stopped them ({strays(r)})")
            p = r.virsh("start", "d")
            check(p.returncode == 0, f"{how}: the next start boots ({p.stderr.strip()})")
            check(r.state("d") == "running (booted)", f"{how}: 'd' runs ({r.state('d')})")
            now = strays(r)
            check(not set(left) & set(now), f"{how}: none of the leftovers {left} runs ({now})")
            check(r.virsh("destroy", "d").returncode == 0, f"{how}: destroy")
            check(strays(r) == [], f"{how}: nothing runs after destroy")
        # the second finding: a start killed while it wrote the next domain id left
        # <run>/domains/.next-id.tmp-* that gc skipped (it looked at no dot-name there)
        tmp = os.path.join(r.live_root(), ".next-id.tmp-0badc0de")
        with open(tmp, "w") as f:
            f.write("7\n")
        p = r.virsh("gc")
        check(f"Removed {tmp} (temporary file of an interrupted write)" in p.stdout,
              f"gc says it removed the id's temporary file ({p.stdout.strip()})")
        check(not os.path.exists(tmp), "gc removed the id's temporary file")
        check(os.path.exists(os.path.join(r.live_root(), "next-id")), "gc kept next-id")
    finish()


if __name__ == "__main__":
    main()
