"""The lifecycle under cocoond, seen by python3-libvirt: STARTED/SUSPENDED/RESUMED/STOPPED
events, the watcher noticing what happens behind the API (a VMM killed, a guest powering off,
an FC guest reboot restarted per on_reboot) without any command, autostart at daemon start,
and a restarted daemon re-attaching to the VMs that kept running."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifeutil import BUILD, Root, alive, check, finish, wait_for  # noqa: E402

import libvirt  # noqa: E402

E = libvirt


class Daemon:
    def __init__(self, r):
        self.sock = os.path.join(r.dir, "sock")
        self.uri = f"cocoon+unix:///system?socket={self.sock}"
        self.log = open(os.path.join(r.dir, "cocoond.log"), "a")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "tools", "daemon", "cocoond"), "--root", r.root, "--run-dir",
             os.path.join(r.root, "run"), "--socket", self.sock],
            stdout=subprocess.DEVNULL, stderr=self.log, env=r.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("cocoond did not come up")

    def stop(self):
        """SIGTERM; 0 when the daemon exited 0 and its log has no sanitizer report."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        text = open(self.log.name).read()
        if "Sanitizer" in text or "runtime error" in text:
            print(text)
            return -1
        return rc


class Events:
    def __init__(self, uri):
        self.seen = []
        self.cond = threading.Condition()
        self.conn = libvirt.open(uri)
        self.id = self.conn.domainEventRegisterAny(None, E.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   self.cb, None)

    def cb(self, conn, dom, event, detail, opaque):
        with self.cond:
            self.seen.append((dom.name(), event, detail))
            self.cond.notify_all()

    def wait(self, want, timeout=10):
        deadline = time.time() + timeout
        with self.cond:
            while want not in self.seen and time.time() < deadline:
                self.cond.wait(0.1)
            return want in self.seen

    def close(self):
        self.conn.domainEventDeregisterAny(self.id)
        self.conn.close()


def main():
    libvirt.virEventRegisterDefaultImpl()
    threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                     daemon=True).start()
    with Root() as r:
        # autostart: defined and marked before the daemon starts
        r.define("auto1")
        r.ok("autostart", "auto1")
        r.define("fc1", extra="<on_reboot>restart</on_reboot>")
        r.define("ch1", backend="ch")
        d = Daemon(r)
        check(wait_for(lambda: r.state("auto1") == "running (booted)", 10),
              "cocoond starts the autostart domain")
        ev = Events(d.uri)
        c = libvirt.open(d.uri)

        fc1 = c.lookupByName("fc1")
        fc1.create()
        check(ev.wait(("fc1", E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED)),
              "STARTED booted")
        fc1.suspend()
        check(ev.wait(("fc1", E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED)),
              "SUSPENDED paused")
        check(fc1.state() == [E.VIR_DOMAIN_PAUSED, E.VIR_DOMAIN_PAUSED_USER],
              "virDomainGetState says paused (user)")
        fc1.resume()
        check(ev.wait(("fc1", E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED)),
              "RESUMED unpaused")

        # FC guest reboot: the watcher restarts it (on_reboot restart), no command involved
        pid = r.pid("fc1")
        os.kill(pid, signal.SIGUSR2)
        check(wait_for(lambda: r.pid("fc1") not in (0, pid) and alive(r.pid("fc1")), 10),
              "the watcher restarts an FC domain whose guest rebooted")
        check(fc1.state()[0] == E.VIR_DOMAIN_RUNNING, "and it is running")

        # a VMM killed behind Cocoon's back: STOPPED crashed, from the watcher
        pid = r.pid("fc1")
        os.kill(pid, signal.SIGKILL)
        check(ev.wait(("fc1", E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_CRASHED)),
              "STOPPED crashed when the VMM is killed")
        check(r.live_files("fc1") == ["status"], f"leftovers cleaned ({r.live_files('fc1')})")

        # CH guest poweroff: SHUTDOWN finished, STOPPED shutdown
        ch1 = c.lookupByName("ch1")
        ch1.create()
        os.kill(r.pid("ch1"), signal.SIGUSR1)
        check(ev.wait(("ch1", E.VIR_DOMAIN_EVENT_SHUTDOWN, E.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED)),
              "SHUTDOWN finished when the guest powers off")
        check(ev.wait(("ch1", E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)),
              "STOPPED shutdown")

        ch1.create()
        ch1.destroy()
        check(ev.wait(("ch1", E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED)),
              "STOPPED destroyed")
        try:
            ch1.suspend()
            check(False, "suspend of a shut-off domain fails")
        except libvirt.libvirtError as e:
            check(e.get_error_code() == E.VIR_ERR_OPERATION_INVALID,
                  f"suspend of a shut-off domain: OPERATION_INVALID ({e})")

        # re-attach: a new daemon finds the running VM with its id
        auto = c.lookupByName("auto1")
        dom_id, pid = auto.ID(), r.pid("auto1")
        ev.close()
        c.close()
        check(d.stop() == 0, "cocoond stops cleanly, VMs keep running")
        check(alive(pid), "the VMM outlives the daemon")
        d = Daemon(r)
        c = libvirt.open(d.uri)
        auto = c.lookupByName("auto1")
        check(auto.ID() == dom_id and auto.isActive() == 1 and r.pid("auto1") == pid,
              "the new daemon re-attaches to the running VM (same id and pid)")
        auto.destroy()
        c.close()
        check(d.stop() == 0, "cocoond stops cleanly")
        check(not r.processes(), f"nothing left ({r.processes()})")
    finish()


if __name__ == "__main__":
    main()
