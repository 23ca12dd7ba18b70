"""python3-libvirt's lifecycle event callback (virEventRegisterDefaultImpl) against cocoond:
it must see DEFINED then UNDEFINED for a define/undefine done through the daemon by another
client."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import DATA, Daemon, check  # noqa: E402

import libvirt  # noqa: E402

WEB1 = open(os.path.join(DATA, "web1.xml")).read()


def events(d):
    libvirt.virEventRegisterDefaultImpl()
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            libvirt.virEventRunDefaultImpl()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    seen = []
    lock = threading.Condition()

    def cb(conn, dom, event, detail, opaque):
        with lock:
            seen.append((dom.name(), event))
            lock.notify_all()

    listener = libvirt.open(d.uri)
    cbid = listener.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, cb, None)
    writer = libvirt.open(d.uri)
    dom = writer.defineXML(WEB1)
    dom.undefine()
    want = [("web1", libvirt.VIR_DOMAIN_EVENT_DEFINED),
            ("web1", libvirt.VIR_DOMAIN_EVENT_UNDEFINED)]
    deadline = time.time() + 10
    with lock:
        while seen[:2] != want and time.time() < deadline:
            lock.wait(0.2)
    check(seen[:2] == want, f"the callback saw DEFINED then UNDEFINED (saw {seen})")
    listener.domainEventDeregisterAny(cbid)
    writer.close()
    listener.close()
    stop.set()


def main():
    with Daemon() as d:
        events(d)


if __name__ == "__main__":
    main()
