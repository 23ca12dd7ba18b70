#!/usr/bin/python3
"""cocoonvirsh's remote driver next to Debian's virsh on one cocoond: the same list output,
the same read-only refusal; events delivered to a remote-driver client; and a daemon that
goes away in the middle of a session gives clean errors, no hang and no crash."""

import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from remoteutil import DATA, Daemon, binary, check, cocoonvirsh, run  # noqa: E402

SAME_OUTPUT = [
    "list --all",
    "list",
    "list --inactive",
    "list --all --name",
    "list --all --uuid",
    "list --all --uuid --name",
    "list --all --id --name",
    "domstate web1",
    "domstate --reason web1",
    "domuuid web1",
    "domid web1",
    "domname 3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21",
]


def debian_virsh(uri, *args, readonly=False):
    return run(["virsh", "-c", uri] + (["-r"] if readonly else []) + list(args), cwd=DATA)


def same_as_debian(d):
    for xml in ("web1.xml", "a-long-domain-name.xml"):
        rc, _, err = cocoonvirsh(d.uri, "define", xml)
        check(rc == 0, f"define {xml} through the daemon ({err.strip()})")
    for command in SAME_OUTPUT:
        ours = cocoonvirsh(d.uri, *command.split())
        theirs = debian_virsh(d.uri, *command.split())
        if ours != theirs:
            print(f"cocoonvirsh: {ours!r}\nvirsh:       {theirs!r}", file=sys.stderr)
        check(ours == theirs and ours[0] == 0,
              f"cocoonvirsh and Debian virsh print the same: {command}")


def read_only(d):
    ours = cocoonvirsh(d.uri, "define", "web1.xml", readonly=True)
    theirs = debian_virsh(d.uri, "define", "web1.xml", readonly=True)
    check(ours[0] == 1 and ours[2] == "error: Failed to define domain from web1.xml\n"
          "error: operation forbidden: read only access prevents virDomainDefineXML\n",
          "-r: define is refused with libvirt's wording")
    check(ours == theirs, "-r: the refusal reads exactly as Debian virsh's")
    rc, out, _ = cocoonvirsh(d.uri, "list", "--all", "--name", readonly=True)
    check(rc == 0 and "web1" in out.split(), "-r: reading still works")
    rc, _, err = cocoonvirsh(d.uri, "undefine", "web1", readonly=True)
    check(rc == 1 and "read only access prevents virDomainUndefineFlags" in err,
          "-r: undefine is refused too")


def events(d):
    xml = os.path.join(d.dir, "ev1.xml")
    with open(os.path.join(DATA, "web1.xml")) as f:
        text = f.read().replace("<name>web1</name>", "<name>ev1</name>").replace(
            "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21", "8f0e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
    with open(xml, "w") as f:
        f.write(text)
    p = subprocess.run([binary("tests", "remote", "remote_events_probe"), d.uri, xml],
                       capture_output=True, text=True, timeout=60)
    if p.returncode == 2:
        print(f"# events not compared: the daemon's driver has none yet ({p.stdout.strip()})")
        return
    lines = p.stdout.splitlines()
    check(p.returncode == 0, f"events: registration, define, undefine ({p.stderr.strip()})")
    check("event ev1 0 0" in lines, "events: DEFINED/ADDED arrives on the reader thread")
    check("event ev1 1 0" in lines, "events: UNDEFINED/REMOVED arrives")
    check("freed yes" in lines, "events: deregistration frees the callback's opaque")


def daemon_goes_away():
    d = Daemon()
    try:
        rc, _, _ = cocoonvirsh(d.uri, "define", "web1.xml")
        check(rc == 0, "define before the daemon goes away")
        env = dict(os.environ, LC_ALL="C")
        shell = subprocess.Popen([binary("tools", "virsh", "cocoonvirsh"), "-c", d.uri],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env, cwd=DATA)
        shell.stdin.write("list --all --name\n")
        shell.stdin.flush()
        first = shell.stdout.readline()
        check(first.strip() == "web1", "the shell lists through the daemon")
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        shell.stdin.write("list --all --name\ndomstate web1\ndominfo web1\nquit\n")
        shell.stdin.close()
        try:
            shell.wait(timeout=20)
            hung = False
        except subprocess.TimeoutExpired:
            shell.kill()
            hung = True
        out = shell.stdout.read()
        err = shell.stderr.read()
        check(not hung, "the shell does not hang once the daemon is gone")
        check(shell.returncode == 0, f"the shell ends normally (status {shell.returncode})")
        lines = [l for l in err.splitlines() if l]
        check(lines and all(l.startswith("error: ") for l in lines),
              f"every failure is a clean 'error: …' line: {lines}")
        check("Sanitizer" not in err and "runtime error" not in err and "web1" not in out,
              "no crash, no sanitizer report, nothing listed from a dead daemon")

        # a fresh connection to the dead socket fails as Debian virsh's does
        ours = cocoonvirsh(d.uri, "list")
        theirs = debian_virsh(d.uri, "list")
        check(ours[0] == 1 and ours[2].startswith("error: failed to connect to the hypervisor\n"
                                                  "error: Failed to connect socket to '"),
              "connecting to a dead daemon: libvirt's error")
        # (stderr and status: cocoonvirsh also ends the failed command with an empty stdout line)
        check((ours[0], ours[2]) == (theirs[0], theirs[2]), "... word for word as Debian virsh")
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()
        d.errlog.close()
        shutil.rmtree(d.dir, ignore_errors=True)


def main():
    with Daemon() as d:
        same_as_debian(d)
        read_only(d)
        events(d)
    daemon_goes_away()


if __name__ == "__main__":
    main()
