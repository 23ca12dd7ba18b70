#!/usr/bin/python3
"""The remote driver prints exactly what the embedded driver prints: the same cocoonvirsh
commands run through cocoond (cocoon+unix:///system?socket=P) and on a parallel embedded root
(cocoon:///embed?root=R2) must give byte for byte the same stdout, stderr and exit status,
errors included. Host paths that differ by construction (the two roots) are replaced by
placeholders before comparing. The lifecycle is compared too (on the Firecracker simulator),
and a console session goes over the remote driver."""

import difflib
import os
import pty
import select
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from remoteutil import (DATA, Daemon, binary, check, cocoonvirsh,  # noqa: E402
                        lifecycle_env, write_bootable_xml)

WEB1_UUID = "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21"

# Each entry is one cocoonvirsh invocation (a ';' string is one connection, several calls).
COMMANDS = [
    "list --all",
    "define web1.xml",
    "define a-long-domain-name.xml",
    "list --all",
    "list",
    "list --inactive",
    "list --all --name",
    "list --all --uuid",
    "list --all --id --name",
    "list --state-shutoff",
    "dumpxml web1",
    "dumpxml --inactive web1",
    "dominfo web1",
    f"dominfo {WEB1_UUID}",
    "domstate web1",
    "domstate --reason web1",
    "domuuid web1",
    f"domuuid {WEB1_UUID}",
    "domid web1",
    f"domname {WEB1_UUID}",
    "autostart web1",
    "list --all --autostart",
    "dominfo web1",
    "autostart --disable web1",
    "list --all --no-autostart",
    "domxml-to-native firecracker-api web1.xml",
    "domxml-to-native cloud-hypervisor-argv web1.xml",
    "domxml-to-native firecracker-api --domain web1",
    "domxml-to-native no-such-format web1.xml",
    # errors: unknown domain, malformed XML, unsupported element, uuid clash, missing file
    "dominfo nope",
    "domstate nope",
    "dumpxml nope",
    "undefine nope",
    "autostart nope",
    "domname 00000000-0000-0000-0000-000000000000",
    "define malformed.xml",
    "define unknown-element.xml",
    "define web1-other-uuid.xml",
    "define no-such-file.xml",
    "domid nope; domuuid web1; list --all --name",
    "define web1-512m.xml; dominfo web1",
    "undefine a-long-domain-name",
    "list --all",
]

LIFECYCLE_COMMANDS = [
    "define {boot}",
    "start boot1",
    "domstate --reason boot1",
    "list",
    "domid boot1",
    "start boot1",
    "suspend boot1",
    "domstate --reason boot1",
    "list --all",
    "list --state-paused --name",
    "suspend boot1",
    "resume boot1",
    "domstate --reason boot1",
    "destroy boot1",
    "domstate --reason boot1",
    "destroy boot1",
    "resume boot1",
    "start boot1",
    "domid boot1",
    "shutdown boot1",
    "@wait-shutoff boot1",
    "domstate --reason boot1",
    "list --all",
]


class Side:
    """One way of reaching a driver: a URI plus the host paths to mask in its output."""

    def __init__(self, name, uri, paths, env):
        self.name = name
        self.uri = uri
        self.paths = sorted(paths, key=len, reverse=True)
        self.env = env

    def run(self, command):
        rc, out, err = cocoonvirsh(self.uri, command, env=self.env)
        for p, tag in self.paths:
            out = out.replace(p, tag)
            err = err.replace(p, tag)
        return rc, out, err


def compare(remote, embed, command):
    r = remote.run(command)
    e = embed.run(command)
    if r != e:
        for label, a, b in (("stdout", r[1], e[1]), ("stderr", r[2], e[2])):
            if a != b:
                sys.stderr.write(f"--- {label} of '{command}' (remote vs embedded)\n")
                sys.stderr.writelines(difflib.unified_diff(
                    b.splitlines(True), a.splitlines(True), "embedded", "remote"))
        if r[0] != e[0]:
            sys.stderr.write(f"exit status: remote {r[0]}, embedded {e[0]}\n")
    check(r == e, f"same output and status: {command}  (exit {r[0]})")
    return r


def wait_shutoff(side, name, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if side.run(f"domstate {name}")[1].strip() == "shut off":
            return True
        time.sleep(0.2)
    return False


def console_session(uri, name, env):
    """cocoonvirsh console over the remote driver on a PTY: guest output arrives through the
    stream, a line typed reaches the guest, Ctrl-] ends the session cleanly."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        os.execv(binary("tools", "virsh", "cocoonvirsh"),
                 ["cocoonvirsh", "-c", uri, "console", name, "--force"])
    out = b""

    def read_for(seconds, until=None):
        nonlocal out
        deadline = time.time() + seconds
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return False
                if not chunk:
                    return False
                out += chunk
                if until and until in out:
                    return True
        return until is None

    connected = read_for(15, b"Escape character is")
    check(connected, "console: cocoonvirsh connects through the daemon")
    os.write(fd, b"\r")
    check(read_for(10, b"login: "), "console: the guest's login prompt arrives as STREAM data")
    os.write(fd, b"root\r")
    check(read_for(10, b"root@cocoon-sim:~# "), "console: keystrokes reach the guest")
    os.write(fd, b"echo remote-stream-ok-42\r")
    check(read_for(10, b"remote-stream-ok-42\r\nroot@cocoon-sim"),
          "console: a command's output comes back through the stream")
    os.write(fd, b"\x1d")
    status = None
    deadline = time.time() + 15
    while time.time() < deadline:
        read_for(0.3)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    os.close(fd)
    check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
          "console: Ctrl-] ends the session (finish confirmed), exit status 0")


def main():
    shared = tempfile.mkdtemp(prefix="cocoon-remote-parity-")
    env = lifecycle_env(shared)
    embed_root = os.path.join(shared, "embed-root")
    try:
        with Daemon(env=env) as d:
            remote = Side("remote", d.uri, [(d.run, "RUN"), (d.root, "ROOT")], {})
            embed = Side("embedded", f"cocoon:///embed?root={embed_root}",
                         [(os.path.join(embed_root, "run"), "RUN"), (embed_root, "ROOT")], env)
            for command in COMMANDS:
                compare(remote, embed, command)

            try:
                boot = write_bootable_xml(shared, "boot1", "5d2f6a10-3c4b-4e8f-9a1b-2c3d4e5f6a70")
                for command in LIFECYCLE_COMMANDS:
                    if command.startswith("@wait-shutoff"):
                        name = command.split()[1]
                        check(wait_shutoff(remote, name) and wait_shutoff(embed, name),
                              f"{name} reaches shut off through both drivers")
                        continue
                    compare(remote, embed, command.format(boot=boot))
                rc, _, err = cocoonvirsh(d.uri, "start", "boot1")
                check(rc == 0, f"start boot1 for the console ({err.strip()})")
                console_session(d.uri, "boot1", {})
                cocoonvirsh(d.uri, "destroy", "boot1")
                for command in ("undefine boot1", "list --all"):
                    compare(remote, embed, command)
            finally:
                # a failure half-way must not leave a simulator running
                cocoonvirsh(d.uri, "destroy", "boot1")
                embed.run("destroy boot1")
    finally:
        shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(DATA)
    main()
