"""Every state change Debian's virsh can make through cocoond, on the Firecracker simulator, as
the user sees it: each command's message, then `domstate --reason`, `list`, `dominfo`, `domid`
and `dumpxml`. Covers define, start, suspend, resume, shutdown (the simulated guest honours
Ctrl+Alt+Del and powers off), destroy, undefine, the refusals on a stopped domain, and the
capabilities' host and guest architecture."""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import fc_domain_xml, fc_env, wait_for  # noqa: E402
from rpcutil import Daemon, check, virsh  # noqa: E402


def state(d):
    return virsh(d.uri, "domstate", "web1", "--reason")[1].strip()


def listed(d, *flags):
    """(id, state) of web1 in `virsh list`, None when it is not listed."""
    out = virsh(d.uri, "list", *flags)[1]
    m = re.search(r"^\s*(\S+)\s+web1\s+(.+?)\s*$", out, re.M)
    return (m.group(1), m.group(2)) if m else None


def field(out, name):
    m = re.search(rf"^{re.escape(name)}:\s+(.*)$", out, re.M)
    return m.group(1).strip() if m else None


def capabilities(d):
    rc, out, _ = virsh(d.uri, "capabilities")
    caps = ET.fromstring(out)
    check(rc == 0 and caps.findtext("host/cpu/arch") == os.uname().machine,
          "capabilities: the host's architecture")
    emulators = {e.text for e in caps.iter("emulator")}
    check(caps.find("guest/arch").get("name") == os.uname().machine and
          "/usr/bin/firecracker" in emulators and
          caps.find("guest/arch/domain").get("type") == "kvm",
          "capabilities: kvm guests of that architecture with the firecracker emulator")


def running(d, how):
    rc, out, _ = virsh(d.uri, "domid", "web1")
    dom_id = out.strip()
    check(rc == 0 and dom_id.isdigit() and int(dom_id) > 0, f"{how}: domid is a number")
    check(listed(d) == (dom_id, "running"), f"{how}: list shows web1 running with that id")
    rc, out, _ = virsh(d.uri, "dominfo", "web1")
    check(rc == 0 and field(out, "Id") == dom_id and field(out, "State") == "running" and
          field(out, "Used memory") == "131072 KiB" and field(out, "CPU(s)") == "1",
          f"{how}: dominfo shows the id, running, the memory and vcpus in use")
    rc, out, _ = virsh(d.uri, "dumpxml", "web1")
    check(rc == 0 and ET.fromstring(out).get("id") == dom_id,
          f"{how}: the live dumpxml carries id='{dom_id}'")
    rc, out, _ = virsh(d.uri, "dumpxml", "--inactive", "web1")
    check(rc == 0 and ET.fromstring(out).get("id") is None, f"{how}: --inactive has no id")
    return dom_id


def stopped(d, reason):
    check(state(d) == f"shut off ({reason})", f"domstate --reason is 'shut off ({reason})'")
    check(listed(d) is None and listed(d, "--all") == ("-", "shut off"),
          "list leaves it out, list --all shows it shut off without an id")
    rc, out, _ = virsh(d.uri, "domid", "web1")
    check(rc == 0 and out.strip() == "-", "domid is '-'")


def refusals(d):
    for cmd, verb in (("suspend", "suspend"), ("resume", "resume"), ("shutdown", "shutdown"),
                      ("destroy", "destroy")):
        rc, _, err = virsh(d.uri, cmd, "web1")
        check(rc == 1 and f"error: Failed to {verb} domain 'web1'" in err and
              "Requested operation is not valid: domain is not running" in err,
              f"{cmd} of a shut off domain: libvirt's 'domain is not running'")


def main():
    with Daemon(env=fc_env()) as d:
        capabilities(d)
        xml = fc_domain_xml(d, "web1")
        rc, out, _ = virsh(d.uri, "define", xml)
        check(rc == 0 and out.strip() == f"Domain 'web1' defined from {xml}", "define's message")
        stopped(d, "unknown")
        refusals(d)

        rc, out, _ = virsh(d.uri, "start", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' started", "start's message")
        check(state(d) == "running (booted)", "domstate --reason is 'running (booted)'")
        first = running(d, "after start")
        rc, _, err = virsh(d.uri, "start", "web1")
        check(rc == 1 and "Domain is already active" in err, "a second start is refused")

        rc, out, _ = virsh(d.uri, "suspend", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' suspended", "suspend's message")
        check(state(d) == "paused (user)", "domstate --reason is 'paused (user)'")
        check(listed(d) == (first, "paused"), "list shows it paused with the same id")
        rc, out, _ = virsh(d.uri, "dominfo", "web1")
        check(field(out, "State") == "paused", "dominfo shows paused")

        rc, out, _ = virsh(d.uri, "resume", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' resumed", "resume's message")
        check(state(d) == "running (unpaused)", "domstate --reason is 'running (unpaused)'")
        check(running(d, "after resume") == first, "resume keeps the id")

        rc, out, _ = virsh(d.uri, "shutdown", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' is being shutdown", "shutdown's message")
        check(wait_for(lambda: state(d).startswith("shut off")),
              "the guest powers off after virsh shutdown")
        stopped(d, "shutdown")

        rc, out, _ = virsh(d.uri, "start", "web1")
        check(rc == 0, "start again after the shutdown")
        second = running(d, "after the second start")
        check(int(second) > int(first), "a new start gets a new id")
        rc, out, _ = virsh(d.uri, "destroy", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' destroyed", "destroy's message")
        stopped(d, "destroyed")

        rc, out, _ = virsh(d.uri, "undefine", "web1")
        check(rc == 0 and out.strip() == "Domain 'web1' has been undefined", "undefine's message")
        check(listed(d, "--all") is None, "list --all no longer shows it")
        rc, _, err = virsh(d.uri, "domstate", "web1")
        check(rc == 1 and "failed to get domain 'web1'" in err, "domstate cannot find it")


if __name__ == "__main__":
    main()
