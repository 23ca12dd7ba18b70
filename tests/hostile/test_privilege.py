"""Least privilege of a running domain (issue 13 §5), through the real cocoonvirsh on the
simulators (and on the real Firecracker of ../shared/vmm when it is there):
- the VMM inherits exactly the descriptors it needs: stdin/stdout (the console PTY, which
  the relay holds the other end of; CH too, since issue 10) and stderr (its log), nothing
  else, as tests/hostile/fd-probe records at exec;
- the live directory is 0700 and the VMM log, the console relay's log, the console socket and
  the state files are not readable by others;
- user strings never reach a shell: a disk path full of shell syntax reaches the VMM as one
  argument and runs nothing."""

import os
import shutil
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
from lifeutil import BUILD, CH_SIM, FC_SIM, Root, check, finish, wait_for  # noqa: E402

PROBE = os.path.join(BUILD, "tests", "hostile", "fd-probe")


def probe_env(r, target, backend):
    out = os.path.join(r.dir, "fds-" + backend)
    os.makedirs(out, exist_ok=True)
    var = "COCOON_FIRECRACKER" if backend == "fc" else "COCOON_CLOUD_HYPERVISOR"
    return out, {var: PROBE, "COCOON_FD_PROBE_OUT": out, "COCOON_FD_PROBE_EXEC": target}


def inherited(out):
    """{fd: target} of the one VMM exec the probe recorded."""
    files = os.listdir(out)
    if len(files) != 1:
        return None
    fds = {}
    for line in open(os.path.join(out, files[0])):
        fd, _, target = line.rstrip("\n").split(" ", 2)
        fds[int(fd)] = target
    return fds


def check_fds(what, fds, live, backend):
    if fds is None:
        check(False, f"{what}: the probe recorded one VMM exec")
        return
    # the console PTY, which the relay holds the other end of (CH too, since issue 10)
    want_std = ("/dev/pts/",)
    check(sorted(fds) == [0, 1, 2], f"{what}: the VMM inherits exactly fds 0, 1, 2 ({fds})")
    check(fds.get(0) == fds.get(1) and fds.get(0, "").startswith(want_std),
          f"{what}: its stdin and stdout are one {' or '.join(want_std)}… ({fds.get(0)})")
    check(fds.get(2) == os.path.join(live, "vmm.log"), f"{what}: its stderr is its log")


def modes(r, name):
    live = r.live(name)
    st = os.stat(live)
    check(stat.S_IMODE(st.st_mode) == 0o700, f"the live directory is 0700 ({oct(st.st_mode)})")
    bad = []
    for f in sorted(os.listdir(live)):
        m = stat.S_IMODE(os.lstat(os.path.join(live, f)).st_mode)
        private = f in ("vmm.log", "console-relay.log", "console.sock", "status", "domain.xml")
        if (private and m & 0o077) or m & 0o006:
            bad.append((f, oct(m)))
    check(not bad, f"no live file is open to others, logs and console are owner-only {bad}")
    bad = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(r.root, "domains")):
        for n in dirnames + filenames:
            m = stat.S_IMODE(os.lstat(os.path.join(dirpath, n)).st_mode)
            if m & 0o077 and not n.endswith(".lock"):
                bad.append((n, oct(m)))
    check(not bad, f"persistent definitions are owner-only {bad}")


def sim_case(r, backend, sim):
    name = "priv" + backend
    out, env = probe_env(r, sim, backend)
    # a file name cannot hold '/': the commands touch a marker in whatever directory a shell
    # would run in (ours, the VMM's: the live directory, or /)
    marker = f"PWNED-{backend}-{os.getpid()}"
    shelly = r.disk(f"d;touch {marker};$(touch {marker})`touch {marker}`|touch {marker}.img")
    r.define(name, backend=backend, disks=[shelly])
    res = r.virsh("start", name, env=env)
    check(res.returncode == 0, f"{backend}: starts under the fd probe ({res.stderr.strip()})")
    check_fds(f"{backend} simulator", inherited(out), r.live(name), backend)
    modes(r, name)
    pid = r.pid(name)
    argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0") if pid else []
    if backend == "ch":
        check(any(shelly.encode() in a for a in argv),
              "ch: the shell-syntax disk path reaches the VMM inside one argument")
    where = [r.dir, os.getcwd(), r.live(name), "/", "/tmp"]
    check(not any(os.path.exists(os.path.join(d, marker)) for d in where),
          "no shell ran the path's commands")
    r.ok("destroy", name)


def real_fc(r):
    fc = os.path.join(os.environ.get("COCOON_SHARED", ""), "vmm", "firecracker")
    if not os.access(fc, os.X_OK):
        print(f"# the real firecracker is not at {fc}: its descriptors are not checked")
        return
    name = "privreal"
    out, env = probe_env(r, fc, "fc")
    shutil.rmtree(out)
    os.makedirs(out)
    r.define(name, backend="fc")
    # the kernel is a stub, so the boot may fail: the exec happened, which is what counts
    r.virsh("start", name, env=env, timeout=60)
    check_fds("real firecracker", inherited(out), r.live(name), "fc")
    r.virsh("destroy", name)
    wait_for(lambda: not r.processes(), 10)


def main():
    if not os.access(PROBE, os.X_OK):
        print(f"SKIP: {PROBE} is not built")
        sys.exit(77)
    with Root() as r:
        sim_case(r, "fc", FC_SIM)
        sim_case(r, "ch", CH_SIM)
        real_fc(r)
    finish()


if __name__ == "__main__":
    main()
