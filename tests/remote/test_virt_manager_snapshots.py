#!/usr/bin/python3
"""virt-manager's snapshot view lists Cocoon's snapshots through cocoond: virt-manager's own
objects (virt_manager_snapshots.py, under Xvfb) fill the domain window's snapshot page; its rows
(names from listAllSnapshots, descriptions and states from getXMLDesc, the current one from
isCurrent) and the details it shows of the current snapshot are what cocoonvirsh says of the
same snapshots. Needs virt-manager, xvfb-run and dbus-run-session (else 77)."""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
from lifeutil import Root, check, finish, skip  # noqa: E402
from test_daemon import Daemon  # noqa: E402

PROBE = os.path.join(HERE, "virt_manager_snapshots.py")


def main():
    for tool in ("virt-manager", "xvfb-run", "dbus-run-session"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (scripts/setup.sh installs virt-manager xvfb)")
    with Root() as r:
        vda = r.disk("vda.img", data=b"original")
        r.define("d1", disks=[vda])
        d = Daemon(r)
        try:
            check(r.ok("start", "d1").returncode == 0, "start d1 on the simulator")
            check(r.ok("snapshot-create-as", "d1", "s1", "--description",
                       "before the upgrade").returncode == 0, "running snapshot s1")
            check(r.ok("snapshot-create-as", "d1", "s2", "--description",
                       "after it").returncode == 0, "running snapshot s2")
            check(r.ok("destroy", "d1").returncode == 0, "stop d1")
            check(r.ok("snapshot-create-as", "d1", "off").returncode == 0,
                  "snapshot of the shut-off d1")
            # s2 current again: the view must say which one is, not just the newest
            check(r.ok("snapshot-current", "d1", "s2").returncode == 0, "s2 current")

            p = subprocess.run(["xvfb-run", "-a", "dbus-run-session", "/usr/bin/python3", PROBE,
                                d.uri, "d1"], capture_output=True, text=True, timeout=120,
                               env=r.env)
            line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
            filled = p.returncode == 0 and line.startswith("{")
            check(filled, "virt-manager's snapshot page filled" +
                  ("" if filled else f": {p.returncode} {p.stdout[-500:]!r} {p.stderr[-1500:]!r}"))
            if not filled:
                return
            got = json.loads(line)
            check(got["supported"], f"virt-manager offers snapshots: {got['unsupported_reason']}")
            rows = {row["name"]: row for row in got["rows"]}
            want = r.virsh("snapshot-list", "d1", "--name").stdout.split()
            check(sorted(rows) == sorted(want) == ["off", "s1", "s2"],
                  f"the rows are the snapshots: {sorted(rows)} vs {want}")
            for name, state, description in (("s1", "Running", "before the upgrade"),
                                              ("s2", "Running", "after it"),
                                              ("off", "Shutoff", None)):
                row = rows.get(name, {})
                check(row.get("description") == description,
                      f"{name}: description {row.get('description')!r}")
                check(f"VM State: {state}" in (row.get("label") or ""),
                      f"{name}: shown as {state}: {row.get('label')!r}")
                check(row.get("current") == (name == "s2"),
                      f"{name}: current {row.get('current')}")
            det = got["details"]
            check(det.get("title") == "Snapshot 's2':" and det.get("description") == "after it"
                  and det.get("status") == "Running" and det.get("is_current_shown"),
                  f"the details of the current snapshot: {det}")
        finally:
            r.virsh("destroy", "d1")
            check(d.stop() == 0, "cocoond exits cleanly")
    finish()


main()
