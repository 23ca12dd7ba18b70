#!/usr/bin/env bash
# The RPC server against libvirtd: the same python3-libvirt client against cocoond (local
# driver, temporary root) and against libvirtd serving test:///default over a private socket
# (../shared/bench-peers.md), alternating, in the same run:
#   * lookupByName+XMLDesc pairs per second, one client, and the server's CPU time per call
#     (utime+stime of all its threads, /proc/PID/stat);
#   * listAllDomains over 1000 domains;
#   * define+undefine pairs per second with 16 concurrent client processes;
#   * the server's RSS with 1000 domains defined.
#
#   bench/rpc.sh [BUILD_DIR] [SECONDS] [ROUNDS]
# Use a build without sanitizers (e.g. meson setup build-plain --buildtype=release).
set -euo pipefail
build=${1:-build-plain}
secs=${2:-3}
rounds=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build="$top/$build" ;; esac
cocoond="$build/tools/daemon/cocoond"
[ -x "$cocoond" ] || { echo "error: no $cocoond; build first" >&2; exit 1; }
command -v libvirtd >/dev/null || { echo "error: libvirtd missing (package libvirt-daemon)" >&2; exit 1; }
/usr/bin/python3 -c 'import libvirt' || { echo "error: python3-libvirt missing" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cocoon-rpc-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$cocoond" --root "$work/cocoon/root" --run-dir "$work/cocoon/run" --socket "$work/cocoon/sock" &
cpid=$!
pids+=("$cpid")

mkdir -p "$work/libvirtd"
cat >"$work/libvirtd/libvirtd.conf" <<CONF
unix_sock_dir = "$work/libvirtd"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
max_clients = 200
max_workers = 20
max_client_requests = 20
CONF
libvirtd --config "$work/libvirtd/libvirtd.conf" --pid-file "$work/libvirtd/pid" \
    >"$work/libvirtd/log" 2>&1 &
lpid=$!
pids+=("$lpid")

for s in "$work/cocoon/sock" "$work/libvirtd/libvirt-sock"; do
    for _ in $(seq 200); do [ -S "$s" ] && break; sleep 0.05; done
    [ -S "$s" ] || { echo "error: no socket $s" >&2; cat "$work/libvirtd/log" >&2; exit 1; }
done

/usr/bin/python3 - "$cpid" "$lpid" "$work" "$secs" "$rounds" <<'PY'
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid

import libvirt

cpid, lpid, work, secs, rounds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    float(sys.argv[4]), int(sys.argv[5])
libvirt.registerErrorHandler(lambda *a: None, None)
PEERS = {
    "cocoond": (f"cocoon+unix:///system?socket={work}/cocoon/sock", cpid, "kvm"),
    "libvirtd": (f"test+unix:///default?socket={work}/libvirtd/libvirt-sock", lpid, "test"),
}
TICK = os.sysconf("SC_CLK_TCK")


def xml(name, dtype):
    emulator = "<emulator>/usr/bin/firecracker</emulator>" if dtype == "kvm" else ""
    return f"""<domain type='{dtype}'><name>{name}</name><uuid>{uuid.uuid4()}</uuid>
<memory unit='MiB'>256</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>/var/lib/cocoon/vmlinux</kernel>
<cmdline>console=ttyS0</cmdline></os>
<devices>{emulator}<disk type='file' device='disk'><source file='/var/lib/cocoon/{name}.ext4'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, all threads


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def lookup_rate(peer):
    uri, pid, dtype = PEERS[peer]
    c = libvirt.open(uri)
    name = "bench0"
    try:
        c.lookupByName(name)
    except libvirt.libvirtError:
        c.defineXML(xml(name, dtype))
    n = 0
    c0, t0 = cpu(pid), time.perf_counter()
    while time.perf_counter() - t0 < secs:
        c.lookupByName(name).XMLDesc(0)
        n += 1
    dt, dcpu = time.perf_counter() - t0, cpu(pid) - c0
    c.close()
    return n / dt, dcpu / (2 * n) * 1e6


def churn(args):
    uri, dtype, idx, stop_at = args
    c = libvirt.open(uri)
    n = 0
    while time.time() < stop_at:
        d = c.defineXML(xml(f"churn{idx}-{n}", dtype))
        d.undefine()
        n += 1
    c.close()
    return n


def churn_rate(peer):
    uri, _, dtype = PEERS[peer]
    start = time.time() + 0.5
    stop_at = start + secs
    with mp.Pool(16) as pool:
        counts = pool.map(churn, [(uri, dtype, i, stop_at) for i in range(16)])
    return sum(counts) / secs


def fill(peer, n):
    uri, _, dtype = PEERS[peer]
    c = libvirt.open(uri)
    have = {d.name() for d in c.listAllDomains(0)}
    for i in range(n):
        if f"many{i}" not in have:
            c.defineXML(xml(f"many{i}", dtype))
    c.close()


def list_time(peer):
    uri, _, _ = PEERS[peer]
    c = libvirt.open(uri)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        doms = c.listAllDomains(0)
        times.append(time.perf_counter() - t0)
    c.close()
    return statistics.median(times), len(doms)


def table(title, unit, results, higher_better=True):
    a, b = statistics.median(results["cocoond"]), statistics.median(results["libvirtd"])
    ratio = a / b if higher_better else b / a
    print(f"{title:<44} cocoond {a:>10.1f} {unit:<8} libvirtd {b:>10.1f} {unit:<8}"
          f" cocoond/libvirtd {ratio:5.2f}x {'(higher is better)' if higher_better else '(faster)'}")


# libvirtd frees test:///default's domains when its last connection closes: hold one open
holders = [libvirt.open(PEERS[p][0]) for p in PEERS]
res = {p: [] for p in PEERS}
cpu_res = {p: [] for p in PEERS}
for _ in range(rounds):
    for p in PEERS:
        rate, us = lookup_rate(p)
        res[p].append(rate)
        cpu_res[p].append(us)
table("lookupByName+XMLDesc pairs/s, 1 client", "pairs/s", res)
table("server CPU per call", "us", cpu_res, higher_better=False)

res = {p: [] for p in PEERS}
for _ in range(rounds):
    for p in PEERS:
        res[p].append(churn_rate(p))
table("define+undefine pairs/s, 16 client processes", "pairs/s", res)

for p in PEERS:
    fill(p, 1000)
res = {p: [] for p in PEERS}
counts = {}
for _ in range(rounds):
    for p in PEERS:
        t, counts[p] = list_time(p)
        res[p].append(t * 1000)
table(f"listAllDomains ({counts['cocoond']} vs {counts['libvirtd']} domains)", "ms", res,
      higher_better=False)
rc, rl = rss_kib(cpid), rss_kib(lpid)
print(f"{'server RSS with 1000 domains':<44} cocoond {rc:>10} KiB      libvirtd {rl:>10} KiB"
      f"      ratio {rl / rc:5.2f}x smaller")
PY
