"""Hostile domain XML through the real cocoonvirsh (embedded driver, simulators): external
entities, DTDs, an entity-expansion bomb, a 100 MB document, 10 000-deep nesting, invalid
UTF-8, names with '/', '..', control characters or 1 000 characters, a uuid clash, absurd
vCPU and memory values; and at start, a kernel that is a directory, a device, a FIFO or a
socket, disks that are none of what they should be. Each case checks the exact error, the
exit status, and that the root's files are exactly what they were (nothing half-made)."""

import hashlib
import os
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lifecycle"))
from lifeutil import Root, check, finish  # noqa: E402

SECRET = "cocoon-hostile-secret-%d" % os.getpid()


def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            h = ""
            if stat.S_ISREG(st.st_mode) and not n.endswith(".lock"):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            out[os.path.relpath(p, root)] = (stat.S_IFMT(st.st_mode), h)
    return out


def dom(r, name="h1", kernel=None, vcpu="1", mem="128", unit="MiB", pre="", devices="",
        uuid=""):
    return f"""{pre}<domain type='kvm'>
  <name>{name}</name>{uuid}
  <memory unit='{unit}'>{mem}</memory>
  <vcpu>{vcpu}</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel or r.kernel}</kernel></os>
  <devices><emulator>/usr/bin/firecracker</emulator>{devices}
    <serial type='pty'><target port='0'/></serial></devices>
</domain>
"""


def disk(path):
    return (f"<disk type='file' device='disk'><source file='{path}'/>"
            f"<target dev='vda' bus='virtio'/></disk>")


def refused(r, what, data, want):
    path = os.path.join(r.dir, "case.xml")
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    before = tree(r.root)
    t0 = time.monotonic()
    res = r.virsh("define", path, timeout=120)
    took = time.monotonic() - t0
    lines = res.stderr.strip().split("\n")
    got = "\n".join(lines[1:])
    check(res.returncode == 1 and lines[0] == f"error: Failed to define domain from {path}" and
          got == "error: " + want, f"{what}: refused with '{want}' ({got!r}, {took:.1f} s)")
    check(tree(r.root) == before and SECRET not in res.stderr + res.stdout,
          f"{what}: nothing changed on disk, nothing leaked")


def start_refused(r, name, xml, want):
    path = os.path.join(r.dir, f"{name}.xml")
    with open(path, "w") as f:
        f.write(xml)
    res = r.virsh("define", path)
    check(res.returncode == 0, f"{name}: defined (files are checked at start, as libvirt does)")
    before = tree(r.root)
    t0 = time.monotonic()
    res = r.virsh("start", name, timeout=60)
    took = time.monotonic() - t0
    got = res.stderr.strip().split("\n")[-1]
    check(res.returncode == 1 and got == f"error: cannot start domain '{name}': {want}",
          f"{name}: start refused with '{want}' ({got!r}, {took:.1f} s)")
    check(r.state(name) == "shut off (unknown)" or r.state(name).startswith("shut off"),
          f"{name}: still shut off ({r.state(name)})")
    # the live directory keeps the VMM's log of the failed start (and the next domain id is
    # used up, as in libvirt); nothing else may change
    after = tree(r.root)
    diff = sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k) and
                  not k.endswith(".log") and k != "run/domains/next-id" and
                  k != f"run/domains/{name}")
    check(not diff and not r.live_files(name) and not r.processes(),
          f"{name}: nothing left behind (no live files but logs, no process) {diff[:3]}")
    r.virsh("undefine", name)


def main():
    with Root() as r:
        secret = os.path.join(r.dir, "secret")
        with open(secret, "w") as f:
            f.write(SECRET)
        r.define("base")
        doctype = "XML error: document type declarations (<!DOCTYPE>) are not allowed in domain XML"
        refused(r, "an external entity",
                dom(r, name="&x;", pre=f"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://{secret}'>]>"),
                doctype)
        refused(r, "an external DTD",
                dom(r, pre="<!DOCTYPE domain SYSTEM 'http://127.0.0.1:9/domain.dtd'>"), doctype)
        bomb = "<!ENTITY a0 'xxxxxxxxxx'>" + "".join(
            f"<!ENTITY a{i} '{('&a%d;' % (i - 1)) * 10}'>" for i in range(1, 10))
        refused(r, "an entity-expansion bomb", dom(r, name="&a9;", pre=f"<!DOCTYPE d [{bomb}]>"),
                doctype)
        big = (b"<domain type='kvm'><name>big</name><description>" + b"x" * (100 << 20) +
               b"</description></domain>")
        refused(r, "a 100 MB document", big,
                "XML error: domain XML is larger than 10485760 bytes")
        deep = "<domain type='kvm'><name>d</name>" + "<a>" * 10000 + "</a>" * 10000 + "</domain>"
        refused(r, "10 000-deep nesting", deep,
                "(domain_definition):1: Excessive depth in document: 256 use XML_PARSE_HUGE "
                "option")
        refused(r, "invalid UTF-8", dom(r, name="h\udcff\udcfe").encode("utf-8", "surrogateescape"),
                "(domain_definition):2: Input is not proper UTF-8, indicate encoding !\n"
                "Bytes: 0xFF 0xFE 0x3C 0x2F")
        refused(r, "a name with '/'", dom(r, name="a/b"), "XML error: name 'a/b' cannot contain '/'")
        refused(r, "the name '..'", dom(r, name=".."),
                "unsupported configuration: domain name '..' cannot be used as a directory name")
        refused(r, "the name '.'", dom(r, name="."),
                "unsupported configuration: domain name '.' cannot be used as a directory name")
        refused(r, "a name with a tab", dom(r, name="a\tb"),
                "XML error: <name> cannot contain control characters")
        refused(r, "a name with a newline", dom(r, name="a\nb"),
                "XML error: <name> cannot contain control characters")
        refused(r, "a name with a control character reference", dom(r, name="a&#1;b"),
                "(domain_definition):2: xmlParseCharRef: invalid xmlChar value 1")
        refused(r, "a name of 1 000 characters", dom(r, name="n" * 1000),
                "unsupported configuration: domain name of 1000 bytes is too long (at most 251)")
        u = "<uuid>3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21</uuid>"
        r.ok("define", _write(r, "u1", dom(r, name="u1", uuid=u)))
        refused(r, "a uuid clash", dom(r, name="u2", uuid=u),
                "operation failed: domain 'u1' already exists with uuid "
                "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21")
        for v in ("0", "-1", "4294967296", "99999999999999999999", "1e3", " "):
            refused(r, f"{v!r} vCPUs", dom(r, vcpu=v), f"XML error: invalid value '{v}' for <vcpu>")
        refused(r, "0 memory", dom(r, mem="0"), "XML error: invalid value '0' for <memory>")
        refused(r, "2^64-1 KiB of memory", dom(r, mem="18446744073709551615", unit="KiB"),
                "XML error: value '18446744073709551615' KiB of <memory> is too large")
        refused(r, "10^14 TiB of memory", dom(r, mem="99999999999999", unit="TiB"),
                "XML error: value '99999999999999' TiB of <memory> is too large")

        fifo = os.path.join(r.dir, "fifo")
        os.mkfifo(fifo)
        sock_path = os.path.join(r.dir, "sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(sock_path)
        for name, path in (("kdir", r.dir), ("kdev", "/dev/zero"), ("kfifo", fifo),
                           ("ksock", sock_path)):
            start_refused(r, name, dom(r, name=name, kernel=path),
                          f"unsupported configuration: kernel '{path}' is not a regular file")
        start_refused(r, "kmissing", dom(r, name="kmissing", kernel="/nonexistent/vmlinux"),
                      "cannot open kernel '/nonexistent/vmlinux': No such file or directory")
        # checked before the VMM is spawned (issue 10), naming the disk and the path
        start_refused(r, "ddir", dom(r, name="ddir", devices=disk(r.dir)),
                      f"unsupported configuration: disk 'vda' source '{r.dir}' is not a regular "
                      "file")
        start_refused(r, "dsock", dom(r, name="dsock", devices=disk(sock_path)),
                      f"unsupported configuration: disk 'vda' source '{sock_path}' is not a "
                      "regular file")
        start_refused(r, "dmissing", dom(r, name="dmissing", devices=disk("/nonexistent/d.img")),
                      "cannot open disk 'vda' source '/nonexistent/d.img': No such file or "
                      "directory")
        for name, path in (("dfifo", fifo), ("ddev", "/dev/null")):
            start_refused(r, name, dom(r, name=name, devices=disk(path)),
                          f"unsupported configuration: disk 'vda' source '{path}' is not a "
                          "regular file")
        s.close()
    finish()


def _write(r, name, text):
    path = os.path.join(r.dir, f"{name}.xml")
    with open(path, "w") as f:
        f.write(text)
    return path


if __name__ == "__main__":
    main()
