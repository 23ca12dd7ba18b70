#!/usr/bin/env bash
# N clones of one snapshot on the real Firecracker, each running our test guest.
#
# A source domain (64 MiB, the test guest, a 64 MiB disk with data, one NIC) runs; a snapshot
# of it is taken; then N `clone --snapshot` commands, each a cocoonvirsh process, each clone
# left running. Per clone: the bytes it made on
# disk (its folders' allocated blocks), the manager's wall and CPU time for the clone command,
# and its VMM's RSS split into file-backed (the shared snapshot memory and binary) and
# anonymous (what it owns). Target: no guest memory copied; ≤ 10 ms manager time per clone.
#
#   bench/clone.sh [BUILD_DIR] [N]      (root, /dev/kvm, ../shared/vmm/firecracker)
set -euo pipefail
build=${1:-build-plain}
n=${2:-50}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
for b in tools/virsh/cocoonvirsh tests/guest/cocoon-test-guest tools/vmmns/cocoon-vmm-ns; do
    [ -x "$build/$b" ] || [ -f "$build/$b" ] || { echo "error: no $build/$b" >&2; exit 1; }
done
fc="$top/../shared/vmm/firecracker"
[ -x "$fc" ] || { echo "error: no $fc" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "error: needs root (TAPs, mount namespaces)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cocoon-bench-clone.XXXXXX)
ns="cbclone$$"
ip netns add "$ns"
trap 'ip netns pids "$ns" 2>/dev/null | xargs -r kill -9; ip netns del "$ns"; rm -rf "$work"' EXIT

ip netns exec "$ns" /usr/bin/python3 - "$build" "$work" "$n" "$fc" <<'PY'
import os, re, resource, statistics, subprocess, sys, time

build, work, n, fc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
virsh = os.path.join(build, "tools/virsh/cocoonvirsh")
guest = os.path.join(build, "tests/guest/cocoon-test-guest")
root = os.path.join(work, "root")
run = os.path.join("/dev/shm", os.path.basename(work) + "-run")
uri = f"cocoon:///embed?root={root}&run={run}"
env = dict(os.environ, COCOON_FIRECRACKER=fc, COCOON_CONFIG=os.path.join(work, "none.conf"),
           LC_ALL="C")
env.pop("COCOON_DEFAULT_URI", None)
MIB = 1 << 20


def v(*args):
    return subprocess.run([virsh, "-c", uri, *args], env=env, check=True, capture_output=True,
                          text=True).stdout


def allocated(path):
    return sum(os.lstat(os.path.join(d, f)).st_blocks * 512
               for d, _, fs in os.walk(path) for f in fs)


def rss(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, val = line.partition(":")
        if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            out[k] = int(val.split()[0]) * 1024
    return out


def status(name):
    d = {}
    for line in open(os.path.join(run, "domains", name, "status")):
        if "=" in line:
            k, val = line.strip().split("=", 1)
            d[k] = val
    return d


disk = os.path.join(work, "src.img")
with open(disk, "wb") as f:
    f.truncate(64 * MIB)
    f.write(os.urandom(8 * MIB))
xml = os.path.join(work, "src.xml")
with open(xml, "w") as f:
    f.write(f"""<domain type='kvm'><name>src</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>{guest}</kernel></os>
<devices><emulator>/usr/bin/firecracker</emulator>
<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
<interface type='ethernet'><model type='virtio'/></interface>
<serial type='pty'><target port='0'/></serial></devices></domain>""")
v("define", xml)
v("start", "src")
time.sleep(2)
v("snapshot-create-as", "src", "s1")
mem = os.path.join(root, "domains", "src", "snapshots", "s1", "memory")
print(f"snapshot memory file: {os.path.getsize(mem) / MIB:.0f} MiB, "
      f"{allocated(os.path.dirname(mem)) / MIB:.1f} MiB allocated in the snapshot folder")

walls, cpus, written, anon, filed = [], [], [], [], []
for i in range(n):
    name = f"c{i}"
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    out = v("clone", "--snapshot", "s1", "src", name)
    walls.append(time.monotonic() - t)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
    assert "cloned from snapshot" in out, out
    written.append(allocated(os.path.join(root, "domains", name)) +
                   allocated(os.path.join(run, "domains", name)))
# the CLI's start-up alone: the same process, one cheap command on the same root
starts = []
for i in range(10):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    v("domstate", "src")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    starts.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
# the manager in a session: n more clones as the commands of one cocoonvirsh, started once
script = "".join(f"clone --snapshot s1 src k{i}\n" for i in range(n))
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
t = time.monotonic()
out = subprocess.run([virsh, "-c", uri], input=script, env=env, check=True,
                     capture_output=True, text=True).stdout
session_wall = (time.monotonic() - t) / n
r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
assert out.count("cloned from snapshot") == n, out
session_cpu = (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime - statistics.median(starts)) / n
time.sleep(1)
for i in range(n):
    r = rss(int(status(f"c{i}")["pid"]))
    anon.append(r.get("RssAnon", 0))
    filed.append(r.get("RssFile", 0) + r.get("RssShmem", 0))
src_rss = rss(int(status("src")["pid"]))
print(f"{n} clones of a 64 MiB guest (each running)")
print(f"  manager wall per clone: median {statistics.median(walls) * 1000:.1f} ms, "
      f"p90 {sorted(walls)[int(n * 0.9)] * 1000:.1f} ms")
print(f"  manager CPU per clone (cocoonvirsh's user+sys, its start-up included): median "
      f"{statistics.median(cpus) * 1000:.1f} ms")
print(f"  the CLI's start-up alone (a domstate process): CPU median "
      f"{statistics.median(starts) * 1000:.1f} ms")
print(f"  in one session ({n} clone commands on stdin of one cocoonvirsh): manager CPU per clone "
      f"{session_cpu * 1000:.1f} ms (its one start-up taken out), wall per clone "
      f"{session_wall * 1000:.1f} ms")
print(f"  bytes on disk per clone: median {statistics.median(written) / 1024:.0f} KiB "
      f"(its own copy of the disk's 8 MiB of data, definition, logs)")
print(f"  VMM RSS per clone: anonymous median {statistics.median(anon) / MIB:.1f} MiB, "
      f"file-backed median {statistics.median(filed) / MIB:.1f} MiB (shared page cache)")
print(f"  source VMM RSS: anonymous {src_rss.get('RssAnon', 0) / MIB:.1f} MiB, "
      f"file {src_rss.get('RssFile', 0) / MIB:.1f} MiB")
print(f"  copies of the memory file: {sum(1 for w in written if w >= 64 * MIB)} of {n}")
for i in range(n):
    subprocess.run([virsh, "-c", uri, "destroy", f"c{i}"], env=env, capture_output=True)
    subprocess.run([virsh, "-c", uri, "destroy", f"k{i}"], env=env, capture_output=True)
subprocess.run([virsh, "-c", uri, "destroy", "src"], env=env, capture_output=True)
subprocess.run(["rm", "-rf", run])
PY
