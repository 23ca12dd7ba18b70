#!/usr/bin/python3
"""clone --snapshot on the simulators of both backends: the new domain (name, uuid, its own
disk copies, TAPs chosen at start, MACs kept and said so), what FC is told at the load
(network_overrides, drives moved to the clone's files), CH's restore folder with the clone's
disks and TAPs and the memory linked, a snapshot without memory giving a defined clone, and
refusals that leave nothing behind."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lifecycle"))
from lifeutil import Root, check, finish  # noqa: E402


def tree(path):
    out = set()
    for d, dirs, files in os.walk(path):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), path))
    return out


NIC = "<interface type='ethernet'><mac address='52:54:00:ab:cd:ef'/><model type='virtio'/></interface>"


def test_fc():
    with Root() as r:
        r.calls = os.path.join(r.dir, "calls.jsonl")
        r.env["COCOON_SIM_REQUEST_LOG"] = r.calls
        disk = r.disk("src.img", data=b"source")
        r.define("src", disks=[disk], nets=NIC)
        check(r.ok("start", "src").returncode == 0, "fc: the source starts")
        check(r.ok("snapshot-create-as", "src", "s1").returncode == 0, "fc: snapshot s1")
        p = r.virsh("clone", "--snapshot", "s1", "src", "c1")
        check(p.returncode == 0, f"fc: clone c1 ({p.stderr.strip()})")
        check("Domain 'c1' cloned from snapshot 's1' of domain 'src' and started" in p.stdout,
              "fc: the output says the clone started")
        check("Note: kept from the snapshot: 1 vCPU, 128 MiB of memory; the guest's MAC "
              "52:54:00:ab:cd:ef" in p.stdout, f"fc: the output says what the clone kept "
              f"({p.stdout.strip()!r})")
        check(r.state("c1") == "running (from snapshot)", f"fc: c1 runs ({r.state('c1')})")
        uu = {n: r.virsh("domuuid", n).stdout.strip() for n in ("src", "c1")}
        check(uu["src"] != uu["c1"], "fc: c1 has a uuid of its own")
        xml = r.virsh("dumpxml", "c1").stdout
        own = os.path.join(r.root, "domains", "c1", "disks", "vda.img")
        check(f"<source file='{own}'/>" in xml, "fc: c1's disk is its own copy")
        with open(own, "rb") as f:
            check(f.read(6) == b"source", "fc: the copy holds the snapshot's data")
        check("52:54:00:ab:cd:ef" in xml, "fc: c1 keeps the guest's MAC")
        calls = [json.loads(line) for line in open(r.calls)]
        loads = [c["body"] for c in calls if c["path"] == "/snapshot/load"]
        tap = r.status("c1").get("taps", "").strip(";")
        check(len(loads) == 1 and loads[0].get("network_overrides") ==
              [{"iface_id": "net0", "host_dev_name": tap}],
              f"fc: the load gives net0 the clone's TAP '{tap}' ({loads})")
        check(tap and tap != r.status("src").get("taps", "").strip(";"), "fc: a TAP of its own")
        mem = os.path.join(r.root, "domains", "src", "snapshots", "s1", "memory")
        check(loads and loads[0].get("mem_backend") == {"backend_type": "File",
                                                         "backend_path": mem},
              "fc: the memory is the snapshot's file, mapped, not copied")
        check(loads and loads[0].get("resume_vm") is False,
              "fc: loaded paused, resumed only once the drives are the clone's")
        after = calls[[c["path"] for c in calls].index("/snapshot/load") + 1:]
        check([(c["method"], c["path"], c["body"]) for c in after[:2]] ==
              [("PATCH", "/drives/vda", {"drive_id": "vda", "path_on_host": own}),
               ("PATCH", "/vm", {"state": "Resumed"})],
              f"fc: the drive moves to the clone's own file, then the VM resumes ({after[:2]})")

        # refusals: nothing is made
        before = tree(r.root)
        for args, want in [
            (("clone", "--snapshot", "s1", "src", "c1"),
             "error: Requested operation is not valid: domain 'c1' already exists"),
            (("clone", "--snapshot", "nope", "src", "c9"),
             "error: Domain snapshot not found: no domain snapshot with matching name 'nope'"),
            (("clone", "--snapshot", "s1", "src", "a/b"),
             None),
        ]:
            p = r.virsh(*args)
            check(p.returncode == 1 and (want is None or p.stderr.strip() == want),
                  f"fc: {' '.join(args)} is refused ({p.stderr.strip()})")
        check(tree(r.root) == before, "fc: a refused clone leaves nothing behind")

        # a snapshot without memory: a defined clone, not started
        r.ok("destroy", "src")
        check(r.ok("snapshot-create-as", "src", "off").returncode == 0, "fc: shut-off snapshot")
        p = r.virsh("clone", "--snapshot", "off", "src", "c2")
        check(p.returncode == 0 and "the clone is defined, not started" in p.stdout,
              f"fc: a clone of a shut-off snapshot is defined ({p.stdout.strip()})")
        check(r.state("c2") == "shut off (unknown)" or r.state("c2").startswith("shut off"),
              f"fc: c2 is shut off ({r.state('c2')})")
        for n in ("c1",):
            r.ok("destroy", n)
        # undefining a clone removes its disk copies
        check(r.ok("undefine", "c2").returncode == 0 and
              not os.path.exists(os.path.join(r.root, "domains", "c2")),
              "fc: undefine removes the clone's folder with its disks")


def test_ch():
    with Root() as r:
        disk = r.disk("ch.img", data=b"chdata")
        r.define("csrc", backend="ch", disks=[disk], nets=NIC)
        check(r.ok("start", "csrc").returncode == 0, "ch: the source starts")
        check(r.ok("snapshot-create-as", "csrc", "s1").returncode == 0, "ch: snapshot s1")
        p = r.virsh("clone", "--snapshot", "s1", "csrc", "cc1")
        check(p.returncode == 0, f"ch: clone cc1 ({p.stderr.strip()})")
        check(r.state("cc1").startswith("running"), f"ch: cc1 runs ({r.state('cc1')})")
        d = os.path.join(r.live("cc1"), "clone-restore")
        cfg = json.load(open(os.path.join(d, "config.json")))
        own = os.path.join(r.root, "domains", "cc1", "disks", "vda.img")
        tap = r.status("cc1").get("taps", "").strip(";")
        check([x.get("path") for x in cfg.get("disks", [])] == [own],
              "ch: the restore config has the clone's own disk")
        check([x.get("tap") for x in cfg.get("net", [])] == [tap],
              f"ch: the restore config has the clone's TAP '{tap}'")
        check([x.get("mac") for x in cfg.get("net", [])] == ["52:54:00:ab:cd:ef"],
              "ch: the guest's MAC stays")
        mem = os.path.join(d, "memory-ranges")
        check(os.path.islink(mem) and os.readlink(mem) ==
              os.path.join(r.root, "domains", "csrc", "snapshots", "s1", "ch", "memory-ranges"),
              "ch: memory-ranges is linked to the snapshot's, not copied")
        for n in ("csrc", "cc1"):
            r.ok("destroy", n)


def test_daemon():
    """clone and gc through cocoond, in Cocoon's own RPC program; read-only refused."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "rpc"))
    import rpcutil
    with Root() as r:
        d = rpcutil.Daemon(r.env)
        try:
            r.uri = d.uri
            r.define("dsrc", disks=[r.disk("d.img", data=b"dd")])
            check(r.ok("start", "dsrc").returncode == 0, "daemon: the source starts")
            # the snapshot through the embedded driver on the daemon's root (the snapshot
            # procedures are the libvirt program's, not this test's)
            r.uri = d.embed_uri
            check(r.ok("snapshot-create-as", "dsrc", "s1").returncode == 0, "daemon: snapshot")
            r.uri = d.uri
            p = r.virsh("clone", "--snapshot", "s1", "dsrc", "dc1")
            check(p.returncode == 0 and "Domain 'dc1' cloned from snapshot 's1' of domain "
                  "'dsrc' and started" in p.stdout and "Note: kept from the snapshot" in p.stdout,
                  f"daemon: clone through cocoond ({p.stdout.strip()} {p.stderr.strip()})")
            check(r.state("dc1") == "running (from snapshot)", "daemon: the clone runs")
            p = r.virsh("clone", "--snapshot", "s1", "dsrc", "dc1")
            check(p.returncode == 1 and p.stderr.strip() ==
                  "error: Requested operation is not valid: domain 'dc1' already exists",
                  f"daemon: the server's error arrives as it is ({p.stderr.strip()})")
            junk = os.path.join(d.run, "domains", "ghost")
            os.makedirs(junk)
            p = r.virsh("gc", "--dry-run")
            check(p.returncode == 0 and
                  f"Would remove {junk} (live folder of a domain that is not defined)" in p.stdout,
                  f"daemon: gc --dry-run through cocoond ({p.stdout.strip()})")
            r.uri = d.ro_uri
            p = r.virsh("gc")
            check(p.returncode == 1 and os.path.isdir(junk) and "read only" in p.stderr.lower(),
                  f"daemon: gc on the read-only socket is refused ({p.stderr.strip()})")
            r.uri = d.uri
            p = r.virsh("gc")
            check(p.returncode == 0 and not os.path.exists(junk), "daemon: gc removes it")
            for n in ("dsrc", "dc1"):
                r.ok("destroy", n)
        finally:
            d.stop() if hasattr(d, "stop") else d.close()


if __name__ == "__main__":
    test_fc()
    test_ch()
    test_daemon()
    finish()
