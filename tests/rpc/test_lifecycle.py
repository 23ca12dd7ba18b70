"""Lifecycle and console through cocoond with Debian's virsh, on the Firecracker simulator:
start, domstate/list while running, suspend/resume, console (a PTY, Ctrl-] to leave),
destroy."""

import os
import pty
import re
import select
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import fc_domain_xml  # noqa: E402
from rpcutil import Daemon, binary, check, virsh  # noqa: E402


def domain_xml(d):
    return fc_domain_xml(d, "web1")


def console(d):
    """virsh console needs a TTY: run it on a PTY, wait for guest output, leave with Ctrl-]."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("virsh", ["virsh", "-c", d.uri, "console", "web1", "--force"])
    out = b""
    deadline = time.time() + 20
    while time.time() < deadline and b"Escape character" not in out:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    check(b"Connected to domain" in out, "virsh console connects through the daemon")
    os.write(fd, b"\r")
    extra = b""
    deadline = time.time() + 5
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                extra += os.read(fd, 65536)
            except OSError:
                break
        elif extra:
            break
    check(len(extra) > 0, "the guest's console answers through the stream")
    os.write(fd, b"\x1d")  # Ctrl-]
    deadline = time.time() + 10
    status = None
    while time.time() < deadline:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            break
        try:
            os.read(fd, 65536)
        except OSError:
            pass
        time.sleep(0.1)
    check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "Ctrl-] ends virsh console cleanly (finish confirmed)")
    os.close(fd)


def main():
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim")}
    with Daemon(env=env) as d:
        rc, out, err = virsh(d.uri, "define", domain_xml(d))
        check(rc == 0, "define")
        rc, out, err = virsh(d.uri, "start", "web1")
        check(rc == 0 and "Domain 'web1' started" in out, f"start ({err.strip()})")
        rc, out, _ = virsh(d.uri, "domstate", "web1")
        check(out.strip() == "running", "domstate is running")
        rc, out, _ = virsh(d.uri, "list")
        check(re.search(r"^\s*\d+\s+web1\s+running", out, re.M), "list shows web1 with an id")
        rc, out, _ = virsh(d.uri, "suspend", "web1")
        check(rc == 0 and virsh(d.uri, "domstate", "web1")[1].strip() == "paused", "suspend")
        rc, out, _ = virsh(d.uri, "resume", "web1")
        check(rc == 0 and virsh(d.uri, "domstate", "web1")[1].strip() == "running", "resume")
        console(d)
        rc, out, err = virsh(d.uri, "destroy", "web1")
        check(rc == 0, f"destroy ({err.strip()})")
        check(virsh(d.uri, "domstate", "web1")[1].strip() == "shut off", "shut off again")
        virsh(d.uri, "undefine", "web1")


if __name__ == "__main__":
    main()
