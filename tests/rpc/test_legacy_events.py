"""libvirt's legacy domain-event procedures against cocoond, with real clients. A client library
uses them only when the server answers 0 to CONNECT_SUPPORTS_FEATURE(REMOTE_EVENT_CALLBACK), as
an old libvirtd would; a tap between client and daemon gives that answer (and records the
frames), everything else passes through unchanged.
* python3-libvirt's old API (domainEventRegister / domainEventDeregister): 105 / 106, events as
  107, none after the deregistration.
* Debian virsh event --loop (virConnectDomainEventRegisterAny): 167 / 168, events as 107.
* Without the tap's help the same old API goes through the modern 316/318 path and works too."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import Background, Tap, fc_domain_xml, fc_env  # noqa: E402
from rpcutil import CALL, MESSAGE, REPLY, Daemon, check, cocoonvirsh, virsh  # noqa: E402

import libvirt  # noqa: E402

LEGACY_REGISTER, LEGACY_DEREGISTER, LEGACY_LIFECYCLE = 105, 106, 107
LEGACY_REGISTER_ANY, LEGACY_DEREGISTER_ANY = 167, 168
REGISTER_ANY, CALLBACK_LIFECYCLE = 316, 318
LIST_ALL_DOMAINS = 273

E = libvirt
STARTED_BOOTED = ("web1", E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED)
SUSPENDED = ("web1", E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)
RESUMED = ("web1", E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)
DESTROYED = ("web1", E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)


def act(ok, what):
    rc, out, err = ok
    if rc != 0:
        raise AssertionError(f"{what} failed: {out}{err}")


class Listener:
    """A python-libvirt connection with an old-API lifecycle callback."""

    def __init__(self, uri):
        self.seen = []
        self.cond = threading.Condition()
        self.conn = libvirt.open(uri)
        self.conn.domainEventRegister(self.cb, None)

    def cb(self, conn, dom, event, detail, opaque):
        with self.cond:
            self.seen.append((dom.name(), event, detail))
            self.cond.notify_all()

    def wait(self, n, timeout=20):
        with self.cond:
            self.cond.wait_for(lambda: len(self.seen) >= n, timeout)
            return list(self.seen)

    def close(self):
        self.conn.domainEventDeregister(self.cb)
        self.conn.close()


def cycle(d):
    """start, suspend, resume, destroy web1 from another client (cocoonvirsh via the daemon)."""
    for cmd in ("start", "suspend", "resume", "destroy"):
        act(cocoonvirsh(d.uri, cmd, "web1"), cmd)


def python_legacy(d, tap):
    listener = Listener(tap.uri)
    check(tap.count("c2s", LEGACY_REGISTER, CALL) == 1 and
          tap.count("c2s", REGISTER_ANY, CALL) == 0,
          "told no REMOTE_EVENT_CALLBACK, python-libvirt's domainEventRegister calls 105")
    cycle(d)
    want = [STARTED_BOOTED, SUSPENDED, RESUMED, DESTROYED]
    got = listener.wait(len(want))
    check(got == want, f"the old-API callback got start/suspend/resume/destroy (got {got})")
    check(tap.count("s2c", LEGACY_LIFECYCLE, MESSAGE) == 4 and
          tap.count("s2c", CALLBACK_LIFECYCLE, MESSAGE) == 0,
          "they came as legacy 107 messages")
    listener.conn.domainEventDeregister(listener.cb)
    check(tap.count("s2c", LEGACY_DEREGISTER, REPLY) == 1, "domainEventDeregister is 106, answered")
    act(cocoonvirsh(d.uri, "start", "web1"), "start after deregistration")
    # the event of that start would be queued before the answer to this later call
    lists = tap.count("s2c", LIST_ALL_DOMAINS, REPLY)
    listener.conn.listAllDomains(0)
    check(tap.wait_count("s2c", LIST_ALL_DOMAINS, REPLY, lists), "the listener still answers")
    check(tap.count("s2c", LEGACY_LIFECYCLE, MESSAGE) == 4 and len(listener.seen) == 4,
          "no event after the deregistration")
    act(cocoonvirsh(d.uri, "destroy", "web1"), "destroy")
    listener.conn.close()


def virsh_legacy(d, tap):
    before = tap.count("s2c", LEGACY_REGISTER_ANY, REPLY)
    bg = Background(["virsh", "-c", tap.uri, "event", "--event", "lifecycle", "--loop",
                     "--timeout", "10"])
    if not tap.wait_count("s2c", LEGACY_REGISTER_ANY, REPLY, before):
        bg.kill()
        raise AssertionError("virsh event did not register through 167")
    check(True, "told no REMOTE_EVENT_CALLBACK, virsh event registers through 167")
    cycle(d)
    want = [f"event 'lifecycle' for domain 'web1': {e}" for e in
            ("Started Booted", "Suspended Paused", "Resumed Unpaused", "Stopped Destroyed")]
    got = bg.wait_lines(len(want))
    check(got == want, f"virsh printed the four events from 107 messages (printed {got})")
    rc = bg.wait_exit(60)
    tail = [line for line in bg.lines if line][4:]
    check(rc == 0 and tail == ["event loop timed out", "events received: 4"],
          f"virsh event exits at its timeout (exit {rc}, printed {tail})")
    check(tap.count("s2c", LEGACY_DEREGISTER_ANY, REPLY) == 1,
          "its deregistration (168) was answered")


def python_modern(d, tap):
    listener = Listener(tap.uri)
    check(tap.count("c2s", REGISTER_ANY, CALL) == 1 and
          tap.count("c2s", LEGACY_REGISTER, CALL) == 0,
          "with REMOTE_EVENT_CALLBACK, the same old API registers through 316")
    act(cocoonvirsh(d.uri, "start", "web1"), "start")
    act(cocoonvirsh(d.uri, "destroy", "web1"), "destroy")
    got = listener.wait(2)
    check(got == [STARTED_BOOTED, DESTROYED], f"and its callback gets the events (got {got})")
    listener.close()


def main():
    libvirt.virEventRegisterDefaultImpl()

    def loop():
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=loop, daemon=True).start()
    with Daemon(env=fc_env()) as d:
        act(virsh(d.uri, "define", fc_domain_xml(d, "web1")), "define")
        legacy = Tap(d.sock, os.path.join(d.dir, "legacy-tap"), legacy_events=True)
        python_legacy(d, legacy)
        virsh_legacy(d, legacy)
        legacy.close()
        modern = Tap(d.sock, os.path.join(d.dir, "tap"))
        python_modern(d, modern)
        modern.close()
        act(virsh(d.uri, "undefine", "web1"), "undefine")


if __name__ == "__main__":
    main()
