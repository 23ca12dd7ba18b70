"""Domain events beyond lifecycle through cocoond, with python3-libvirt and Debian's virsh:
every event id libvirt knows registers (those Cocoon never raises never fire), an id past
them gets libvirtd's own error, REBOOT on a reboot (FC restarts its process, CH's vm.reboot),
BALLOON_CHANGE on a live setmem, JOB_COMPLETED of a save; live setvcpus on CH, FC's refusal with its reason."""

import os
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import wait_for, write_fc_domain  # noqa: E402
from rpcutil import Daemon, RawClient, binary, check, parse_error, virsh  # noqa: E402
from test_everyday import write_ch_domain  # noqa: E402

import libvirt  # noqa: E402

EVENT_IDS = list(range(0, 27))


def event_loop():
    while True:
        libvirt.virEventRunDefaultImpl()


def with_balloon(path):
    xml = open(path).read()
    xml = xml.replace("<memory unit='MiB'>128</memory>",
                      "<memory unit='MiB'>128</memory>\n  <currentMemory unit='MiB'>128</currentMemory>")
    xml = xml.replace("</devices>", "  <memballoon model='virtio'/>\n  </devices>")
    return xml


def main():
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=event_loop, daemon=True).start()
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim"),
           "COCOON_CLOUD_HYPERVISOR": binary("tests", "sim", "ch-sim")}
    with Daemon(env=env) as d:
        conn = libvirt.open(d.uri)
        seen = []
        lock = threading.Lock()

        def generic(c, dom, opaque):
            with lock:
                seen.append((opaque, dom.name()))

        def balloon(c, dom, actual, opaque):
            with lock:
                seen.append(("balloon", dom.name(), actual))

        ids = []
        for ev in (libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                   libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED,
                   libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE,
                   libvirt.VIR_DOMAIN_EVENT_ID_TRAY_CHANGE,
                   libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE):
            cb = generic if ev == libvirt.VIR_DOMAIN_EVENT_ID_REBOOT else \
                (lambda *a: seen.append(("other",) + a[1:2]))
            ids.append(conn.domainEventRegisterAny(None, ev, cb, "reboot"))
        ids.append(conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE,
                                               balloon, None))

        def job_completed(c, dom, params, opaque):
            with lock:
                seen.append(("job", dom.name(), params.get("operation")))

        ids.append(conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                                               job_completed, None))
        check(len(set(ids)) == len(ids), "every event id registers, each its own callback")

        raw = RawClient(d.sock)
        raw.open()
        s = raw.call(316, struct.pack(">iI", 99, 0))
        hdr, payload = raw.reply(s)
        code, _, msg = parse_error(payload)
        check(code == libvirt.VIR_ERR_INTERNAL_ERROR and "unsupported event ID 99" in msg,
              f"an unknown event id gets libvirtd's error ({msg})")
        raw.close()

        fc = conn.defineXML(with_balloon(write_fc_domain(d.dir, "fcev")))
        fc.create()
        fc.setMemoryFlags(64 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        check(wait_for(lambda: ("balloon", "fcev", 64 * 1024) in seen),
              f"setmem raises BALLOON_CHANGE with the new size {seen}")
        check(fc.info()[2] == 64 * 1024, "dominfo's memory follows the balloon")
        check(fc.memoryStats()["actual"] == 64 * 1024, "and the balloon's own report")
        try:
            fc.setMemoryFlags(256 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            check(False, "more than <memory> is refused")
        except libvirt.libvirtError as e:
            check("higher than max memory" in str(e), f"setmem above max: {e}")
        try:
            fc.setVcpusFlags(1, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            check(False, "FC setvcpus live is refused")
        except libvirt.libvirtError as e:
            check(e.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED and
                  "no vCPU hotplug" in str(e), f"FC says why: {e}")
        rc, out, err = virsh(d.uri, "setmem", "fcev", "96M", "--config")
        check(rc == 0, f"virsh setmem --config {err}")
        inactive = fc.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        check("<currentMemory unit='KiB'>98304</currentMemory>" in inactive,
              "setmem --config changes the persistent definition")
        rc, out, err = virsh(d.uri, "reboot", "fcev")
        check(rc == 0, f"virsh reboot {err}")
        check(wait_for(lambda: ("reboot", "fcev") in seen, timeout=30),
              f"FC's reboot raises REBOOT {seen}")
        fc.saveFlags(os.path.join(d.dir, "fcev.save"), None, 0)
        check(wait_for(lambda: ("job", "fcev", libvirt.VIR_DOMAIN_JOB_OPERATION_SAVE) in seen),
              f"a save raises JOB_COMPLETED with its operation {seen}")

        ch = conn.defineXML(open(write_ch_domain(d.dir, "chev")).read())
        ch.create()
        ch.setVcpusFlags(2, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        check(ch.vcpusFlags(0) == 2 and ch.info()[3] == 2, "CH setvcpus live hotplugs a vCPU")
        ch.setMemoryFlags(128 * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        check(ch.memoryStats()["actual"] == 128 * 1024, "CH setmem through vm.resize's balloon")
        check(wait_for(lambda: ("balloon", "chev", 128 * 1024) in seen), "CH BALLOON_CHANGE")
        rc, out, err = virsh(d.uri, "reboot", "chev")
        check(rc == 0 and wait_for(lambda: ("reboot", "chev") in seen, timeout=30),
              f"CH's vm.reboot raises REBOOT {err}")
        ch.destroy()
        check(not [x for x in seen if x[0] == "other"], "events Cocoon never raises did not fire")

        rc, out, err = virsh(d.uri, "event", "--all", "--timeout", "1")
        # Debian's virsh exits 1 on its timeout, as against libvirtd's test driver
        check("events received: 0" in out and "error" not in err,
              f"virsh event --all registers every event ({out!r} {err!r})")
        for i in ids:
            conn.domainEventDeregisterAny(i)
        conn.close()


if __name__ == "__main__":
    main()
