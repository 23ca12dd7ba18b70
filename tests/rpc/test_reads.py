"""Read calls through cocoond that the daemon answers without a worker: a definition changed
through one connection (or by hand) shows at once through another; reads of a domain whose lock
is held (a start in progress) answer at once, other clients are served meanwhile, and a domain
whose VMM died behind Cocoon's back still shows as crashed once the lock is free."""

import fcntl
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import Daemon, check  # noqa: E402

import libvirt  # noqa: E402

libvirt.registerErrorHandler(lambda *a: None, None)


def dom_xml(name, uid, mib):
    return f"""<domain type='kvm'><name>{name}</name><uuid>{uid}</uuid>
<memory unit='MiB'>{mib}</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>/boot/vmlinux</kernel></os>
<devices><emulator>/usr/bin/firecracker</emulator></devices></domain>"""


def memory_kib(xml):
    start = xml.index("<memory unit='KiB'>") + len("<memory unit='KiB'>")
    return int(xml[start:xml.index("<", start)])


def redefine_seen(d):
    a = libvirt.open(d.uri)
    b = libvirt.open(d.uri)
    uid = str(uuid.uuid4())
    a.defineXML(dom_xml("r1", uid, 101))
    # 101..109 MiB: the same length each time, so only the contents tell the versions apart
    for mib in range(102, 106):
        time.sleep(0.12)  # long enough for the daemon to keep the previous version
        for _ in range(3):
            b.lookupByName("r1").XMLDesc(0)
        a.defineXML(dom_xml("r1", uid, mib))
        got = memory_kib(b.lookupByName("r1").XMLDesc(0))
        check(got == mib * 1024, f"redefined to {mib} MiB through one connection, "
                                 f"the other sees it at once ({got} KiB)")
    # by hand, behind the daemon's back (an editor saving a copy)
    time.sleep(0.12)
    path = os.path.join(d.root, "domains", "r1", "domain.xml")
    text = open(path).read()
    edited = text.replace(f"<memory unit='KiB'>{105 * 1024}</memory>",
                          f"<memory unit='KiB'>{109 * 1024}</memory>")
    check(edited != text, "the stored definition has the memory size last defined")
    with open(path + ".new", "w") as f:
        f.write(edited)
    os.rename(path + ".new", path)
    check(memory_kib(b.lookupByName("r1").XMLDesc(0)) == 109 * 1024,
          "a definition replaced by hand is seen at once")
    b.lookupByName("r1").undefine()
    try:
        a.lookupByName("r1")
        check(False, "an undefined domain is gone for the other connection")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN,
              "an undefined domain is gone for the other connection")
    a.close()
    b.close()


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def lock_dir(path):
    os.makedirs(path, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def reads_under_lock(d):
    conn = libvirt.open(d.uri)
    conn.defineXML(dom_xml("busy", str(uuid.uuid4()), 64))
    conn.defineXML(dom_xml("dead", str(uuid.uuid4()), 64))
    # "dead" is recorded as running with a VMM that is long gone
    live = os.path.join(d.run, "domains", "dead")
    os.makedirs(live, exist_ok=True)
    with open(os.path.join(live, "status.tmp"), "w") as f:
        f.write(f"[status]\nstate=running\nreason=1\nid=9\npid={dead_pid()}\nstart-time=1\n"
                "backend=firecracker\npersistent=true\n")
    os.rename(os.path.join(live, "status.tmp"), os.path.join(live, "status"))
    # both locks held, as by a start in progress in another process
    busy_fd = lock_dir(os.path.join(d.run, "domains", "busy"))
    dead_fd = lock_dir(live)

    result = {}

    def read_dead():
        c = libvirt.open(d.uri)
        result["state"] = c.lookupByName("dead").state()
        result["at"] = time.monotonic()
        c.close()

    waiter = threading.Thread(target=read_dead)
    waiter.start()
    time.sleep(0.3)
    check(waiter.is_alive(), "the read of the domain with a dead VMM waits for its lock")

    other = libvirt.open(d.uri)
    t0 = time.monotonic()
    for _ in range(20):
        dom = other.lookupByName("busy")
        dom.XMLDesc(0)
        state = dom.state()
        dom.info()
        dom.isActive()
    elapsed = time.monotonic() - t0
    check(state[0] == libvirt.VIR_DOMAIN_SHUTOFF, "the locked domain reads as shut off")
    check(elapsed < 2.0, f"100 reads of a locked domain answer without waiting ({elapsed:.3f} s)")

    time.sleep(0.5)
    released = time.monotonic()
    fcntl.flock(dead_fd, fcntl.LOCK_UN)
    waiter.join(20)
    check(not waiter.is_alive() and result.get("at", 0) >= released,
          "the waiting read answers once the lock is free")
    check(result.get("state") == [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED],
          f"a VMM gone behind Cocoon's back shows as crashed ({result.get('state')})")
    check(other.lookupByName("dead").state() ==
          [libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED],
          "and stays so for the next reader")
    fcntl.flock(busy_fd, fcntl.LOCK_UN)
    os.close(busy_fd)
    os.close(dead_fd)
    other.close()
    conn.close()


def main():
    with Daemon() as d:
        redefine_seen(d)
        reads_under_lock(d)


if __name__ == "__main__":
    main()
