"""`virsh event --event lifecycle` (Debian's virsh) against cocoond while other clients change a
domain on the Firecracker simulator: the lines virsh prints, the domain filter, --loop, and
that --timeout ends it. A tap between virsh and the daemon tells when virsh has registered
(CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY answered), so nothing is raced with a sleep."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import Background, Tap, fc_domain_xml, fc_env  # noqa: E402
from rpcutil import CALL, MESSAGE, REPLY, Daemon, check, cocoonvirsh, virsh  # noqa: E402

REGISTER_ANY, DEREGISTER_ANY, CALLBACK_LIFECYCLE = 316, 317, 318
LEGACY_REGISTER_ANY = 167


def event_line(name, what):
    return f"event 'lifecycle' for domain '{name}': {what}"


def printed(bg):
    return [line for line in bg.lines if line]


def listen(tap, *args):
    """Start `virsh event` through the tap and wait until the daemon accepted its callback."""
    before = tap.count("s2c", REGISTER_ANY, REPLY)
    bg = Background(["virsh", "-c", tap.uri, "event", "--event", "lifecycle", *args])
    if not tap.wait_count("s2c", REGISTER_ANY, REPLY, before):
        bg.kill()
        raise AssertionError(f"virsh event did not register ({bg.stderr()})")
    return bg


def act(ok, what):
    rc, out, err = ok
    if rc != 0:
        raise AssertionError(f"{what} failed: {out}{err}")


def quiet_timeout(tap):
    bg = listen(tap, "--timeout", "2")
    rc = bg.wait_exit(30)
    elapsed = bg.ended - bg.started if bg.ended else None
    # virsh's own convention: no event received is a failure (exit 1)
    check(rc == 1 and printed(bg) == ["event loop timed out", "events received: 0"],
          f"with nothing happening, --timeout 2 ends virsh event (exit {rc}, printed {printed(bg)})")
    check(elapsed is not None and 2.0 <= elapsed < 12.0,
          f"and it waited the 2 seconds first (took {elapsed})")


def first_event_ends_it(d, tap, xml):
    bg = listen(tap, "--timeout", "120")
    act(virsh(d.uri, "define", xml), "define")
    rc = bg.wait_exit(30)
    check(rc == 0, "without --loop, virsh event exits after the first event, long before the timeout")
    check(printed(bg) == [event_line("web1", "Defined Added"), "events received: 1"],
          f"it printed the define done by another virsh (printed {printed(bg)})")
    check(tap.count("s2c", DEREGISTER_ANY, REPLY) >= 1, "its deregistration (317) was answered")


def loop_until_timeout(d, tap, xml2):
    timeout = 20
    every = listen(tap, "--loop", "--timeout", str(timeout))
    only = listen(tap, "--domain", "web1", "--loop", "--timeout", str(timeout))
    messages_before = tap.count("s2c", CALLBACK_LIFECYCLE, MESSAGE)
    # another client, cocoonvirsh through the daemon, drives the domains
    act(cocoonvirsh(d.uri, "define", xml2), "define web2")
    for cmd in ("start", "suspend", "resume", "destroy", "start"):
        act(cocoonvirsh(d.uri, cmd, "web1"), cmd)
    act(virsh(d.uri, "shutdown", "web1"), "shutdown")  # the simulated guest honours it
    # shutdown returns once asked, as libvirt's: the guest's power-off comes after it
    deadline = time.time() + 10
    while time.time() < deadline and \
            cocoonvirsh(d.uri, "domstate", "web1")[1].strip() != "shut off":
        time.sleep(0.05)
    act(cocoonvirsh(d.uri, "undefine", "web2"), "undefine web2")
    web1 = [event_line("web1", e) for e in
            ("Started Booted", "Suspended Paused", "Resumed Unpaused", "Stopped Destroyed",
             "Started Booted", "Shutdown Finished", "Stopped Shutdown")]
    want_every = [event_line("web2", "Defined Added")] + web1 + [event_line("web2",
                                                                          "Undefined Removed")]
    got = every.wait_lines(len(want_every))
    check(got == want_every, f"--loop printed every lifecycle change, in order (printed {got})")
    got = only.wait_lines(len(web1))
    check(got == web1, f"--domain web1 printed only web1's (printed {got})")
    check(every.proc.poll() is None and only.proc.poll() is None,
          "--loop keeps both listening after their events")
    check(tap.count("s2c", CALLBACK_LIFECYCLE, MESSAGE) - messages_before == 9 + 7,
          "the daemon sent one 318 message per event and listener")
    for bg, n, what in ((every, 9, "--loop"), (only, 7, "--domain web1 --loop")):
        rc = bg.wait_exit(timeout + 30)
        elapsed = bg.ended - bg.started if bg.ended else None
        check(rc == 0 and printed(bg)[n:] == ["event loop timed out", f"events received: {n}"],
              f"{what} exits when --timeout {timeout} ends, counting {n} events "
              f"(printed {printed(bg)[n:]})")
        check(elapsed is not None and timeout <= elapsed < timeout + 15,
              f"{what} ran for the whole timeout ({elapsed:.1f} s)")


def main():
    with Daemon(env=fc_env()) as d:
        tap = Tap(d.sock, os.path.join(d.dir, "tap"))
        xml = fc_domain_xml(d, "web1")
        xml2 = fc_domain_xml(d, "web2")
        quiet_timeout(tap)
        first_event_ends_it(d, tap, xml)
        loop_until_timeout(d, tap, xml2)
        check(tap.count("c2s", LEGACY_REGISTER_ANY, CALL) == 0,
              "virsh used the modern event procedures throughout")
        tap.close()
        virsh(d.uri, "undefine", "web1")


if __name__ == "__main__":
    start = time.time()
    main()
    print(f"done in {time.time() - start:.1f} s")
