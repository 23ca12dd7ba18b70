#!/usr/bin/env bash
# Start to guest banner on the real hypervisors: Cocoon against the bare VMM, same run.
#
# The guest is Cocoon's test guest (tests/guest), which prints "cocoon-test-guest: booted" on
# COM1 a few milliseconds after its first instruction. Per backend (Firecracker, Cloud
# Hypervisor), RUNS rounds, each round running the three starts in a rotating order:
#   bare      the VMM booting the guest from its own configuration: FC `--no-api
#             --config-file`, CH its command line (`--serial tty`), serial on a PTY;
#   process   `cocoonvirsh start --console` as one process on a PTY (CLI start-up and all);
#   session   `start --console` typed into one long-lived cocoonvirsh session.
# Each is timed from the spawn (or the typed command) to the banner on the PTY (and, for Cocoon,
# to its "Domain ... started", which tells the start's share from the console's). Also, per
# round: shutdown (bare: the guest's `poweroff` until the VMM exits; Cocoon: `shutdown` until
# it answers, and until `domstate` says shut off) and pause/resume (bare: the VMM's own API
# over its socket; Cocoon: `suspend`/`resume` in the session).
# Target (issue 10): Cocoon start-to-banner <= 1.3x the bare boot, both backends.
#
#   bench/boot_banner.sh [BUILD_DIR] [RUNS]      (a release build: build-plain from test.sh)
# VMM binaries from COCOON_REAL_VMM_DIR (default ../shared/vmm); needs /dev/kvm.
set -euo pipefail
build=${1:-build-plain}
runs=${2:-15}
top=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$top/$build" ;; esac
vmms=${COCOON_REAL_VMM_DIR:-$top/../shared/vmm}
for b in tools/virsh/cocoonvirsh tests/guest/cocoon-test-guest; do
    [ -x "$build/$b" ] || { echo "error: no $build/$b; build first" >&2; exit 1; }
done
for b in firecracker cloud-hypervisor; do
    [ -x "$vmms/$b" ] || { echo "error: no $b binary in '$vmms' (set COCOON_REAL_VMM_DIR)" >&2; exit 1; }
done
if ! err=$( { exec 3<>/dev/kvm; } 2>&1 ); then
    echo "error: /dev/kvm does not open (${err##*: })" >&2
    exit 1
fi
buildtype=$(meson introspect --buildoptions "$build" 2>/dev/null |
    python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))' || echo unknown)

work=$(mktemp -d /tmp/cocoon-bench-banner.XXXXXX)
trap 'rm -rf "$work" "/dev/shm/$(basename "$work")-run"' EXIT

/usr/bin/python3 - "$build" "$work" "$runs" "$vmms" "$buildtype" <<'PY'
import http.client, json, os, pty, select, socket, statistics, subprocess, sys, time, tty

build, work, runs, vmms, buildtype = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
virsh = os.path.join(build, "tools/virsh/cocoonvirsh")
guest = os.path.join(build, "tests/guest/cocoon-test-guest")
fc = os.path.join(vmms, "firecracker")
ch = os.path.join(vmms, "cloud-hypervisor")
root = os.path.join(work, "root")
run = os.path.join("/dev/shm", os.path.basename(work) + "-run")
uri = f"cocoon:///embed?root={root}&run={run}"
env = dict(os.environ, COCOON_FIRECRACKER=fc, COCOON_CLOUD_HYPERVISOR=ch,
           COCOON_CONFIG=os.path.join(work, "none.conf"))
env.pop("COCOON_DEFAULT_URI", None)
BANNER = b"cocoon-test-guest: booted"
ARGS = "console=ttyS0 reboot=k panic=1"
MEM = 64


class Pty:
    def __init__(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.buf = b""

    def wait_for(self, needle, timeout=20):
        end = time.perf_counter() + timeout
        while needle not in self.buf:
            left = end - time.perf_counter()
            r, _, _ = select.select([self.master], [], [], max(left, 0))
            if not r:
                sys.exit(f"timeout waiting for {needle!r}; got {self.buf[-400:]!r}")
            try:
                self.buf += os.read(self.master, 65536)
            except OSError:
                sys.exit(f"PTY closed waiting for {needle!r}; got {self.buf[-400:]!r}")
        i = self.buf.index(needle) + len(needle)
        self.last, self.buf = self.buf[:i], self.buf[i:]
        return time.perf_counter()

    def write(self, data):
        os.write(self.master, data)

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def spawn(argv, p, **kw):
    return subprocess.Popen(argv, stdin=p.slave, stdout=p.slave, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kw)


def api_call(sock, method, url, body=None):
    conn = http.client.HTTPConnection("localhost")
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    conn.sock = s
    conn.request(method, url, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    conn.close()
    if r.status >= 300:
        sys.exit(f"{method} {url}: HTTP {r.status}")


def wait_path(path):
    while not os.path.exists(path):
        time.sleep(0.001)


fc_cfg = os.path.join(work, "fc.json")
with open(fc_cfg, "w") as f:
    json.dump({"boot-source": {"kernel_image_path": guest, "boot_args": ARGS},
               "machine-config": {"vcpu_count": 1, "mem_size_mib": MEM}, "drives": []}, f)


fc_log = os.path.join(work, "fc-bare.log")
open(fc_log, "w").close()


def bare_argv(kind, api=None):
    if kind == "fc":
        # its log in a file, as Cocoon has it (on stdout it would interleave with the serial)
        return [fc, "--config-file", fc_cfg, "--log-path", fc_log, "--level", "Info"] + (
            ["--api-sock", api] if api else ["--no-api"])
    argv = [ch, "--kernel", guest, "--cmdline", ARGS, "--cpus", "boot=1", "--memory",
            f"size={MEM}M", "--serial", "tty", "--console", "off"]
    return argv + (["--api-socket", f"path={api}"] if api else [])


def bare_boot(kind, res):
    p = Pty()
    t0 = time.perf_counter()
    proc = spawn(bare_argv(kind), p)
    res["bare"].append(p.wait_for(BANNER) - t0)
    p.wait_for(b"guest> ")
    t0 = time.perf_counter()
    p.write(b"poweroff\r")
    proc.wait()
    res["bare shutdown (poweroff -> exit)"].append(time.perf_counter() - t0)
    p.close()


def bare_pause(kind, res, i):
    p = Pty()
    api = os.path.join(work, f"bare-{kind}-{i}.sock")
    proc = spawn(bare_argv(kind, api), p)
    p.wait_for(b"guest> ")
    wait_path(api)
    for state, key in (("Paused", "bare pause (API)"), ("Resumed", "bare resume (API)")):
        t0 = time.perf_counter()
        if kind == "fc":
            api_call(api, "PATCH", "/vm", {"state": state})
        else:
            api_call(api, "PUT", "/api/v1/vm." + ("pause" if state == "Paused" else "resume"))
        res[key].append(time.perf_counter() - t0)
    proc.kill()
    proc.wait()
    p.close()


def domain(kind):
    emu = "/usr/bin/firecracker" if kind == "fc" else "/usr/bin/cloud-hypervisor"
    path = os.path.join(work, f"{kind}.xml")
    with open(path, "w") as f:
        f.write(f"""<domain type='kvm'><name>bb-{kind}</name><memory unit='MiB'>{MEM}</memory>
<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type><kernel>{guest}</kernel>
<cmdline>{ARGS}</cmdline></os><devices><emulator>{emu}</emulator>
<serial type='pty'><target port='0'/></serial></devices></domain>""")
    subprocess.run([virsh, "-c", uri, "define", path], env=env, check=True,
                   stdout=subprocess.DEVNULL)


class Session:
    def __init__(self):
        self.p = Pty()
        self.proc = spawn([virsh, "-c", uri], self.p, env=env)
        self.p.wait_for(b"cocoonvirsh # ")

    def command(self, line, reply):
        t0 = time.perf_counter()
        self.p.write(line.encode() + b"\n")
        t = self.p.wait_for(reply.encode()) - t0
        self.p.wait_for(b"cocoonvirsh # ")
        return t


def process_start(kind, res, sess):
    p = Pty()
    t0 = time.perf_counter()
    proc = spawn([virsh, "-c", uri, "start", "--console", f"bb-{kind}"], p, env=env)
    res["process: 'started' printed"].append(p.wait_for(b"' started") - t0)
    res["process"].append(p.wait_for(BANNER) - t0)
    p.wait_for(b"guest> ")
    p.write(b"\x1d")
    proc.wait()
    p.close()
    sess.command(f"destroy bb-{kind}", "destroyed")


def session_start(kind, res, sess):
    name = f"bb-{kind}"
    t0 = time.perf_counter()
    sess.p.write(f"start --console {name}\n".encode())
    res["session: 'started' printed"].append(sess.p.wait_for(b"' started") - t0)
    res["session"].append(sess.p.wait_for(BANNER) - t0)
    sess.p.wait_for(b"guest> ")
    sess.p.write(b"\x1d")
    sess.p.wait_for(b"cocoonvirsh # ")
    res["cocoon suspend (session)"].append(sess.command(f"suspend {name}", "suspended"))
    res["cocoon resume (session)"].append(sess.command(f"resume {name}", "resumed"))
    t0 = time.perf_counter()
    res["cocoon shutdown: command answers"].append(
        sess.command(f"shutdown {name}", "is being shutdown"))
    while True:
        sess.p.write(f"domstate {name}\n".encode())
        sess.p.wait_for(b"cocoonvirsh # ")
        if b"shut off" in sess.p.last:
            break
        if time.perf_counter() - t0 > 30:
            sys.exit(f"{name} did not shut off within 30 s")
        time.sleep(0.002)
    res["cocoon shutdown: until shut off"].append(time.perf_counter() - t0)


def stats(xs):
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    return statistics.median(xs) * 1000, p90 * 1000


domain("fc")
domain("ch")
sess = Session()
results = {}
for kind in ("fc", "ch"):
    res = results[kind] = {k: [] for k in (
        "bare", "process", "session", "process: 'started' printed",
        "session: 'started' printed", "bare shutdown (poweroff -> exit)", "bare pause (API)",
        "bare resume (API)", "cocoon suspend (session)", "cocoon resume (session)",
        "cocoon shutdown: command answers", "cocoon shutdown: until shut off")}
    starts = [lambda r: bare_boot(kind, r), lambda r: process_start(kind, r, sess),
              lambda r: session_start(kind, r, sess)]
    for warm in range(2):                       # page cache, first-exec costs: not counted
        bare_boot(kind, {k: [] for k in res})
    for i in range(runs):
        for j in range(3):
            starts[(i + j) % 3](res)
        bare_pause(kind, res, i)

print(f"build: {build} ({buildtype}); runs: {runs} per backend; guest: {guest}")
for kind, res in results.items():
    name = {"fc": "Firecracker", "ch": "Cloud Hypervisor"}[kind]
    bm = stats(res["bare"])[0]
    print(f"\n{name}: start -> banner   {'median ms':>10} {'p90 ms':>8} {'x bare':>7}")
    for key in ("bare", "process", "session"):
        m, p = stats(res[key])
        label = {"bare": "bare VMM, own config", "process": "cocoonvirsh start --console",
                 "session": "start --console in a session"}[key]
        print(f"  {label:31} {m:10.2f} {p:8.2f} {m / bm:7.2f}")
    for key in ("process", "session"):
        ratio = stats(res[key])[0] / bm
        print(f"  target <= 1.3x bare ({key}): {'met' if ratio <= 1.3 else 'NOT met'} "
              f"({ratio:.2f}x)")
    print(f"  {'other latencies':31} {'median ms':>10} {'p90 ms':>8}")
    for key in ("process: 'started' printed", "session: 'started' printed",
                "bare shutdown (poweroff -> exit)", "cocoon shutdown: command answers",
                "cocoon shutdown: until shut off", "bare pause (API)",
                "cocoon suspend (session)", "bare resume (API)", "cocoon resume (session)"):
        m, p = stats(res[key])
        print(f"  {key:31} {m:10.2f} {p:8.2f}")
sess.p.write(b"quit\n")
sess.proc.wait()
subprocess.run(["rm", "-rf", run])
PY
