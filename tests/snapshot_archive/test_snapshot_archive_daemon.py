#!/usr/bin/python3
"""snapshot-export / snapshot-import through cocoond: the archive GNU tar lists, the same
members and contents as the embedded export, imports into a fresh daemon state from a file and
from stdin, hostile archives refused with the embedded path's error (the hostile cases of
test_snapshot_archive.py through the daemon), an export that fails mid-stream, clients killed
mid-export and mid-import, the daemon serving others while an export is stalled, read-only
connections refused, and the progress bar on a terminal."""

import os
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_snapshot_archive as T  # noqa: E402

BUILD = os.environ["COCOON_BUILDDIR"]
COCOOND = os.path.join(BUILD, "tools", "daemon", "cocoond")
MIB = T.MIB


class Daemon:
    """cocoond on root with its sockets in a temporary folder."""

    def __init__(self, root, tmp):
        os.makedirs(root, exist_ok=True)
        self.sock = os.path.join(tmp, f"sock-{os.path.basename(root)}")
        self.uri = f"cocoon+unix:///system?socket={self.sock}"
        self.ro_uri = f"cocoon+unix:///system?socket={self.sock}-ro"
        self.logpath = os.path.join(tmp, f"cocoond-{os.path.basename(root)}.log")
        self.log = open(self.logpath, "a")
        env = asan_env()
        self.proc = subprocess.Popen([COCOOND, "--root", root, "--run-dir",
                                      os.path.join(root, "run"), "--socket", self.sock],
                                     stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            with socket.socket(socket.AF_UNIX) as s:
                try:
                    s.connect(self.sock)
                    return
                except OSError:
                    time.sleep(0.05)
        raise SystemExit("cocoond did not come up")

    def threads(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        """SIGTERM; 0 when it exited 0 without a sanitizer report."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        with open(self.logpath) as f:
            text = f.read()
        if "Sanitizer" in text or "runtime error" in text:
            print(text)
            return -1
        return rc


def members(archive):
    """{name: bytes} of an archive as GNU tar extracts it."""
    out = tempfile.mkdtemp(prefix="cocoon-x-")
    subprocess.run(["tar", "--zstd", "-xf", archive, "-C", out], check=True)
    got = {}
    for d, dirs, files in os.walk(out):
        for n in dirs:
            got[os.path.relpath(os.path.join(d, n), out) + "/"] = None
        for n in files:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                got[os.path.relpath(p, out)] = f.read()
    subprocess.run(["rm", "-rf", out], check=True)
    return got


def asan_env():
    """AddressSanitizer keeps freed memory aside (256 MiB by default): a small quarantine lets
    the RSS say what a process holds."""
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4"
    return env


def peak_rss_kib(cmd):
    """The highest RSS cmd reaches (sampled), its output thrown away."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=asan_env())
    peak = 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.01)
    assert p.returncode == 0, cmd
    return peak


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class DaemonBase(T.Base):
    """The embedded setup of Base (domain fc-minimal, snapshot s1 of 64 MiB, its embedded
    export self.archive), then cocoond on r1 (self.d1) and on a fresh r2 (self.d2)."""

    def setUp(self):
        super().setUp()
        self.embedded_u1 = self.u1
        self.d1 = Daemon(self.r1, self.tmp)
        self.d2 = Daemon(self.r2, self.tmp)

    def tearDown(self):
        for d in (self.d1, self.d2):
            self.assertEqual(d.stop(), 0, "cocoond exits cleanly, no sanitizer report")
        super().tearDown()

    def big_memory(self, size=192 * MIB):
        """Turn s1's memory into size bytes of incompressible data (the archive is as big):
        an export of it takes long enough to be caught in the middle."""
        mem = os.path.join(self.snapdir, "memory")
        with open(mem, "wb") as f:
            for _ in range(size // (16 * MIB)):
                f.write(os.urandom(16 * MIB))
        # meta.json states the memory file's size; an export does not compare it with the
        # definition (an import does)
        meta_path = os.path.join(self.snapdir, "meta.json")
        with open(meta_path) as f:
            meta = json.load(f)
        meta["memory"]["size"] = size
        with open(meta_path, "w") as f:
            json.dump(meta, f)
        return mem


class ExportImport(DaemonBase):
    def test_export_lists_and_equals_embedded(self):
        path = os.path.join(self.tmp, "remote.tar.zst")
        rc, out, err = T.virsh(self.d1.uri, "snapshot-export", "fc-minimal", "s1", path)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, f"Domain snapshot s1 exported to {path}\n\n".encode())
        p = subprocess.run(["tar", "--zstd", "-tf", path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue({"s1/cocoon-archive.json", "s1/meta.json", "s1/snapshot.xml",
                         "s1/memory", "s1/vmstate", "s1/disks/vda.img"} <= set(p.stdout.split()))
        remote, local = members(path), members(self.archive)
        self.assertEqual(sorted(remote), sorted(local))
        for name in local:
            if name.endswith("cocoon-archive.json"):
                continue  # carries the time of the export
            self.assertEqual(remote[name], local[name], name)
        # the embedded export's temporary file is gone, nothing else was left
        self.assertEqual(sorted(n for n in os.listdir(self.tmp) if n.startswith(".")), [])

    def test_import_into_fresh_daemon_from_file_and_stdin(self):
        rc, out, err = T.virsh(self.d2.uri, "snapshot-import", self.archive)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, b"Domain snapshot s1 imported into domain 'fc-minimal'\n\n")
        rc, out, _ = T.virsh(self.d2.uri, "snapshot-list", "fc-minimal", "--name")
        self.assertEqual(out.split(), [b"s1"])
        got = os.path.join(self.r2, "domains", "fc-minimal", "snapshots", "s1")
        for rel in ("memory", "vmstate", "disks/vda.img"):
            with open(os.path.join(got, rel), "rb") as a, \
                    open(os.path.join(self.snapdir, rel), "rb") as b:
                self.assertEqual(a.read(), b.read(), rel)
        # holes stay holes through the daemon too
        self.assertLess(T.allocated(os.path.join(got, "memory")), 8 * MIB)
        # from standard input, under another name
        with open(self.archive, "rb") as f:
            data = f.read()
        rc, out, err = T.virsh(self.d2.uri, "snapshot-import", "-", "--name", "again",
                               stdin=data)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, b"Domain snapshot again imported into domain 'fc-minimal'\n\n")
        rc, out, _ = T.virsh(self.d2.uri, "snapshot-list", "fc-minimal", "--name")
        self.assertEqual(sorted(out.split()), [b"again", b"s1"])
        # the same refusal as embedded for a name taken
        rc, _, err = T.virsh(self.d2.uri, "snapshot-import", "-", "--name", "again", stdin=data)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "error: Requested operation is not valid: domain 'fc-minimal' "
                              "already has a snapshot named 'again'\n")
        self.assertEqual(os.listdir(os.path.join(self.r2, "staging")), [])
        # the domain it defined is the one of r1
        _, a, _ = T.virsh(self.embedded_u1, "dumpxml", "fc-minimal")
        _, b, _ = T.virsh(self.d2.uri, "dumpxml", "fc-minimal")
        self.assertEqual(a, b)

    def test_roundtrip_through_pipes(self):
        rc, data, err = T.virsh(self.d1.uri, "snapshot-export", "fc-minimal", "s1", "-")
        self.assertEqual((rc, err), (0, ""))
        rc, out, err = T.virsh(self.d2.uri, "snapshot-import", "-", "web2", stdin=data)
        self.assertEqual((rc, err), (0, ""))
        rc, out, _ = T.virsh(self.d2.uri, "list", "--all", "--name")
        self.assertEqual(out.split(), [b"web2"])

    def test_errors_as_embedded(self):
        for uri in (self.embedded_u1, self.d1.uri):
            rc, _, err = T.virsh(uri, "snapshot-export", "fc-minimal", "nope",
                                 os.path.join(self.tmp, "x.tar.zst"))
            self.assertEqual(rc, 1)
            self.assertEqual(err, "error: Domain snapshot not found: no domain snapshot with "
                                  "matching name 'nope'\n")
            rc, _, err = T.virsh(uri, "snapshot-export", "nodom", "s1",
                                 os.path.join(self.tmp, "x.tar.zst"))
            self.assertEqual(rc, 1)
            self.assertEqual(err, "error: failed to get domain 'nodom'\n")
        self.assertFalse([n for n in os.listdir(self.tmp) if "x.tar.zst" in n])

    def test_read_only_connection(self):
        """An export hands out the guest's memory and disks: like virDomainMemoryPeek it
        needs a read-write connection; an import writes."""
        path = os.path.join(self.tmp, "ro.tar.zst")
        rc, _, err = T.virsh(self.d1.ro_uri, "snapshot-export", "fc-minimal", "s1", path)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "error: operation forbidden: read only access prevents "
                              "cocoonSnapshotExport\n")
        self.assertFalse(os.path.exists(path))
        rc, _, err = T.virsh(self.d2.ro_uri, "snapshot-import", self.archive)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "error: operation forbidden: read only access prevents "
                              "cocoonSnapshotImport\n")
        rc, out, _ = T.virsh(self.d2.uri, "list", "--all", "--name")
        self.assertEqual(out.split(), [])

    def test_progress_bar_only_on_a_terminal(self):
        rc, _, err = T.virsh(self.d1.uri, "snapshot-export", "fc-minimal", "s1",
                             os.path.join(self.tmp, "quiet.tar.zst"))
        self.assertEqual((rc, err), (0, ""))
        for args, what in ((["snapshot-export", "fc-minimal", "s1",
                             os.path.join(self.tmp, "tty.tar.zst")], b"Exporting ["),
                           (["snapshot-import", self.archive, "--name", "tty"], b"Importing [")):
            rc, seen = T.stderr_on_tty(self.d1.uri, *args)
            self.assertEqual(rc, 0, seen)
            self.assertIn(what, seen)
            self.assertIn(b"100%", seen)


class MidStream(DaemonBase):
    def test_export_fails_mid_stream(self):
        """The memory file shrinks while it is archived: the archive has started, the server
        ends the stream with the error, the client says it and removes its partial file."""
        mem = self.big_memory()
        path = os.path.join(self.tmp, "broken.tar.zst")
        p = subprocess.Popen([T.V, "-c", self.d1.uri, "snapshot-export", "fc-minimal", "s1",
                              path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def partial():
            tmps = [n for n in os.listdir(self.tmp) if n.startswith(".broken.tar.zst.tmp-")]
            return tmps and os.path.getsize(os.path.join(self.tmp, tmps[0])) > 2 * MIB
        wait_for(partial, what="the export's first megabytes")
        os.truncate(mem, 128 * MIB)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1, err)
        self.assertEqual(err.decode(),
                         "error: cannot export snapshot 's1' of domain 'fc-minimal': cannot read "
                         f"'{self.snapdir}/memory': Input/output error\n")
        self.assertFalse(os.path.exists(path))
        self.assertFalse([n for n in os.listdir(self.tmp) if n.startswith(".broken")])
        # the daemon is fine and the domain's lock free: another export works
        rc, _, err = T.virsh(self.d1.uri, "snapshot-list", "fc-minimal", "--name")
        self.assertEqual(rc, 0, err)

    def test_other_clients_served_while_export_stalls(self):
        """An export whose reader does not read stops (back-pressure); the daemon answers
        others meanwhile, and its memory grows by what the archive writer needs (the embedded
        export's own growth) plus a few chunks, not with the archive."""
        self.big_memory()
        rss0 = self.d1.rss_kib()
        r, w = os.pipe()
        p = subprocess.Popen([T.V, "-c", self.d1.uri, "snapshot-export", "fc-minimal", "s1",
                              "-"], stdout=w, stderr=subprocess.PIPE)
        os.close(w)
        time.sleep(1.0)  # the pipe, the client's queue and the sockets fill; then it waits
        t0 = time.time()
        rc, out, err = T.virsh(self.d1.uri, "list", "--all", "--name")
        self.assertEqual((rc, out.split()), (0, [b"fc-minimal"]), err)
        self.assertLess(time.time() - t0, 5)
        self.assertIsNone(p.poll(), "the export waits for its reader")
        total, peak = 0, self.d1.rss_kib()
        while True:
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            peak = max(peak, self.d1.rss_kib())
        os.close(r)
        self.assertEqual(p.wait(timeout=60), 0, p.stderr.read())
        p.stderr.close()
        self.assertGreater(total, 190 * MIB)
        embedded = peak_rss_kib([T.V, "-c", self.embedded_u1, "snapshot-export", "fc-minimal",
                                 "s1", "-"])
        print(f"cocoond RSS {rss0} KiB -> peak {peak} KiB over a {total // MIB} MiB export; "
              f"the embedded export peaks at {embedded} KiB", file=sys.stderr)
        self.assertLess(peak - rss0, embedded + 32 * 1024)

    def test_client_killed_mid_export(self):
        self.big_memory()
        threads0 = self.d1.threads()
        path = os.path.join(self.tmp, "killed.tar.zst")
        p = subprocess.Popen([T.V, "-c", self.d1.uri, "snapshot-export", "fc-minimal", "s1",
                              path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def partial():
            tmps = [n for n in os.listdir(self.tmp) if n.startswith(".killed.tar.zst.tmp-")]
            return tmps and os.path.getsize(os.path.join(self.tmp, tmps[0])) > 2 * MIB
        wait_for(partial, what="the export's first megabytes")
        p.kill()
        p.wait()
        # the export's thread stops on its closed socket; the domain's lock is free again
        wait_for(lambda: self.d1.threads() <= threads0, what="the export thread's end")
        rc, _, err = T.virsh(self.d1.uri, "snapshot-delete", "fc-minimal", "s1")
        self.assertEqual(rc, 0, err)

    def test_client_killed_mid_import(self):
        with open(self.archive, "rb") as f:
            data = f.read()
        p = subprocess.Popen([T.V, "-c", self.d2.uri, "snapshot-import", "-"],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        p.stdin.write(data[: len(data) // 2])
        p.stdin.flush()
        staging = os.path.join(self.r2, "staging")
        wait_for(lambda: os.path.isdir(staging) and os.listdir(staging), what="the staging")
        time.sleep(0.3)
        p.kill()
        p.wait()
        p.stdin.close()
        wait_for(lambda: os.listdir(staging) == [], what="the staging folder's removal")
        rc, out, _ = T.virsh(self.d2.uri, "list", "--all", "--name")
        self.assertEqual((rc, out.split()), (0, []))
        self.assertFalse(os.path.exists(os.path.join(self.r2, "domains", "fc-minimal")))
        # and the next import works
        rc, out, err = T.virsh(self.d2.uri, "snapshot-import", self.archive)
        self.assertEqual((rc, err), (0, ""))


class HostileThroughDaemon(T.Hostile):
    """Every hostile case of the embedded test, imported through cocoond on r2: the same error
    word for word, nothing written outside the staging folder, which is removed."""

    def setUp(self):
        super().setUp()
        self.d2 = Daemon(self.r2, self.tmp)
        self.u2 = self.d2.uri

    def tearDown(self):
        self.assertEqual(self.d2.stop(), 0, "cocoond exits cleanly, no sanitizer report")
        super().tearDown()

    def test_wrong_backend(self):
        # the embedded case creates r2 itself; here the daemon already has
        real = os.makedirs
        os.makedirs = lambda p, *a, **k: real(p, exist_ok=True)
        try:
            super().test_wrong_backend()
        finally:
            os.makedirs = real


if __name__ == "__main__":
    unittest.main(verbosity=2)
