"""Helpers of the lifecycle integration tests: the real cocoonvirsh against
cocoon:///embed?root=TMP with the simulators plugged in through COCOON_FIRECRACKER /
COCOON_CLOUD_HYPERVISOR, domains keeping <emulator>/usr/bin/firecracker</emulator>."""

import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("COCOON_BUILDDIR", "")
VIRSH = os.path.join(BUILD, "tools", "virsh", "cocoonvirsh")
FC_SIM = os.path.join(BUILD, "tests", "sim", "fc-sim")
CH_SIM = os.path.join(BUILD, "tests", "sim", "ch-sim")

failures = []


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("all checks passed")


class Root:
    """A temporary Cocoon root with a kernel, disks and domain XML files."""

    def __init__(self, **env):
        if not os.path.exists(VIRSH):
            skip(f"{VIRSH} is not built")
        self.dir = tempfile.mkdtemp(prefix="cocoon-life-")
        self.root = os.path.join(self.dir, "root")
        self.uri = f"cocoon:///embed?root={self.root}"
        self.env = dict(os.environ)
        self.env.update({"COCOON_FIRECRACKER": FC_SIM, "COCOON_CLOUD_HYPERVISOR": CH_SIM,
                         "COCOON_CONFIG": os.path.join(self.dir, "none.conf"),
                         "COCOON_SHUTDOWN_TIMEOUT_MS": "3000",
                         "COCOON_STOP_TIMEOUT_MS": "2000"})
        self.env.pop("COCOON_DEFAULT_URI", None)
        self.env.update(env)
        self.kernel = os.path.join(self.dir, "vmlinux")
        with open(self.kernel, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 57)
            f.truncate(1 << 20)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        # nothing we started may survive the test
        for name in os.listdir(self.live_root()) if os.path.isdir(self.live_root()) else []:
            self.kill_vmm(name, 9)
        shutil.rmtree(self.dir, ignore_errors=True)

    def disk(self, name, size=8 << 20, data=b""):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
            f.truncate(size)
        return path

    def xml(self, name, backend="fc", disks=(), nets="", extra="", kernel=None, devices="",
            initrd=None):
        emulator = "/usr/bin/firecracker" if backend == "fc" else "/usr/bin/cloud-hypervisor"
        if backend == "fc":
            console = "<serial type='pty'><target port='0'/></serial>"
            cmdline = "console=ttyS0 reboot=k panic=1"
        else:
            console = "<console type='pty'><target type='virtio' port='0'/></console>"
            cmdline = "console=hvc0"
        disk_xml = ""
        for i, d in enumerate(disks):
            path, transient = (d, False) if isinstance(d, str) else d
            disk_xml += (f"<disk type='file' device='disk'><source file='{path}'/>"
                         f"<target dev='vd{chr(97 + i)}' bus='virtio'/>"
                         f"{'<transient/>' if transient else ''}</disk>\n")
        text = f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel or self.kernel}</kernel>
    {f"<initrd>{initrd}</initrd>" if initrd else ""}
    <cmdline>{cmdline}</cmdline></os>
  {extra}
  <devices>
    <emulator>{emulator}</emulator>
    {disk_xml}{nets}{devices}
    {console}
  </devices>
</domain>
"""
        path = os.path.join(self.dir, f"{name}.xml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def virsh(self, *args, timeout=60, env=None):
        e = dict(self.env)
        if env:
            e.update(env)
        return subprocess.run([VIRSH, "-c", self.uri, *args], capture_output=True, text=True,
                              env=e, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.virsh(*args, **kw)
        if r.returncode != 0:
            print(f"  cocoonvirsh {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    def define(self, name, **kw):
        r = self.ok("define", self.xml(name, **kw))
        assert r.returncode == 0, r.stderr
        return name

    def state(self, name):
        return self.virsh("domstate", name, "--reason").stdout.strip()

    def live_root(self):
        return os.path.join(self.root, "run", "domains")

    def live(self, name):
        return os.path.join(self.live_root(), name)

    def live_files(self, name):
        """The live directory's entries that are not logs."""
        d = self.live(name)
        if not os.path.isdir(d):
            return []
        return sorted(f for f in os.listdir(d) if not f.endswith(".log"))

    def status(self, name):
        path = os.path.join(self.live(name), "status")
        out = {}
        if os.path.exists(path):
            for line in open(path):
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    out[k] = v
        return out

    def pid(self, name):
        return int(self.status(name).get("pid", "0"))

    def console_type(self, name, text, wait_for_output=b"login: "):
        """Attach `cocoonvirsh console` on a terminal, wait for wait_for_output, type text,
        leave with Ctrl+]; returns what the console showed."""
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(VIRSH, [VIRSH, "-c", self.uri, "console", name], self.env)
        seen = b""
        deadline = time.time() + 10
        try:
            while time.time() < deadline and wait_for_output not in seen:
                if select.select([fd], [], [], 0.1)[0]:
                    seen += os.read(fd, 4096)
            os.write(fd, text.encode())
            time.sleep(0.3)
            os.write(fd, b"\x1d")
            deadline = time.time() + 5
            while time.time() < deadline:
                if select.select([fd], [], [], 0.1)[0]:
                    seen += os.read(fd, 4096)
        except OSError:
            pass  # the console ended (the VM went)
        os.close(fd)
        os.waitpid(pid, 0)
        return seen

    def start_console(self, name, until=b"login: "):
        """`cocoonvirsh start --console` on a terminal: seconds until `until` shows (None:
        not within 10 s); leaves the console with Ctrl+]."""
        t0 = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(VIRSH, [VIRSH, "-c", self.uri, "start", name, "--console"], self.env)
        seen, took = b"", None
        try:
            while time.monotonic() - t0 < 10:
                if select.select([fd], [], [], 0.02)[0]:
                    seen += os.read(fd, 4096)
                if until in seen:
                    took = time.monotonic() - t0
                    break
            os.write(fd, b"\x1d")
        except OSError:
            pass
        os.close(fd)
        os.waitpid(pid, 0)
        return took

    def kill_vmm(self, name, sig):
        pid = self.pid(name)
        if pid > 0 and alive(pid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        return pid

    def processes(self):
        """Processes (pid, cmdline) that mention this test's directory."""
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
                state = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if self.dir in cmd and state != "Z":
                out.append((int(p), cmd))
        return out


def alive(pid):
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()
