#!/usr/bin/python3
"""save / restore / managedsave through cocoonvirsh (embedded driver) on a simulator, for the
backend named by argv[1]: virsh's messages and exit codes, the states and reasons (shut off
(saved), running (restored)), the image's files, start resuming a managed save and removing
it, --paused, dominfo's "Managed save", managedsave-remove, undefine's refusal, and the
errors (save of a shut-off domain, restore of a missing file, restore while running)."""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
from lifeutil import Root, alive, check, finish  # noqa: E402

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "fc"


def main():
    with Root() as r:
        vda = r.disk("vda.img", data=b"disk")
        dom = "v" + BACKEND
        r.define(dom, backend=BACKEND, disks=[vda])
        img = os.path.join(r.dir, "img.save")

        p = r.virsh("save", dom, img)
        check(p.returncode == 1 and p.stderr ==
              f"error: Failed to save domain '{dom}' to {img}\n"
              "error: Requested operation is not valid: domain is not running\n",
              f"save of a shut-off domain {p.stderr!r}")
        check(not os.path.exists(img), "nothing written")

        check(r.ok("start", dom).returncode == 0, "start")
        pid = r.pid(dom)
        p = r.ok("save", dom, img)
        check(p.returncode == 0 and p.stdout == f"\nDomain '{dom}' saved to {img}\n\n",
              f"save {p.stdout!r}")
        check(r.state(dom) == "shut off (saved)", f"state after save: {r.state(dom)}")
        check(not alive(pid), "the VMM is gone after save")
        meta = json.load(open(os.path.join(img, "meta.json")))
        check(meta["disks"] == [] and (meta["memory"] or meta["ch_dir"]), "image: memory, no disks")
        check(not any(n.startswith(".tmp-") for n in os.listdir(r.dir)), "no staging left")

        p = r.ok("restore", img)
        check(p.returncode == 0 and p.stdout == f"Domain restored from {img}\n\n",
              f"restore {p.stdout!r}")
        check(r.state(dom) == "running (restored)", f"state after restore: {r.state(dom)}")
        p = r.virsh("restore", img)
        check(p.returncode == 1 and "is already active" in p.stderr, "restore while running refused")
        p = r.virsh("restore", "/nonexistent.save")
        check(p.returncode == 1 and p.stderr ==
              "error: Failed to restore domain from /nonexistent.save\n"
              "error: cannot read domain image '/nonexistent.save': No such file or directory\n",
              f"restore of a missing image {p.stderr!r}")

        p = r.ok("managedsave", dom)
        check(p.returncode == 0 and p.stdout == f"\nDomain '{dom}' state saved by libvirt\n\n",
              f"managedsave {p.stdout!r}")
        check("Managed save:   yes\n" in r.ok("dominfo", dom).stdout, "dominfo: Managed save: yes")
        p = r.virsh("undefine", dom)
        check(p.returncode == 1 and "Refusing to undefine while domain managed save image exists"
              in p.stderr, f"undefine refused {p.stderr!r}")
        check(r.ok("start", dom).returncode == 0, "start from the managed save")
        check(r.state(dom) == "running (restored)", f"resumed, not booted: {r.state(dom)}")
        check("Managed save:   no\n" in r.ok("dominfo", dom).stdout, "the image is removed")

        check(r.ok("managedsave", dom, "--paused").returncode == 0, "managedsave --paused")
        check(r.ok("start", dom).returncode == 0, "start")
        check(r.state(dom).startswith("paused"), f"paused as saved: {r.state(dom)}")
        check(r.ok("managedsave", dom).returncode == 0, "managedsave of a paused domain")
        p = r.ok("managedsave-remove", dom)
        check(p.stdout == f"Removed managedsave image for domain '{dom}'\n", f"remove {p.stdout!r}")
        p = r.ok("managedsave-remove", dom)
        check(p.stdout == f"Domain '{dom}' has no manage save image; removal skipped\n",
              f"remove again {p.stdout!r}")
        check(r.ok("start", dom).returncode == 0 and r.state(dom) == "running (booted)",
              f"without an image start boots: {r.state(dom)}")
        r.ok("destroy", dom)
    finish()


main()
