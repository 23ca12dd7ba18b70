#!/usr/bin/python3
"""Guest networking through cocoonvirsh on the Firecracker simulator, in a network namespace
this test makes (so the host's links are never touched): generated MAC addresses are stored,
stable and never those of another domain; a TAP on a bridge takes the bridge's MTU; a missing
bridge or a TAP name another interface has is a clear error that leaves no TAP; after 100
start/destroy cycles no TAP is left."""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
import lifeutil  # noqa: E402
from lifeutil import check, finish, skip  # noqa: E402

CYCLES = 100


def reexec_in_netns():
    if os.environ.get("COCOON_TEST_IN_NETNS") == "1":
        return
    if os.geteuid() != 0:
        skip("TAPs need root (CAP_NET_ADMIN)")
    if not os.path.exists("/dev/net/tun"):
        skip("no /dev/net/tun")
    env = dict(os.environ, COCOON_TEST_IN_NETNS="1")
    # a sysfs of the new namespace too: the simulator looks for its TAP in /sys/class/net
    r = subprocess.run(["unshare", "--net", "--mount", "--propagation", "private", "sh", "-c",
                        'mount -t sysfs sysfs /sys && exec "$0" "$@"', sys.executable,
                        *sys.argv], env=env, check=False)
    sys.exit(r.returncode)


def ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


def taps():
    out = ip("-o", "link", "show", "type", "tun").stdout
    return sorted(re.findall(r"^\d+: ([^:@]+)", out, re.M))


def mtu_of(name):
    m = re.search(r" mtu (\d+) ", ip("-o", "link", "show", "dev", name).stdout)
    return int(m.group(1)) if m else None


def macs_of(xml):
    return re.findall(r"<mac address='([0-9a-f:]+)'/>", xml)


def main():
    reexec_in_netns()
    bridge = f"cvbr{os.getpid() % 100000}"
    ip("link", "set", "lo", "up")
    check(ip("link", "add", bridge, "type", "bridge").returncode == 0, f"bridge {bridge} made")
    ip("link", "set", bridge, "mtu", "9000")
    ip("link", "set", bridge, "up")
    nets = (f"<interface type='bridge'><source bridge='{bridge}'/><model type='virtio'/>"
            "</interface>\n<interface type='ethernet'><model type='virtio'/></interface>")

    with lifeutil.Root() as r:
        # generated MACs: in the stored definition, stable, distinct
        r.ok("define", r.xml("net1", nets=nets))
        first = macs_of(r.ok("dumpxml", "net1").stdout)
        check(len(first) == 2 and len(set(first)) == 2, f"two distinct generated MACs {first}")
        check(all(m.startswith("52:54:00:") for m in first), "libvirt's 52:54:00 prefix")
        check(macs_of(r.ok("dumpxml", "net1", "--inactive").stdout) == first, "stored in the definition")

        # a generated MAC another domain has (here given explicitly) is derived again
        uuid_b = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
        xml_b = r.xml("netb", nets=f"<interface type='bridge'><source bridge='{bridge}'/>"
                      "</interface>", extra=f"<uuid>{uuid_b}</uuid>")
        with lifeutil.Root() as scratch:
            scratch.ok("define", xml_b)
            would_be = macs_of(scratch.ok("dumpxml", "netb").stdout)[0]
        r.ok("define", r.xml("neta", nets=f"<interface type='bridge'><source bridge='{bridge}'/>"
                             f"<mac address='{would_be}'/></interface>"))
        r.ok("define", xml_b)
        got = macs_of(r.ok("dumpxml", "netb").stdout)
        check(len(got) == 1 and got[0] != would_be and got[0].startswith("52:54:00:"),
              f"netb's generated {would_be} is neta's: netb got {got}")
        r.ok("define", xml_b)
        check(macs_of(r.ok("dumpxml", "netb").stdout) == got, "a redefinition keeps the derived MAC")
        every = []
        for name in ("net1", "neta", "netb"):
            every += macs_of(r.ok("dumpxml", name).stdout)
        check(len(every) == len(set(every)), f"no MAC twice among the domains: {every}")

        # the bridge's MTU, and nothing left after each of 100 cycles
        left_over = []
        wrong_mtu = []
        t0 = time.monotonic()
        for i in range(CYCLES):
            r.ok("start", "net1")
            now = taps()
            if len(now) != 2:
                left_over.append((i, "running", now))
            # the bridge's port has the bridge's 9000, the ethernet one the default 1500
            mtus = sorted(mtu_of(t) for t in now)
            if mtus != [1500, 9000]:
                wrong_mtu.append((i, now, mtus))
            r.ok("destroy", "net1")
            if taps():
                left_over.append((i, "stopped", taps()))
        took = time.monotonic() - t0
        check(not wrong_mtu, f"each cycle: the bridge's TAP at the bridge's MTU 9000, the other at 1500 {wrong_mtu[:3]}")
        check(not left_over, f"{CYCLES} start/destroy cycles, 2 TAPs while running, none after "
              f"{left_over[:3]}")
        check(mtu_of(bridge) == 9000, "the bridge kept its MTU")
        print(f"     {CYCLES} cycles in {took:.1f} s ({took / CYCLES * 1000:.0f} ms each)")

        # failures: clear errors, no TAP, the domain still shut off
        r.ok("define", r.xml("nobr", nets="<interface type='bridge'>"
                             f"<source bridge='{bridge}x'/></interface>"))
        res = r.virsh("start", "nobr")
        check(res.returncode == 1 and f"to bridge '{bridge}x': no such bridge" in res.stderr,
              f"missing bridge: {res.stderr.strip()}")
        check(taps() == [], "... no TAP left")
        check("shut off" in r.ok("domstate", "nobr").stdout, "... still shut off")

        r.ok("define", r.xml("taken", nets=f"<interface type='ethernet'><target dev='{bridge}'/>"
                             "</interface>"))
        res = r.virsh("start", "taken")
        check(res.returncode == 1 and f"cannot use existing interface '{bridge}'" in res.stderr,
              f"TAP name taken: {res.stderr.strip()}")
        check(taps() == [] and mtu_of(bridge) == 9000, "... no TAP left, the bridge untouched")
    finish()


if __name__ == "__main__":
    main()
