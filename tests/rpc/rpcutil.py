"""Shared helpers of the cocoond integration tests: a daemon on a throw-away root with private
socket paths, Debian's virsh and the embedded cocoonvirsh against it, and a minimal raw client
that writes libvirt RPC frames by hand (for the robustness tests)."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("COCOON_SRCDIR", os.path.join(HERE, "..", ".."))
DATA = os.path.join(SRCDIR, "tests", "cli", "data")

REMOTE_PROGRAM = 0x20008086
KEEPALIVE_PROGRAM = 0x6B656570
COCOON_PROGRAM = 0x434F434E
CALL, REPLY, MESSAGE, STREAM = 0, 1, 2, 3
OK, ERROR, CONTINUE = 0, 1, 2
VIR_ERR_NO_SUPPORT = 3
VIR_ERR_RPC = 39
VIR_ERR_OPERATION_DENIED = 29  # virterror.h: virErrorNumber


def builddir():
    b = os.environ.get("COCOON_BUILDDIR")
    if not b:
        sys.exit("COCOON_BUILDDIR is not set (run through meson test)")
    return b


def binary(*rel):
    path = os.path.join(builddir(), *rel)
    if not os.access(path, os.X_OK):
        sys.exit(f"{path} is not built")
    return path


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


class Daemon:
    """cocoond on a temporary root, listening on private sockets."""

    def __init__(self, env=None, wrap=()):
        """env: added to the daemon's environment; wrap: argv it runs under (ip netns exec …)."""
        self.dir = tempfile.mkdtemp(prefix="cocoond-test-")
        self.root = os.path.join(self.dir, "root")
        self.run = os.path.join(self.dir, "run")
        self.sock = os.path.join(self.dir, "sock")
        self.ro_sock = self.sock + "-ro"
        self.uri = f"cocoon+unix:///system?socket={self.sock}"
        self.ro_uri = f"cocoon+unix:///system?socket={self.ro_sock}"
        self.embed_uri = f"cocoon:///embed?root={self.root}&run={self.run}"
        self.errlog = open(os.path.join(self.dir, "stderr"), "w+")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.wrap = list(wrap)
        self.spawn()

    def spawn(self):
        self.proc = subprocess.Popen(
            self.wrap + [binary("tools", "daemon", "cocoond"), "--root", self.root, "--run-dir",
                         self.run, "--socket", self.sock, "--verbose"],
            stdout=subprocess.DEVNULL, stderr=self.errlog, env=self.env)
        self.wait_ready()

    def restart(self):
        """SIGTERM, then a new cocoond on the same root and sockets; the VMs keep running."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.spawn()

    def wait_ready(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"cocoond exited early ({self.proc.returncode}):\n{self.stderr()}")
            if os.path.exists(self.ro_sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(self.sock)
                    s.close()
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise SystemExit("cocoond did not start listening within 20 s")

    def stderr(self):
        self.errlog.flush()
        with open(self.errlog.name) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; the daemon must exit 0, remove its sockets and report no sanitizer error."""
        problems = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problems.append("cocoond did not exit within 30 s of SIGTERM")
        if self.proc.returncode != 0:
            problems.append(f"cocoond exited with {self.proc.returncode}")
        for p in (self.sock, self.ro_sock):
            if os.path.exists(p):
                problems.append(f"socket {p} left behind")
        err = self.stderr()
        if "Sanitizer" in err or "runtime error" in err:
            problems.append("sanitizer report")
        self.errlog.close()
        if problems:
            print(err, file=sys.stderr)
            raise AssertionError("; ".join(problems))
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest):
        if exc_type is None:
            self.stop()
        else:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            print(self.stderr(), file=sys.stderr)


def run(argv, stdin=None, env=None, timeout=60, cwd=None):
    """Run argv (in cwd); (exit status, stdout, stderr) as text."""
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"
    full_env.pop("LIBVIRT_DEFAULT_URI", None)
    full_env.pop("COCOON_DEFAULT_URI", None)
    if env:
        full_env.update(env)
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=full_env,
                       timeout=timeout, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def virsh(uri, *args, readonly=False):
    argv = ["virsh", "-c", uri]
    if readonly:
        argv.append("-r")
    return run(argv + list(args))


def cocoonvirsh(uri, *args):
    return run([binary("tools", "virsh", "cocoonvirsh"), "-c", uri] + list(args))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok - {what}")


# ---- a raw client: frames written with struct, to send what no libvirt client would ----

def frame(prog, vers, proc, mtype, serial, status=OK, payload=b""):
    body = struct.pack(">IIiiIi", prog, vers, proc, mtype, serial, status) + payload
    return struct.pack(">I", len(body) + 4) + body


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def xdr_opt_string(s):
    return struct.pack(">I", 0) if s is None else struct.pack(">I", 1) + xdr_string(s)


class RawClient:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.serial = 0

    def send(self, data):
        self.s.sendall(data)

    def call(self, proc, payload=b"", prog=REMOTE_PROGRAM, vers=1):
        serial = self.serial
        self.serial += 1
        self.send(frame(prog, vers, proc, CALL, serial, OK, payload))
        return serial

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf

    def recv(self):
        """(header tuple, payload) of the next message."""
        (length,) = struct.unpack(">I", self.recv_exact(4))
        body = self.recv_exact(length - 4)
        return struct.unpack(">IIiiIi", body[:24]), body[24:]

    def reply(self, serial):
        while True:
            hdr, payload = self.recv()
            if hdr[3] == REPLY and hdr[4] == serial:
                return hdr, payload

    def open(self, name="cocoon:///system", flags=0):
        s = self.call(1, xdr_opt_string(name) + struct.pack(">I", flags))
        hdr, payload = self.reply(s)
        if hdr[5] != OK:
            raise AssertionError(f"CONNECT_OPEN failed: {parse_error(payload)}")

    def closed_by_peer(self, timeout=10):
        """True once the server has closed this connection (reads drain what it sent)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def parse_error(payload):
    """(code, domain, message) of a remote_error body."""
    code, domain, present = struct.unpack(">iiI", payload[:12])
    msg = None
    if present:
        (n,) = struct.unpack(">I", payload[12:16])
        msg = payload[16:16 + n].decode()
    return code, domain, msg


def daemon_answers(d):
    """A normal client still gets its answer: a fresh python-libvirt connection lists domains."""
    import libvirt
    c = libvirt.open(d.uri)
    try:
        c.listAllDomains(0)
        return True
    finally:
        c.close()
