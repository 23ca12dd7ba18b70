#!/usr/bin/env bash
# snapshot-export / snapshot-import against GNU tar + zstd, on the same data in the same run.
#
# A snapshot folder laid out as SNAPSHOT-LAYOUT.md says, of a domain with 2 GiB of memory: the
# memory file is 2 GiB with a quarter of it written (four 128 MiB regions of mixed content:
# program text and libraries, zeros inside the written pages, random bytes), holes elsewhere;
# plus a vmstate and a sparse 1 GiB disk with 64 MiB written. Then, alternating, RUNS times:
#
#   export:  cocoonvirsh snapshot-export DOM SNAP FILE      vs  tar -S -cf - … | zstd -T0
#   import:  cocoonvirsh snapshot-import FILE (fresh root)   vs  zstd -d | tar -xf -
#
# Caches stay warm for both (dropping them is host-global on a shared machine). Prints the
# medians, the speed-ups (target ≥ 1.2× both ways) and the archive sizes (target within 5 %).
#
#   bench/snapshot_archive.sh [BUILD_DIR] [RUNS]      (an optimised build without sanitizers)
set -euo pipefail
build=${1:-build-plain}
runs=${2:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
[ -x "$build/tools/virsh/cocoonvirsh" ] || { echo "error: no $build/tools/virsh/cocoonvirsh" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cocoon-bench-archive.XXXXXX)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$build" "$work" "$runs" <<'PY'
import glob, os, resource, shutil, statistics, subprocess, sys, time

build, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
virsh = os.path.join(build, "tools/virsh/cocoonvirsh")
env = dict(os.environ, COCOON_CONFIG=os.path.join(work, "none.conf"), LC_ALL="C")
env.pop("COCOON_DEFAULT_URI", None)
MIB = 1 << 20


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, check=True, env=env, **kw)


def v(root, *args, stdin=None):
    return subprocess.run([virsh, "-q", "-c", f"cocoon:///embed?root={root}", *args], env=env,
                          check=True, stdin=stdin, stdout=subprocess.DEVNULL)


# ---- the data ----
root = os.path.join(work, "root")
xml = os.path.join(work, "dom.xml")
with open(xml, "w") as f:
    f.write("""<domain type='kvm'><name>big</name><memory unit='MiB'>2048</memory><vcpu>2</vcpu>
<os><type arch='x86_64'>hvm</type><kernel>/var/lib/cocoon/images/vmlinux</kernel></os>
<devices><emulator>/usr/bin/firecracker</emulator>
<disk type='file' device='disk'><source file='/var/lib/cocoon/images/big.img'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>""")
v(root, "define", xml)
snap = os.path.join(root, "domains", "big", "snapshots", "s1")
os.makedirs(os.path.join(snap, "disks"))
libs = b"".join(open(p, "rb").read() for p in sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*"))
                if os.path.isfile(p))[: 256 * MIB]
with open(os.path.join(snap, "memory"), "wb") as f:
    f.truncate(2048 * MIB)
    for i in range(4):           # a quarter of 2 GiB, spread
        f.seek(i * 512 * MIB)
        region = bytearray()
        while len(region) < 128 * MIB:
            region += libs[(len(region) * 7) % len(libs):][: 2 * MIB]   # program text
            region += bytes(MIB)                                        # zero pages
            region += os.urandom(256 * 1024)                            # random (keys, caches)
        f.write(region[: 128 * MIB])
with open(os.path.join(snap, "vmstate"), "wb") as f:
    f.write(os.urandom(64 * 1024))
with open(os.path.join(snap, "disks", "vda.img"), "wb") as f:
    f.truncate(1024 * MIB)
    f.seek(100 * MIB)
    f.write(libs[: 64 * MIB])
with open(os.path.join(snap, "meta.json"), "w") as f:
    f.write('{"version":1,"backend":"firecracker","state":"running","created":1,"parent":null,'
            '"memory":{"file":"memory","size":%d},"vmstate":"vmstate","ch_dir":null,'
            '"disks":[{"target":"vda","file":"disks/vda.img",'
            '"source":"/var/lib/cocoon/images/big.img","readonly":false}],'
            '"fc_drive_paths":{"vda":"/var/lib/cocoon/images/big.img"}}' % (2048 * MIB))
dump = subprocess.run([virsh, "-c", f"cocoon:///embed?root={root}", "dumpxml", "big"], env=env,
                      check=True, capture_output=True, text=True).stdout
with open(os.path.join(snap, "snapshot.xml"), "w") as f:
    f.write(f"<domainsnapshot><name>s1</name><state>running</state>"
            f"<creationTime>1</creationTime>{dump}</domainsnapshot>\n")
data = sum(os.stat(os.path.join(d, n)).st_blocks * 512
           for d, _, fs in os.walk(snap) for n in fs)
print(f"snapshot: {data / MIB:.0f} MiB of data in files of "
      f"{sum(os.path.getsize(os.path.join(d, n)) for d, _, fs in os.walk(snap) for n in fs) / MIB:.0f} MiB")

ours_tar = os.path.join(work, "ours.tar.zst")
base_tar = os.path.join(work, "base.tar.zst")
t = {k: [] for k in ("ours-export", "tar-export", "ours-import", "tar-import")}
cpu = {k: [] for k in t}


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


for i in range(runs):
    for what in ("ours", "tar"):
        start, c0 = time.monotonic(), children_cpu()
        if what == "ours":
            v(root, "snapshot-export", "big", "s1", ours_tar)
        else:
            sh(f"tar -S -cf - -C {snap} . | zstd -q -T0 > {base_tar}")
        t[f"{what}-export"].append(time.monotonic() - start)
        cpu[f"{what}-export"].append(children_cpu() - c0)
    for what in ("ours", "tar"):
        dest = os.path.join(work, f"in-{what}")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        start, c0 = time.monotonic(), children_cpu()
        if what == "ours":
            v(dest, "snapshot-import", ours_tar)
        else:
            sh(f"zstd -q -d -c {base_tar} | tar -xf - -C {dest}")
        t[f"{what}-import"].append(time.monotonic() - start)
        cpu[f"{what}-import"].append(children_cpu() - c0)
    got = os.path.join(work, "in-ours", "domains", "big", "snapshots", "s1", "memory")
    assert subprocess.run(["cmp", got, os.path.join(snap, "memory")]).returncode == 0
    assert os.stat(got).st_blocks * 512 < 600 * MIB, "the holes were not kept"

med = {k: statistics.median(x) for k, x in t.items()}
mcpu = {k: statistics.median(x) for k, x in cpu.items()}
print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall times are the "
      f"scheduler's as much as ours; CPU times are what each side used)")
for k in ("export", "import"):
    print(f"{k}: wall cocoon {med['ours-' + k]:.2f} s, tar+zstd {med['tar-' + k]:.2f} s: "
          f"{med['tar-' + k] / med['ours-' + k]:.2f}x; CPU cocoon {mcpu['ours-' + k]:.2f} s, "
          f"tar+zstd {mcpu['tar-' + k]:.2f} s: {mcpu['tar-' + k] / mcpu['ours-' + k]:.2f}x")
so, sb = os.path.getsize(ours_tar), os.path.getsize(base_tar)
print(f"archive: cocoon {so / MIB:.1f} MiB, tar+zstd {sb / MIB:.1f} MiB ({(so / sb - 1) * 100:+.1f} %)")
PY
