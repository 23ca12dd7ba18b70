#!/usr/bin/python3
"""cocoonvirsh console and start --console end to end: the embedded driver starts a simulated
VMM (tests/sim), the driver's console relay serves its console, and the real cocoonvirsh attaches
the way a user does: on a terminal (tmux), or with piped input as a script does.

usage: test_console_e2e.py fc|ch CASE
CASE: not-running | tmux | start-console | viewers | force | vm-dies | burst
"""

import hashlib
import os
import random
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BANNER_FMT = "Connected to domain '{}'\nEscape character is ^] (Ctrl + ])\n"
LOGIN = "cocoon-sim login: "
SHELL = "root@cocoon-sim:~# "
BOOT_LINE = "Linux version 6.1.0-cocoon-sim"


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok   {msg}")


def check(what, cond, detail=""):
    if not cond:
        fail(f"{what}\n{detail}")
    ok(what)


class Env:
    """An embedded-driver root with one domain of the chosen backend, on a simulator."""

    def __init__(self, backend):
        build = os.environ.get("COCOON_BUILDDIR")
        if not build:
            sys.exit("COCOON_BUILDDIR is not set (run through meson test)")
        self.virsh = os.path.join(build, "tools", "virsh", "cocoonvirsh")
        self.backend = backend
        self.dir = tempfile.mkdtemp(prefix="cocoon-cons-")
        self.uri = f"cocoon:///embed?root={self.dir}"
        self.name = f"cons-{backend}"
        self.env = dict(os.environ)
        self.env.pop("COCOON_DEFAULT_URI", None)
        self.env.pop("COCOON_CONSOLE_RELAY", None)  # found next to cocoonvirsh, as installed
        self.env["LC_ALL"] = "C"
        self.env["COCOON_FIRECRACKER"] = os.path.join(build, "tests", "sim", "fc-sim")
        self.env["COCOON_CLOUD_HYPERVISOR"] = os.path.join(build, "tests", "sim", "ch-sim")
        kernel = os.path.join(self.dir, "vmlinux")
        disk = os.path.join(self.dir, "rootfs.raw")
        with open(kernel, "wb") as f:
            f.write(b"\x7fELF" + b"\0" * 4092)
        with open(disk, "wb") as f:
            f.truncate(16 << 20)
        if backend == "fc":
            emulator, dev = "/usr/bin/firecracker", "<serial type='pty'><target port='0'/></serial>"
            cmdline = "console=ttyS0 root=/dev/vda rw"
        else:
            emulator = "/usr/bin/cloud-hypervisor"
            dev = "<console type='pty'><target type='virtio' port='0'/></console>"
            cmdline = "console=hvc0 root=/dev/vda rw"
        self.xml = os.path.join(self.dir, "domain.xml")
        with open(self.xml, "w") as f:
            f.write(f"""<domain type='kvm'>
  <name>{self.name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel><cmdline>{cmdline}</cmdline></os>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/>
      <source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    {dev}
  </devices>
</domain>
""")
        self.run_ok("define", self.xml)

    def argv(self, *args):
        return [self.virsh, "-c", self.uri, *args]

    def run(self, *args, stdin=None, timeout=60):
        p = subprocess.run(self.argv(*args), input=stdin, capture_output=True, env=self.env,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def run_ok(self, *args):
        rc, out, err = self.run(*args)
        if rc != 0:
            fail(f"cocoonvirsh {' '.join(args)}: exit {rc}\n{out}{err}")
        return out

    def popen(self, *args):
        return subprocess.Popen(self.argv(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env)

    def state(self):
        return self.run_ok("domstate", self.name).strip()

    def socket_path(self):
        return os.path.join(self.dir, "run", "domains", self.name, "console.sock")

    def start(self):
        self.run_ok("start", self.name)
        check("domain running after start", self.state() == "running", self.state())

    def wait_for_output(self, want, timeout=20):
        """Until the guest has printed want (seen by a read-only viewer's scrollback)."""
        deadline = time.monotonic() + timeout
        seen = b""
        while time.monotonic() < deadline:
            with Viewer(self.socket_path(), "readonly") as v:
                seen = v.read_for(0.3)
            if want.encode() in seen:
                return seen
        fail(f"the guest never printed {want!r}; saw {seen[-500:]!r}")

    def login(self):
        """Log in on the guest's console with a scripted session (piped input)."""
        self.wait_for_output(LOGIN)
        rc, out, err = self.run("console", self.name, stdin=b"root\r")
        check("scripted login exits 0", rc == 0, out + err)
        check("scripted login reaches the shell", SHELL in out, out)

    def close(self):
        if os.path.exists(os.path.join(self.dir, "run", "domains", self.name)):
            self.run("destroy", self.name)
        shutil.rmtree(self.dir, ignore_errors=True)


class Viewer:
    """A viewer speaking the relay protocol directly (read-only viewers are Cocoon's own)."""

    def __init__(self, path, mode):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.sendall(f"ATTACH {mode}\n".encode())
        reply = b""
        while not reply.endswith(b"\n"):
            c = self.s.recv(1)
            if not c:
                break
            reply += c
        if reply != b"OK\n":
            raise RuntimeError(f"relay refused {mode}: {reply!r}")
        self.data = b""

    def read_bytes(self, marker, count, timeout):
        """Read until count bytes follow the first marker (or timeout): a viewer that was
        not reading while output arrived drains what the relay buffered for it."""
        buf = bytearray(self.data)
        self.s.settimeout(0.2)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pos = buf.find(marker)
            if pos >= 0 and len(buf) - pos >= count:
                break
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
        self.data = bytes(buf)
        return self.data

    def read_for(self, seconds):
        self.s.settimeout(0.05)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            self.data += chunk
        return self.data

    def read_until(self, want, timeout=10):
        end = time.monotonic() + timeout
        while want not in self.data and time.monotonic() < end:
            self.read_for(0.1)
        return want in self.data

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.s.close()


class Tmux:
    def __init__(self, sockdir):
        self.sock = os.path.join(sockdir, "tmux.sock")

    def __call__(self, *args):
        p = subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"tmux {args}: {p.stderr}")
        return p.stdout

    def screen(self):
        return self("capture-pane", "-p", "-J", "-t", "t", "-S", "-200")

    def wait_for(self, text, timeout=20.0):
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                fail(f"{text!r} never appeared on the terminal; screen:\n{screen}")
            time.sleep(0.1)

    def keys(self, *keys):
        self("send-keys", "-t", "t", *keys)

    def type(self, text):
        self("send-keys", "-t", "t", "-l", text)
        self("send-keys", "-t", "t", "Enter")

    def kill(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], capture_output=True)


def terminal_session(env, virsh_args, before_exit):
    """Run cocoonvirsh on a tmux terminal between two `stty -g` snapshots; before_exit drives
    the session; returns (screen, terminal restored?)."""
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed (scripts/setup.sh installs it)")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="cocoon-tmux-") as tdir:
        tmux = Tmux(tdir)
        before, after = os.path.join(tdir, "before"), os.path.join(tdir, "after")
        # the tmux server does not pass our environment on: name what cocoonvirsh needs
        keep = ["COCOON_FIRECRACKER", "COCOON_CLOUD_HYPERVISOR", "LC_ALL", "ASAN_OPTIONS",
                "UBSAN_OPTIONS", "LSAN_OPTIONS"]
        cmd = " ".join(["env", "-u", "COCOON_CONSOLE_RELAY"] +
                       [shlex.quote(f"{k}={env.env[k]}") for k in keep if k in env.env] +
                       [shlex.quote(a) for a in env.argv(*virsh_args)])
        # the snapshot after is renamed into place, so it is never read half-written
        script = (f"stty -g > {before}; {cmd}; echo \"exit status $?\"; "
                  f"stty -g > {after}.tmp && mv {after}.tmp {after}; sleep 60")
        tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50", "bash", "--norc", "-c",
             script)
        try:
            before_exit(tmux)
            screen = tmux.wait_for("exit status ")
            deadline = time.monotonic() + 5
            while not os.path.exists(after) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(before) as f, open(after) as g:
                restored = f.read() == g.read()
            return screen, restored
        finally:
            tmux.kill()


def proc_read_until(p, want, timeout=10):
    """Read p's stdout until want shows (or timeout); returns what was read."""
    data = b""
    end = time.monotonic() + timeout
    while want not in data and time.monotonic() < end:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                break
            data += chunk
    return data


def case_not_running(env):
    rc, out, err = env.run("console", env.name)
    check("console on a shut off domain fails", rc == 1, f"rc={rc}")
    check("virsh's message", err == "error: The domain is not running\n", repr(err))
    check("stdout as virsh: one empty line", out == "\n", repr(out))


def case_tmux(env):
    env.start()
    env.wait_for_output(LOGIN)

    def drive(tmux):
        tmux.wait_for("Escape character is ^] (Ctrl + ])")
        tmux.wait_for(LOGIN.strip())  # the scrollback
        tmux.type("root")
        tmux.wait_for(SHELL.strip())
        tmux.type("echo typed-through-tmux-42")
        screen = tmux.wait_for("\ntyped-through-tmux-42")
        check("the guest echoes what is typed", "echo typed-through-tmux-42" in screen, screen)
        tmux.keys("C-]")

    screen, restored = terminal_session(env, ["console", env.name], drive)
    check("banner", BANNER_FMT.format(env.name) in screen, screen)
    check("Ctrl+] leaves with status 0", "exit status 0" in screen, screen)
    check("the terminal is restored", restored)
    check("the domain still runs", env.state() == "running")


def case_start_console(env):
    def drive(tmux):
        tmux.wait_for(f"Domain '{env.name}' started")
        tmux.wait_for("Escape character is ^] (Ctrl + ])")
        tmux.wait_for(LOGIN.strip(), timeout=30)
        tmux.keys("C-]")

    screen, restored = terminal_session(env, ["start", env.name, "--console"], drive)
    check("started, then attached", f"Domain '{env.name}' started\n" + BANNER_FMT.format(env.name)
          in screen, screen)
    check("the boot log from the start (scrollback)", BOOT_LINE in screen, screen)
    check("start --console exits 0", "exit status 0" in screen, screen)
    check("the terminal is restored", restored)


def case_viewers(env):
    env.start()
    env.login()
    path = env.socket_path()
    with Viewer(path, "readonly") as r1, Viewer(path, "readonly") as r2:
        p = env.popen("console", env.name)
        p.stdin.write(b"echo three-viewers-see-this\r")
        p.stdin.flush()
        check("read-only viewer 1 sees the interactive session",
              r1.read_until(b"\nthree-viewers-see-this\r\n"), repr(r1.data[-300:]))
        check("read-only viewer 2 sees the interactive session",
              r2.read_until(b"\nthree-viewers-see-this\r\n"), repr(r2.data[-300:]))
        r1.s.sendall(b"echo from-readonly\r")  # read and discarded by the relay
        out, err = p.communicate(timeout=30)  # closes the input: the session ends
        check("interactive viewer exits 0", p.returncode == 0, err.decode())
        check("interactive viewer saw its answer", b"\nthree-viewers-see-this\r\n" in out, out)
        r2.read_for(0.5)
        check("a read-only viewer's input never reaches the guest",
              b"from-readonly" not in r2.data, repr(r2.data[-300:]))


def case_force(env):
    env.start()
    env.login()
    first = env.popen("console", env.name)
    seen = proc_read_until(first, SHELL.encode())
    check("the first session is attached (scrollback shown)", SHELL.encode() in seen, seen)
    rc, out, err = env.run("console", env.name, stdin=b"")
    check("a second session is refused", rc == 1, out + err)
    check("with libvirt's words",
          "error: operation failed: active console session exists for this domain" in err, err)
    rc, out, err = env.run("console", env.name, "--force", stdin=b"echo forced-session\r")
    check("--force takes over and exits 0", rc == 0, out + err)
    check("--force session talks to the guest", "\nforced-session\r\n" in out, out)
    out1, err1 = first.communicate(timeout=15)
    check("the displaced session ends by itself, status 0", first.returncode == 0,
          f"rc={first.returncode} {err1.decode()}")
    check("the displaced session did not see the new one's output",
          b"forced-session" not in seen + out1, (seen + out1)[-300:])


def case_vm_dies(env):
    env.start()
    env.login()
    p = env.popen("console", env.name)
    time.sleep(0.5)
    if env.backend == "ch":
        # the guest powers off (CH exits): the viewer sees the guest's last words
        p.stdin.write(b"poweroff\r")
        p.stdin.flush()
    else:
        # FC's guest halts but the process stays: the host ends it
        env.run_ok("destroy", env.name)
    out, err = p.communicate(timeout=30)
    check("the viewer exits 0 when the VM ends", p.returncode == 0,
          f"rc={p.returncode} {err.decode()}")
    if env.backend == "ch":
        check("it saw the guest power down", b"reboot: Power down" in out, out[-400:])
    deadline = time.monotonic() + 10
    while env.state() != "shut off" and time.monotonic() < deadline:
        time.sleep(0.1)
    check("the domain is shut off", env.state() == "shut off", env.state())
    check("the relay removed its socket", not os.path.exists(env.socket_path()))
    rc, out, err = env.run("console", env.name)
    check("console afterwards: not running",
          rc == 1 and err == "error: The domain is not running\n", err)


def case_burst(env):
    env.start()
    env.login()
    rnd = random.Random(int(os.environ.get("COCOON_TEST_SEED", "1234")))
    alphabet = bytes(range(0x21, 0x7f))
    size = 10 << 20
    payload = bytes(rnd.choice(alphabet) for _ in range(4096)) * (size // 4096)
    payload = b"<<" + bytes(rnd.choice(alphabet) for _ in range(30)) + payload[32:]
    t0 = time.monotonic()
    with Viewer(env.socket_path(), "readonly") as ro:
        # the simulated guest echoes 10 MiB slowly on a loaded machine: let the tail arrive
        env.env["COCOON_CONSOLE_IDLE_MS"] = "10000"
        p = env.popen("console", env.name)
        out, err = p.communicate(input=payload, timeout=600)
        ro.read_bytes(payload[:64], len(payload), timeout=120)
    dt = time.monotonic() - t0
    check("console with 10 MiB piped input exits 0", p.returncode == 0, err.decode())
    digest = hashlib.sha256(payload).hexdigest()
    pos = out.find(payload[:64])
    echoed = out[pos:pos + len(payload)] if pos >= 0 else b""
    check(f"10 MiB echoed byte-exact to the interactive viewer in {dt:.1f}s (sha256 {digest[:16]})",
          hashlib.sha256(echoed).hexdigest() == digest, f"got {len(echoed)} bytes at {pos}")
    rpos = ro.data.find(payload[:64])
    check("and to a read-only viewer",
          rpos >= 0 and hashlib.sha256(ro.data[rpos:rpos + len(payload)]).hexdigest() == digest,
          f"got {len(ro.data)} bytes")


CASES = {
    "not-running": case_not_running,
    "tmux": case_tmux,
    "start-console": case_start_console,
    "viewers": case_viewers,
    "force": case_force,
    "vm-dies": case_vm_dies,
    "burst": case_burst,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("fc", "ch") or sys.argv[2] not in CASES:
        sys.exit(__doc__)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    env = Env(sys.argv[1])
    try:
        CASES[sys.argv[2]](env)
    finally:
        env.close()


if __name__ == "__main__":
    main()
