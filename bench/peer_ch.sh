#!/usr/bin/env bash
# Cocoon against libvirt's own Cloud Hypervisor driver (libvirt 11.3's virtchd, built by
# ../shared/peers/libvirt-ch/setup.sh), both on the real cloud-hypervisor, the same
# python3-libvirt client against each daemon, alternating, in the same run:
#   * create (start) and destroy of a defined domain booting Cocoon's test guest;
#   * start to banner: create, then openConsole at once, until the guest's banner arrives;
#   * console: openConsole of a running domain until its banner (already printed) arrives;
#   * define x N (Cocoon fsyncs each definition; virtchd keeps them in memory), listAllDomains
#     over them, lookupByName+XMLDesc pairs, undefine x N; the daemon's RSS with N domains.
#
#   bench/peer_ch.sh [BUILD_DIR] [ROUNDS] [N]          (a release build: build-plain)
# Needs /dev/kvm, ../shared/vmm (COCOON_REAL_VMM_DIR) and the peer installed under
# /opt/libvirt-ch (bash ../shared/peers/libvirt-ch/setup.sh, once per machine).
set -euo pipefail
build=${1:-build-plain}
rounds=${2:-10}
ndefs=${3:-1000}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
vmms=${COCOON_REAL_VMM_DIR:-$top/../shared/vmm}
peer=${COCOON_PEER_CH:-$top/../shared/peers/libvirt-ch}
for b in tools/daemon/cocoond tests/guest/cocoon-test-guest; do
    [ -x "$build/$b" ] || { echo "error: no $build/$b; build first" >&2; exit 1; }
done
[ -x "$vmms/cloud-hypervisor" ] || { echo "error: no cloud-hypervisor binary in '$vmms' (set COCOON_REAL_VMM_DIR)" >&2; exit 1; }
[ -x /opt/libvirt-ch/sbin/virtchd ] || { echo "error: the libvirt-ch peer is not installed: run bash $peer/setup.sh" >&2; exit 1; }
if ! err=$( { exec 3<>/dev/kvm; } 2>&1 ); then
    echo "error: /dev/kvm does not open (${err##*: })" >&2
    exit 1
fi
/usr/bin/python3 -c 'import libvirt' || { echo "error: python3-libvirt missing" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cocoon-bench-peer-ch.XXXXXX)
cpid=
cleanup() {
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
    LVCH_DIR="$work/lvch" bash "$peer/run.sh" stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/cocoon"
COCOON_CLOUD_HYPERVISOR="$vmms/cloud-hypervisor" COCOON_CONFIG="$work/none.conf" \
    "$build/tools/daemon/cocoond" --root "$work/cocoon/root" --run-dir "$work/cocoon/run" \
    --socket "$work/cocoon/sock" 2>"$work/cocoon/stderr" &
cpid=$!
LVCH_DIR="$work/lvch" CH_BIN_DIR="$vmms" bash "$peer/run.sh" start >"$work/lvch-start.log" 2>&1 ||
    { echo "error: virtchd did not start:" >&2; cat "$work/lvch-start.log" >&2; exit 1; }
lpid=$(cat "$work/lvch/virtchd.pid")
for _ in $(seq 200); do [ -S "$work/cocoon/sock" ] && break; sleep 0.05; done
[ -S "$work/cocoon/sock" ] || { echo "error: cocoond did not listen" >&2; cat "$work/cocoon/stderr" >&2; exit 1; }

/usr/bin/python3 - "$build" "$work" "$rounds" "$ndefs" "$cpid" "$lpid" <<'PY'
import os, statistics, sys, threading, time
import libvirt

build, work, rounds, ndefs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pids = {"cocoon": int(sys.argv[5]), "libvirt-ch": int(sys.argv[6])}
guest = os.path.join(build, "tests/guest/cocoon-test-guest")
uris = {"cocoon": f"cocoon+unix:///system?socket={work}/cocoon/sock",
        "libvirt-ch": "ch:///system?socket=/opt/libvirt-ch/var/run/libvirt/virtchd-sock"}
# Cocoon picks the backend by the emulator's name (COCOON_CLOUD_HYPERVISOR says where it is);
# virtchd fills in the cloud-hypervisor on its PATH when <emulator> is left out.
emulator = {"cocoon": "<emulator>/usr/bin/cloud-hypervisor</emulator>", "libvirt-ch": ""}
BANNER = b"cocoon-test-guest: booted"
libvirt.registerErrorHandler(lambda *a: None, None)


def xml(peer, name, kernel=guest):
    return f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
    <cmdline>console=ttyS0 reboot=k panic=1</cmdline></os>
  <devices>{emulator[peer]}<serial type='pty'><target port='0'/></serial></devices>
</domain>"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def until_banner(conn, dom, timeout=5.0):
    """openConsole, then read until the banner (libvirt's event loop runs in a thread, as in
    virt-manager): seconds, or None if it did not come within timeout."""
    st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
    t0 = time.perf_counter()
    try:
        dom.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
    except libvirt.libvirtError as e:
        print(f"  {conn.getURI().split(':')[0]}: openConsole failed: {e}; "
              f"state {dom.state()}", flush=True)
        return None
    buf = b""
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                r = st.recv(65536)
            except libvirt.libvirtError:
                return None
            if r == -2:
                time.sleep(0.0001)
                continue
            if not r:
                return None
            buf += r
            if BANNER in buf:
                return time.perf_counter() - t0
        return None
    finally:
        try:
            st.abort()
        except libvirt.libvirtError:
            pass


def fmt(v):
    return "—" if v is None else f"{v * 1000:.1f} ms"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)],
                 daemon=True).start()
conns = {p: libvirt.open(u) for p, u in uris.items()}
order = list(conns)
res = {p: {"create": [], "destroy": [], "start2banner": [], "console": [], "missed": 0}
       for p in order}
print(f"cloud-hypervisor: {conns['libvirt-ch'].getVersion()} (virtchd) / cocoond "
      f"{conns['cocoon'].getLibVersion()}; {rounds} rounds, {ndefs} definitions; "
      f"load {os.getloadavg()[0]:.1f}", flush=True)

doms = {p: conns[p].defineXML(xml(p, f"peerch{os.getpid()}{p[0]}")) for p in order}
try:
    for r in range(rounds):
        for p in (order if r % 2 == 0 else order[::-1]):
            c, d = conns[p], doms[p]
            # create, then the console at once: start to banner
            t0 = time.perf_counter()
            d.create()
            t1 = time.perf_counter()
            b = until_banner(c, d)
            res[p]["create"].append(t1 - t0)
            res[p]["start2banner"].append(None if b is None else t1 - t0 + b)
            if b is None:
                res[p]["missed"] += 1
            time.sleep(0.2)
            # a second viewer of the running guest: the banner from the scrollback
            res[p]["console"].append(until_banner(c, d, timeout=2.0))
            t2 = time.perf_counter()
            d.destroy()
            res[p]["destroy"].append(time.perf_counter() - t2)
finally:
    for p in order:
        try:
            if doms[p].isActive():
                doms[p].destroy()
        except libvirt.libvirtError:
            pass
        doms[p].undefine()

print(f"\n{'':34} {'cocoon':>12} {'libvirt-ch':>12} {'ratio':>8}")
def row(label, key, agg=med, better_low=True):
    a, b = agg(res["cocoon"][key]), agg(res["libvirt-ch"][key])
    ratio = f"{b / a:.2f}x" if a and b else ""
    print(f"{label:34} {fmt(a):>12} {fmt(b):>12} {ratio:>8}")
row("create (start), median", "create")
row("destroy, median", "destroy")
row("create + openConsole to banner", "start2banner")
row("openConsole to banner (running)", "console")
for p in order:
    if res[p]["missed"]:
        print(f"  {p}: banner never arrived on {res[p]['missed']} of {rounds} fresh consoles")
    n = sum(1 for v in res[p]["console"] if v is None)
    if n:
        print(f"  {p}: banner not in the console of a running guest, {n} of {rounds}")

# definitions: define x N, listAllDomains, lookups, undefine x N; alternate which goes first
defs = {p: {"define": [], "list": [], "pairs": [], "undefine": [], "rss": []} for p in order}
for r in range(3):
    for p in (order if r % 2 == 0 else order[::-1]):
        c = conns[p]
        names = [f"pd{os.getpid()}r{r}n{i}" for i in range(ndefs)]
        docs = [xml(p, n) for n in names]
        t0 = time.perf_counter()
        ds = [c.defineXML(x) for x in docs]
        defs[p]["define"].append(time.perf_counter() - t0)
        lst = []
        for _ in range(5):
            t0 = time.perf_counter()
            got = c.listAllDomains(0)
            lst.append(time.perf_counter() - t0)
        assert len(got) >= ndefs, f"{p}: listAllDomains gave {len(got)} of {ndefs}"
        defs[p]["list"].append(min(lst))
        if os.environ.get("PEER_CH_DEBUG"):
            print(p, " ".join(f"{v * 1000:.1f}" for v in lst))
        t0 = time.perf_counter()
        k = 0
        while time.perf_counter() - t0 < 1.0:
            c.lookupByName(names[k % ndefs]).XMLDesc(0)
            k += 1
        defs[p]["pairs"].append(k / (time.perf_counter() - t0))
        defs[p]["rss"].append(rss_kib(pids[p]))
        t0 = time.perf_counter()
        for d in ds:
            d.undefine()
        defs[p]["undefine"].append(time.perf_counter() - t0)

def drow(label, key, unit):
    a, b = med(defs["cocoon"][key]), med(defs["libvirt-ch"][key])
    if unit == "ms":
        ratio = b / a
        print(f"{label:34} {a * 1000:>9.1f} ms {b * 1000:>9.1f} ms {ratio:>7.2f}x")
    elif unit == "/s":
        print(f"{label:34} {a:>10.0f}/s {b:>10.0f}/s {a / b:>7.2f}x")
    else:
        print(f"{label:34} {a / 1024:>8.1f} MiB {b / 1024:>8.1f} MiB {b / a:>7.2f}x")
print()
drow(f"define x {ndefs}", "define", "ms")
drow(f"listAllDomains of {ndefs}", "list", "ms")
drow("lookupByName+XMLDesc", "pairs", "/s")
drow(f"undefine x {ndefs}", "undefine", "ms")
drow(f"daemon RSS with {ndefs} domains", "rss", "MiB")
print("\nratio: libvirt-ch's time / Cocoon's (above 1: Cocoon faster); for pairs/s Cocoon's rate "
      "/ libvirt-ch's; for RSS libvirt-ch's / Cocoon's")
print(f"load average at the end: {os.getloadavg()[0]:.1f}")
PY
