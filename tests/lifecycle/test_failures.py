"""Failed starts leave nothing behind (live directory, processes, TAPs) and carry the
hypervisor's own words; a missing kernel, initrd or disk (or a directory, or a file as a
block device) fails before any VMM runs, naming the path, on both backends; two cocoonvirsh processes on one domain serialise; a real TAP is
made for an <interface type='ethernet'> without <target dev> and removed after (root)."""

import hashlib
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifeutil import Root, check, finish  # noqa: E402


def links():
    return set(os.listdir("/sys/class/net"))


def own_links(name, new):
    """The links among new that a start of domain name can make: its generated TAP names
    ("cv" + 8 hex digits of the name's SHA-256 + "n" + index) and the test's fixed names.
    Other tests running alongside make links of their own."""
    prefix = "cv" + hashlib.sha256(name.encode()).hexdigest()[:8] + "n"
    return {link for link in new if link.startswith(prefix) or link.startswith("cvnope")}


def failed_start(r, name, what, words, env=None, **kw):
    r.define(name, **kw)
    before = links()
    out = r.virsh("start", name, env=env)
    check(out.returncode == 1 and f"error: Failed to start domain '{name}'" in out.stderr,
          f"{what}: start fails with virsh's first line")
    check(all(w in out.stderr for w in words) and f"cannot start domain '{name}'" in out.stderr,
          f"{what}: the error says why, in the hypervisor's words ({out.stderr.strip()!r})")
    check(r.live_files(name) == [], f"{what}: the live directory holds nothing but logs "
          f"({r.live_files(name)})")
    check(not r.processes(), f"{what}: no process left ({r.processes()})")
    left = own_links(name, links() - before)
    check(not left, f"{what}: no network link left ({left})")
    check(r.state(name) == "shut off (unknown)", f"{what}: still shut off ({r.state(name)})")


def fake(r, name, body):
    path = os.path.join(r.dir, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def failures(r):
    # the files a definition names are checked before anything is spawned: the error names
    # the path (CH's own words would be only "Cannot open the kernel image")
    ran = os.path.join(r.dir, "vmm-ran")
    spy = {"COCOON_FIRECRACKER": fake(r, "spy-fc", f"touch {ran}; exit 1"),
           "COCOON_CLOUD_HYPERVISOR": fake(r, "spy-ch", f"touch {ran}; exit 1")}
    for backend in ("fc", "ch"):
        for name, what, words, kw in (
                ("nokernel", "missing kernel",
                 ["cannot open kernel '/nonexistent/vmlinux': No such file or directory"],
                 {"kernel": "/nonexistent/vmlinux"}),
                ("dirkernel", "a directory as kernel",
                 [f"kernel '{r.dir}' is not a regular file"], {"kernel": r.dir}),
                ("noinitrd", "missing initrd",
                 [f"cannot open initrd '{r.dir}/no.cpio': No such file or directory"],
                 {"initrd": f"{r.dir}/no.cpio"}),
                ("nodisk", "missing disk",
                 [f"cannot open disk 'vda' source '{r.dir}/missing.img': No such file or "
                  "directory"], {"disks": [os.path.join(r.dir, "missing.img")]}),
                ("notblock", "a file as <disk type='block'>",
                 [f"disk 'vda' source '{r.kernel}' is not a block device"],
                 {"devices": f"<disk type='block' device='disk'><source dev='{r.kernel}'/>"
                             "<target dev='vda' bus='virtio'/></disk>"})):
            failed_start(r, f"{backend}{name}", f"{backend}: {what}", words, env=spy,
                         backend=backend, **kw)
            check(not os.path.exists(ran), f"{backend}: {what}: no VMM was started")
    nets = "<interface type='ethernet'><target dev='cvnope0' managed='no'/></interface>"
    failed_start(r, "badtap", "a TAP that does not exist (managed='no')", ["cvnope0"], nets=nets)
    failed_start(r, "slow", "a VMM that never opens its socket",
                 ["did not accept connections within 300 ms"],
                 env={"COCOON_FIRECRACKER": fake(r, "slow-fc", "exec sleep 30"),
                      "COCOON_START_TIMEOUT_MS": "300"})
    failed_start(r, "dies", "a VMM that dies at once",
                 ["exited while starting", "cannot open /dev/kvm: no such device"],
                 env={"COCOON_FIRECRACKER": fake(
                     r, "dying-fc", "echo 'cannot open /dev/kvm: no such device' >&2; exit 1")})
    # executable by its mode, but no program: exec says ENOEXEC
    not_program = fake(r, "not-a-program", "")
    with open(not_program, "w") as f:
        f.write("neither ELF nor script\n")
    failed_start(r, "noexec", "a VMM binary that cannot be executed",
                 ["cannot execute binary", not_program, "Exec format error"],
                 env={"COCOON_FIRECRACKER": not_program})
    # the waiter is exec'ed once the VMM runs: the VMM must go too
    failed_start(r, "nowaiter", "a VMM waiter that cannot be executed",
                 ["cannot execute binary", not_program, "Exec format error"],
                 env={"COCOON_VMM_WAITER": not_program})
    # the base image of a transient disk stays as it was when the start fails after its overlay
    base = r.disk("keep.img", data=b"KEEP")
    failed_start(r, "overlayfail", "a failure after the overlay was made",
                 ["exited while starting", "no /dev/kvm"], disks=[(base, True)],
                 env={"COCOON_FIRECRACKER": fake(r, "dying-fc2", "echo 'no /dev/kvm' >&2; "
                                                 "exit 1")})
    check(open(base, "rb").read(4) == b"KEEP", "the transient disk's base is untouched")


def concurrent(r):
    name = r.define("race")
    results = []

    def start():
        results.append(r.virsh("start", name))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [x for x in results if x.returncode == 0]
    bad = [x for x in results if x.returncode != 0]
    check(len(ok) == 1 and len(bad) == 1, "of two concurrent starts exactly one succeeds")
    if bad:
        e = bad[0].stderr
        check("Domain is already active" in e or
              ("Failed to start domain 'race'" in e and
               "Requested operation is not valid: domain is already running" in e),
              f"the other is told the domain is already running ({e.strip()!r})")
    fc = [p for p in r.processes() if "fc-sim" in p[1]]
    check(len(fc) == 1, f"one VMM runs ({len(fc)})")

    # different domains start in parallel
    names = [r.define(f"par{i}") for i in range(4)]
    threads = [threading.Thread(target=lambda n=n: results.append(r.virsh("start", n)))
               for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(all(r.state(n) == "running (booted)" for n in names), "four domains started in parallel")
    for n in names + [name]:
        r.ok("destroy", n)
    check(not r.processes(), "nothing runs after destroying them")


def tap(r):
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        print("(TAP creation needs root and /dev/net/tun: not tested here)")
        return
    before = links()
    nets = "<interface type='ethernet'><model type='virtio'/></interface>"
    for backend in ("fc", "ch"):
        # the TAP name comes from the domain's name: the pid in it keeps two runs of this test
        # (other engineers', CI's) from fighting over one host-global link
        name = r.define(f"{backend}net{os.getpid()}", backend=backend, nets=nets)
        try:
            out = r.ok("start", name)
            new = own_links(name, links() - before)
            check(out.returncode == 0 and len(new) == 1, f"{backend}: a TAP is created ({new})")
            tapname = next(iter(new)) if new else ""
            flags = f"/sys/class/net/{tapname}/tun_flags"
            check(os.path.exists(flags), f"{backend}: '{tapname}' is a TUN/TAP device")
            r.ok("destroy", name)
            left = own_links(name, links() - before)
            check(not left, f"{backend}: the TAP is removed after stop ({left})")
        finally:
            r.virsh("destroy", name)
            for link in own_links(name, links() - before):
                subprocess.run(["ip", "link", "del", link], capture_output=True)


def main():
    with Root() as r:
        failures(r)
        concurrent(r)
        tap(r)
    finish()


if __name__ == "__main__":
    main()
