#!/usr/bin/python3
"""snapshot-export / snapshot-import through cocoonvirsh on embedded roots: the archive GNU tar
reads, holes kept both ways, another root imports it, the progress bar only on a terminal, and
hostile archives refused with their exact error and nothing changed on disk."""

import io
import json
import os
import pty
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import cliutil  # noqa: E402

V = cliutil.binary()
FC_EXAMPLE = os.path.join(os.environ["COCOON_SRCDIR"], "examples", "domains", "fc-minimal.xml")
CH_XML = os.path.join(os.environ["COCOON_SRCDIR"], "examples", "domains", "ch-minimal.xml")
MIB = 1024 * 1024


def virsh(uri, *args, stdin=None, stdout=subprocess.PIPE):
    env = dict(os.environ, LC_ALL="C")
    env.pop("COCOON_DEFAULT_URI", None)
    p = subprocess.run([V, "-c", uri, *args], input=stdin, stdout=stdout,
                       stderr=subprocess.PIPE, env=env)
    return p.returncode, p.stdout, p.stderr.decode()


def stderr_on_tty(uri, *args):
    """cocoonvirsh -c uri args with its stderr on a terminal: (exit status, all it wrote)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([V, "-c", uri, *args], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return p.wait(), seen


def tree(path):
    """Every path under path with its type, size and allocated blocks: what a user would
    compare to see whether anything changed."""
    out = {}
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            p = os.path.join(d, n)
            st = os.lstat(p)
            out[os.path.relpath(p, path)] = (st.st_mode, st.st_size if not n in dirs else 0)
    return out


def allocated(path):
    return os.stat(path).st_blocks * 512


def make_snapshot(root_dir, uri, dom, snap, mem_bytes, backend="firecracker"):
    """A snapshot folder as SNAPSHOT-LAYOUT.md lays it out: memory with holes, a sparse disk."""
    rc, xml, err = virsh(uri, "dumpxml", dom)
    assert rc == 0, err
    d = os.path.join(root_dir, "domains", dom, "snapshots", snap)
    os.makedirs(os.path.join(d, "disks"))
    meta = {"version": 1, "backend": backend, "state": "running", "created": 1,
            "parent": None, "memory": {"file": "memory", "size": mem_bytes},
            "vmstate": "vmstate", "ch_dir": None,
            "disks": [{"target": "vda", "file": "disks/vda.img",
                       "source": "/var/lib/cocoon/images/rootfs.ext4", "readonly": False}],
            "fc_drive_paths": {"rootfs": "/var/lib/cocoon/images/rootfs.ext4"}}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(d, "snapshot.xml"), "wb") as f:
        f.write(b"<domainsnapshot>\n  <name>%s</name>\n  <state>running</state>\n"
                b"  <creationTime>1</creationTime>\n" % snap.encode())
        f.write(xml)
        f.write(b"</domainsnapshot>\n")
    with open(os.path.join(d, "memory"), "wb") as f:
        f.truncate(mem_bytes)
        f.seek(3 * MIB)
        f.write(os.urandom(2 * MIB))
        f.seek(40 * MIB)
        f.write(b"guest text " * 100000)
    with open(os.path.join(d, "vmstate"), "wb") as f:
        f.write(os.urandom(20000))
    with open(os.path.join(d, "disks", "vda.img"), "wb") as f:
        f.truncate(64 * MIB)
        f.seek(5 * MIB)
        f.write(b"disk block" * 1000)
    return d


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                          check=True).stdout


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cocoon-archive-")
        self.r1 = os.path.join(self.tmp, "r1")
        self.r2 = os.path.join(self.tmp, "r2")
        self.u1 = f"cocoon:///embed?root={self.r1}"
        self.u2 = f"cocoon:///embed?root={self.r2}"
        # the example, with 64 MiB of memory: the hostile cases rewrite it uncompressed
        with open(FC_EXAMPLE) as f:
            xml = f.read().replace("<memory unit='MiB'>256</memory>",
                                   "<memory unit='MiB'>64</memory>")
        fc_xml = os.path.join(self.tmp, "fc.xml")
        with open(fc_xml, "w") as f:
            f.write(xml)
        rc, _, err = virsh(self.u1, "define", fc_xml)
        self.assertEqual(rc, 0, err)
        self.snapdir = make_snapshot(self.r1, self.u1, "fc-minimal", "s1", 64 * MIB)
        self.archive = os.path.join(self.tmp, "s1.tar.zst")
        rc, out, err = virsh(self.u1, "snapshot-export", "fc-minimal", "s1", self.archive)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"Domain snapshot s1 exported to " + self.archive.encode(), out)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


class ExportImport(Base):
    def test_gnu_tar_lists_and_extracts(self):
        p = subprocess.run(["tar", "--zstd", "-tf", self.archive], capture_output=True,
                           text=True, check=True)
        names = set(p.stdout.split())
        self.assertTrue({"s1/cocoon-archive.json", "s1/meta.json", "s1/snapshot.xml",
                         "s1/memory", "s1/vmstate", "s1/disks/vda.img"} <= names, names)
        out = os.path.join(self.tmp, "gnu")
        os.mkdir(out)
        subprocess.run(["tar", "--zstd", "-xf", self.archive, "-C", out], check=True)
        for rel in ("meta.json", "snapshot.xml", "memory", "vmstate", "disks/vda.img"):
            with open(os.path.join(out, "s1", rel), "rb") as a, \
                    open(os.path.join(self.snapdir, rel), "rb") as b:
                self.assertEqual(a.read(), b.read(), rel)
        # GNU tar restores the holes: the 64 MiB memory file holds ~3 MiB of data
        self.assertLess(allocated(os.path.join(out, "s1", "memory")), 8 * MIB)
        self.assertLess(os.path.getsize(self.archive), 6 * MIB)

    def test_zero_pages_travel_as_holes(self):
        # a full snapshot's memory file holds every guest page, zero ones written out: runs
        # of them are stored as holes, and both GNU tar and an import restore them as such
        mem = os.path.join(self.snapdir, "memory")
        with open(mem, "r+b") as f:
            f.seek(8 * MIB)
            f.write(bytes(6 * MIB))                       # written zeros: 6 MiB of data
            f.seek(20 * MIB)                              # a short zero run inside data
            f.write(os.urandom(64 * 1024) + bytes(16 * 1024) + os.urandom(64 * 1024))
            f.seek(64 * MIB - 3 * MIB)
            f.write(os.urandom(1000) + bytes(3 * MIB - 1000))   # zeros up to the end
        before = allocated(mem)
        self.assertGreater(before, 12 * MIB)
        rc, _, err = virsh(self.u1, "snapshot-export", "fc-minimal", "s1", self.archive)
        self.assertEqual(rc, 0, err)
        with open(mem, "rb") as f:
            want = f.read()
        out = os.path.join(self.tmp, "gnu")
        os.mkdir(out)
        subprocess.run(["tar", "--zstd", "-xf", self.archive, "-C", out], check=True)
        rc, _, err = virsh(self.u2, "snapshot-import", self.archive)
        self.assertEqual(rc, 0, err)
        for got in (os.path.join(out, "s1", "memory"),
                    os.path.join(self.r2, "domains", "fc-minimal", "snapshots", "s1", "memory")):
            with open(got, "rb") as f:
                self.assertEqual(f.read(), want, got)
            # the 6 MiB and 3 MiB zero runs are holes; the data (~3.2 MiB) and the short run
            # are not
            self.assertLess(allocated(got), before - 8 * MIB, got)
            self.assertGreater(allocated(got), 3 * MIB, got)

    def test_import_on_another_root(self):
        rc, out, err = virsh(self.u2, "snapshot-import", self.archive)
        self.assertEqual(rc, 0, err)
        self.assertIn(b"Domain snapshot s1 imported into domain 'fc-minimal'", out)
        rc, out, _ = virsh(self.u2, "list", "--all", "--name")
        self.assertEqual(out.split(), [b"fc-minimal"])
        got = os.path.join(self.r2, "domains", "fc-minimal", "snapshots", "s1")
        with open(os.path.join(got, "meta.json")) as a, \
                open(os.path.join(self.snapdir, "meta.json")) as b:
            self.assertEqual(json.load(a), json.load(b))
        # snapshot.xml is written for its new home: its paths are in the new root
        with open(os.path.join(got, "snapshot.xml")) as f:
            xml = f.read()
        self.assertIn("<name>s1</name>", xml)
        self.assertIn(f"file='{got}/memory'", xml.replace('"', "'"))
        self.assertNotIn(self.r1, xml)
        for rel in ("memory", "vmstate", "disks/vda.img"):
            with open(os.path.join(got, rel), "rb") as a, \
                    open(os.path.join(self.snapdir, rel), "rb") as b:
                self.assertEqual(a.read(), b.read(), rel)
        self.assertEqual(os.path.getsize(os.path.join(got, "memory")), 64 * MIB)
        self.assertLess(allocated(os.path.join(got, "memory")), 8 * MIB)
        self.assertLess(allocated(os.path.join(got, "disks", "vda.img")), 1 * MIB)
        self.assertEqual(os.listdir(os.path.join(self.r2, "staging")), [])
        # the definition it carried is the domain's
        _, a, _ = virsh(self.u1, "dumpxml", "fc-minimal")
        _, b, _ = virsh(self.u2, "dumpxml", "fc-minimal")
        self.assertEqual(a, b)

    def test_pipe_both_ways_and_rename(self):
        rc, data, err = virsh(self.u1, "snapshot-export", "fc-minimal", "s1", "-")
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        # standard output is the archive and nothing else
        p = subprocess.run(["tar", "--zstd", "-tf", "-"], input=data, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, out, err = virsh(self.u1, "snapshot-import", "-", "--name", "copy", stdin=data)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        with open(os.path.join(self.r1, "domains", "fc-minimal", "snapshots", "copy",
                               "snapshot.xml")) as f:
            self.assertIn("<name>copy</name>", f.read())
        rc, _, err = virsh(self.u1, "snapshot-import", "-", "--name", "copy", stdin=data)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "error: Requested operation is not valid: domain 'fc-minimal' "
                              "already has a snapshot named 'copy'\n")

    def test_import_under_another_domain_name(self):
        rc, out, err = virsh(self.u1, "snapshot-import", self.archive, "web2")
        self.assertEqual(rc, 0, err)
        _, a, _ = virsh(self.u1, "domuuid", "fc-minimal")
        _, b, _ = virsh(self.u1, "domuuid", "web2")
        self.assertNotEqual(a, b)
        self.assertTrue(os.path.isdir(os.path.join(self.r1, "domains", "web2", "snapshots",
                                                   "s1")))

    def test_progress_bar_only_on_a_terminal(self):
        rc, _, err = virsh(self.u1, "snapshot-export", "fc-minimal", "s1",
                           os.path.join(self.tmp, "quiet.tar.zst"))
        self.assertEqual((rc, err), (0, ""))
        # stderr on a terminal: the bar is drawn and reaches 100 %
        rc, seen = stderr_on_tty(self.u1, "snapshot-export", "fc-minimal", "s1",
                                 os.path.join(self.tmp, "tty.tar.zst"))
        self.assertEqual(rc, 0)
        self.assertIn(b"Exporting [", seen)
        self.assertIn(b"100%", seen)

    def test_unknown_snapshot(self):
        rc, _, err = virsh(self.u1, "snapshot-export", "fc-minimal", "nope",
                           os.path.join(self.tmp, "x.tar.zst"))
        self.assertEqual(rc, 1)
        self.assertEqual(err, "error: Domain snapshot not found: no domain snapshot with "
                              "matching name 'nope'\n")
        self.assertFalse([n for n in os.listdir(self.tmp) if n.startswith(".x.tar.zst")])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.tar.zst")))


class Hostile(Base):
    """Each archive is refused with its own error, and neither the target root nor the
    places a member points at change."""

    def setUp(self):
        super().setUp()
        self.outside = os.path.join(self.tmp, "outside")
        os.mkdir(self.outside)
        with open(self.archive, "rb") as f:
            raw = subprocess.run(["zstd", "-dc"], input=f.read(), capture_output=True,
                                 check=True).stdout
        self.members = []
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            for m in t.getmembers():
                data = t.extractfile(m).read() if m.isfile() else None
                # a plain copy: no pax headers (the sparse map) of the original
                c = tarfile.TarInfo(m.name)
                c.type, c.mode, c.mtime = m.type, m.mode, m.mtime
                c.size = len(data) if data is not None else 0
                self.members.append((c, data))
        self.manifest = json.loads(self.members_by_name()["s1/cocoon-archive.json"][1])

    def members_by_name(self):
        return {m.name: (m, d) for m, d in self.members}

    def build(self, extra=(), drop=(), manifest=None, replace=None):
        """A pax tar.zst of the real members (less drop, with replace), then extra."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for m, d in self.members:
                if m.name in drop:
                    continue
                if m.name == "s1/cocoon-archive.json":
                    d = json.dumps(manifest or self.manifest).encode()
                    m.size = len(d)
                if replace and m.name in replace:
                    m, d = replace[m.name]
                t.addfile(m, io.BytesIO(d) if d is not None else None)
            for m, d in extra:
                t.addfile(m, io.BytesIO(d) if d is not None else None)
        return zstd(buf.getvalue())

    def with_member(self, path, typ="file", size=None):
        man = json.loads(json.dumps(self.manifest))
        entry = {"path": path, "type": typ}
        if typ == "file":
            entry.update(size=size or 0, data=size or 0)
        man["members"].append(entry)
        return man

    def refused(self, data, want, uri=None, root=None):
        uri, root = uri or self.u2, root or self.r2
        os.makedirs(root, exist_ok=True)
        before, before_out = tree(root), tree(self.outside)
        path = os.path.join(self.tmp, "hostile.tar.zst")
        with open(path, "wb") as f:
            f.write(data)
        rc, out, err = virsh(uri, "snapshot-import", path)
        self.assertEqual(rc, 1, out)
        self.assertEqual(err, "error: " + want + "\n")
        after = tree(root)
        # the store may create its own empty directories on first use; nothing else changes
        made = {k for k in after if k not in before}
        self.assertTrue(all(k in ("domains", "autostart", "by-uuid", "trash", "run",
                                  "run/domains", "staging") for k in made), made)
        self.assertEqual({k: v for k, v in before.items()},
                         {k: after[k] for k in before})
        self.assertEqual(os.listdir(os.path.join(root, "staging")), [])
        self.assertEqual(tree(self.outside), before_out)
        rc, out, _ = virsh(uri, "list", "--all", "--name")
        return out

    def test_absolute_path(self):
        m = tarfile.TarInfo(self.outside + "/evil")
        m.size = 4
        out = self.refused(self.build(extra=[(m, b"evil")]),
                           f"invalid argument: invalid snapshot archive: "
                           f"absolute path '{self.outside}/evil'")
        self.assertEqual(out.split(), [])

    def test_dotdot(self):
        m = tarfile.TarInfo("s1/../../outside/evil")
        m.size = 4
        self.refused(self.build(extra=[(m, b"evil")]),
                     "invalid argument: invalid snapshot archive: path 's1/../../outside/evil' leads out of the snapshot folder")

    def test_dotdot_in_manifest(self):
        man = self.with_member("../outside/evil", size=4)
        self.refused(self.build(manifest=man),
                     "invalid argument: invalid snapshot archive: unsafe path '../outside/evil' in the manifest")

    def test_symlink_out(self):
        m = tarfile.TarInfo("s1/link")
        m.type = tarfile.SYMTYPE
        m.linkname = self.outside
        n = tarfile.TarInfo("s1/link/evil")
        n.size = 4
        self.refused(self.build(manifest=self.with_member("link"),
                                extra=[(m, None), (n, b"evil")]),
                     "invalid argument: invalid snapshot archive: "
                     f"symbolic link 's1/link' to '{self.outside}'")

    def test_hardlink_out(self):
        target = os.path.join(self.outside, "victim")
        with open(target, "w") as f:
            f.write("keep")
        m = tarfile.TarInfo("s1/hard")
        m.type = tarfile.LNKTYPE
        m.linkname = target
        self.refused(self.build(manifest=self.with_member("hard"), extra=[(m, None)]),
                     "invalid argument: invalid snapshot archive: "
                     f"hard link 's1/hard' to '{target}'")
        with open(target) as f:
            self.assertEqual(f.read(), "keep")

    def test_device_node(self):
        m = tarfile.TarInfo("s1/disk")
        m.type = tarfile.BLKTYPE
        m.devmajor, m.devminor = 8, 0
        self.refused(self.build(manifest=self.with_member("disk"), extra=[(m, None)]),
                     "invalid argument: invalid snapshot archive: device node 's1/disk'")

    def test_fifo(self):
        m = tarfile.TarInfo("s1/pipe")
        m.type = tarfile.FIFOTYPE
        self.refused(self.build(manifest=self.with_member("pipe"), extra=[(m, None)]),
                     "invalid argument: invalid snapshot archive: FIFO 's1/pipe'")

    def test_wrong_backend(self):
        os.makedirs(self.r2)
        with open(CH_XML) as f:
            xml = f.read().replace("<name>ch-minimal</name>", "<name>fc-minimal</name>")
        path = os.path.join(self.tmp, "ch.xml")
        with open(path, "w") as f:
            f.write(xml)
        rc, _, err = virsh(self.u2, "define", path)
        self.assertEqual(rc, 0, err)
        with open(self.archive, "rb") as f:
            data = f.read()
        out = self.refused(data, "Requested operation is not valid: cannot import a firecracker "
                                 "snapshot into domain 'fc-minimal' of backend cloud-hypervisor")
        self.assertEqual(out.split(), [b"fc-minimal"])

    def test_truncated(self):
        with open(self.archive, "rb") as f:
            data = f.read()
        self.refused(data[: len(data) * 2 // 3],
                     "invalid argument: invalid snapshot archive: truncated or corrupt data in 'memory': Truncated zstd input")

    def test_member_larger_than_stated(self):
        by = self.members_by_name()
        m, d = by["s1/vmstate"]
        big = tarfile.TarInfo("s1/vmstate")
        big.size = len(d) + 4096
        self.refused(self.build(replace={"s1/vmstate": (big, d + b"x" * 4096)}),
                     "invalid argument: invalid snapshot archive: "
                     f"member 'vmstate' is {len(d) + 4096} bytes, the manifest states {len(d)}")

    def test_member_not_in_manifest(self):
        m = tarfile.TarInfo("s1/extra")
        m.size = 1
        self.refused(self.build(extra=[(m, b"x")]),
                     "invalid argument: invalid snapshot archive: member 's1/extra' is not in the manifest")

    def test_memory_does_not_match_definition(self):
        # a memory file of 32 MiB for a domain of 64 MiB, consistently stated everywhere else
        by = self.members_by_name()
        m, d = by["s1/meta.json"]
        meta = json.loads(d)
        meta["memory"]["size"] = 32 * MIB
        nd = json.dumps(meta).encode()
        nm = tarfile.TarInfo("s1/meta.json")
        nm.size = len(nd)
        mem = tarfile.TarInfo("s1/memory")
        mem.size = 32 * MIB
        man = json.loads(json.dumps(self.manifest))
        for e in man["members"]:
            if e["path"] == "meta.json":
                e["size"] = e["data"] = len(nd)
            if e["path"] == "memory":
                e["size"] = e["data"] = 32 * MIB
        self.refused(self.build(manifest=man, replace={"s1/meta.json": (nm, nd),
                                                       "s1/memory": (mem, bytes(32 * MIB))}),
                     "invalid argument: invalid snapshot archive: the memory file 'memory' is 33554432 bytes, the definition has "
                     "67108864 bytes of memory")

    def test_not_an_archive(self):
        self.refused(b"hello, this is not an archive\n" * 10,
                     "invalid argument: invalid snapshot archive: not a zstd-compressed tar archive: Unrecognized archive format")


if __name__ == "__main__":
    unittest.main(verbosity=2)
