"""Concurrency (issue 13 §4): CLIENTS clients × OPS random operations over DOMAINS domains on
the Firecracker simulator, through cocoond (python3-libvirt, one connection per client) and
embedded (cocoonvirsh processes on one root), all at once. Checks: every client finishes (no
deadlock, within the time limit); every error is a state error a user expects (not running,
already running, no such domain, not paused…) and nothing else; afterwards the state is
consistent: every running domain has its VMM alive, no VMM runs for a domain that is not
running, every definition left parses (dumpxml), and the daemon exits cleanly.
Reproducible: the seed is printed, COCOON_CONCURRENCY_SEED picks it; COCOON_CONCURRENCY=
"clients,ops,domains[,embedded_ops]" changes the scale (default 16,500,20,40)."""

import os
import random
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
from clientutil import write_fc_domain  # noqa: E402
from rpcutil import Daemon, binary, check  # noqa: E402

import libvirt  # noqa: E402

scale = [int(x) for x in os.environ.get("COCOON_CONCURRENCY", "16,500,20,40").split(",")]
CLIENTS, OPS, DOMAINS = scale[:3]
EMBEDDED_OPS = scale[3] if len(scale) > 3 else 40
SEED = int(os.environ.get("COCOON_CONCURRENCY_SEED", str(int(time.time()))))
TIME_LIMIT = 900

# what a user expects when another client got there first
EXPECTED = {libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN}
EXPECTED_CLI = ("domain is not running", "domain is already running", "not paused",
                "is not paused", "no domain with matching", "domain is not paused",
                "already active", "not active", "failed to get domain",
                "Requested operation is not valid", "Domain not found")


def uuid_of(i):
    return f"c0c0c0c0-0000-4000-8000-{i:012x}"


OPS_TABLE = [("define", 3), ("undefine", 1), ("start", 3), ("destroy", 2), ("suspend", 1),
             ("resume", 1), ("info", 3), ("xml", 2), ("list", 2), ("state", 3)]


def pick(rng):
    total = sum(w for _, w in OPS_TABLE)
    x = rng.uniform(0, total)
    for op, w in OPS_TABLE:
        x -= w
        if x <= 0:
            return op
    return OPS_TABLE[-1][0]


def remote_client(d, idx, xmls, results):
    rng = random.Random(SEED * 1000 + idx)
    conn = libvirt.open(d.uri)
    bad = []
    counts = {}
    for _ in range(OPS):
        op = pick(rng)
        n = rng.randrange(DOMAINS)
        name = f"c{n}"
        try:
            if op == "define":
                conn.defineXML(xmls[n])
            elif op == "list":
                conn.listAllDomains(0)
            else:
                dom = conn.lookupByName(name)
                {"undefine": lambda: dom.undefine(), "start": lambda: dom.create(),
                 "destroy": lambda: dom.destroy(), "suspend": lambda: dom.suspend(),
                 "resume": lambda: dom.resume(), "info": lambda: dom.info(),
                 "xml": lambda: dom.XMLDesc(0), "state": lambda: dom.state()}[op]()
            counts[op + " ok"] = counts.get(op + " ok", 0) + 1
        except libvirt.libvirtError as e:
            if e.get_error_code() in EXPECTED:
                counts[op + " refused"] = counts.get(op + " refused", 0) + 1
            else:
                bad.append((op, name, e.get_error_code(), str(e)))
    conn.close()
    results[idx] = (bad, counts)


def embedded_client(d, idx, paths, results):
    rng = random.Random(SEED * 1000 + 500 + idx)
    virsh = binary("tools", "virsh", "cocoonvirsh")
    env = dict(os.environ, COCOON_FIRECRACKER=binary("tests", "sim", "fc-sim"))
    bad = []
    counts = {}
    for _ in range(EMBEDDED_OPS):
        op = pick(rng)
        n = rng.randrange(DOMAINS)
        name = f"c{n}"
        args = {"define": ["define", paths[n]], "undefine": ["undefine", name],
                "start": ["start", name], "destroy": ["destroy", name],
                "suspend": ["suspend", name], "resume": ["resume", name],
                "info": ["dominfo", name], "xml": ["dumpxml", name], "list": ["list", "--all"],
                "state": ["domstate", name]}[op]
        p = subprocess.run([virsh, "-c", d.embed_uri] + args, capture_output=True, text=True,
                           env=env, timeout=120)
        if p.returncode == 0:
            counts[op + " ok"] = counts.get(op + " ok", 0) + 1
        elif any(s in p.stderr for s in EXPECTED_CLI):
            counts[op + " refused"] = counts.get(op + " refused", 0) + 1
        else:
            bad.append((op, name, p.returncode, p.stderr.strip()))
    results[idx] = (bad, counts)


def vmm_alive(run, name):
    path = os.path.join(run, "domains", name, "status")
    try:
        pid = int(dict(line.strip().split("=", 1) for line in open(path) if "=" in line)["pid"])
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, KeyError, ValueError):
        return False


def main():
    print(f"# seed {SEED}: {CLIENTS} clients x {OPS} ops via cocoond + {CLIENTS} x "
          f"{EMBEDDED_OPS} embedded, {DOMAINS} domains")
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim"),
           "COCOON_SHUTDOWN_TIMEOUT_MS": "3000", "COCOON_STOP_TIMEOUT_MS": "2000"}
    with Daemon(env=env) as d:
        paths = [write_fc_domain(d.dir, f"c{i}", uuid_of(i)) for i in range(DOMAINS)]
        xmls = [open(p).read() for p in paths]
        remote = [None] * CLIENTS
        embedded = [None] * CLIENTS
        threads = [threading.Thread(target=remote_client, args=(d, i, xmls, remote))
                   for i in range(CLIENTS)]
        threads += [threading.Thread(target=embedded_client, args=(d, i, paths, embedded))
                    for i in range(CLIENTS)]
        t0 = time.time()
        for t in threads:
            t.daemon = True
            t.start()
        for t in threads:
            t.join(max(1, TIME_LIMIT - (time.time() - t0)))
        took = time.time() - t0
        stuck = [t for t in threads if t.is_alive()]
        check(not stuck, f"all {len(threads)} clients finished in {took:.0f} s "
              f"(no deadlock; {len(stuck)} stuck)")
        totals = {}
        bad = []
        for r in remote + embedded:
            if r:
                bad += r[0]
                for k, v in r[1].items():
                    totals[k] = totals.get(k, 0) + v
        print("# " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
        check(not bad, f"only state errors ({len(bad)} others: {bad[:3]})")
        check(sum(v for k, v in totals.items() if k.startswith("start ok")) > 0,
              "some starts succeeded (the mix did exercise the lifecycle)")

        conn = libvirt.open(d.uri)
        doms = conn.listAllDomains(0)
        wrong = []
        for dom in doms:
            st = dom.state()[0]
            running = st in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_PAUSED)
            if running != vmm_alive(d.run, dom.name()):
                wrong.append((dom.name(), st))
            dom.XMLDesc(0)
        check(not wrong, f"every running domain has a live VMM and no shut-off one has ({wrong})")
        listed = {dom.name() for dom in doms if dom.isActive()}
        strays = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            try:
                cmd = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"fc-sim") and d.dir.encode() in b" ".join(cmd):
                name = os.path.basename(os.path.dirname(
                    next((a for a in cmd if a.endswith(b"fc-api.sock")), b"/x/")).decode())
                if name not in listed:
                    strays.append(name)
        check(not strays, f"no VMM runs unknown to Cocoon ({strays})")
        for dom in doms:
            if dom.isActive():
                dom.destroy()
        conn.close()
        check(d.alive(), "the daemon is still running")


if __name__ == "__main__":
    main()
