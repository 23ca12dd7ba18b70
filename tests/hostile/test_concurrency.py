"""Concurrency (issue 13 §4): --clients clients × --ops random operations (define, undefine,
start, destroy, suspend, resume, dominfo, dumpxml, domstate, list) over --domains domains, on
one Cocoon root, through cocoond (python3-libvirt, one connection per client), embedded
(cocoonvirsh processes) or both at once (--mode mixed), on a simulator or on the real VMM with
our test guest (--vmm fc-sim|ch-sim|fc|ch).

What it checks:
  * no deadlock: a watchdog fails the run, naming the client and the call, when one call takes
    longer than --op-limit seconds or the run longer than --time-limit;
  * every error is one of the state errors concmodel.KINDS names (no such domain, already
    running, not running, cannot undefine transient domain), nothing else;
  * the results the clients saw and the final state agree: for each domain an order of its
    calls exists that respects real time in which the model (concmodel) gives each call what
    its client saw, ending in the state the domain shows at the end (defined or not,
    persistent or transient, running, paused or shut off; the daemon and an embedded
    cocoonvirsh agree on it);
  * every definition left parses (dumpxml names the domain and its uuid), every running
    domain has its VMM alive, no VMM or helper of the root runs for a domain not running;
  * after everything is destroyed and undefined: no process of the root, no domain folder,
    no temporary file left, and cocoond exits cleanly (no sanitizer report).

Every run prints its seed; the same --seed (with the same sizes) gives every client the same
operations again. The full size of the issue: --clients 16 --ops 500 --domains 20 (the
default when run by hand); meson runs smaller ones. Exit 77 when the VMM, /dev/kvm, the guest
or Debian's libvirt module is missing."""

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "real"))
import concmodel as M  # noqa: E402
import realutil as R  # noqa: E402
from realutil import check  # noqa: E402
from rpcutil import Daemon, binary, skip  # noqa: E402

try:
    import libvirt
except ImportError:
    skip("no python3-libvirt")
libvirt.registerErrorHandler(lambda *_: None, None)  # the errors are counted, not printed

OPS_TABLE = [("define", 3), ("undefine", 1), ("start", 3), ("destroy", 2), ("suspend", 1),
             ("resume", 1), ("info", 3), ("xml", 2), ("list", 2), ("state", 3)]
VIRSH_ARGS = {"define": "define", "undefine": "undefine", "start": "start",
              "destroy": "destroy", "suspend": "suspend", "resume": "resume", "info": "dominfo",
              "xml": "dumpxml", "state": "domstate"}
LIBVIRT_STATE = {libvirt.VIR_DOMAIN_RUNNING: "running", libvirt.VIR_DOMAIN_PAUSED: "paused",
                 libvirt.VIR_DOMAIN_SHUTOFF: "off"}
VIRSH_STATE = {"running": "running", "paused": "paused", "shut off": "off"}


def uuid_of(i):
    return f"c0c0c0c0-0000-4000-8000-{i:012x}"


def pick(rng):
    total = sum(w for _, w in OPS_TABLE)
    x = rng.uniform(0, total)
    for op, w in OPS_TABLE:
        x -= w
        if x <= 0:
            return op
    return OPS_TABLE[-1][0]


class Run:
    def __init__(self, a):
        self.a = a
        self.calls = {f"c{i}": [] for i in range(a.domains)}
        self.lock = threading.Lock()
        self.bad = []          # errors that are no state error
        self.counts = {}       # "op ok" / "op refused: kind" -> n
        self.current = {}      # client -> (op, name, t0), the watchdog's view
        self.stuck = []
        self.done = threading.Event()
        self.nops = 0

    # ---- the environment ------------------------------------------------------------------

    def vmm_env(self):
        v = self.a.vmm
        if v == "fc-sim":
            return {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim")}
        if v == "ch-sim":
            return {"COCOON_CLOUD_HYPERVISOR": binary("tests", "sim", "ch-sim")}
        backend = v
        vmm = R.require(backend, guest=R.test_guest())
        return {"COCOON_FIRECRACKER" if backend == "fc" else "COCOON_CLOUD_HYPERVISOR": vmm}

    def write_domains(self, d):
        backend = "ch" if self.a.vmm.startswith("ch") else "fc"
        if self.a.vmm in ("fc", "ch"):
            kernel = R.test_guest()
        else:
            kernel = os.path.join(d.dir, "vmlinux")
            with open(kernel, "wb") as f:
                f.write(b"\x7fELF\x02\x01\x01" + b"\0" * 57)
                f.truncate(1 << 20)
        self.paths, self.xmls = [], []
        for i in range(self.a.domains):
            xml = R.domain_xml(f"c{i}", backend, kernel, memory_mib=64,
                               cmdline="console=ttyS0").replace(
                "<name>", f"<uuid>{uuid_of(i)}</uuid>\n  <name>", 1)
            path = os.path.join(d.dir, f"c{i}.xml")
            with open(path, "w") as f:
                f.write(xml)
            self.paths.append(path)
            self.xmls.append(xml)

    # ---- the clients ------------------------------------------------------------------------

    def record(self, client, name, op, t0, outcome, seen=None, detail=""):
        t1 = time.monotonic()
        with self.lock:
            self.nops += 1
            key = f"{op} ok" if outcome == "ok" else f"{op} refused: {outcome}"
            if outcome is None:
                self.bad.append((client, op, name, detail))
                return
            self.counts[key] = self.counts.get(key, 0) + 1
            if name:
                call = M.Call(t0, t1, op, outcome, seen, client)
                call.detail = detail
                self.calls[name].append(call)

    def begin(self, client, op, name):
        t0 = time.monotonic()
        self.current[client] = (op, name, t0)
        return t0

    def remote_client(self, d, idx):
        client = f"daemon{idx}"
        rng = random.Random(self.a.seed * 1000 + idx)
        conn = libvirt.open(d.uri)
        for _ in range(self.a.ops):
            op = pick(rng)
            n = rng.randrange(self.a.domains)
            name = f"c{n}"
            t0 = self.begin(client, op, name)
            seen = None
            try:
                if op == "define":
                    conn.defineXML(self.xmls[n])
                elif op == "list":
                    conn.listAllDomains(0)
                else:
                    dom = conn.lookupByName(name)
                    if op == "state":
                        seen = LIBVIRT_STATE.get(dom.state()[0], "other")
                    elif op == "info":
                        seen = LIBVIRT_STATE.get(dom.info()[0], "other")
                    else:
                        {"undefine": dom.undefine, "start": dom.create, "destroy": dom.destroy,
                         "suspend": dom.suspend, "resume": dom.resume,
                         "xml": lambda: dom.XMLDesc(0)}[op]()
                self.record(client, name if op != "list" else None, op, t0, "ok", seen)
            except libvirt.libvirtError as e:
                kind = M.classify(str(e)) if e.get_error_code() in (
                    libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN) else None
                if op == "start" and kind == M.NO_DOMAIN:
                    kind = M.START_MAYBE
                self.record(client, name, op, t0, kind,
                            detail=f"code {e.get_error_code()}: {e}")
        conn.close()
        self.current.pop(client, None)

    def embedded_client(self, d, idx):
        client = f"embed{idx}"
        rng = random.Random(self.a.seed * 1000 + 500 + idx)
        virsh = binary("tools", "virsh", "cocoonvirsh")
        for _ in range(self.a.ops):
            op = pick(rng)
            n = rng.randrange(self.a.domains)
            name = f"c{n}"
            if op == "list":
                args = ["list", "--all"]
            else:
                args = [VIRSH_ARGS[op], self.paths[n] if op == "define" else name]
            t0 = self.begin(client, op, name)
            p = subprocess.run([virsh, "-c", d.embed_uri] + args, capture_output=True,
                               text=True, env=self.env, timeout=self.a.op_limit * 2)
            if p.returncode == 0:
                seen = None
                if op == "state":
                    seen = VIRSH_STATE.get(p.stdout.strip(), "other")
                elif op == "info":
                    m = re.search(r"^State:\s+(.*)$", p.stdout, re.M)
                    seen = VIRSH_STATE.get(m.group(1).strip() if m else "", "other")
                self.record(client, name if op != "list" else None, op, t0, "ok", seen)
            else:
                kind = M.classify(p.stderr) if "sanitizer" not in p.stderr.lower() else None
                self.record(client, name, op, t0, kind,
                            detail=f"exit {p.returncode}: {p.stderr.strip()[:300]}")
        self.current.pop(client, None)

    def watchdog(self, d):
        while not self.done.wait(1.0):
            now = time.monotonic()
            for client, (op, name, t0) in list(self.current.items()):
                if now - t0 > self.a.op_limit:
                    self.stuck.append(f"{client} in '{op} {name}' for {now - t0:.0f} s")
            if self.stuck:
                wchans = []
                for t in os.listdir(f"/proc/{d.proc.pid}/task"):
                    try:
                        wchans.append(open(f"/proc/{d.proc.pid}/task/{t}/wchan").read())
                    except OSError:
                        pass
                print(f"WATCHDOG: a call did not return within {self.a.op_limit} s "
                      f"(deadlock?): {self.stuck}; cocoond's threads wait in {wchans}",
                      flush=True)
                return

    # ---- the checks afterwards ------------------------------------------------------------

    def processes(self, d):
        """(pid, domain name) of every process whose command line points into the run dir."""
        run = os.path.join(d.run, "domains") + "/"
        out = []
        for p in os.listdir("/proc"):
            if not p.isdigit() or int(p) == d.proc.pid:
                continue
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if run in cmd:
                out.append((int(p), cmd.split(run, 1)[1].split("/", 1)[0].split(" ", 1)[0]))
        return out

    def final_states(self, d):
        """name -> (exists, persistent, run) as the daemon shows it; the embedded driver must
        show the same."""
        conn = libvirt.open(d.uri)
        states = {}
        for dom in conn.listAllDomains(0):
            states[dom.name()] = (True, bool(dom.isPersistent()),
                                  LIBVIRT_STATE.get(dom.state()[0], "other"))
            x = dom.XMLDesc(0)
            n = int(dom.name()[1:])
            check(f"<name>{dom.name()}</name>" in x and uuid_of(n) in x,
                  f"'{dom.name()}': the definition parses, with its name and uuid")
        conn.close()
        virsh = binary("tools", "virsh", "cocoonvirsh")
        p = subprocess.run([virsh, "-c", d.embed_uri, "list", "--all", "--name"],
                           capture_output=True, text=True, env=self.env)
        embedded = sorted(x for x in p.stdout.split() if x)
        check(embedded == sorted(states), f"the embedded driver lists the daemon's domains "
              f"({embedded} vs {sorted(states)})")
        return states

    def check_history(self, states, t_end):
        wrong = []
        gave_up = []
        for name, calls in self.calls.items():
            final = M.Call(t_end, t_end, "final", "ok", states.get(name, M.GONE), "end")
            ok, info = M.linearize(calls + [final])
            if ok is None:
                gave_up.append(name)
            elif not ok:
                state = M.GONE
                for c in info:
                    state = M.step(state, c)
                rest = sorted(set(calls + [final]) - set(info), key=lambda c: c.t0)[:4]
                if self.a.history:
                    path = os.path.join(self.a.history, f"{self.a.seed}-{name}.history")
                    with open(path, "w") as f:
                        f.write("\n".join(f"{c!r} {c.detail}" for c in
                                           sorted(calls, key=lambda c: c.t0)))
                        f.write(f"\nfinal {final.seen}\n")
                wrong.append(f"{name}: {len(info)} of {len(calls) + 1} calls placed, the last "
                             f"{info[-3:]}, in state {state}; then none of {rest} fits")
        if wrong and self.a.history:
            with open(os.path.join(self.a.history, f"{self.a.seed}-cocoond.log"), "w") as f:
                f.write(self.daemon.stderr())
        check(not wrong, "every domain's calls and its final state fit the model "
              f"({len(wrong)} do not: {wrong[:3]})")
        if gave_up:
            print(f"# the model check gave up on {gave_up} (too many overlapping calls)")

    def check_processes(self, d, states):
        running = {n for n, s in states.items() if s[2] in ("running", "paused")}
        procs = self.processes(d)
        strays = sorted({(pid, n) for pid, n in procs if n not in running})
        check(not strays, f"no VMM or helper runs for a domain not running ({strays[:5]})")
        for n in running:
            check(R.alive(self.vmm_pid(d, n)), f"'{n}' shows {states[n][2]}: its VMM runs")

    @staticmethod
    def vmm_pid(d, name):
        try:
            status = open(os.path.join(d.run, "domains", name, "status")).read()
            return int(re.search(r"^pid=(\d+)", status, re.M).group(1))
        except (OSError, AttributeError):
            return 0

    def teardown(self, d):
        conn = libvirt.open(d.uri)
        for dom in conn.listAllDomains(0):
            if dom.isActive():
                dom.destroy()
        for dom in conn.listAllDomains(0):
            dom.undefine()
        left = [dom.name() for dom in conn.listAllDomains(0)]
        conn.close()
        check(not left, f"everything destroyed and undefined ({left})")
        # the live folders of undefined domains (and their locks) are gc's to remove
        virsh = binary("tools", "virsh", "cocoonvirsh")
        p = subprocess.run([virsh, "-c", d.embed_uri, "gc"], capture_output=True, text=True,
                           env=self.env)
        check(p.returncode == 0, f"gc works ({p.stderr.strip()})")
        time.sleep(0.2)
        check(not self.processes(d), f"no process of the root left ({self.processes(d)[:5]})")
        files = []
        for base in (d.root, d.run):
            for top, dirs, names in os.walk(base):
                for f in names + dirs:
                    p = os.path.join(top, f)
                    if f == "next-id":  # the domain id counter
                        continue
                    if ".tmp-" in f or p.startswith(os.path.join(d.root, "domains") + "/") or \
                            p.startswith(os.path.join(d.run, "domains") + "/"):
                        files.append(os.path.relpath(p, d.dir))
        check(not files, f"no domain file or temporary file left ({files[:6]})")

    # ---- the run ------------------------------------------------------------------------------

    def main(self):
        a = self.a
        vmm_env = self.vmm_env()
        env = dict(vmm_env, COCOON_SHUTDOWN_TIMEOUT_MS="3000", COCOON_STOP_TIMEOUT_MS="2000")
        print(f"# seed {a.seed}: {a.clients} clients ({a.mode}) x {a.ops} ops over {a.domains} "
              f"domains on {a.vmm}; again: test_concurrency.py --seed {a.seed} --clients "
              f"{a.clients} --ops {a.ops} --domains {a.domains} --mode {a.mode} --vmm {a.vmm}",
              flush=True)
        with Daemon(env=env) as d:
            self.daemon = d
            self.env = dict(os.environ, **env)
            self.env["COCOON_CONFIG"] = os.path.join(d.dir, "none.conf")
            self.write_domains(d)
            threads = []
            for i in range(a.clients):
                embed = a.mode == "embed" or (a.mode == "mixed" and i % 2)
                threads.append(threading.Thread(
                    target=self.embedded_client if embed else self.remote_client, args=(d, i),
                    daemon=True))
            dog = threading.Thread(target=self.watchdog, args=(d,), daemon=True)
            t0 = time.monotonic()
            for t in threads:
                t.start()
            dog.start()
            for t in threads:
                while t.is_alive() and not self.stuck and \
                        time.monotonic() - t0 < a.time_limit:
                    t.join(0.5)
            took = time.monotonic() - t0
            self.done.set()
            alive = [t for t in threads if t.is_alive()]
            if alive or self.stuck:
                check(False, f"every client finished (no deadlock): {len(alive)} still running "
                      f"after {took:.0f} s; stuck: {self.stuck or list(self.current.items())}")
                for pid, _ in self.processes(d):
                    os.kill(pid, signal.SIGKILL)
                d.proc.send_signal(signal.SIGABRT)
                os._exit(1)
            check(True, f"all {len(threads)} clients finished in {took:.1f} s (no deadlock)")
            print(f"# {self.nops} ops in {took:.1f} s: {self.nops / took:.1f} ops/s", flush=True)
            print("# " + ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())),
                  flush=True)
            refused = {}
            for k, v in self.counts.items():
                if "refused: " in k:
                    kind = k.split("refused: ", 1)[1]
                    refused[kind] = refused.get(kind, 0) + v
            print("# state errors per kind: " + (", ".join(
                f"{k} {v}" for k, v in sorted(refused.items())) or "none"), flush=True)
            check(not self.bad, f"only state errors ({len(self.bad)} others: {self.bad[:3]})")
            check(self.counts.get("start ok", 0) > 0, "some starts succeeded (the mix did "
                  "exercise the lifecycle)")
            states = self.final_states(d)
            t_end = time.monotonic()
            self.check_history(states, t_end)
            self.check_processes(d, states)
            self.teardown(d)
            check(d.alive(), "the daemon is still running")
        check(True, "cocoond exited cleanly")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--ops", type=int, default=500, help="operations per client")
    ap.add_argument("--domains", type=int, default=20)
    ap.add_argument("--mode", choices=["daemon", "embed", "mixed"], default="mixed")
    ap.add_argument("--vmm", choices=["fc-sim", "ch-sim", "fc", "ch"], default="fc-sim")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 1000000)
    ap.add_argument("--op-limit", type=float, default=120.0,
                    help="seconds one call may take before the watchdog fails the run")
    ap.add_argument("--time-limit", type=float, default=3000.0)
    ap.add_argument("--history", metavar="DIR",
                    help="write the calls of a domain that fails the model check to DIR")
    Run(ap.parse_args()).main()
    R.finish()


if __name__ == "__main__":
    main()
