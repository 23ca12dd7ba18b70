"""Debian's virsh against cocoond over a private socket: host queries, define, list (the same
table as the embedded cocoonvirsh prints for the same root), dumpxml, dominfo, domstate,
domuuid, domxml-to-native, undefine, and the read-only socket refusing a define."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import DATA, Daemon, check, cocoonvirsh, run, virsh  # noqa: E402

WEB1 = os.path.join(DATA, "web1.xml")
WEB1_UUID = "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21"


def project_version():
    with open(os.path.join(os.environ["COCOON_SRCDIR"], "meson.build")) as f:
        for line in f:
            if line.strip().startswith("version"):
                return line.split("'")[1]
    raise SystemExit("no version in meson.build")


def main():
    with Daemon() as d:
        rc, out, err = virsh(d.uri, "version")
        check(rc == 0, "virsh version succeeds")
        check(f"Running hypervisor: Cocoon {project_version()}" in out,
              "version names Cocoon and the project's version")

        rc, out, _ = virsh(d.uri, "uri")
        check(rc == 0 and out.strip() == d.uri, "uri prints the connection URI")

        rc, out, _ = virsh(d.uri, "hostname")
        check(rc == 0 and out.strip() == os.uname().nodename, "hostname is the host's name")

        rc, out, _ = virsh(d.uri, "nodeinfo")
        cpus = re.search(r"^CPU\(s\):\s+(\d+)", out, re.M)
        check(rc == 0 and cpus and int(cpus.group(1)) == os.cpu_count(),
              "nodeinfo reports the host's CPU count")
        check(re.search(r"^CPU model:\s+" + re.escape(os.uname().machine), out, re.M),
              "nodeinfo's model (a 32-char XDR array) arrives intact")

        rc, out, _ = virsh(d.uri, "capabilities")
        check(rc == 0 and out.lstrip().startswith("<capabilities>") and "<os_type>hvm" in out,
              "capabilities is an XML document with hvm guests")

        rc, out, _ = virsh(d.uri, "list", "--all")
        check(rc == 0 and "web1" not in out, "list --all is empty on a new root")

        rc, out, err = virsh(d.uri, "define", WEB1)
        check(rc == 0 and "Domain 'web1' defined" in out, "define through the daemon")

        rc, out, _ = virsh(d.uri, "list", "--all")
        check(rc == 0 and re.search(r"^\s*-\s+web1\s+shut off\s*$", out, re.M),
              "list --all shows web1 shut off")
        rc2, out2, err2 = cocoonvirsh(d.embed_uri, "list", "--all")
        check(rc2 == 0, f"embedded cocoonvirsh lists the same root ({err2.strip()})")
        check(out == out2, "virsh over the daemon and embedded cocoonvirsh print the same table")

        rc, out, _ = virsh(d.uri, "dumpxml", "web1")
        check(rc == 0 and "<name>web1</name>" in out and WEB1_UUID in out,
              "dumpxml returns the definition")
        rc2, out2, _ = cocoonvirsh(d.embed_uri, "dumpxml", "web1")
        check(out == out2, "dumpxml over the daemon equals the embedded driver's")

        rc, out, _ = virsh(d.uri, "dominfo", "web1")
        check(rc == 0 and re.search(r"^Name:\s+web1$", out, re.M) and
              re.search(r"^State:\s+shut off$", out, re.M) and
              re.search(r"^CPU\(s\):\s+2$", out, re.M) and
              re.search(r"^Max memory:\s+262144 KiB$", out, re.M) and
              re.search(r"^Persistent:\s+yes$", out, re.M),
              "dominfo: state, vcpus, memory (the 4-byte char/short fields) and persistence")

        rc, out, _ = virsh(d.uri, "domstate", "web1")
        check(rc == 0 and out.strip() == "shut off", "domstate")
        rc, out, _ = virsh(d.uri, "domuuid", "web1")
        check(rc == 0 and out.strip() == WEB1_UUID, "domuuid")
        rc, out, _ = virsh(d.uri, "domname", WEB1_UUID)
        check(rc == 0 and out.strip() == "web1", "lookup by uuid (domname)")

        rc, out, _ = virsh(d.uri, "domxml-to-native", "firecracker-json", WEB1)
        rc2, out2, _ = cocoonvirsh(d.embed_uri, "domxml-to-native", "firecracker-json", WEB1)
        check(rc == 0 and "/machine-config" in out and out == out2,
              "domxml-to-native gives the embedded driver's firecracker-json")

        rc, out, err = virsh(d.uri, "dumpxml", "nosuch")
        check(rc != 0 and "failed to get domain 'nosuch'" in err, "a missing domain fails the lookup")

        rc, out, err = virsh(d.ro_uri, "define", WEB1, readonly=True)
        check(rc != 0 and
              "operation forbidden: read only access prevents virDomainDefineXML" in err,
              "read-only socket refuses define with libvirt's read-only error")
        rc, out, _ = virsh(d.ro_uri, "list", "--all", readonly=True)
        check(rc == 0 and "web1" in out, "read-only socket still lists")
        rc, out, err = virsh(d.uri, "undefine", "web1", readonly=True)
        check(rc != 0 and "read only access prevents" in err,
              "a read-only open (VIR_CONNECT_RO) on the read-write socket refuses undefine")

        rc, out, _ = virsh(d.uri, "undefine", "web1")
        check(rc == 0 and "Domain 'web1' has been undefined" in out, "undefine")
        rc, out, _ = virsh(d.uri, "list", "--all")
        check(rc == 0 and "web1" not in out, "web1 is gone from the list")
        rc, out, _ = cocoonvirsh(d.embed_uri, "list", "--all")
        check("web1" not in out, "and from the embedded driver's view of the root")

        net = os.path.join(d.dir, "net.xml")
        with open(net, "w") as f:
            f.write("<network><name>n1</name></network>")
        rc, out, err = run(["virsh", "-c", d.uri, "net-create", net])
        check(rc != 0 and "not supported by the connection driver: virNetworkCreateXML" in err,
              "an unserved API is NO_SUPPORT naming libvirt's function")


if __name__ == "__main__":
    main()
