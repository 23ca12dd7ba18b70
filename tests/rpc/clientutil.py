"""Helpers of the real-client tests that need more than rpcutil: a Firecracker-simulator domain,
waiting for a condition, a line reader for a background client, and a tap (a relay between the
clients and cocoond that records every frame's header, and can hide the modern event feature
so that the client library falls back to libvirt's legacy event procedures)."""

import os
import socket
import struct
import subprocess
import threading
import time

from rpcutil import CALL, MESSAGE, OK, REMOTE_PROGRAM, REPLY, binary, run

PROC_SUPPORTS_FEATURE = 60
FEATURE_REMOTE_EVENT_CALLBACK = 14


def fc_env():
    """The daemon's environment: the Firecracker simulator behind /usr/bin/firecracker."""
    return {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim")}


def write_fc_domain(directory, name, uuid=None):
    """Write a domain that boots on fc-sim (ELF kernel and rootfs files that exist, a serial
    console) into directory; returns the XML file's path. Shared files are made once."""
    kernel = os.path.join(directory, "vmlinux")
    rootfs = os.path.join(directory, f"{name}.ext4")
    for p, size, head in ((kernel, 1 << 20, b"\x7fELF\x02\x01\x01"),  # FC boots ELF only
                          (rootfs, 8 << 20, b"")):
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(head)
                f.truncate(size)
    uuid_line = f"\n  <uuid>{uuid}</uuid>" if uuid else ""
    path = os.path.join(directory, f"{name}.xml")
    with open(path, "w") as f:
        f.write(f"""<domain type='kvm'>
  <name>{name}</name>{uuid_line}
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
    <cmdline>console=ttyS0 reboot=k panic=1</cmdline></os>
  <devices>
    <emulator>/usr/bin/firecracker</emulator>
    <disk type='file' device='disk'><source file='{rootfs}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
""")
    return path


def fc_domain_xml(d, name="web1"):
    """write_fc_domain in daemon d's directory."""
    return write_fc_domain(d.dir, name)


def wait_for(pred, timeout=20.0, step=0.05):
    """Poll pred until it is true or the timeout passes; its last value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Background:
    """A client running in the background with its stdout collected line by line
    (stdbuf -oL: virsh's stdio would otherwise hold every line until it exits)."""

    def __init__(self, argv):
        env = dict(os.environ)
        env["LC_ALL"] = "C"
        env.pop("LIBVIRT_DEFAULT_URI", None)
        self.started = time.time()
        self.proc = subprocess.Popen(["stdbuf", "-oL"] + argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.ended = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        self.proc.wait()
        with self.cond:
            self.ended = time.time()
            self.cond.notify_all()

    def wait_lines(self, n, timeout=20.0):
        """The first n lines once they are there (fewer if the timeout passes)."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.lines) < n and self.ended is None and time.time() < deadline:
                self.cond.wait(0.2)
            return list(self.lines[:n])

    def wait_exit(self, timeout=60.0):
        """Exit status, or None if the process is still running after the timeout."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            return None
        return self.proc.returncode

    def stderr(self):
        return self.proc.stderr.read() if self.ended else ""

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Tap:
    """Relays whole frames between clients connecting to `path` and the daemon's socket
    `upstream`, recording (direction, prog, proc, type, serial, status) for each. With
    legacy_events=True it answers CONNECT_SUPPORTS_FEATURE(REMOTE_EVENT_CALLBACK) with 0, which
    is what an old libvirtd says: the client library then uses procedures 105/106/167/168 and
    expects events as 107."""

    def __init__(self, upstream, path, legacy_events=False):
        self.upstream = upstream
        self.path = path
        self.uri = f"cocoon+unix:///system?socket={path}"
        self.legacy_events = legacy_events
        self.frames = []
        self.cond = threading.Condition()
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(path)
        self.listener.listen(8)
        self.socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.upstream)
            self.socks += [c, s]
            hidden = set()  # serials of this connection's SUPPORTS_FEATURE(14) calls
            threading.Thread(target=self._pump, args=(c, s, "c2s", hidden), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "s2c", hidden), daemon=True).start()

    @staticmethod
    def _recv_exact(sock, n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _pump(self, src, dst, direction, hidden):
        try:
            while True:
                head = self._recv_exact(src, 4)
                (length,) = struct.unpack(">I", head)
                body = self._recv_exact(src, length - 4)
                hdr = struct.unpack(">IIiiIi", body[:24])
                prog, _, proc, mtype, serial, status = hdr
                if self.legacy_events and prog == REMOTE_PROGRAM and \
                        proc == PROC_SUPPORTS_FEATURE:
                    if direction == "c2s" and mtype == CALL and \
                            struct.unpack(">i", body[24:28])[0] == FEATURE_REMOTE_EVENT_CALLBACK:
                        hidden.add(serial)
                    elif direction == "s2c" and mtype == REPLY and status == OK and \
                            serial in hidden:
                        body = body[:24] + struct.pack(">i", 0)
                with self.cond:
                    self.frames.append((direction, prog, proc, mtype, serial, status))
                    self.cond.notify_all()
                dst.sendall(head + body)
        except (EOFError, OSError):
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def count(self, direction, proc, mtype):
        with self.cond:
            return sum(1 for f in self.frames
                       if f[0] == direction and f[1] == REMOTE_PROGRAM and f[2] == proc and
                       f[3] == mtype)

    def procs(self, direction, mtype):
        """The remote-program procedure numbers seen, in order."""
        with self.cond:
            return [f[2] for f in self.frames
                    if f[0] == direction and f[1] == REMOTE_PROGRAM and f[3] == mtype]

    def wait_count(self, direction, proc, mtype, n, timeout=20.0):
        """Wait until more than n frames of (direction, proc, type) went through; True if so."""
        deadline = time.time() + timeout
        with self.cond:
            while self.count(direction, proc, mtype) <= n and time.time() < deadline:
                self.cond.wait(0.2)
            return self.count(direction, proc, mtype) > n

    def close(self):
        self.listener.close()
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


__all__ = ["Background", "MESSAGE", "Tap", "fc_domain_xml", "fc_env", "run", "wait_for",
           "write_fc_domain"]
