"""The `real` suite: Cocoon on the real Firecracker or Cloud Hypervisor with our test guest
(tests/guest, console protocol in GUEST-PROTOCOL), as a user drives it: embedded
(cocoonvirsh -c cocoon:///embed?root=TMP) or through cocoond with Debian's virsh.

usage: test_real.py fc|ch embed|daemon

Every VM boots in milliseconds, so each boot carries several checks. Everything runs in a
network namespace the test makes (its TAPs and bridge die with it). Exit 77 when /dev/kvm,
the VMM binary (COCOON_REAL_VMM_DIR, default $COCOON_SHARED/vmm), the guest or virsh is
missing."""

import hashlib
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realutil as R  # noqa: E402
from realutil import check, wait_for  # noqa: E402

SHUTDOWN_TIMEOUT_MS = 3000  # the escalation's first wait; small so the test stays fast
BOOT = 10.0                 # console prompt after start: the guest needs ms, the host is loaded
QUICK = 5.0                 # a state change that takes ms


class Suite:
    def __init__(self, backend, mode):
        self.backend = backend
        self.daemon_mode = mode == "daemon"
        self.kernel = R.test_guest()
        R.require(backend, daemon=self.daemon_mode, guest=self.kernel)
        self.ns = R.Netns()
        self.s = R.Session(backend, self.daemon_mode, self.ns,
                           env={"COCOON_SHUTDOWN_TIMEOUT_MS": str(SHUTDOWN_TIMEOUT_MS),
                                "COCOON_STOP_TIMEOUT_MS": "2000"})
        self.tag = f"{os.getpid() % 100000}"
        self.label = f"[{backend} {mode}]"

    def say(self, what):
        return f"{self.label} {what}"

    def ok(self, cond, what):
        check(cond, self.say(what))
        return cond

    def disk(self, name, marker=b""):
        path = os.path.join(self.s.dir, name)
        with open(path, "wb") as f:
            f.write(b"\0" * (5 * 512) + marker)
            f.truncate(4 << 20)
        return path

    def tap(self, i):
        return f"crt{self.tag}{self.backend}{i}"

    def gone(self, name, taps=()):
        """Nothing of a stopped domain is left: VMM, waiter, relay, live files, TAPs."""
        procs = [cmd for pid, cmd in self.s.processes() if f"/domains/{name}/" in cmd]
        live = [f for f in self.s.live_files(name) if f != "status"]  # keeps the reason
        links = self.ns.links()
        left = [t for t in taps if t in links]
        return not procs and not live and not left, f"procs={procs} live={live} taps={left}"

    # ---- one VM with every device: console, states, devices, TAP, disk, reboot, shutdown ----
    def main_vm(self):
        s = self.s
        vcpus = 2 if self.backend == "ch" else 1
        queues = "<driver queues='2'/>" if self.backend == "ch" else ""
        tap = self.tap(0)
        octet = 16 + os.getpid() % 200
        host_ip, guest_ip = f"10.{octet}.77.1", f"10.{octet}.77.2"
        self.main_disk = self.disk("main.img")
        devices = f"""
    <disk type='file' device='disk'><source file='{self.main_disk}'/>
      <target dev='vda' bus='virtio'/></disk>
    <interface type='ethernet'><target dev='{tap}'/><model type='virtio'/>{queues}
      <ip address='{host_ip}' prefix='30' peer='{guest_ip}'/></interface>
    <vsock model='virtio'><cid auto='no' address='{40 + os.getpid() % 1000}'/></vsock>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='virtio'/>"""
        name = s.define("main", kernel=self.kernel, vcpus=vcpus, devices=devices,
                        cmdline="cocoon.test=1")
        rc, out, err = s.run("start", name)
        if not self.ok(rc == 0, f"start '{name}' with disk, TAP, vsock, rng, balloon ({err.strip()})"):
            return
        self.ok(s.state(name) == "running (booted)", f"domstate --reason: running (booted), "
                f"is '{s.state(name)}'")
        t = time.time()
        c = s.attach(name, BOOT)
        took = time.time() - t
        if not self.ok(c is not None, "console: the scrollback shows the prompt"):
            return
        # the relay holds the banner from the start: it must not wait for anything to send it
        self.ok(took < 0.8, f"console: the scrollback arrives at once ({took:.2f} s)")
        self.ok(R.BANNER in c.buf, "console: the scrollback holds the banner")
        m = re.search(rb"cmdline: ([^\r\n]*)", c.buf)
        cmdline = m.group(1).decode() if m else ""
        self.ok("cocoon.test=1" in cmdline, f"the guest got the <cmdline> ('{cmdline}')")
        want_ip = f"ip={guest_ip}::{host_ip}:255.255.255.252::eth0:off"
        self.ok(want_ip in cmdline, f"the guest got {want_ip} lowered from <ip peer>")
        word = f"hello-{self.tag}"
        self.ok(c.cmd(f"echo {word}") == f"{word}\n", "console: a typed echo answers")

        # devices: exactly what the XML asked for
        out = c.cmd("devices") or ""
        types = sorted(line.split()[-1] for line in out.splitlines()
                       if line.startswith("virtio-"))
        want = sorted(["block", "net", "vsock", "rng", "balloon"])
        self.ok(types == want, f"devices lists {want}, got {types}")
        self.ok(f"devices: {len(want)}" in out, "devices counts them")

        # the TAP: ours, in our netns, opened by the VMM (both queues on CH)
        pid = s.pid(name)
        link = self.ns.link(tap)
        self.ok(bool(link), f"TAP '{tap}' exists in the test's netns")
        self.ok(R.tun_fds(pid, tap) == (2 if queues else 1),
                f"the VMM (pid {pid}) holds the TAP open {2 if queues else 1}× "
                f"(has {R.tun_fds(pid, tap)})")
        if queues:
            self.ok("multi_queue" in link, f"TAP '{tap}' is multiqueue: {link.strip()}")
        rc, addrs = self.ns.ip("-o", "-4", "addr", "show", "dev", tap)
        self.ok(f"inet {host_ip}" in addrs and "/30" in addrs,
                f"the host end of the TAP has {host_ip}/30: {' '.join(addrs.split()[:6])}")

        # a marker on the persistent disk
        self.ok(c.cmd("write 5 MARK-persist", QUICK) == "wrote sector 5\n",
                "write a marker on the persistent disk")

        # suspend: ticks stand still; resume: they move
        t1 = self.ticks(c)
        rc, out, err = s.run("suspend", name)
        self.ok(rc == 0, f"suspend ({err.strip()})")
        self.ok(s.state(name) == "paused (user)", f"domstate: paused (user), is '{s.state(name)}'")
        self.ok(s.dominfo_state(name) == "paused", "dominfo State: paused")
        time.sleep(2.0)
        rc, out, err = s.run("resume", name)
        self.ok(rc == 0, f"resume ({err.strip()})")
        t2 = self.ticks(c)
        self.ok(s.state(name) == "running (unpaused)",
                f"domstate: running (unpaused), is '{s.state(name)}'")
        self.ok(s.dominfo_state(name) == "running", "dominfo State: running")
        self.ok(t1 is not None and t2 is not None and t2 - t1 < 100,
                f"ticks stood still while paused 2 s ({t1} → {t2})")
        time.sleep(0.5)
        t3 = self.ticks(c)
        self.ok(t2 is not None and t3 is not None and t3 > t2, f"ticks move again ({t2} → {t3})")
        self.ok(c.leave() == 0, "Ctrl+] leaves the console, exit 0")
        c.close()

        # the guest's own reboot, on_reboot=restart: a fresh boot, the marker still there
        c = s.attach(name, QUICK)
        before = self.ticks(c) if c else None
        if c:
            c.send(b"reboot\r")
            c.expect(rb"rebooting", QUICK)
            c.leave()
            c.close()
        fresh = [None]

        def rebooted():
            cc = s.attach(name, 1.0, quiet=True) if s.state(name).startswith("running") else None
            if not cc:
                return False
            fresh[0] = self.ticks(cc)
            cc.leave()
            cc.close()
            return fresh[0] is not None and before is not None and fresh[0] < before
        self.ok(wait_for(rebooted, BOOT), f"guest reboot with on_reboot=restart boots it again "
                f"(ticks {before} → {fresh[0]}, state '{s.state(name)}')")

        # destroy + start: the marker is on the persistent disk
        self.ok(s.ok("destroy", name), "destroy")
        gone, why = self.gone(name, [tap])
        self.ok(gone, f"nothing left after destroy, TAP included ({why})")
        self.ok(s.ok("start", name), "start again")
        c = s.attach(name, BOOT)
        got = c.cmd("read 5") if c else None
        self.ok(got == "sector 5: MARK-persist\n", f"the marker is there after a restart ({got!r})")
        if self.daemon_mode and c:
            c.leave()
            c.close()
            c = self.daemon_restart(name)
        if c:
            c.leave()
            c.close()

        # shutdown: returns at once, the guest powers off by itself
        t = time.time()
        rc, out, err = s.run("shutdown", name)
        took = time.time() - t
        self.ok(rc == 0 and f"Domain '{name}' is being shutdown" in out,
                f"shutdown says 'Domain '{name}' is being shutdown' ({out.strip()}{err.strip()})")
        self.ok(took < 2.0, f"shutdown returns at once ({took:.2f} s)")
        self.expect_state(name, "shut off (shutdown)", QUICK, "the guest powers off")
        gone, why = self.gone(name, [tap])
        self.ok(gone, f"nothing left after the shutdown ({why})")

    def expect_state(self, name, want, timeout, what):
        """Wait for a state; when it does not come, destroy the domain so the next check starts
        from shut off."""
        s = self.s
        good = wait_for(lambda: s.state(name) == want if not want.endswith("*")
                        else s.state(name).startswith(want[:-1]), timeout)
        self.ok(good, f"{what}: {want.rstrip('*')}, is '{s.state(name)}'")
        if not good:
            s.run("destroy", name)
        return good

    def guest_does(self, c, command, answer):
        """Type a command that ends the guest's run, see its answer, close the console."""
        if c:
            c.send(command.encode() + b"\r")
            self.ok(c.expect(re.escape(answer), QUICK) is not None, f"guest {command}: "
                    f"'{answer.decode()}'")
            c.close()

    def ticks(self, c):
        out = c.cmd("ticks") or ""
        m = re.match(r"ticks (\d+)", out)
        return int(m.group(1)) if m else None

    def daemon_restart(self, name):
        """cocoond restarted while the VM runs: it re-attaches; console and state still work."""
        s = self.s
        pid = s.pid(name)
        s.daemon.restart()
        self.ok(R.alive(pid) and s.pid(name) == pid, "the VM outlives a cocoond restart")
        self.ok(s.state(name) == "running (booted)" or s.state(name).startswith("running"),
                f"the restarted cocoond re-attaches: '{s.state(name)}'")
        c = s.attach(name, QUICK)
        self.ok(c is not None and R.BANNER in c.buf,
                "virsh console after the restart: the scrollback holds the banner")
        word = f"again-{self.tag}"
        self.ok(c is not None and c.cmd(f"echo {word}") == f"{word}\n",
                "virsh console after the restart: a typed echo answers")
        return c

    # ---- a transient disk on a bridge TAP; poweroff, crash, a VMM killed ----
    def transient_vm(self):
        s = self.s
        base = self.disk("base.img", b"BASE-ORIG")
        digest = hashlib.sha256(open(base, "rb").read()).hexdigest()
        tap = self.tap(1)
        devices = f"""
    <disk type='file' device='disk'><source file='{base}'/><target dev='vda' bus='virtio'/>
      <transient/></disk>
    <interface type='bridge'><source bridge='{self.ns.bridge}'/><target dev='{tap}'/>
      <model type='virtio'/></interface>"""
        # FC has no ACPI S5: the guest's poweroff is an i8042 reset (as Linux's with reboot=k),
        # which FC ends on and <on_reboot> decides about; destroy makes it the power-off it is.
        name = s.define("trans", kernel=self.kernel, devices=devices,
                        on_reboot="destroy" if self.backend == "fc" else "restart")
        self.ok(s.ok("start", name), "start a domain with a <transient/> disk on a bridge")
        link = self.ns.link(tap)
        self.ok(f"master {self.ns.bridge}" in link, f"its TAP is on bridge '{self.ns.bridge}'")
        self.ok(R.tun_fds(s.pid(name), tap) == 1, "the VMM holds the bridge's TAP open")
        c = s.attach(name, BOOT)
        if self.ok(c is not None, "transient: console prompt"):
            self.ok(c.cmd("read 5") == "sector 5: BASE-ORIG\n", "transient: reads the base")
            self.ok(c.cmd("write 5 MARK-gone") == "wrote sector 5\n", "transient: write")
            self.ok(c.cmd("read 5") == "sector 5: MARK-gone\n", "transient: reads its write")
            c.leave()
            c.close()
        self.ok(s.ok("destroy", name), "destroy the transient domain")
        self.ok(s.ok("start", name), "start it again")
        c = s.attach(name, BOOT)
        got = c.cmd("read 5") if c else None
        self.ok(got == "sector 5: BASE-ORIG\n", f"the marker is gone on a <transient/> disk ({got!r})")
        digest2 = hashlib.sha256(open(base, "rb").read()).hexdigest()
        self.ok(digest == digest2, "the base image is untouched")

        # poweroff → shut off (shutdown)
        self.guest_does(c, "poweroff", b"powering off")
        self.expect_state(name, "shut off (shutdown)", QUICK, "guest poweroff")
        gone, why = self.gone(name, [tap])
        self.ok(gone, f"nothing left after poweroff ({why})")

        # crash → shut off (crashed)
        self.ok(s.ok("start", name), "start for the crash")
        self.guest_does(s.attach(name, BOOT), "crash", b"crashing")
        self.expect_state(name, "shut off (crashed)", QUICK, "guest triple fault")
        gone, why = self.gone(name, [tap])
        self.ok(gone, f"nothing left after the crash ({why})")

        # a VMM killed behind our back → shut off (crashed)
        self.ok(s.ok("start", name), "start for the kill")
        pid = s.pid(name)
        if pid > 0:
            os.kill(pid, signal.SIGKILL)
        self.expect_state(name, "shut off (crashed)", QUICK, "VMM killed")
        gone, why = self.gone(name, [tap])
        self.ok(gone, f"nothing left after the kill ({why})")

    # ---- on_reboot=destroy; a guest that ignores shutdown ----
    def reboot_destroy_vm(self):
        s = self.s
        name = s.define("rbd", kernel=self.kernel, on_reboot="destroy")
        self.ok(s.ok("start", name), "start an on_reboot=destroy domain")
        self.guest_does(s.attach(name, BOOT), "reboot", b"rebooting")
        self.expect_state(name, "shut off*", QUICK, "guest reboot with on_reboot=destroy")
        gone, why = self.gone(name)
        self.ok(gone, f"nothing left after on_reboot=destroy ({why})")

    def ignore_vm(self):
        s = self.s
        name = s.define("ign", kernel=self.kernel)
        self.ok(s.ok("start", name), "start a domain whose guest will ignore shutdown")
        c = s.attach(name, BOOT)
        got = c.cmd("ignore") if c else None
        self.ok(got == "ignoring shutdown requests\n", f"the guest ignores from now on ({got!r})")
        pid = s.pid(name)
        t = time.time()
        rc, out, err = s.run("shutdown", name)
        took = time.time() - t
        self.ok(rc == 0 and took < 2.0,
                f"shutdown of an ignoring guest returns at once ({took:.2f} s, rc {rc}) {err.strip()}")
        if c:
            what = "power button" if self.backend == "ch" else "ctrl-alt-del"
            self.ok(c.expect(re.escape(what.encode()) + rb": ignored", QUICK) is not None,
                    f"the guest saw the request: '{what}: ignored'")
            c.close()
        self.ok(s.state(name).startswith("running"), "it is still running right after")
        self.expect_state(name, "shut off*", SHUTDOWN_TIMEOUT_MS / 1000 + 10,
                          "the escalation stops it in the background")
        self.ok(not R.alive(pid), f"the VMM (pid {pid}) is gone")
        gone, why = self.gone(name)
        self.ok(gone, f"nothing left after the escalation ({why})")

    # ---- start failures on the real VMM: nothing left, the cause named ----
    def failures(self):
        s = self.s
        missing = os.path.join(s.dir, "no-such-dir", "vmlinux")
        self.fail_case("missing-kernel", missing, kernel=missing)

        bad = os.path.join(s.dir, "no-such-dir", "disk.img")
        self.fail_case("bad-disk", bad, kernel=self.kernel,
                       devices=f"<disk type='file' device='disk'><source file='{bad}'/>"
                       f"<target dev='vda' bus='virtio'/></disk>")

        busy = self.tap(9)
        holder = R.subprocess.Popen(self.ns.exec_argv([sys.executable, "-c", TAP_HOLDER, busy]),
                                    stdout=R.subprocess.PIPE)
        try:
            ready = holder.stdout.readline().strip() == b"held"
            self.ok(ready, f"a process of the test holds TAP '{busy}' open")
            self.fail_case("busy-tap", busy, kernel=self.kernel, taps=[],
                           devices=f"<interface type='ethernet'><target dev='{busy}'/>"
                           f"<model type='virtio'/></interface>")
            self.ok(busy in self.ns.links(), f"the busy TAP '{busy}' is left alone")
        finally:
            holder.kill()
            holder.wait()

    def fail_case(self, name, cause, taps=None, **kw):
        s = self.s
        tap = self.tap(5)
        devices = kw.pop("devices", "")
        if taps is None:
            devices += f"<interface type='ethernet'><target dev='{tap}'/></interface>"
            taps = [tap]
        s.define(name, devices=devices, **kw)
        rc, out, err = s.run("start", name)
        self.ok(rc != 0, f"{name}: start fails")
        self.ok(cause in err, f"{name}: the error names '{cause}': {' '.join(err.split())}")
        self.ok(s.state(name) == "shut off" or s.state(name).startswith("shut off"),
                f"{name}: still shut off ('{s.state(name)}')")
        gone, why = self.gone(name, taps)
        self.ok(gone, f"{name}: nothing left ({why})")
        s.run("undefine", name)
        s.names.remove(name)

    def run(self):
        try:
            self.main_vm()
            self.transient_vm()
            self.reboot_destroy_vm()
            self.ignore_vm()
            self.failures()
        finally:
            self.s.close()
            self.ns.close()


# Opens TAP argv[1] (no multiqueue) and keeps it until killed: the VMM cannot attach to it.
TAP_HOLDER = r"""
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH22x", sys.argv[1].encode(), 0x0002 | 0x1000))
print("held", flush=True)
time.sleep(3600)
"""


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("fc", "ch") or sys.argv[2] not in ("embed",
                                                                                     "daemon"):
        sys.exit("usage: test_real.py fc|ch embed|daemon")
    Suite(sys.argv[1], sys.argv[2]).run()
    R.finish()
