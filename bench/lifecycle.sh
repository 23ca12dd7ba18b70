#!/usr/bin/env bash
# Lifecycle overhead on the Firecracker simulator, and leaks over many cycles.
#
# 1. The floor: fork+exec of fc-sim and the first successful connect() to its API socket,
#    then SIGTERM — what any manager must pay. Measured in the same run as:
# 2. `start` and `destroy` of a domain (kernel, one disk, a serial console → the console
#    relay) through cocoonvirsh: once as whole processes (CLI start-up and all), once as
#    commands of one long-lived cocoonvirsh shell session (the manager's own work).
#    Median and p99 over RUNS runs each; target: start in a session ≤ 2× the floor. The
#    same domain without a console (no relay process) shows what the relay costs.
# 3. CYCLES start/destroy cycles over 20 domains in one shell session, then: the session's
#    open fds (/proc/PID/fd) equal to those before the cycles, no process, no socket, and
#    nothing but status files and logs in the live directories.
#
#   bench/lifecycle.sh [BUILD_DIR] [RUNS] [CYCLES]     (an optimised build without sanitizers)
set -euo pipefail
build=${1:-build-plain}
runs=${2:-50}
cycles=${3:-200}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
for b in tools/virsh/cocoonvirsh tests/sim/fc-sim; do
    [ -x "$build/$b" ] || { echo "error: no $build/$b; build first" >&2; exit 1; }
done

work=$(mktemp -d /tmp/cocoon-bench-life.XXXXXX)
trap 'rm -rf "$work"' EXIT

exec /usr/bin/python3 - "$build" "$work" "$runs" "$cycles" <<'PY'
import os, signal, socket, statistics, subprocess, sys, time

build, work, runs, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
virsh = os.path.join(build, "tools/virsh/cocoonvirsh")
sim = os.path.join(build, "tests/sim/fc-sim")
root = os.path.join(work, "root")
# live state on tmpfs, as /run/cocoon is in a real installation
run = os.path.join("/dev/shm", os.path.basename(work) + "-run")
uri = f"cocoon:///embed?root={root}&run={run}"
env = dict(os.environ, COCOON_FIRECRACKER=sim, COCOON_CONFIG=os.path.join(work, "none.conf"))
env.pop("COCOON_DEFAULT_URI", None)

kernel = os.path.join(work, "vmlinux")
with open(kernel, "wb") as f:
    f.write(b"\x7fELF\x02\x01\x01")
    f.truncate(1 << 20)


def domain(name, console=True):
    disk = os.path.join(work, f"{name}.img")
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    path = os.path.join(work, f"{name}.xml")
    with open(path, "w") as f:
        f.write(f"""<domain type='kvm'><name>{name}</name><memory unit='MiB'>128</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
<cmdline>console=ttyS0 reboot=k panic=1</cmdline></os><devices>
<emulator>/usr/bin/firecracker</emulator>
<disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
{"<serial type='pty'><target port='0'/></serial>" if console else ""}</devices></domain>""")
    subprocess.run([virsh, "-c", uri, "define", path], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def stats(xs):
    xs = sorted(xs)
    p99 = xs[min(len(xs) - 1, int(round(0.99 * (len(xs) - 1))))]
    return statistics.median(xs) * 1000, p99 * 1000


def floor_once(i):
    sock = os.path.join(work, f"floor{i}.sock")
    t0 = time.perf_counter()
    p = subprocess.Popen([sim, "--api-sock", sock, "--id", "floor"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(sock)
            break
        except OSError:
            time.sleep(0.0005)
        finally:
            s.close()
    t = time.perf_counter() - t0
    p.send_signal(signal.SIGTERM)
    p.wait()
    try:
        os.unlink(sock)
    except FileNotFoundError:
        pass
    return t


class Session:
    def __init__(self):
        self.p = subprocess.Popen([virsh, "-c", uri], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  bufsize=1, env=env)

    def run(self, cmd, expect):
        t0 = time.perf_counter()
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                sys.exit(f"session ended at '{cmd}': {self.p.stderr.read()}")
            if expect in line:
                return time.perf_counter() - t0

    def fds(self):
        return sorted(os.listdir(f"/proc/{self.p.pid}/fd"))

    def close(self):
        self.p.stdin.close()
        self.p.wait()


domain("bench")
domain("bare", console=False)
for i in range(20):
    domain(f"c{i}")

floor, p_start, p_destroy, s_start, s_destroy, b_start = [], [], [], [], [], []
sess = Session()
sess.run("list --all", "Name")
for i in range(runs):
    floor.append(floor_once(i))
    t0 = time.perf_counter()
    subprocess.run([virsh, "-c", uri, "start", "bench"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    p_start.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    subprocess.run([virsh, "-c", uri, "destroy", "bench"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    p_destroy.append(time.perf_counter() - t0)
    s_start.append(sess.run("start bench", "Domain 'bench' started"))
    s_destroy.append(sess.run("destroy bench", "Domain 'bench' destroyed"))
    b_start.append(sess.run("start bare", "Domain 'bare' started"))
    sess.run("destroy bare", "Domain 'bare' destroyed")

fm, fp = stats(floor)
print(f"runs: {runs}")
print(f"{'':34} {'median ms':>10} {'p99 ms':>8} {'x floor':>8}")
print(f"{'floor: fork+exec+connect fc-sim':34} {fm:10.2f} {fp:8.2f} {1:8.2f}")
for label, xs in (("start, in a shell session", s_start),
                  ("destroy, in a shell session", s_destroy),
                  ("start without console (no relay)", b_start),
                  ("start, cocoonvirsh process", p_start),
                  ("destroy, cocoonvirsh process", p_destroy)):
    m, p = stats(xs)
    print(f"{label:34} {m:10.2f} {p:8.2f} {m / fm:8.2f}")
ratio = stats(s_start)[0] / fm
print(f"target start <= 2x floor (session): {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")

# leaks: many cycles in one session
before = sess.fds()
t0 = time.perf_counter()
for i in range(cycles):
    n = f"c{i % 20}"
    sess.run(f"start {n}", f"Domain '{n}' started")
    sess.run(f"destroy {n}", f"Domain '{n}' destroyed")
took = time.perf_counter() - t0
after = sess.fds()
sess.run("list --all", "Name")
procs = []
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) not in (sess.p.pid, os.getpid()):
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read()
        except OSError:
            continue
        if work.encode() in cmd:
            procs.append((p, cmd.replace(b"\0", b" ").decode(errors="replace")))
left = []
for d, _, files in os.walk(os.path.join(run, "domains")):
    left += [os.path.join(d, f) for f in files
             if f not in ("status", "next-id") and not f.endswith(".log")]
sockets = [f for f in left if f.endswith(".sock")]
sess.close()
print(f"{cycles} start/destroy cycles over 20 domains in one session: {took:.1f} s "
      f"({took / cycles * 1000:.1f} ms per cycle)")
print(f"  session fds before {len(before)}, after {len(after)}: "
      f"{'no leak' if before == after else 'LEAK'}")
print(f"  processes left: {len(procs)}; sockets left: {len(sockets)}; other files left: "
      f"{len(left) - len(sockets)}")
for p in procs:
    print(f"  left: process {p[0]}: {p[1]}")
for f in left:
    print(f"  left: {f}")
ok = before == after and not procs and not left
subprocess.run(["rm", "-rf", run])
sys.exit(0 if ok else 1)
PY
