"""cocoonvirsh's everyday commands, embedded, on both simulators: domblklist/domiflist/
domblkinfo, dommemstat/domblkstat/domstats, vcpuinfo/vcpucount, setmem/setvcpus (live and
--config), send-key (FC: Ctrl+Alt+Del only), event (a lifecycle event from another process),
edit ($EDITOR, re-validated, the old definition kept on error), domcapabilities, freecell,
maxvcpus, domdisplay/screenshot refused."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifeutil import VIRSH, Root, check, finish, wait_for  # noqa: E402

BALLOON = "<memballoon model='virtio'/>"


def monitoring(r, name, backend):
    out = r.ok("domblklist", name).stdout
    check(out.split("\n")[0].split() == ["Target", "Source"] and " vda " in out,
          f"{backend}: domblklist {out!r}")
    out = r.ok("domblkinfo", name, "vda").stdout
    check(f"Capacity:       {8 << 20}" in out and "Physical:" in out, f"{backend}: domblkinfo")
    out = r.ok("dommemstat", name).stdout
    check("actual 131072" in out and "rss " in out, f"{backend}: dommemstat {out!r}")
    res = r.virsh("domblkstat", name, "vda")
    if backend == "ch":
        check(res.returncode == 0 and "vda rd_req 0" in res.stdout, "ch: domblkstat")
    else:
        check(res.returncode == 1 and "keeps no disk counters" in res.stderr,
              f"fc: domblkstat says why not {res.stderr!r}")
    out = r.ok("domstats", name).stdout
    check(f"Domain: '{name}'" in out and "  state.state=1" in out and "  vcpu.maximum=" in out,
          f"{backend}: domstats")
    out = r.ok("vcpuinfo", name).stdout
    check(out.startswith("VCPU:           0\nCPU:") and "CPU Affinity:" in out,
          f"{backend}: vcpuinfo")
    out = r.ok("vcpucount", name).stdout
    check("maximum      live" in out and "current      config" in out, f"{backend}: vcpucount")


def tuning(r, name, backend):
    res = r.virsh("setmem", name, "64M", "--live")
    check(res.returncode == 0, f"{backend}: setmem --live {res.stderr}")
    check("actual 65536" in r.ok("dommemstat", name).stdout, f"{backend}: the balloon took it")
    res = r.virsh("setmem", name, "1G")
    check(res.returncode == 1 and "higher than max memory" in res.stderr,
          f"{backend}: setmem above <memory> {res.stderr!r}")
    res = r.virsh("setvcpus", name, "2", "--live")
    if backend == "ch":
        check(res.returncode == 0 and r.ok("vcpucount", name, "--live").stdout.strip() == "2",
              "ch: setvcpus --live hotplugs")
    else:
        check(res.returncode == 1 and "no vCPU hotplug" in res.stderr,
              f"fc: setvcpus --live refused with the reason {res.stderr!r}")
    if backend == "fc":
        res = r.virsh("send-key", name, "29", "30")
        check(res.returncode == 1 and "only Ctrl+Alt+Del" in res.stderr,
              f"fc: other keys refused {res.stderr!r}")
    res = r.virsh("send-key", name, "KEY_LEFTCTRL", "KEY_LEFTALT", "KEY_DELETE")
    if backend == "fc":
        check(res.returncode == 0, f"fc: send-key Ctrl+Alt+Del {res.stderr}")
    else:
        check(res.returncode == 1 and "no keyboard" in res.stderr, "ch: send-key refused")


def edit(r, name):
    before = r.ok("dumpxml", name, "--inactive").stdout
    script = os.path.join(r.dir, "ed.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nsed -i 's|<memory unit=.KiB.>131072</memory>|"
                "<memory unit=\"KiB\">262144</memory>|' \"$1\"\n")
    os.chmod(script, 0o755)
    res = r.virsh("edit", name, env={"EDITOR": script, "VISUAL": ""})
    check(res.returncode == 0 and f"Domain '{name}' XML configuration edited." in res.stdout,
          f"edit {res.stdout!r} {res.stderr!r}")
    check("<memory unit='KiB'>262144</memory>" in r.ok("dumpxml", name, "--inactive").stdout,
          "edit changed the persistent definition")
    bad = os.path.join(r.dir, "bad.sh")
    with open(bad, "w") as f:
        f.write("#!/bin/sh\nsed -i 's|</devices>|<graphics type=\"vnc\"/></devices>|' \"$1\"\n")
    os.chmod(bad, 0o755)
    kept = r.ok("dumpxml", name, "--inactive").stdout
    res = r.virsh("edit", name, env={"EDITOR": bad, "VISUAL": ""})
    check(res.returncode == 1 and "<graphics>" in res.stderr, f"a refused edit {res.stderr!r}")
    check(r.ok("dumpxml", name, "--inactive").stdout == kept, "keeps the old definition")
    res = r.virsh("edit", name, env={"EDITOR": "true", "VISUAL": ""})
    check(res.returncode == 0 and "XML configuration not changed." in res.stdout,
          "an unchanged edit says so")
    check(before != kept, "(the first edit did change it)")


def events(r, name):
    """The embedded driver's watcher sees a VMM die behind its back; event prints it."""
    r.ok("start", name)
    ev = subprocess.Popen([VIRSH, "-c", r.uri, "event", "--event", "lifecycle", "--timeout", "20"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=r.env)
    time.sleep(1)
    r.kill_vmm(name, 9)
    out, err = ev.communicate(timeout=30)
    check(ev.returncode == 0 and f"event 'lifecycle' for domain '{name}': Stopped Crashed" in out
          and "events received: 1" in out, f"event sees the VMM crash {out!r} {err!r}")
    res = r.virsh("event", "--all", "--timeout", "1")
    check(res.returncode == 1 and "event loop timed out\nevents received: 0" in res.stdout,
          "event --all --timeout: as virsh, exit 1 on the timeout")
    res = r.virsh("event", "--event", "nosuch")
    check(res.returncode == 1 and "unknown event type nosuch" in res.stderr, "unknown event")


def host(r):
    check(r.ok("maxvcpus", "--type", "firecracker").stdout.strip() == "32", "maxvcpus")
    out = r.ok("freecell", "--all").stdout
    check(out.rstrip("\n").split("\n")[-1].startswith("Total:"), "freecell --all")
    out = r.ok("domcapabilities", "--emulatorbin", "/usr/bin/cloud-hypervisor").stdout
    check("<domainCapabilities>" in out and "pflash" in out, "domcapabilities")


def main():
    with Root() as r:
        disk_fc, disk_ch = r.disk("fc.raw"), r.disk("ch.raw")
        current = "<currentMemory unit='MiB'>128</currentMemory>"
        r.define("fce", disks=[disk_fc], devices=BALLOON, extra=current)
        # CH with a vCPU to hotplug
        path = r.xml("che", backend="ch", disks=[disk_ch], devices=BALLOON, extra=current)
        xml = open(path).read().replace("<vcpu>1</vcpu>", "<vcpu current='1'>2</vcpu>")
        with open(path, "w") as f:
            f.write(xml)
        r.ok("define", path)
        host(r)
        res = r.virsh("dommemstat", "fce")
        check(res.returncode == 1 and "domain is not running" in res.stderr, "inactive: not running")
        edit(r, "fce")
        events(r, "fce")
        r.ok("start", "fce")
        r.ok("start", "che")
        for name, backend in (("fce", "fc"), ("che", "ch")):
            monitoring(r, name, backend)
            tuning(r, name, backend)
            res = r.virsh("domdisplay", name)
            check(res.returncode == 1 and "no display" in res.stderr, f"{backend}: domdisplay")
            res = r.virsh("screenshot", name)
            check(res.returncode == 1 and "screenshot" in res.stderr, f"{backend}: screenshot")
        # CH resets its guest in place; the waiter's note becomes a REBOOT event
        # (only che's: fce's own reset by send-key may be noticed by this connection first)
        ev = subprocess.Popen([VIRSH, "-c", r.uri, "event", "--domain", "che", "--event", "reboot",
                               "--timeout", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=r.env)
        time.sleep(1.5)
        r.console_type("che", "reboot\r")
        out, err = ev.communicate(timeout=30)
        check(ev.returncode == 0 and "event 'reboot' for domain 'che'" in out,
              f"ch: a guest reset in place raises REBOOT {out!r} {err!r}")
        r.ok("destroy", "che")
        r.ok("destroy", "fce")
    finish()


if __name__ == "__main__":
    main()
