#!/usr/bin/python3
"""cocoond keeps its listing of the defined domains between listAllDomains calls (inotify
says when to throw it away): every change shows in the very next listing, whoever made it —
a client of the daemon, an embedded cocoonvirsh on the same root, or a hand in the directory:
define, undefine, autostart, a define cut short that a later define completes, a domain
replaced by another of the same name, and many changes within one clock tick."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import Daemon, check, cocoonvirsh  # noqa: E402

import libvirt  # noqa: E402

libvirt.registerErrorHandler(lambda *a: None, None)


def dom_xml(name, uid=None):
    uid = uid or str(uuid.uuid4())
    return f"""<domain type='kvm'><name>{name}</name><uuid>{uid}</uuid>
<memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>/boot/vmlinux</kernel></os>
<devices><emulator>/usr/bin/firecracker</emulator></devices></domain>"""


def listed(c, flags=0):
    return sorted(d.name() for d in c.listAllDomains(flags))


def listed_uuids(c):
    return {d.name(): d.UUIDString() for d in c.listAllDomains(0)}


def main():
    with Daemon() as d:
        c = libvirt.open(d.uri)
        for i in range(3):
            c.defineXML(dom_xml(f"a{i}"))
        # the first listing scans; the ones after it come from the cache
        check(listed(c) == ["a0", "a1", "a2"], "three domains listed")
        check(listed(c) == ["a0", "a1", "a2"], "and again, from the kept listing")

        # through the daemon
        c.defineXML(dom_xml("b"))
        check("b" in listed(c), "a define through the daemon shows at once")
        c.lookupByName("b").undefine()
        check("b" not in listed(c), "an undefine through the daemon shows at once")

        # an embedded cocoonvirsh on the same root, beside the daemon
        path = os.path.join(d.dir, "e.xml")
        with open(path, "w") as f:
            f.write(dom_xml("e"))
        rc, out, err = cocoonvirsh(d.embed_uri, "define", path)
        check(rc == 0, f"embedded define ({err.strip()})")
        check("e" in listed(c), "an embedded define shows in the daemon's next listing")
        rc, out, err = cocoonvirsh(d.embed_uri, "autostart", "e")
        check(rc == 0, f"embedded autostart ({err.strip()})")
        check(listed(c, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART) == ["e"],
              "the autostart flag set beside the daemon shows at once")
        rc, out, err = cocoonvirsh(d.embed_uri, "autostart", "--disable", "e")
        check(listed(c, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART) == [],
              "and its removal")
        rc, out, err = cocoonvirsh(d.embed_uri, "undefine", "e")
        check(rc == 0 and "e" not in listed(c), "an embedded undefine shows at once")

        # the same name, another domain: its new uuid shows
        old = listed_uuids(c)["a1"]
        c.lookupByName("a1").undefine()
        new = str(uuid.uuid4())
        with open(path, "w") as f:
            f.write(dom_xml("a1", new))
        rc, out, err = cocoonvirsh(d.embed_uri, "define", path)
        check(rc == 0 and listed_uuids(c).get("a1") == new != old,
              "a domain redefined under an old name lists with its new uuid")

        # a define cut short leaves a directory without a definition: left out; a define
        # that completes it later shows
        os.makedirs(os.path.join(d.root, "domains", "h"))
        check("h" not in listed(c), "a domain directory without a definition is not listed")
        check("h" not in listed(c), "nor from the kept listing")
        with open(path, "w") as f:
            f.write(dom_xml("h"))
        rc, out, err = cocoonvirsh(d.embed_uri, "define", path)
        check(rc == 0 and "h" in listed(c),
              "a define that completes that directory shows at once")

        # many changes in a row, each followed by a listing: none is missed
        names = set(listed(c))
        for i in range(40):
            n = f"q{i}"
            c.defineXML(dom_xml(n))
            names.add(n)
            if i % 3 == 0:
                c.lookupByName(n).undefine()
                names.discard(n)
            got = set(listed(c))
            if got != names or i == 39:
                check(got == names, f"every listing of 40 after a change shows it (at {i})")
        c.close()


if __name__ == "__main__":
    main()
