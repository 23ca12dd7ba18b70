"""Helpers for the simulator self-tests: HTTP over a UNIX socket, processes, PTYs, TAPs."""
import atexit
import http.client
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a UNIX stream socket (keep-alive capable)."""

    def __init__(self, path, timeout=5):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Api:
    """One keep-alive connection; call() returns (status, parsed JSON or raw text, headers)."""

    def __init__(self, path):
        self.path = path
        self.conn = UnixHTTPConnection(path)

    def call(self, method, url, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        self.conn.request(method, url, body=data, headers=headers)
        r = self.conn.getresponse()
        text = r.read().decode()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return r.status, parsed, r

    def close(self):
        self.conn.close()


FAILURES = []


def check(cond, what):
    if cond:
        print("ok   - " + what)
    else:
        print("FAIL - " + what)
        FAILURES.append(what)


def check_eq(got, want, what):
    check(got == want, "%s (got %r, want %r)" % (what, got, want))


def finish():
    if FAILURES:
        print("%d check(s) failed" % len(FAILURES))
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def wait_for(pred, timeout=5.0, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def wait_socket(path, proc=None, timeout=5.0):
    def ready():
        if proc is not None and proc.poll() is not None:
            return True
        if not os.path.exists(path):
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            return False
        finally:
            s.close()
    return wait_for(ready, timeout)


class Proc:
    """A simulator process whose stdin/stdout is a PTY (its serial console when it has one)."""

    def __init__(self, argv, env=None, with_pty=True, cwd=None):
        self.master = None
        e = dict(os.environ)
        e.update(env or {})
        stdin = stdout = subprocess.DEVNULL
        slave = None
        if with_pty:
            self.master, slave = pty.openpty()
            stdin = stdout = slave
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                  env=e, cwd=cwd, start_new_session=True)
        _CLEANUP.append(self.p)
        if slave is not None:
            os.close(slave)
        self.out = b""

    def read_until(self, needle, timeout=5.0, fd=None):
        fd = self.master if fd is None else fd
        buf = self.out if fd == self.master else b""
        end = time.time() + timeout
        while needle.encode() not in buf and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.05)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
        if fd == self.master:
            self.out = buf
        return needle.encode() in buf, buf.decode(errors="replace")

    def write(self, text, fd=None):
        os.write(self.master if fd is None else fd, text.encode())

    def wait(self, timeout=5.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()
        err = self.p.stderr.read().decode(errors="replace")
        check("Sanitizer" not in err and "runtime error" not in err,
              "no sanitizer report from %s" % os.path.basename(self.p.args[0]))
        if self.master is not None:
            os.close(self.master)
            self.master = None
        self.p.stderr.close()


_CLEANUP = []


@atexit.register
def _cleanup():
    for obj in reversed(_CLEANUP):
        if isinstance(obj, str):
            shutil.rmtree(obj, ignore_errors=True)
        elif isinstance(obj, Tap):
            obj.delete()
        elif isinstance(obj, subprocess.Popen) and obj.poll() is None:
            obj.kill()
            obj.wait()


def tmpdir():
    d = tempfile.mkdtemp(prefix="cocoon-sim-test-")
    _CLEANUP.append(d)
    return d


def make_file(path, size=1 << 20, content=None):
    with open(path, "wb") as f:
        if content is not None:
            f.write(content)
        else:
            f.truncate(size)
    return path


class Tap:
    """A real TAP interface (needs root); removed by delete()."""

    def __init__(self, name, multi_queue=False):
        self.name = name
        subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"] +
                       (["multi_queue"] if multi_queue else []), check=True)
        _CLEANUP.append(self)

    def delete(self):
        subprocess.run(["ip", "link", "del", self.name], stderr=subprocess.DEVNULL)


def tap_exists(name):
    return os.path.exists("/sys/class/net/" + name)


def can_use_taps():
    return os.geteuid() == 0 and os.path.exists("/dev/net/tun")


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]
