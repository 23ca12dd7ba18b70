#!/usr/bin/python3
"""Domain snapshots through cocoonvirsh (embedded driver) on a simulator, for the backend
named by argv[1] ("fc" or "ch"): create of a running and a shut-off domain, the files a
snapshot holds, list/tree/info/parent/current as virsh prints them, revert (the disk back as
it was, running or paused as asked, on a fresh VMM), delete (children re-parented,
--children, --children-only, --metadata), undefine's refusal, a failing snapshot call that
leaves the VM running and nothing listed, every snapshot-dumpxml valid against libvirt's
domainsnapshot.rng, and every snapshot request body the simulator saw valid against the
hypervisor's OpenAPI spec."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
sys.path.insert(0, os.path.join(HERE, "..", "xml2argv"))
from lifeutil import Root, alive, check, finish  # noqa: E402

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "fc"
FC = BACKEND == "fc"


def read(path):
    with open(path, "rb") as f:
        return f.read()


def disk_head(path, n=16):
    return read(path)[:n].rstrip(b"\0")


def validate(r, xml_text, what):
    path = os.path.join(r.dir, "snap-dump.xml")
    with open(path, "w") as f:
        f.write(xml_text)
    p = subprocess.run(["virt-xml-validate", path, "domainsnapshot"], capture_output=True,
                       text=True)
    check(p.returncode == 0, f"{what}: snapshot-dumpxml passes virt-xml-validate "
                             f"({p.stdout.strip()} {p.stderr.strip()})")


def snap_dir(r, dom, name):
    return os.path.join(r.root, "domains", dom, "snapshots", name)


def schema_check(log_path):
    """Every snapshot call's body in the request log against the official spec."""
    try:
        import check_schemas as cs
    except SystemExit:
        print("SKIP part: python3-jsonschema/yaml missing")
        return
    spec_file = os.path.join(cs.shared_dir(), "specs",
                             "firecracker.yaml" if FC else "cloud-hypervisor.yaml")
    if not os.path.isfile(spec_file):
        # the official specs live outside the repository (../shared/specs, or $COCOON_SHARED)
        print(f"SKIP part: the bodies are not checked against the spec: no '{spec_file}'")
        return
    calls = [json.loads(line) for line in open(log_path)] if os.path.exists(log_path) else []
    if FC:
        spec = cs.load_spec("firecracker.yaml")
        routes = cs.fc_routes(spec)
        want = ("/snapshot/create", "/snapshot/load")
        seen = [c for c in calls if c["path"] in want]
        for c in seen:
            v = [val for rx, _, m, val in routes if rx.match(c["path"]) and m == c["method"]]
            errs = cs.errors_of(v[0], c["body"]) if v and v[0] else ["no schema"]
            check(not errs, f"{c['method']} {c['path']} body validates against firecracker.yaml "
                            f"{errs}")
        check({c["path"] for c in seen} == set(want), "both snapshot calls were sent")
    else:
        spec = cs.load_spec("cloud-hypervisor.yaml")
        schemas = {"/api/v1/vm.snapshot": "VmSnapshotConfig", "/api/v1/vm.restore": "RestoreConfig"}
        seen = [c for c in calls if c["path"] in schemas]
        for c in seen:
            val = cs.validator_for(cs.strict(cs.resolve(
                spec["components"]["schemas"][schemas[c["path"]]], spec)))
            errs = cs.errors_of(val, c["body"])
            check(not errs, f"{c['path']} body validates against cloud-hypervisor.yaml {errs}")
        check({c["path"] for c in seen} == set(schemas), "vm.snapshot and vm.restore were sent")


def main():
    with Root() as r:
        log = os.path.join(r.dir, "requests.jsonl")
        r.env["COCOON_SIM_REQUEST_LOG"] = log
        enospc = os.path.join(r.dir, "enospc")
        r.env["COCOON_SIM_SNAPSHOT_ENOSPC"] = enospc
        vda = r.disk("vda.img", data=b"before-snapshot")
        ro = r.disk("ro.img", data=b"readonly")
        dom = "s" + BACKEND
        xml = r.xml(dom, backend=BACKEND, disks=[vda])
        # a read-only second disk, not captured
        text = open(xml).read().replace(
            "</disk>\n", "</disk>\n<disk type='file' device='disk'><source file='%s'/>"
            "<target dev='vdb' bus='virtio'/><readonly/></disk>\n" % ro, 1)
        open(xml, "w").write(text)
        check(r.ok("define", xml).returncode == 0, "define")

        # --- a shut-off domain: disks only
        p = r.ok("snapshot-create-as", dom, "off1", "--description", "shut off")
        check(p.returncode == 0 and p.stdout == "Domain snapshot off1 created\n",
              f"snapshot of a shut-off domain: {p.stdout!r}")
        d = snap_dir(r, dom, "off1")
        meta = json.load(open(os.path.join(d, "meta.json")))
        check(meta["state"] == "shutoff" and meta["memory"] is None, "shut-off snapshot: no memory")
        check(read(os.path.join(d, "disks", "vda.img"))[:15] == b"before-snapshot",
              "shut-off snapshot: vda captured")
        check(not os.path.exists(os.path.join(d, "disks", "vdb.img")), "read-only vdb not captured")
        check(r.ok("snapshot-delete", dom, "off1").returncode == 0, "delete off1")

        # --- running
        check(r.ok("start", dom).returncode == 0, "start")
        pid0 = r.pid(dom)
        p = r.ok("snapshot-create-as", dom, "s1", "--description", "first", "--atomic")
        check(p.returncode == 0 and p.stdout == "Domain snapshot s1 created\n",
              f"snapshot-create-as running: {p.stdout!r}")
        check(r.state(dom) == "running (unpaused)" or r.state(dom).startswith("running"),
              f"running again after the snapshot: {r.state(dom)}")
        check(r.pid(dom) == pid0, "the same VMM runs on after a snapshot")
        d = snap_dir(r, dom, "s1")
        meta = json.load(open(os.path.join(d, "meta.json")))
        check(meta["state"] == "running" and meta["backend"] ==
              ("firecracker" if FC else "cloud-hypervisor"), "meta.json: state and backend")
        if FC:
            mem = os.path.join(d, "memory")
            check(os.path.getsize(mem) == 128 << 20 and meta["memory"]["size"] == 128 << 20,
                  "FC memory file has the guest's 128 MiB")
            check(os.path.exists(os.path.join(d, "vmstate")), "FC vmstate written")
            check(meta["fc_drive_paths"].get("vda") == vda, "FC drive path recorded")
        else:
            files = sorted(os.listdir(os.path.join(d, "ch")))
            check(files == ["config.json", "memory-ranges", "state.json"], f"CH files {files}")
            check(meta["memory"] is None and meta["ch_dir"] == "ch", "CH memory in ch/")
        check(all(not v.startswith("/") for v in
                  [meta["vmstate"] or "x", meta["ch_dir"] or "x"] +
                  [x["file"] for x in meta["disks"] if x["file"]]), "meta.json paths are relative")
        dump = r.ok("snapshot-dumpxml", dom, "s1").stdout
        check("<description>first</description>" in dump and "<state>running</state>" in dump,
              "dumpxml: description and state")
        validate(r, dump, "running snapshot")

        # change the disk, take a child
        with open(vda, "r+b") as f:
            f.write(b"after--snapshot")
        check(r.ok("snapshot-create-as", dom, "s2").returncode == 0, "second snapshot")
        check(r.ok("snapshot-parent", dom, "s2").stdout == "s1\n", "s2's parent is s1")
        p = r.virsh("snapshot-parent", dom, "s1")
        check(p.returncode == 1 and p.stderr == "error: snapshot 's1' has no parent\n",
              f"a root has no parent: {p.stderr!r}")
        check(r.ok("snapshot-current", dom, "--name").stdout == "s2\n", "s2 is current")
        check(r.ok("snapshot-list", dom, "--name").stdout == "s1\ns2\n\n", "list --name")
        check(r.ok("snapshot-list", dom, "--tree").stdout == "s1\n  |\n  +- s2\n    \n\n",
              "list --tree as virsh draws it")
        check(r.ok("snapshot-list", dom, "--roots", "--name").stdout == "s1\n\n", "--roots")
        check(r.ok("snapshot-list", dom, "--leaves", "--name").stdout == "s2\n\n", "--leaves")
        out = r.ok("snapshot-list", dom, "--parent").stdout.splitlines()
        check(out[0].split() == ["Name", "Creation", "Time", "State", "Parent"] and
              out[3].split()[-1] == "s1", f"list --parent: {out}")
        info = r.ok("snapshot-info", dom, "s1").stdout
        check("Current:        no\n" in info and "Children:       1\n" in info and
              "Location:       external\n" in info, f"snapshot-info: {info!r}")
        p = r.virsh("snapshot-info", dom, "nosuch")
        check(p.returncode == 1 and "error: Domain snapshot not found: no domain snapshot with "
              "matching name 'nosuch'" in p.stderr, f"missing snapshot: {p.stderr!r}")
        p = r.virsh("snapshot-create-as", dom, "s1")
        check(p.returncode == 1 and "already exists" in p.stderr, "a name is taken once")

        # --- revert
        p = r.ok("snapshot-revert", dom, "s1")
        check(p.returncode == 0 and p.stdout == "Domain snapshot s1 reverted\n\n",
              f"revert: {p.stdout!r}")
        check(r.state(dom) == "running (from snapshot)", f"state after revert: {r.state(dom)}")
        check(r.pid(dom) != pid0 and not alive(pid0), "a fresh VMM after the revert")
        check(disk_head(vda) == b"before-snapshot", "the disk is back as it was at s1")
        check(r.ok("snapshot-current", dom, "--name").stdout == "s1\n", "s1 is current again")
        check(r.ok("snapshot-revert", dom, "s2", "--paused").returncode == 0, "revert --paused")
        check(r.state(dom) == "paused (from snapshot)", f"paused after --paused: {r.state(dom)}")
        check(disk_head(vda) == b"after--snapshot", "the disk as it was at s2")
        p = r.virsh("snapshot-revert", dom, "s1", "--running", "--paused")
        check(p.returncode == 1, "--running with --paused is refused")

        # --- a failing snapshot: the VM runs on, nothing listed, nothing left
        check(r.ok("resume", dom).returncode == 0, "resume")
        pid1 = r.pid(dom)
        open(enospc, "w").close()
        p = r.virsh("snapshot-create-as", dom, "bad")
        os.unlink(enospc)
        check(p.returncode == 1 and "No space left on device" in p.stderr,
              f"the VMM's refusal is reported: {p.stderr!r}")
        check(r.state(dom).startswith("running"), "running after the failed snapshot")
        # a disk that cannot be read fails the capture after the VMM saved its state
        os.rename(vda, vda + ".gone")
        p = r.virsh("snapshot-create-as", dom, "bad2")
        os.rename(vda + ".gone", vda)
        check(p.returncode == 1 and "cannot open disk" in p.stderr, f"capture failure: {p.stderr!r}")
        check(r.state(dom).startswith("running") and r.pid(dom) == pid1,
              "the same VM runs on after the failed captures")
        snaps = sorted(os.listdir(os.path.join(r.root, "domains", dom, "snapshots")))
        check(snaps == ["current", "s1", "s2"], f"no half snapshot left: {snaps}")
        check(r.ok("snapshot-list", dom, "--name").stdout == "s1\ns2\n\n", "still s1, s2 only")

        # --- delete
        check(r.ok("snapshot-create-as", dom, "s3").returncode == 0, "s3 (child of s2)")
        check(r.ok("snapshot-delete", dom, "s2").stdout == "Domain snapshot s2 deleted\n\n",
              "delete s2")
        check(r.ok("snapshot-parent", dom, "s3").stdout == "s1\n", "s3 re-parented to s1")
        check(r.ok("snapshot-delete", dom, "s1", "--children-only").stdout ==
              "Domain snapshot s1 children deleted\n\n", "delete --children-only")
        check(r.ok("snapshot-list", dom, "--name").stdout == "s1\n\n", "only s1 left")
        check(r.ok("snapshot-current", dom, "--name").stdout == "s1\n", "current moved up to s1")
        check(r.ok("snapshot-create-as", dom, "s4").returncode == 0, "s4")
        check(r.ok("snapshot-delete", dom, "s4", "--metadata").returncode == 0, "delete --metadata")
        check(r.ok("snapshot-list", dom, "--name").stdout == "s1\n\n", "s4 no longer listed")

        # --- undefine
        check(r.ok("destroy", dom).returncode == 0, "destroy")
        p = r.virsh("undefine", dom)
        check(p.returncode == 1 and "cannot delete inactive domain with 1 snapshots" in p.stderr,
              f"undefine refused with snapshots: {p.stderr!r}")
        check(r.ok("undefine", dom, "--snapshots-metadata").returncode == 0,
              "undefine --snapshots-metadata")
        check(not os.path.exists(os.path.join(r.root, "domains", dom)), "all gone")
        schema_check(log)
    finish()


main()
