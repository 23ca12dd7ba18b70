#!/usr/bin/python3
"""Snapshots (and save/restore/managedsave) through cocoond with libvirt's own clients, on the
FC simulator: Debian's virsh
(snapshot-create-as, -list, --tree, -info, -current, -parent, -revert, -delete, undefine's
refusal) prints what cocoonvirsh prints on the embedded driver, and python3-libvirt's
virDomainSnapshot* API (create, list with flags, children, parent, current, revert, delete)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
from lifeutil import Root, check, finish  # noqa: E402
from test_daemon import Daemon  # noqa: E402

try:
    import libvirt
except ImportError:
    print("SKIP: python3-libvirt is missing")
    sys.exit(77)


def virsh(uri, *args):
    p = subprocess.run(["virsh", "-c", uri, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    if not os.path.exists("/usr/bin/virsh"):
        print("SKIP: Debian's virsh is missing")
        sys.exit(77)
    with Root() as r:
        vda = r.disk("vda.img", data=b"original")
        r.define("d1", disks=[vda])
        d = Daemon(r)
        try:
            uri = d.uri
            check(virsh(uri, "start", "d1")[0] == 0, "virsh start")
            rc, out, err = virsh(uri, "snapshot-create-as", "d1", "s1", "--description", "one")
            check(rc == 0 and out == "Domain snapshot s1 created\n", f"virsh snapshot-create-as {out!r} {err!r}")
            with open(vda, "r+b") as f:
                f.write(b"modified")
            check(virsh(uri, "snapshot-create-as", "d1", "s2")[0] == 0, "second snapshot")
            # Debian's virsh and cocoonvirsh (embedded, same root) print the same
            for cmd in (["snapshot-list", "d1"], ["snapshot-list", "d1", "--tree"],
                        ["snapshot-list", "d1", "--parent"], ["snapshot-list", "d1", "--leaves"],
                        ["snapshot-info", "d1", "s1"], ["snapshot-current", "d1", "--name"],
                        ["snapshot-parent", "d1", "s2"], ["snapshot-dumpxml", "d1", "s1"],
                        ["snapshot-info", "d1", "nosuch"], ["snapshot-parent", "d1", "s1"]):
                theirs = virsh(uri, *cmd)
                ours = r.virsh(*cmd)
                check(theirs == (ours.returncode, ours.stdout, ours.stderr),
                      f"virsh {' '.join(cmd)} through cocoond == cocoonvirsh embedded "
                      f"{theirs!r} vs {(ours.returncode, ours.stdout, ours.stderr)!r}")
            rc, out, err = virsh(uri, "snapshot-revert", "d1", "s1")
            check(rc == 0, f"virsh snapshot-revert {err!r}")
            check(open(vda, "rb").read(8) == b"original", "disk rolled back through cocoond")
            check(virsh(uri, "domstate", "d1", "--reason")[1] == "running (from snapshot)\n\n",
                  "running from snapshot")

            conn = libvirt.open(uri)
            dom = conn.lookupByName("d1")
            names = sorted(s.getName() for s in dom.listAllSnapshots())
            check(names == ["s1", "s2"], f"python listAllSnapshots {names}")
            check(dom.snapshotNum() == 2 and sorted(dom.snapshotListNames()) == ["s1", "s2"],
                  "snapshotNum / snapshotListNames")
            roots = [s.getName() for s in dom.listAllSnapshots(libvirt.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)]
            check(roots == ["s1"], f"roots {roots}")
            s1 = dom.snapshotLookupByName("s1")
            check([c.getName() for c in s1.listAllChildren()] == ["s2"], "listAllChildren")
            check(s1.numChildren() == 1 and s1.listChildrenNames() == ["s2"], "numChildren / names")
            check(dom.snapshotLookupByName("s2").getParent().getName() == "s1", "getParent")
            check(dom.hasCurrentSnapshot() == 1 and dom.snapshotCurrent().getName() == "s1",
                  "current is s1 after the revert")
            check(s1.isCurrent() == 1 and s1.hasMetadata() == 1, "isCurrent / hasMetadata")
            check("<name>s1</name>" in s1.getXMLDesc(), "getXMLDesc")
            s3 = dom.snapshotCreateXML("<domainsnapshot><name>s3</name></domainsnapshot>")
            check(s3.getName() == "s3" and s3.getParent().getName() == "s1", "python create")
            dom.revertToSnapshot(s3, libvirt.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED)
            check(dom.state()[0] == libvirt.VIR_DOMAIN_PAUSED, "revert PAUSED through python")
            try:
                dom.snapshotLookupByName("nosuch")
                check(False, "missing snapshot raises")
            except libvirt.libvirtError as e:
                check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT, "NO_DOMAIN_SNAPSHOT")
            s1.delete(libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
            check(dom.snapshotNum() == 0, "delete CHILDREN removes the subtree")
            dom.snapshotCreateXML("<domainsnapshot><name>k</name></domainsnapshot>")
            dom.destroy()
            rc, out, err = virsh(uri, "undefine", "d1")
            check(rc == 1 and "cannot delete inactive domain with 1 snapshots" in err,
                  f"virsh undefine refused {err!r}")
            check(virsh(uri, "undefine", "d1", "--snapshots-metadata")[0] == 0,
                  "undefine --snapshots-metadata")
            # save / restore / managedsave with Debian's virsh through cocoond
            r.define("d2")
            img = os.path.join(r.dir, "d2.save")
            check(virsh(uri, "start", "d2")[0] == 0, "start d2")
            check(virsh(uri, "save", "d2", img) == (0, f"\nDomain 'd2' saved to {img}\n\n", ""),
                  "virsh save through cocoond")
            check(virsh(uri, "domstate", "d2", "--reason")[1] == "shut off (saved)\n\n", "saved")
            check(virsh(uri, "restore", img) == (0, f"Domain restored from {img}\n\n", ""),
                  "virsh restore through cocoond")
            check(virsh(uri, "domstate", "d2", "--reason")[1] == "running (restored)\n\n",
                  "restored")
            check(virsh(uri, "managedsave", "d2") ==
                  (0, "\nDomain 'd2' state saved by libvirt\n\n", ""), "virsh managedsave")
            check("Managed save:   yes" in virsh(uri, "dominfo", "d2")[1], "dominfo Managed save")
            check(conn.lookupByName("d2").hasManagedSaveImage() == 1, "python hasManagedSaveImage")
            check(virsh(uri, "start", "d2")[0] == 0 and
                  virsh(uri, "domstate", "d2", "--reason")[1] == "running (restored)\n\n",
                  "start resumes the managed save")
            d2 = conn.lookupByName("d2")
            d2.managedSave()
            check(d2.hasManagedSaveImage() == 1, "python managedSave")
            d2.managedSaveRemove()
            check(d2.hasManagedSaveImage() == 0, "python managedSaveRemove")
            conn.close()
        finally:
            check(d.stop() == 0, "cocoond exits cleanly")
    finish()


main()
