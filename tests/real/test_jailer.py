"""Firecracker under its real jailer (../shared/vmm/jailer) with our test guest, as a user who
sets `[hypervisors] jailer` in cocoon.conf sees it: start, console (banner, a typed command
answers, the disk and TAP work from inside the chroot), FC running as the configured uid/gid
in its cgroup with the <cputune>/<memtune> limits, snapshot create + revert, shutdown, and
after destroy nothing left in the chroot base (folder, cgroup, mounts) and the disk's owner
given back. `daemon`: through cocoond with Debian's virsh, re-attached after a cocoond
restart; `pidns`: embedded with new-pid-ns = yes (FC the init of a PID namespace) and
netns = a network namespace the test makes (the TAP is made there, FC joins it) and the
chroot base on /dev/shm, another file system: kernel and disk are bind-mounted, not linked,
and the snapshot is copied out.

usage: test_jailer.py embed|daemon|pidns

Exit 77 without /dev/kvm, firecracker, the jailer, the guest or virsh."""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realutil as R  # noqa: E402
from realutil import check, wait_for  # noqa: E402

BOOT = 15.0
QUICK = 5.0
UID, GID = 52100 + os.getpid() % 800, 52900 + os.getpid() % 90
SHARES, QUOTA, PERIOD, HARD_MIB = 512, 20000, 100000, 192


def cgroup_root(controller):
    """Where the v1 controller (or, with None, the v2 hierarchy) is mounted."""
    for line in open("/proc/self/mounts"):
        f = line.split()
        if controller is None and f[2] == "cgroup2":
            return f[1]
        if controller and f[2] == "cgroup" and controller in f[3].split(","):
            return f[1]
    return None


def owner(pid):
    st = open(f"/proc/{pid}/status").read()
    uid = int(re.search(r"^Uid:\s+(\d+)", st, re.M).group(1))
    gid = int(re.search(r"^Gid:\s+(\d+)", st, re.M).group(1))
    return uid, gid


class HostNet:
    """The host's own network namespace: `ip netns exec` would remount /sys, and the cgroup
    hierarchies the jailer needs under /sys/fs/cgroup with it. The TAP gets a name with the
    pid in it; Cocoon creates it and removes it at destroy."""

    def exec_argv(self, argv):
        return list(argv)

    def links(self):
        rc, out = R.sh("ip", "-o", "link", "show")
        return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
                if line.count(":") >= 2]

    def close(self):
        pass


class Suite:
    def __init__(self, mode):
        self.mode = mode
        self.kernel = R.test_guest()
        R.require("fc", daemon=mode == "daemon", guest=self.kernel)
        self.jailer = os.path.join(R.VMM_DIR, "jailer")
        if not os.access(self.jailer, os.X_OK):
            R.skip(f"no jailer binary at {self.jailer} (set COCOON_REAL_VMM_DIR)")
        self.v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        self.ns = HostNet()
        self.tapns = R.Netns() if mode == "pidns" else None
        self.shm_base = f"/dev/shm/cocoon-jail-{os.getpid()}"
        self.conf_dir = os.path.join("/tmp", f"cocoon-jail-conf-{os.getpid()}")
        os.makedirs(self.conf_dir, exist_ok=True)
        self.conf = os.path.join(self.conf_dir, "cocoon.conf")
        with open(self.conf, "w") as f:
            f.write(f"[hypervisors]\njailer = {self.jailer}\n"
                    f"firecracker = {os.path.join(R.VMM_DIR, 'firecracker')}\n"
                    f"[jailer]\nuid = {UID}\ngid = {GID}\n"
                    f"new-pid-ns = {'yes' if mode == 'pidns' else 'no'}\n")
            if self.tapns:
                f.write(f"netns = /run/netns/{self.tapns.name}\n")
                f.write(f"chroot-base = {self.shm_base}\n")
        self.s = R.Session("fc", mode == "daemon", self.ns,
                           env={"COCOON_CONFIG": self.conf, "COCOON_SHUTDOWN_TIMEOUT_MS": "3000",
                                "COCOON_STOP_TIMEOUT_MS": "2000"})
        self.s.env["COCOON_CONFIG"] = self.conf
        self.tag = f"{os.getpid() % 100000}"
        self.base = self.shm_base if self.tapns else os.path.join(self.s.run_dir, "jail")

    def ok(self, cond, what):
        check(cond, f"[jailer {self.mode}] {what}")
        return cond

    def jail_left(self, name):
        """What of the domain's jail is still there: the chroot folder, cgroups, mounts."""
        left = []
        d = os.path.join(self.base, "firecracker", name)
        if os.path.exists(d):
            left.append(d)
        for ctl in ([None] if self.v2 else ["cpu", "memory"]):
            root = cgroup_root(ctl)
            if root and os.path.exists(os.path.join(root, "firecracker", name)):
                left.append(os.path.join(root, "firecracker", name))
        for line in open("/proc/self/mounts"):
            if line.split()[1].startswith(d + "/"):
                left.append(line.split()[1])
        return left

    def cgroup_checks(self, pid):
        if self.v2:
            root = cgroup_root(None)
            cg = os.path.join(root, "firecracker", self.name)
            want = {"cpu.max": f"{QUOTA} {PERIOD}", "memory.max": str(HARD_MIB << 20)}
        else:
            cg = None
            want = {}
        procs = {}
        for ctl, files in ([(None, want)] if self.v2 else
                           [("cpu", {"cpu.shares": str(SHARES), "cpu.cfs_quota_us": str(QUOTA),
                                     "cpu.cfs_period_us": str(PERIOD)}),
                            ("memory", {"memory.limit_in_bytes": str(HARD_MIB << 20)})]):
            cg = os.path.join(cgroup_root(ctl), "firecracker", self.name)
            for fname, value in files.items():
                try:
                    got = open(os.path.join(cg, fname)).read().strip()
                except OSError as e:
                    got = f"unreadable: {e.strerror}"
                self.ok(got == value, f"{cg}/{fname} is {value} (is {got})")
            try:
                procs[ctl] = open(os.path.join(cg, "cgroup.procs")).read().split()
            except OSError:
                procs[ctl] = []
            self.ok(str(pid) in procs[ctl], f"FC (pid {pid}) is in the cgroup {cg}")

    def run(self):
        s = self.s
        try:
            self.name = name = f"jail{self.tag}"
            tap = f"cjt{self.tag}"
            disk = os.path.join(s.dir, "disk.img")
            with open(disk, "wb") as f:
                f.truncate(4 << 20)
            os.chmod(disk, 0o600)
            devices = (f"<disk type='file' device='disk'><source file='{disk}'/>"
                       "<target dev='vda' bus='virtio'/></disk>"
                       f"<interface type='ethernet'><target dev='{tap}'/></interface>")
            path = os.path.join(s.dir, f"{name}.xml")
            xml = R.domain_xml(name, "fc", self.kernel, devices=devices).replace(
                "<vcpu>", f"<cputune><shares>{SHARES}</shares><period>{PERIOD}</period>"
                          f"<quota>{QUOTA}</quota></cputune>"
                          f"<memtune><hard_limit unit='MiB'>{HARD_MIB}</hard_limit></memtune>"
                          "<vcpu>")
            with open(path, "w") as f:
                f.write(xml)
            rc, out, err = s.run("define", path)
            if not self.ok(rc == 0, f"define with <cputune>/<memtune> ({err.strip()})"):
                return
            s.names.append(name)
            rc, out, err = s.run("start", name)
            if not self.ok(rc == 0, f"start under the jailer ({err.strip()})"):
                log = os.path.join(s.live(name), "vmm.log")
                if os.path.exists(log):
                    print(open(log).read()[-2000:])
                return
            pid = s.pid(name)
            self.ok(pid and R.alive(pid), f"the status names a live FC (pid {pid})")
            root = os.path.join(self.base, "firecracker", name, "root")
            self.ok(os.path.isdir(root), f"the chroot is {root}")
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            self.ok(cmd[0] == b"/firecracker", f"the pid is the jailed firecracker ({cmd[:3]})")
            inside = os.stat(f"/proc/{pid}/root/fc-api.sock")
            self.ok(inside.st_ino == os.stat(os.path.join(root, "fc-api.sock")).st_ino,
                    "FC's / is its chroot (its /fc-api.sock is the chroot's)")
            self.ok(owner(pid) == (UID, GID), f"FC runs as {UID}:{GID} ({owner(pid)})")
            self.cgroup_checks(pid)
            if self.mode == "pidns":
                nspid = open(f"/proc/{pid}/status").read()
                m = re.search(r"^NSpid:\s+(.*)$", nspid, re.M)
                self.ok(m and m.group(1).split()[-1] == "1",
                        f"FC is pid 1 of its own PID namespace (NSpid {m and m.group(1)})")
            # the waiter is FC's parent: exit status and the shutdown escalation rest on it
            st = open(f"/proc/{pid}/stat").read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            self.ok("cocoon-vmm-waiter" in open(f"/proc/{ppid}/cmdline").read(),
                    f"FC's parent ({ppid}) is the waiter")
            self.ok(R.tun_fds(pid, tap) == 1, f"FC opened TAP '{tap}' from inside the jail")
            mounts = [line.split()[1] for line in open("/proc/self/mounts")]
            inside = os.path.join(root, "disk-vda")
            if self.tapns:
                self.ok(inside in mounts, f"across file systems the disk is bind-mounted in")
            else:
                self.ok(inside not in mounts and os.stat(inside).st_ino == os.stat(disk).st_ino,
                        "the disk is a hard link in the chroot")
            if self.tapns:
                self.ok(tap in self.tapns.links() and tap not in self.ns.links(),
                        f"the TAP is in the network namespace FC joined ({self.tapns.name})")
                self.ok(os.readlink(f"/proc/{pid}/ns/net") !=
                        os.readlink("/proc/self/ns/net"), "FC runs in that network namespace")

            c = s.attach(name, BOOT)
            if self.ok(c is not None, "the console shows the guest's prompt"):
                self.ok(R.BANNER in c.buf, "the console scrollback holds the banner")
                got = c.cmd("echo jailed-hello")
                self.ok(got is not None and "jailed-hello" in got,
                        f"a typed command answers ({got!r})")
                got = c.cmd("write 3 JAILED-DISK")
                got = c.cmd("read 3")
                self.ok(got is not None and "JAILED-DISK" in got,
                        f"the disk (hard-linked in) is written and read back ({got!r})")
                self.ok(c.leave() == 0, "Ctrl+] leaves the console")
                c.close()

            if self.mode == "daemon":
                s.daemon.restart()
                self.ok(R.alive(pid) and s.pid(name) == pid, "FC outlives a cocoond restart")
                self.ok(wait_for(lambda: s.state(name).startswith("running"), QUICK),
                        f"the restarted cocoond re-attaches ('{s.state(name)}')")
                c = s.attach(name, BOOT)
                if self.ok(c is not None, "the console after the restart"):
                    got = c.cmd("echo after-restart")
                    self.ok(got is not None and "after-restart" in got,
                            f"typed command after the restart ({got!r})")
                    c.leave()
                    c.close()
            else:
                self.snapshot(name)
                self.bad_seccomp()
                self.emulator_jailer()
                self.killed_start()

            rc, out, err = s.run("shutdown", name)
            self.ok(rc == 0, f"shutdown ({out.strip()} {err.strip()})")
            self.ok(wait_for(lambda: s.state(name).startswith("shut off"), BOOT),
                    f"the guest powers off: '{s.state(name)}'")
            self.ok(wait_for(lambda: not self.jail_left(name), QUICK),
                    f"nothing left in the chroot base after shutdown: {self.jail_left(name)}")

            # start again, then destroy: the same clean slate
            rc, out, err = s.run("start", name)
            self.ok(rc == 0, f"a second start under the jailer ({err.strip()})")
            pid = s.pid(name)
            rc, out, err = s.run("destroy", name)
            self.ok(rc == 0, f"destroy ({err.strip()})")
            self.ok(pid and wait_for(lambda: not R.alive(pid), QUICK), "destroy kills FC")
            left = self.jail_left(name)
            self.ok(not left, f"nothing left in the chroot base after destroy: {left}")
            self.ok(tap not in (self.tapns or self.ns).links(), f"TAP '{tap}' removed after destroy")
            dst = os.stat(disk)
            self.ok(dst.st_uid == 0 and dst.st_nlink == 1,
                    f"the disk is root's again, with no link left (uid {dst.st_uid}, "
                    f"{dst.st_nlink} links)")
        finally:
            s.close()
            if self.tapns:
                self.tapns.close()
                for d in (os.path.join(self.shm_base, "firecracker"), self.shm_base):
                    if os.path.isdir(d):
                        os.rmdir(d)
            for f in os.listdir(self.conf_dir):
                os.unlink(os.path.join(self.conf_dir, f))
            os.rmdir(self.conf_dir)

    def jailed(self, name):
        """The pids of the processes whose / is the chroot of name's jail."""
        try:
            want = os.stat(os.path.join(self.base, "firecracker", name, "root"))
        except OSError:
            return []
        pids = []
        for p in os.listdir("/proc"):
            try:
                st = os.stat(f"/proc/{p}/root") if p.isdigit() else None
            except OSError:
                continue
            if st and (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
                pids.append(int(p))
        return pids

    def killed_start(self):
        """A start killed (SIGKILL of cocoonvirsh) once FC runs in its jail but before the status
        names it: FC's command line names nothing of the live directory, so the stray finder
        missed it. Now it knows it by its root (the chroot the live directory's socket links
        point into): `gc` stops it and releases the jail, and a start with such a leftover stops
        it itself and boots."""
        s = self.s
        name = f"jailcut{self.tag}"
        s.define(name, kernel=self.kernel)
        for how in ("gc", "start"):
            for _ in range(20):
                proc = subprocess.Popen(s.argv("start", name), env=s.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                deadline = time.time() + 10
                while time.time() < deadline and proc.poll() is None:
                    if self.jailed(name):
                        proc.send_signal(signal.SIGKILL)
                        break
                proc.wait()
                if self.jailed(name) and s.state(name).startswith("shut off"):
                    break
                s.run("destroy", name)
            else:
                self.ok(False, f"{how}: a start killed between FC's spawn and its status")
                continue
            left = self.jailed(name)
            if how == "gc":
                rc, out, err = s.run("gc")
                self.ok(rc == 0 and "process" in out and "of a start cut short" in out,
                        f"gc stops the jailed FC of a start cut short ({out.strip()})")
                self.ok(not self.jailed(name), f"no process left in the jail ({left})")
                self.ok(not self.jail_left(name),
                        f"gc released the jail: {self.jail_left(name)}")
            else:
                rc, out, err = s.run("start", name)
                self.ok(rc == 0, f"a start over a jailed leftover stops it and boots "
                        f"({err.strip()})")
                now = self.jailed(name)
                self.ok(s.pid(name) in now and not any(R.alive(p) for p in left),
                        f"the leftover FC is gone, the jail holds the new one ({now}, left over "
                        f"{left})")
                s.run("destroy", name)
                self.ok(not self.jail_left(name), f"destroy leaves nothing: {self.jail_left(name)}")
        for p in self.jailed(name):  # what a failed check left: the test's own
            os.kill(p, signal.SIGKILL)
        s.run("undefine", name)
        s.names.remove(name)

    def bad_seccomp(self):
        """--seccomp-filter reaches FC: a file that is no BPF filter makes it fail to start;
        the error says why and nothing of that boot is left."""
        s = self.s
        bogus = os.path.join(self.conf_dir, "bogus.bpf")
        with open(bogus, "w") as f:
            f.write("not a filter\n")
        good = open(self.conf).read()
        with open(self.conf, "w") as f:
            f.write(good + f"seccomp-filter = {bogus}\n")
        try:
            name = f"jailbad{self.tag}"
            s.define(name, kernel=self.kernel)
            rc, out, err = s.run("start", name)
            self.ok(rc != 0 and "seccomp" in err.lower(),
                    f"a bad --seccomp-filter fails the start and says so: {' '.join(err.split())}")
            self.ok(s.state(name).startswith("shut off"), f"still shut off ('{s.state(name)}')")
            left = self.jail_left(name)
            self.ok(not left, f"a failed jailed start leaves nothing in the chroot base: {left}")
            self.ok(os.stat(bogus).st_uid == 0, "the filter file is root's again")
            s.run("undefine", name)
            s.names.remove(name)
        finally:
            with open(self.conf, "w") as f:
                f.write(good)

    def emulator_jailer(self):
        """No jailer in cocoon.conf, but <emulator> names one: that domain runs jailed."""
        s = self.s
        good = open(self.conf).read()
        with open(self.conf, "w") as f:
            f.write(f"[hypervisors]\nfirecracker = {os.path.join(R.VMM_DIR, 'firecracker')}\n")
        try:
            name = f"jailemu{self.tag}"
            path = os.path.join(s.dir, f"{name}.xml")
            with open(path, "w") as f:
                f.write(R.domain_xml(name, "fc", self.kernel).replace(
                    R.EMULATOR["fc"], self.jailer))
            rc, out, err = s.run("define", path)
            self.ok(rc == 0, f"define with <emulator> the jailer ({err.strip()})")
            s.names.append(name)
            rc, out, err = s.run("start", name)
            pid = s.pid(name) if rc == 0 else 0
            self.ok(rc == 0 and pid and owner(pid) == (52000, 52000),
                    f"<emulator> the jailer: FC runs jailed as the default 52000:52000 "
                    f"({err.strip()}{owner(pid) if pid else ''})")
            s.run("destroy", name)
            self.ok(not self.jail_left(name), f"nothing left: {self.jail_left(name)}")
            s.run("undefine", name)
            s.names.remove(name)
        finally:
            with open(self.conf, "w") as f:
                f.write(good)

    def snapshot(self, name):
        s = self.s
        rc, out, err = s.run("snapshot-create-as", name, "snap1", timeout=120)
        if not self.ok(rc == 0, f"snapshot-create-as of a jailed domain ({out.strip()} "
                                f"{err.strip()})"):
            return
        c = s.attach(name, BOOT, quiet=True)
        if c:
            c.cmd("echo after-snapshot")
            c.leave()
            c.close()
        rc, out, err = s.run("snapshot-revert", name, "snap1", timeout=120)
        if not self.ok(rc == 0, f"snapshot-revert of a jailed domain ({err.strip()})"):
            return
        pid = s.pid(name)
        self.ok(pid and R.alive(pid) and owner(pid) == (UID, GID),
                f"the reverted VM runs jailed as {UID}:{GID}")
        self.ok(wait_for(lambda: s.state(name).startswith("running"), QUICK),
                f"running after the revert ('{s.state(name)}')")
        # the restored guest sits at its prompt: no new one in the scrollback
        c = s.console(name)
        time.sleep(1.0)
        got = c.cmd("echo reverted", timeout=10)
        self.ok(got is not None and "reverted" in got,
                f"the reverted guest answers on its console ({got!r}; console: {c.text()!r})")
        c.leave()
        c.close()


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("embed", "daemon", "pidns"):
        sys.exit("usage: test_jailer.py embed|daemon|pidns")
    Suite(sys.argv[1]).run()
    R.finish()
