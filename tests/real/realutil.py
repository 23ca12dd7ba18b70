"""Helpers of the real-VMM suites (tests/real): what the host must offer, a network namespace
of the test's own, domain XML for the real Firecracker / Cloud Hypervisor, a console driven on a
PTY, and one way to run commands embedded (cocoonvirsh) or through cocoond (Debian's virsh).

Reused from tests/lifecycle/lifeutil.py (checks that keep going, polling, process liveness) and
tests/rpc/rpcutil.py (cocoond on a private socket, restartable)."""

import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
import lifeutil  # noqa: E402
from lifeutil import alive, check, finish, wait_for  # noqa: E402,F401
import rpcutil  # noqa: E402

BUILD = os.environ.get("COCOON_BUILDDIR", "")
VIRSH = os.path.join(BUILD, "tools", "virsh", "cocoonvirsh")
COCOOND = os.path.join(BUILD, "tools", "daemon", "cocoond")
SHARED = os.environ.get("COCOON_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
VMM_DIR = os.environ.get("COCOON_REAL_VMM_DIR", os.path.join(SHARED, "vmm"))
VMM_BIN = {"fc": "firecracker", "ch": "cloud-hypervisor"}
EMULATOR = {"fc": "/usr/bin/firecracker", "ch": "/usr/bin/cloud-hypervisor"}
PROMPT = b"guest> "
BANNER = b"cocoon-test-guest: booted"


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(77)


def require(backend, daemon=False, guest=None):
    """Exit 77 naming what is missing: /dev/kvm, the VMM binary, the guest, virsh, root."""
    if not os.path.exists(VIRSH):
        skip(f"{VIRSH} is not built")
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except OSError as e:
        skip(f"/dev/kvm does not open: {e.strerror}")
    vmm = os.path.join(VMM_DIR, VMM_BIN[backend])
    if not os.access(vmm, os.X_OK):
        skip(f"no {VMM_BIN[backend]} binary at {vmm} (set COCOON_REAL_VMM_DIR)")
    if guest and not os.path.exists(guest):
        skip(f"no guest kernel at {guest}")
    if os.geteuid() != 0:
        skip("not root: the test makes a network namespace and TAPs")
    if not shutil.which("ip"):
        skip("no 'ip' command (iproute2)")
    if daemon:
        if not os.path.exists(COCOOND):
            skip(f"{COCOOND} is not built")
        if not shutil.which("virsh"):
            skip("no Debian virsh (libvirt-clients)")
    return vmm


def test_guest():
    return os.environ.get("COCOON_TEST_GUEST",
                          os.path.join(BUILD, "tests", "guest", "cocoon-test-guest"))


def sh(*argv, timeout=30):
    """Run a host command; (status, stdout + stderr)."""
    p = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


class Netns:
    """A network namespace (and a bridge in it) named after the pid, deleted at the end."""

    def __init__(self):
        # meson's timeout sends SIGTERM: leave through the finally blocks that remove it all
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        tag = f"{os.getpid() % 100000}"
        self.name = f"cocoon-rt-{tag}"
        self.bridge = f"crtbr{tag}"
        rc, out = sh("ip", "netns", "add", self.name)
        if rc != 0:
            skip(f"cannot make a network namespace: {out.strip()}")
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", self.bridge, "type", "bridge")
        self.ip("link", "set", self.bridge, "up")

    def ip(self, *args):
        return sh("ip", "-n", self.name, *args)

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def links(self):
        rc, out = self.ip("-o", "link", "show")
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
                if line.count(":") >= 2]

    def link(self, name):
        rc, out = self.ip("-d", "-o", "link", "show", "dev", name)
        return out if rc == 0 else ""

    def close(self):
        sh("ip", "netns", "delete", self.name)


def tun_fds(pid, tap):
    """How many fds of process pid are TUN/TAP fds attached to tap (fdinfo's iff:)."""
    n = 0
    try:
        fds = os.listdir(f"/proc/{pid}/fdinfo")
    except OSError:
        return 0
    for fd in fds:
        try:
            text = open(f"/proc/{pid}/fdinfo/{fd}").read()
        except OSError:
            continue
        if re.search(rf"^iff:\s+{re.escape(tap)}$", text, re.M):
            n += 1
    return n


class Console:
    """A console client (cocoonvirsh or virsh `console NAME`) on a PTY, as a user runs it."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        self.buf = b""
        self.status = None

    def _pump(self, wait):
        r, _, _ = select.select([self.fd], [], [], wait)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            return False
        self.buf += data
        return True

    def expect(self, pattern, timeout=5.0, start=0):
        """The first match of pattern (bytes regex) in the output from offset start, or None."""
        rx = re.compile(pattern, re.S)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.buf, start)
            if m:
                return m
            left = deadline - time.time()
            if left <= 0 or not self._pump(min(left, 0.2)):
                return rx.search(self.buf, start)

    def send(self, data):
        os.write(self.fd, data)

    def cmd(self, line, timeout=5.0):
        """Type a guest command; its output (text, \\r dropped) up to the next prompt, or None."""
        start = len(self.buf)
        self.send(line.encode() + b"\r")
        m = self.expect(re.escape(line.encode()) + rb"\r?\n(.*?)" + re.escape(PROMPT),
                        timeout, start)
        return m.group(1).decode(errors="replace").replace("\r", "") if m else None

    def leave(self, timeout=5.0):
        """Ctrl+]; the client's exit status, or None when it did not exit in time."""
        try:
            self.send(b"\x1d")
        except OSError:
            pass
        return self.wait(timeout)

    def wait(self, timeout):
        deadline = time.time() + timeout
        while self.status is None and time.time() < deadline:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.WEXITSTATUS(st) if os.WIFEXITED(st) else -1
                break
            self._pump(0.1)
        return self.status

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.wait(5)
        try:
            os.close(self.fd)
        except OSError:
            pass

    def text(self):
        return self.buf.decode(errors="replace")


def domain_xml(name, backend, kernel, vcpus=1, memory_mib=64, cmdline="", devices="",
               on_reboot="restart", on_crash="destroy", serial=True):
    serial_xml = "<serial type='pty'><target port='0'/></serial>" if serial else ""
    return f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>{vcpus}</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
    <cmdline>{cmdline}</cmdline></os>
  <on_reboot>{on_reboot}</on_reboot>
  <on_crash>{on_crash}</on_crash>
  <devices>
    <emulator>{EMULATOR[backend]}</emulator>
    {devices}
    {serial_xml}
  </devices>
</domain>
"""


class Session:
    """One test's Cocoon: a temporary root run embedded (cocoonvirsh -c cocoon:///embed) or by a
    cocoond on a private socket (Debian's virsh), every process inside the test's netns, the
    real VMM plugged in through COCOON_FIRECRACKER / COCOON_CLOUD_HYPERVISOR."""

    def __init__(self, backend, daemon, netns, env=None):
        self.backend = backend
        self.daemon_mode = daemon
        self.netns = netns
        self.env = dict(os.environ)
        self.env.pop("COCOON_DEFAULT_URI", None)
        self.env.pop("LIBVIRT_DEFAULT_URI", None)
        self.env["LC_ALL"] = "C"
        self.env["COCOON_FIRECRACKER"] = os.path.join(VMM_DIR, "firecracker")
        self.env["COCOON_CLOUD_HYPERVISOR"] = os.path.join(VMM_DIR, "cloud-hypervisor")
        self.env.update(env or {})
        self.daemon = None
        if daemon:
            self.daemon = rpcutil.Daemon(self.env, wrap=netns.exec_argv([]))
            self.dir = self.daemon.dir
            self.run_dir = self.daemon.run
            self.uri = self.daemon.uri
        else:
            self.dir = tempfile.mkdtemp(prefix="cocoon-real-")
            self.run_dir = os.path.join(self.dir, "root", "run")
            self.uri = f"cocoon:///embed?root={os.path.join(self.dir, 'root')}"
        self.env["COCOON_CONFIG"] = os.path.join(self.dir, "none.conf")
        self.names = []

    # -- commands --
    def argv(self, *args):
        if self.daemon_mode:
            return ["virsh", "-c", self.uri, *args]
        return self.netns.exec_argv([VIRSH, "-c", self.uri, *args])

    def run(self, *args, timeout=60):
        p = subprocess.run(self.argv(*args), capture_output=True, text=True, env=self.env,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, timeout=60):
        rc, out, err = self.run(*args, timeout=timeout)
        if rc != 0:
            print(f"  {' '.join(args)} failed ({rc}): {out}{err}", flush=True)
        return rc == 0

    def define(self, name, **kw):
        path = os.path.join(self.dir, f"{name}.xml")
        with open(path, "w") as f:
            f.write(domain_xml(name, self.backend, **kw))
        rc, out, err = self.run("define", path)
        if rc != 0:
            raise SystemExit(f"define {name} failed: {out}{err}")
        self.names.append(name)
        return name

    def state(self, name):
        rc, out, err = self.run("domstate", name, "--reason")
        return out.strip() if rc == 0 else f"error: {err.strip()}"

    def dominfo_state(self, name):
        rc, out, err = self.run("dominfo", name)
        m = re.search(r"^State:\s+(.*)$", out, re.M)
        return m.group(1).strip() if m else None

    def console(self, name):
        return Console(self.argv("console", name), self.env)

    def attach(self, name, timeout=10.0, quiet=False):
        """A console whose scrollback has shown the prompt (the guest is up), or None."""
        c = self.console(name)
        if c.expect(re.escape(PROMPT), timeout) is None:
            if not quiet:
                print(f"  no prompt from '{name}'; console said: {c.text()!r}", flush=True)
            c.close()
            return None
        return c

    # -- what the VMs leave --
    def live(self, name):
        return os.path.join(self.run_dir, "domains", name)

    # the same layout as lifeutil's root: its readers serve here too
    live_files = lifeutil.Root.live_files
    status = lifeutil.Root.status
    pid = lifeutil.Root.pid

    def processes(self):
        """Live processes whose command line names this session's folder."""
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == os.getpid():
                continue
            if self.daemon and int(p) == self.daemon.proc.pid:
                continue
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if self.dir in cmd and alive(int(p)):
                out.append((int(p), cmd))
        return out

    def close(self):
        for name in self.names:
            self.run("destroy", name, timeout=30)
        for pid, _ in self.processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.daemon:
            try:
                self.daemon.stop()
            except AssertionError as e:
                check(False, f"cocoond stops cleanly ({e})")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

