#!/usr/bin/env bash
# Console relay throughput and keystroke round trip: cocoon-console-relay against socat relaying
# the same kind of PTY (the master, inherited as fd 3) to a UNIX socket, alternating, same run.
#   throughput: the "VMM" writes MiB of output on the PTY slave; one viewer reads it all.
#   round trip: the viewer sends one byte, the "VMM" echoes it, the viewer reads it back.
#
#   bench/console_relay.sh [BUILD_DIR] [MIB] [ROUNDS] [ROUND_TRIPS]
set -euo pipefail
build=${1:-build-plain}
mib=${2:-64}
rounds=${3:-3}
trips=${4:-2000}
top=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$top/$build ;; esac
relay="$build/tools/relay/cocoon-console-relay"
[ -x "$relay" ] || { echo "error: no $relay; build first" >&2; exit 1; }
command -v socat >/dev/null || { echo "error: socat missing; run bench/setup-peers.sh" >&2; exit 1; }

exec /usr/bin/python3 - "$relay" "$mib" "$rounds" "$trips" <<'PY'
import atexit, os, shutil, socket, statistics, subprocess, sys, tempfile, time, tty

relay, mib, rounds, trips = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
work = tempfile.mkdtemp(prefix="cocoon-bench-console.")
procs = []

@atexit.register
def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(work, ignore_errors=True)

def start(kind):
    master, slave = os.openpty()
    tty.setraw(slave)
    sock = os.path.join(work, kind + ".sock")
    if kind == "cocoon":
        r, w = os.pipe()
        cmd = [relay, "--pty-fd", str(master), "--socket", sock, "--ready-fd", str(w)]
        proc = subprocess.Popen(cmd, pass_fds=(master, w))
        os.close(w)
        os.read(r, 1)  # listening
        os.close(r)
    else:
        # socat reports the PTY's EIO when the "VMM" closes it: expected, silenced.
        proc = subprocess.Popen(["socat", "UNIX-LISTEN:" + sock, "FD:%d" % master],
                                pass_fds=(master,), stderr=subprocess.DEVNULL)
    procs.append(proc)
    os.close(master)
    conn = socket.socket(socket.AF_UNIX)
    for _ in range(5000):  # socat gives no readiness signal: retry until it listens
        try:
            conn.connect(sock)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.001)
    else:
        raise SystemExit("%s did not listen on %s" % (kind, sock))
    if kind == "cocoon":
        conn.sendall(b"ATTACH interactive\n")
        line = b""
        while not line.endswith(b"\n"):
            line += conn.recv(1)
        assert line == b"OK\n", line
    return proc, slave, conn

def stop(proc, slave, conn):
    conn.close()
    os.close(slave)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

def throughput(kind):
    proc, slave, conn = start(kind)
    total = mib << 20
    block = bytes(range(256)) * 256  # 64 KiB
    t0 = time.perf_counter()
    if os.fork() == 0:
        left = total
        while left:
            left -= os.write(slave, block[:min(left, len(block))])
        os._exit(0)
    got = 0
    while got < total:
        d = conn.recv(1 << 20)
        if not d:
            raise SystemExit("%s: EOF after %d bytes" % (kind, got))
        got += len(d)
    dt = time.perf_counter() - t0
    os.wait()
    stop(proc, slave, conn)
    return total / dt / (1 << 20)

def round_trip(kind):
    proc, slave, conn = start(kind)
    lat = []
    for i in range(trips):
        b = bytes([65 + i % 26])
        t0 = time.perf_counter()
        conn.sendall(b)
        os.write(slave, os.read(slave, 1))  # the "VMM" echoes
        assert conn.recv(1) == b
        lat.append(time.perf_counter() - t0)
    stop(proc, slave, conn)
    return statistics.median(lat) * 1e6

res = {"cocoon": {"tp": [], "rt": []}, "socat": {"tp": [], "rt": []}}
for r in range(rounds):
    for kind in ("cocoon", "socat") if r % 2 == 0 else ("socat", "cocoon"):
        res[kind]["tp"].append(throughput(kind))
        res[kind]["rt"].append(round_trip(kind))

print("console relay, %d MiB burst, %d round trips, %d rounds (median of rounds)" %
      (mib, trips, rounds))
for kind in ("cocoon", "socat"):
    print("  %-7s throughput %8.1f MiB/s   round trip %7.1f us" %
          (kind, statistics.median(res[kind]["tp"]), statistics.median(res[kind]["rt"])))
tp = statistics.median(res["cocoon"]["tp"]) / statistics.median(res["socat"]["tp"])
rt = statistics.median(res["cocoon"]["rt"]) / statistics.median(res["socat"]["rt"])
print("  ratio cocoon/socat: throughput %.2fx (target >= 1), round trip %.2fx (target <= 1)" %
      (tp, rt))
PY
