#!/usr/bin/python3
"""Crash consistency (issue 13 §3): SIGKILL of cocoonvirsh (embedded) or of cocoond (Debian's
virsh as the client; cocoonvirsh for Cocoon's own clone) at a seeded random moment of one
operation, then what a user would check:

  * every listed domain's definition parses (dumpxml), no name or uuid twice;
  * the operation happened or did not (the domains, snapshots and states are one of the two
    outcomes; when the command had finished before the kill, the first);
  * a restarted daemon (or the next embedded command) shows running what runs;
  * after `cocoonvirsh gc`: no VMM or helper of the trial's root runs for a domain Cocoon does
    not show running, no `.tmp-*` is left under the root, no run folder of an undefined domain;
  * the next command works: the operation retried (or its undo) succeeds, and a final destroy of
    everything leaves no process of the trial behind.

Usage: run.py [--seed N] [--op OP[,OP…]] [--mode embed|daemon|both] [--trials K]
              [--backend fc|ch] [--real] [--window MS] [-v]
`run.py --seed N --op OP --mode M` replays one trial (the kill moment comes from the seed and
the operation's window, --window MS; without it the window is 1.3 times the operation's
uncut duration, measured first, and printed). Exit 0 when every trial is consistent, 1 otherwise, 77 when what the
run needs is missing."""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lifecycle"))
import lifeutil  # noqa: E402
from lifeutil import Root, alive, skip  # noqa: E402

BUILD = lifeutil.BUILD
VIRSH = lifeutil.VIRSH
COCOOND = os.path.join(BUILD, "tools", "daemon", "cocoond")
SHARED = os.environ.get("COCOON_SHARED", os.path.join(HERE, "..", "..", "..", "shared"))
REAL_FC = os.path.join(os.environ.get("COCOON_REAL_VMM_DIR", os.path.join(SHARED, "vmm")),
                       "firecracker")
GUEST = os.environ.get("COCOON_TEST_GUEST",
                       os.path.join(BUILD, "tests", "guest", "cocoon-test-guest"))

OPS = ["define", "undefine", "start", "shutdown", "snapshot", "revert", "clone", "import"]
RUNNING = ("running", "paused", "in shutdown")


class Trial:
    def __init__(self, seed, op, mode, backend, real, window, verbose):
        self.seed, self.op, self.mode, self.backend, self.real = seed, op, mode, backend, real
        self.verbose = verbose
        self.rng = random.Random(f"{op}/{mode}/{backend}/{'real' if real else 'sim'}/{seed}")
        self.delay = self.rng.uniform(0, window) / 1000.0 if window else float("inf")
        self.problems = []
        self.daemon = None
        self.daemon_log = None

    # ---- plumbing -------------------------------------------------------------------------

    def tag(self):
        return f"--seed {self.seed} --op {self.op} --mode {self.mode}" + \
               (f" --backend {self.backend}" if self.backend != "fc" else "") + \
               (" --real" if self.real else "")

    def bad(self, what):
        self.problems.append(what)

    def argv(self, args, own=False):
        """The client argv for one command: cocoonvirsh embedded; through the daemon Debian's
        virsh, or cocoonvirsh for what only Cocoon has (own)."""
        if self.mode == "embed":
            return [VIRSH, "-c", self.r.uri, *args]
        if own:
            return [VIRSH, "-c", self.duri, *args]
        return ["virsh", "-q", "-c", self.duri, *args]

    def cmd(self, *args, own=False, timeout=60):
        return subprocess.run(self.argv(args, own), capture_output=True, text=True,
                              env=self.r.env, timeout=timeout)

    def must(self, *args, own=False):
        p = self.cmd(*args, own=own)
        if p.returncode != 0:
            raise RuntimeError(f"setup '{' '.join(args)}' failed: {p.stdout}{p.stderr}")
        return p

    def daemon_start(self):
        self.sock = os.path.join(self.r.dir, "sock")
        self.duri = f"cocoon+unix:///system?socket={self.sock}"
        if self.daemon_log is None:
            self.daemon_log = open(os.path.join(self.r.dir, "cocoond.log"), "a")
        self.daemon = subprocess.Popen(
            [COCOOND, "--root", self.r.root, "--run-dir", os.path.join(self.r.root, "run"),
             "--socket", self.sock], stdout=subprocess.DEVNULL, stderr=self.daemon_log,
            env=self.r.env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError(f"cocoond exited ({self.daemon.returncode})")
            try:
                c = socket.socket(socket.AF_UNIX)
                c.connect(self.sock)
                c.close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("cocoond did not come up")

    def names(self):
        p = self.cmd("list", "--all", "--name")
        if p.returncode != 0:
            self.bad(f"list --all fails: {p.stderr.strip()}")
            return []
        return [n for n in p.stdout.split("\n") if n.strip()]

    def state(self, name):
        p = self.cmd("domstate", name)
        return p.stdout.strip() if p.returncode == 0 else None

    def snapshots(self, name):
        p = self.cmd("snapshot-list", name, "--name")
        if p.returncode != 0:
            self.bad(f"snapshot-list '{name}' fails: {p.stderr.strip()}")
            return []
        return sorted(n for n in p.stdout.split("\n") if n.strip())

    # ---- the trial ------------------------------------------------------------------------

    def xml(self, name):
        if not self.real:
            return self.r.xml(name, backend=self.backend)
        path = os.path.join(self.r.dir, f"{name}.xml")
        with open(path, "w") as f:
            f.write(f"""<domain type='kvm'><name>{name}</name><memory unit='MiB'>64</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>{GUEST}</kernel>
<cmdline>console=ttyS0</cmdline></os>
<devices><emulator>/usr/bin/firecracker</emulator>
<serial type='pty'><target port='0'/></serial></devices></domain>
""")
        return path

    def setup(self, archive):
        op = self.op
        if op != "define" and op != "import":
            self.must("define", self.xml("d"))
        if op in ("shutdown", "snapshot", "revert", "clone"):
            self.must("start", "d")
            if self.real:
                time.sleep(0.3)  # the guest's boot (it prints its banner in ~100 ms)
        if op in ("revert", "clone"):
            self.must("snapshot-create-as", "d", "s1")
        if op == "import":
            self.archive = archive

    def op_argv(self):
        op = self.op
        if op == "define":
            return self.argv(["define", self.xml("d")])
        if op == "undefine":
            return self.argv(["undefine", "d"])
        if op == "start":
            return self.argv(["start", "d"])
        if op == "shutdown":
            return self.argv(["shutdown", "d"])
        if op == "snapshot":
            return self.argv(["snapshot-create-as", "d", "s1"])
        if op == "revert":
            return self.argv(["snapshot-revert", "d", "s1"])
        if op == "clone":
            return self.argv(["clone", "--snapshot", "s1", "d", "c"], own=True)
        return self.argv(["snapshot-import", self.archive], own=True)

    def run_killed(self):
        """Run the operation, SIGKILL the process that does it after self.delay; True when the
        operation had finished with success before."""
        proc = subprocess.Popen(self.op_argv(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.r.env)
        victim = proc if self.mode == "embed" else self.daemon
        t0 = time.monotonic()
        deadline = t0 + self.delay
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.001)
        self.took = time.monotonic() - t0
        done = proc.poll() == 0
        if self.delay != float("inf"):
            try:
                victim.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            victim.wait()
        out, err = proc.communicate(timeout=60)
        self.finished = done
        if self.verbose:
            print(f"  kill at {self.delay * 1000:.0f} ms, finished before: {done}; "
                  f"{(out + err).strip()[:200]}", flush=True)
        if self.mode == "daemon":
            self.daemon_start()

    def vmm_processes(self):
        """(pid, domain name or None) of processes other than the daemon whose command line
        points into this trial's run folder."""
        run = os.path.join(self.r.root, "run", "domains") + "/"
        out = []
        for pid, cmd in self.r.processes():
            if self.daemon and pid == self.daemon.pid:
                continue
            if run not in cmd:
                continue
            name = cmd.split(run, 1)[1].split("/", 1)[0].split(" ", 1)[0]
            out.append((pid, name, cmd))
        return out

    def check(self):
        op, fin = self.op, self.finished
        names = self.names()
        if len(names) != len(set(names)):
            self.bad(f"a domain is listed twice: {names}")
        uuids = []
        for n in names:
            p = self.cmd("dumpxml", n)
            if p.returncode != 0 or f"<name>{n}</name>" not in p.stdout:
                self.bad(f"dumpxml '{n}' fails: {p.stderr.strip()}")
            u = self.cmd("domuuid", n).stdout.strip()
            uuids.append(u)
        if len(uuids) != len(set(uuids)):
            self.bad(f"two domains share a uuid: {uuids}")
        states = {n: self.state(n) for n in names}
        # the operation happened or did not
        want = {"define": ([], ["d"]), "undefine": (["d"], []), "import": ([], ["d"]),
                "clone": (["d"], ["c", "d"])}.get(op, (["d"], ["d"]))
        if sorted(names) not in (want[0], want[1]) or (fin and sorted(names) != want[1]):
            self.bad(f"domains {sorted(names)}, expected {want[1]}"
                     + ("" if fin else f" or {want[0]}"))
        if op == "start" and fin and states.get("d") != "running":
            self.bad(f"'d' is {states.get('d')} after a start that succeeded")
        if op in ("snapshot", "import") and "d" in names:
            snaps = self.snapshots("d")
            if snaps not in ([], ["s1"]) or (fin and snaps != ["s1"]) or \
                    (op == "import" and snaps != ["s1"]):
                self.bad(f"snapshots of 'd': {snaps}")
            for s in snaps:
                p = self.cmd("snapshot-dumpxml", "d", s)
                if p.returncode != 0:
                    self.bad(f"snapshot-dumpxml d {s} fails: {p.stderr.strip()}")
        # what runs shows running (a restarted daemon re-attached), what shows running runs
        run = os.path.join(self.r.root, "run", "domains")
        for n in names:
            pid = self.r.pid(n) if os.path.isdir(os.path.join(run, n)) else 0
            vmm_alive = pid > 0 and alive(pid)
            if states[n] in ("running", "paused") and not vmm_alive:
                self.bad(f"'{n}' shows {states[n]} but its VMM {pid} does not run")
            if vmm_alive and states[n] not in RUNNING:
                self.bad(f"'{n}' shows {states[n]} while its VMM {pid} runs")
        # gc, then nothing unknown may be left
        p = self.cmd("gc", own=True)
        if p.returncode != 0:
            self.bad(f"gc fails: {p.stderr.strip()}")
        states = {n: self.state(n) for n in names}
        for pid, name, cmd in self.vmm_processes():
            if states.get(name) not in RUNNING:
                self.bad(f"process {pid} of '{name}' runs, unknown to Cocoon "
                         f"(state {states.get(name)}): {cmd[:160]}")
        for d, dirs, files in os.walk(self.r.root):
            for f in dirs + files:
                if ".tmp-" in f:
                    self.bad(f"left over after gc: {os.path.join(d, f)}")
        if os.path.isdir(run):
            for n in os.listdir(run):
                if n not in names and os.path.isdir(os.path.join(run, n)):
                    self.bad(f"run folder of undefined '{n}' left after gc: "
                             f"{os.listdir(os.path.join(run, n))}")
        self.retry(names, states)

    def retry(self, names, states):
        """The next command works: the operation (or its undo) once more, then everything
        destroyed, leaving no process of the trial."""
        op = self.op
        steps = []
        if op == "define":
            steps = [("undefine", "d")] if "d" in names else [("define", self.xml("d"))]
        elif op == "undefine":
            steps = [("undefine", "d")] if "d" in names else [("define", self.xml("d"))]
        elif op == "start":
            steps = [("destroy", "d")] if states.get("d") in RUNNING else [("start", "d")]
        elif op == "shutdown":
            steps = [("destroy", "d")] if states.get("d") in RUNNING else [("start", "d")]
        elif op == "snapshot":
            steps = [("snapshot-create-as", "d", "s2")]
        elif op == "revert":
            steps = [("snapshot-revert", "d", "s1")]
        elif op == "clone" and "c" not in names:
            steps = [("clone", "--snapshot", "s1", "d", "c")]
        elif op == "import" and "d" not in names:
            steps = [("snapshot-import", self.archive)]
        for s in steps:
            p = self.cmd(*s, own=s[0] in ("clone", "snapshot-import"))
            if p.returncode != 0:
                self.bad(f"the next '{' '.join(s[:2])}' fails: {p.stderr.strip()}")
        for n in self.names():
            if self.state(n) in RUNNING:
                p = self.cmd("destroy", n)
                if p.returncode != 0:
                    self.bad(f"destroy '{n}' fails: {p.stderr.strip()}")
        time.sleep(0.05)
        left = self.vmm_processes()
        if left:
            self.bad(f"processes left after destroying everything: {[x[2][:120] for x in left]}")

    def run(self, archive=None):
        env = {}
        if self.real:
            env = {"COCOON_FIRECRACKER": REAL_FC}
        with Root(**env) as self.r:
            try:
                if self.mode == "daemon":
                    self.daemon_start()
                self.setup(archive)
                self.run_killed()
                self.check()
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                self.bad(f"trial broke: {e}")
            finally:
                if self.daemon and self.daemon.poll() is None:
                    self.daemon.send_signal(signal.SIGTERM)
                    try:
                        self.daemon.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        self.daemon.kill()
                        self.daemon.wait()
                for pid, _cmd in self.r.processes():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if self.daemon_log:
                    self.daemon_log.close()
        return self.problems


def make_archive(backend, real, workdir):
    """An archive of snapshot 's1' of a running domain 'd', for the import trials."""
    t = Trial(0, "snapshot", "embed", backend, real, 1, False)
    env = {"COCOON_FIRECRACKER": REAL_FC} if real else {}
    with Root(**env) as t.r:
        t.must("define", t.xml("d"))
        t.must("start", "d")
        if real:
            time.sleep(0.3)
        t.must("snapshot-create-as", "d", "s1")
        path = os.path.join(workdir, "d-s1.tar.zst")
        t.must("snapshot-export", "d", "s1", path)
        t.must("destroy", "d")
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=None, help="first seed (default: time)")
    ap.add_argument("--op", default=",".join(OPS))
    ap.add_argument("--mode", default="both", choices=["embed", "daemon", "both", "alt"],
                    help="alt: the seeds take turns (the short CI pass)")
    ap.add_argument("--trials", type=int, default=1, help="seeds per operation and mode")
    ap.add_argument("--backend", default="fc", choices=["fc", "ch"])
    ap.add_argument("--real", action="store_true", help="the real Firecracker, our test guest")
    ap.add_argument("--window", type=float, default=None, help="kill span in ms")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()

    if not os.path.exists(VIRSH) or not os.path.exists(COCOOND):
        skip(f"{VIRSH} or {COCOOND} is not built")
    if a.real:
        if a.backend != "fc":
            skip("the real-VMM trials run on Firecracker only")
        try:
            os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
        except OSError as e:
            skip(f"/dev/kvm does not open: {e.strerror}")
        if not os.access(REAL_FC, os.X_OK):
            skip(f"no firecracker at {REAL_FC}")
        if not os.path.exists(GUEST):
            skip(f"no test guest at {GUEST}")
    modes = ["embed", "daemon"] if a.mode in ("both", "alt") else [a.mode]
    if "daemon" in modes and not shutil.which("virsh"):
        skip("no Debian virsh (libvirt-clients) for the daemon trials")
    ops = a.op.split(",")
    for op in ops:
        if op not in OPS:
            print(f"error: unknown operation '{op}' (one of {', '.join(OPS)})")
            return 2
    seed0 = a.seed if a.seed is not None else int(time.time()) % 100000
    print(f"crash trials: first seed {seed0}, {a.trials} per operation and mode, "
          f"{'real firecracker' if a.real else a.backend + ' simulator'}", flush=True)
    workdir = tempfile.mkdtemp(prefix="cocoon-crash-")
    archive = None
    total_bad = 0
    try:
        for op in ops:
            for mode in modes:
                if op == "import" and mode == "daemon":
                    print("import/daemon: skipped (snapshot-import runs in the local driver "
                          "only; cocoond has no procedure for it)")
                    continue
                if op == "import" and archive is None:
                    archive = make_archive(a.backend, a.real, workdir)
                window = a.window
                if window is None:
                    # the span: 1.3 times what the uncut operation takes here, now
                    cal = Trial(seed0, op, mode, a.backend, a.real, 0, a.verbose)
                    problems = cal.run(archive)
                    if problems or not cal.finished:
                        total_bad += 1
                        print(f"INCONSISTENT uncut {op}/{mode}: {problems}", flush=True)
                    window = round(1300 * getattr(cal, "took", 0.2))
                t0, bad, fins = time.monotonic(), 0, 0
                seeds = range(a.trials)
                if a.mode == "alt":
                    seeds = range(modes.index(mode), a.trials, 2)
                for k in seeds:
                    t = Trial(seed0 + k, op, mode, a.backend, a.real, window, a.verbose)
                    problems = t.run(archive)
                    fins += t.finished if hasattr(t, "finished") else 0
                    if problems:
                        bad += 1
                        print(f"INCONSISTENT run.py {t.tag()} --window {window:g} "
                              f"(kill at {t.delay * 1000:.0f} ms):", flush=True)
                        for p in problems:
                            print("    " + p, flush=True)
                    n = len([x for x in seeds if x <= k])
                    if n % 25 == 0:
                        print(f"  {op}/{mode}: {n} trials so far, {bad} inconsistent",
                              flush=True)
                total_bad += bad
                print(f"{op}/{mode}: window {window:g} ms, {len(seeds)} trials, {bad} inconsistent, "
                      f"{fins} finished before the kill, "
                      f"{time.monotonic() - t0:.1f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if total_bad:
        print(f"{total_bad} inconsistent trial(s)")
        return 1
    print("all trials consistent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
