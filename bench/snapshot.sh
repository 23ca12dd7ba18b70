#!/usr/bin/env bash
# Snapshot create and revert of a running Firecracker VM on the real FC: Cocoon against the
# bare API calls, same run.
#
# The guest is Cocoon's test guest (tests/guest) with 256 MiB and 1 GiB of memory and a 64 MiB
# disk. Per size, RUNS rounds, each round:
#   bare create   PATCH /vm Paused, PUT /snapshot/create (Full), PATCH /vm Resumed on a bare
#                 FC we configured ourselves (booted once, then each round the VM loaded from
#                 the round before, as Cocoon's is); the snapshot/create call alone too;
#   cocoon create `cocoonvirsh snapshot-create-as` (CLI start, lock, pause, create, disk
#                 capture, resume, metadata commit) of the same guest under Cocoon;
#   bare load     stop the running FC, a fresh FC process: spawn, wait for its socket, PUT
#                 /snapshot/load (mem_backend File, resume_vm) — and the load call alone;
#   cocoon revert `cocoonvirsh snapshot-revert` (stop the running VMM, disks back, fresh
#                 VMM + relay, snapshot/load, status).
# Target (issue 11): Cocoon <= 1.2x the bare calls.
#
#   bench/snapshot.sh [BUILD_DIR] [RUNS]      (a release build: build-plain from test.sh)
# Firecracker from COCOON_REAL_VMM_DIR (default ../shared/vmm); needs /dev/kvm.
set -euo pipefail
build=${1:-build-plain}
runs=${2:-5}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
vmms=${COCOON_REAL_VMM_DIR:-$top/../shared/vmm}
for b in tools/virsh/cocoonvirsh tests/guest/cocoon-test-guest; do
    [ -x "$build/$b" ] || { echo "error: no $build/$b; build first" >&2; exit 1; }
done
[ -x "$vmms/firecracker" ] || { echo "error: no firecracker binary in '$vmms'" >&2; exit 1; }
if ! err=$( { exec 3<>/dev/kvm; } 2>&1 ); then
    echo "error: /dev/kvm does not open (${err##*: })" >&2
    exit 1
fi
work=$(mktemp -d "${COCOON_BENCH_DIR:-/var/tmp}/cocoon-bench-snap.XXXXXX")
trap 'rm -rf "$work"' EXIT

exec /usr/bin/python3 - "$build" "$work" "$runs" "$vmms" <<'PY'
import http.client, json, os, socket, statistics, subprocess, sys, time

build, work, runs, vmms = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
virsh = os.path.join(build, "tools/virsh/cocoonvirsh")
guest = os.path.join(build, "tests/guest/cocoon-test-guest")
fc = os.path.join(vmms, "firecracker")
root = os.path.join(work, "root")
uri = f"cocoon:///embed?root={root}"
env = dict(os.environ, COCOON_FIRECRACKER=fc, COCOON_CONFIG=os.path.join(work, "none.conf"))


class Uhttp(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def call(sock, method, path, body=None):
    c = Uhttp(sock)
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data!r}")


def wait_sock(path, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return
        except OSError:
            time.sleep(0.001)
    raise SystemExit(f"no socket {path}")


def spawn_fc(sock):
    if os.path.exists(sock):
        os.unlink(sock)
    p = subprocess.Popen([fc, "--api-sock", sock, "--id", "bench"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_sock(sock)
    return p


def stop(p):
    p.kill()
    p.wait()


def disk(path, size=64 << 20):
    with open(path, "wb") as f:
        f.write(b"bench")
        f.truncate(size)


class Bare:
    """A bare FC VM that lives as Cocoon's does: booted once, then each round snapshotted and
    replaced by a fresh process loaded from that snapshot (so both sides snapshot and stop a
    VM with the same history)."""

    def __init__(self, mib, d):
        self.d = d
        self.vda = os.path.join(d, "bare-vda.img")
        disk(self.vda)
        self.sock = os.path.join(d, "bare.sock")
        self.p = spawn_fc(self.sock)
        call(self.sock, "PUT", "/boot-source", {"kernel_image_path": guest,
                                                "boot_args": "console=ttyS0"})
        call(self.sock, "PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": mib})
        call(self.sock, "PUT", "/drives/vda", {"drive_id": "vda", "path_on_host": self.vda,
                                               "is_root_device": False, "is_read_only": False})
        call(self.sock, "PUT", "/actions", {"action_type": "InstanceStart"})
        time.sleep(0.3)

    def round(self, i):
        """(create, create-call, load, load-call) seconds."""
        vmstate = os.path.join(self.d, f"bare-{i}.vmstate")
        mem = os.path.join(self.d, f"bare-{i}.mem")
        t0 = time.monotonic()
        call(self.sock, "PATCH", "/vm", {"state": "Paused"})
        t1 = time.monotonic()
        call(self.sock, "PUT", "/snapshot/create", {"snapshot_type": "Full",
                                                    "snapshot_path": vmstate, "mem_file_path": mem})
        t2 = time.monotonic()
        call(self.sock, "PATCH", "/vm", {"state": "Resumed"})
        t3 = time.monotonic()
        stop(self.p)
        self.p = spawn_fc(self.sock)
        t4 = time.monotonic()
        call(self.sock, "PUT", "/snapshot/load", {"snapshot_path": vmstate, "resume_vm": True,
                                                  "mem_backend": {"backend_type": "File",
                                                                  "backend_path": mem}})
        t5 = time.monotonic()
        # removed at once, as the Cocoon side deletes each snapshot after reverting to it:
        # the loaded VMM keeps its memory file mapped, and both sides' next stop frees it
        for f in (vmstate, mem):
            os.unlink(f)
        return t1 - t0 + t3 - t1, t2 - t1, t5 - t3, t5 - t4

    def close(self):
        stop(self.p)


def v(*args):
    r = subprocess.run([virsh, "-c", uri, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"cocoonvirsh {' '.join(args)}: {r.stderr}")


def cocoon(mib, d, i):
    name = f"b{mib}"
    snap = f"s{i}"
    t0 = time.monotonic()
    v("snapshot-create-as", name, snap)
    t1 = time.monotonic()
    v("snapshot-revert", name, snap)
    t2 = time.monotonic()
    v("snapshot-delete", name, snap)
    return t1 - t0, t2 - t1


def define(mib, d):
    name = f"b{mib}"
    vda = os.path.join(d, f"{name}-vda.img")
    disk(vda)
    xml = os.path.join(d, f"{name}.xml")
    with open(xml, "w") as f:
        f.write(f"""<domain type='kvm'><name>{name}</name><memory unit='MiB'>{mib}</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>{guest}</kernel>
<cmdline>console=ttyS0</cmdline></os><devices><emulator>/usr/bin/firecracker</emulator>
<disk type='file' device='disk'><source file='{vda}'/><target dev='vda' bus='virtio'/></disk>
<serial type='pty'><target port='0'/></serial></devices></domain>""")
    v("define", xml)
    v("start", name)
    time.sleep(0.3)
    return name


def ms(xs):
    return statistics.median(xs) * 1000


print(f"snapshot create/revert on the real Firecracker, {runs} rounds per size, medians (ms)")
print(f"{'memory':>8} {'bare create':>12} {'(call)':>8} {'cocoon':>8} {'ratio':>6}   "
      f"{'bare load':>10} {'(call)':>8} {'cocoon':>8} {'ratio':>6}")
for mib in (256, 1024):
    d = os.path.join(work, str(mib))
    os.makedirs(d)
    name = define(mib, d)
    bc, bcc, bl, blc, cc, cr = [], [], [], [], [], []
    b_vm = Bare(mib, d)
    for i in range(runs):
        a, b, c, e = b_vm.round(i)
        bc.append(a); bcc.append(b); bl.append(c); blc.append(e)
        x, y = cocoon(mib, d, i)
        cc.append(x); cr.append(y)
    print(f"{mib:>5}MiB {ms(bc):12.1f} {ms(bcc):8.1f} {ms(cc):8.1f} {ms(cc)/ms(bc):6.2f}   "
          f"{ms(bl):10.1f} {ms(blc):8.1f} {ms(cr):8.1f} {ms(cr)/ms(bl):6.2f}")
    b_vm.close()
    v("destroy", name)
    v("undefine", name, "--snapshots-metadata")
PY
