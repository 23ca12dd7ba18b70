#!/usr/bin/python3
"""cocoonvirsh gc on the simulators of both backends: defines killed with SIGKILL leave
temporary files that gc removes; gc removes every kind of leftover it knows and nothing a
defined or running domain or a snapshot uses; --dry-run lists the same and removes nothing."""

import glob
import hashlib
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lifecycle"))
from lifeutil import Root, check, finish, VIRSH  # noqa: E402


def tree(path):
    out = {}
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(d, n)
            try:
                st = os.lstat(p)
            except FileNotFoundError:
                continue
            out[p] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def gc_lines(r, *args):
    p = r.virsh("gc", *args)
    check(p.returncode == 0, f"gc {' '.join(args)} exits 0 ({p.stderr.strip()})")
    return [line for line in p.stdout.splitlines() if line]


def kernel_cache_name(path):
    """The cache entry kernel_image.c derives for path (device, inode, size, mtime, path)."""
    st = os.stat(path)
    key = (f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns // 10**9}."
           f"{st.st_mtime_ns % 10**9:09d}:{path}")
    return "vmlinux-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def killed_defines(r):
    """Kill defines at moments that home in on the write of the definition (a kill that came
    after the define finished moves the next one earlier, one before it later), until some
    left their temporary file behind."""
    rng = random.Random(1234)
    t = time.monotonic()
    subprocess.run([VIRSH, "-c", r.uri, "define", r.xml("probe")], env=r.env, capture_output=True)
    delay = time.monotonic() - t
    leftovers = []
    for attempt in range(300):
        name = f"k{attempt}"
        p = subprocess.Popen([VIRSH, "-c", r.uri, "define", r.xml(name)], env=r.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay * rng.uniform(0.97, 1.03))
        p.send_signal(signal.SIGKILL)
        p.wait()
        done = os.path.exists(os.path.join(r.root, "domains", name, "domain.xml"))
        delay *= 0.93 if done else 1.07
        leftovers = glob.glob(os.path.join(r.root, "domains", "*", ".domain.xml.tmp-*"))
        if len(leftovers) >= 5:
            break
    return leftovers, attempt + 1


def test_killed_defines():
    with Root() as r:
        os.makedirs(r.root, exist_ok=True)
        r.define("keep")
        leftovers, attempts = killed_defines(r)
        check(len(leftovers) > 0,
              f"SIGKILLed defines left temporary files ({len(leftovers)} after {attempts})")
        before = tree(r.root)
        lines = gc_lines(r, "--dry-run")

        def covered(word, t, lines):
            # the file itself, or the folder of a first define that never completed
            return (any(l.startswith(f"{word} {t} (temporary file") for l in lines) or
                    any(l.startswith(f"{word} {os.path.dirname(t)} (no domain definition)")
                        for l in lines))
        check(all(covered("Would remove", t, lines) for t in leftovers),
              "gc --dry-run lists every temporary file of a killed define")
        check(tree(r.root) == before, "gc --dry-run changes nothing")
        lines = gc_lines(r)
        check(all(covered("Removed", t, lines) for t in leftovers),
              "gc removes every temporary file of a killed define")
        check(glob.glob(os.path.join(r.root, "domains", "*", ".*.tmp-*")) == [],
              "no temporary file is left")
        # every domain still listed has a whole definition, and the kept one is untouched
        names = r.virsh("list", "--all", "--name").stdout.split()
        check("keep" in names, "the domain defined before is still defined")
        check(all(r.virsh("dumpxml", n).returncode == 0 for n in names),
              "every listed domain dumps its definition")
        check(gc_lines(r) == ["Nothing to remove"], "a second gc finds nothing")


def test_both_backends():
    with Root() as r:
        fc_base = r.disk("fc-base.img", data=b"base")
        r.define("fc1", disks=[(fc_base, True)])
        r.define("ch1", backend="ch", disks=[r.disk("ch.img")])
        r.define("off", disks=[r.disk("off.img")])
        for n in ("fc1", "ch1"):
            p = r.ok("start", n)
            check(p.returncode == 0, f"{n} starts on its simulator")
        root, live = r.root, r.live_root()

        # what is in use: must survive
        keep = []
        snaps = os.path.join(root, "domains", "off", "snapshots", "s1")
        os.makedirs(snaps)
        with open(os.path.join(snaps, "meta.json"), "w") as f:
            f.write("{}")
        keep.append(snaps)
        cache = os.path.join(root, "cache", "kernels")
        os.makedirs(cache, exist_ok=True)
        used_kernel = os.path.join(cache, kernel_cache_name(r.kernel))
        open(used_kernel, "w").close()
        keep.append(used_kernel)
        keep += [os.path.join(live, "fc1", f) for f in os.listdir(os.path.join(live, "fc1"))]
        keep += [os.path.join(live, "ch1", f) for f in os.listdir(os.path.join(live, "ch1"))]
        keep.append(os.path.join(root, "domains", "ch1", "domain.xml"))

        # leftovers of every kind gc knows
        junk = {}

        def plant(path, why, is_dir=False, age=0):
            if is_dir:
                os.makedirs(os.path.join(path, "inner"))
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("junk")
            if age:
                t = time.time() - age
                os.utime(path, (t, t))
            junk[path] = why

        plant(os.path.join(root, "domains", "gone"), "snapshots of a domain that is not defined",
              is_dir=True)
        os.makedirs(os.path.join(root, "domains", "gone", "snapshots", "s0"))
        plant(os.path.join(root, "domains", "ch1", ".domain.xml.tmp-0badc0de"),
              "temporary file of an interrupted write")
        plant(os.path.join(root, "domains", "fc1", "snapshots", ".tmp-s2-abcdef"),
              "unfinished snapshot data", is_dir=True)
        plant(os.path.join(live, "transient-gone"), "live folder of a domain that is not defined",
              is_dir=True)
        plant(os.path.join(live, "off", "vda.overlay"), "transient-disk overlay of an earlier boot")
        plant(os.path.join(live, "fc1", "vdz.overlay"), "transient-disk overlay of an earlier boot")
        plant(os.path.join(live, "off", "fc.sock"), "socket of a VMM that is gone")
        plant(os.path.join(cache, "vmlinux-00000000000000000000000000000000"),
              "extracted kernel no domain boots")
        plant(os.path.join(cache, ".vmlinux-1.tmp-XYZ"),
              "temporary file of an interrupted kernel extraction", age=600)
        plant(os.path.join(root, "staging", "import-deadbeef"), "unfinished snapshot import",
              is_dir=True)
        # a fresh temporary file of the kernel cache may be an extraction in progress
        fresh = os.path.join(cache, ".vmlinux-2.tmp-NEW")
        open(fresh, "w").close()
        keep.append(fresh)

        before = tree(root)
        dry = gc_lines(r, "--dry-run")
        check(tree(root) == before, "gc --dry-run removes nothing")
        for path, why in sorted(junk.items()):
            check(f"Would remove {path} ({why})" in dry, f"--dry-run lists {path}")
        lines = gc_lines(r)
        check(sorted(l.replace("Removed ", "Would remove ", 1) for l in lines) == sorted(dry),
              "gc removes what --dry-run listed")
        for path, why in sorted(junk.items()):
            check(f"Removed {path} ({why})" in lines and not os.path.lexists(path),
                  f"gc removes {path}")
        for path in keep:
            check(os.path.lexists(path), f"gc keeps {path}")
        check(len(lines) == len(junk), f"gc removes nothing else ({len(lines)} lines)")
        for n in ("fc1", "ch1"):
            check(r.state(n) == "running (booted)", f"{n} still runs after gc")
        check(r.ok("destroy", "fc1").returncode == 0 and r.ok("destroy", "ch1").returncode == 0,
              "the running domains stop normally after gc")
        check(gc_lines(r) == ["Nothing to remove"], "a second gc finds nothing")


def test_undefined_running_transient_kept():
    """A transient domain that runs has no definition under domains/, only its live folder:
    gc must keep that folder."""
    with Root() as r:
        xml = r.xml("tr")
        check(r.ok("create", xml).returncode == 0, "a transient domain starts")
        lines = gc_lines(r)
        check(not any("/run/domains/tr" in l for l in lines), "gc keeps a running transient one")
        check(r.state("tr") == "running (booted)", "it still runs")
        r.ok("destroy", "tr")


if __name__ == "__main__":
    test_killed_defines()
    test_both_backends()
    test_undefined_running_transient_kept()
    finish()
