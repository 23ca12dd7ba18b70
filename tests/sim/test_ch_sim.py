#!/usr/bin/python3
"""Self-test of ch-sim against NOTES.md §2 and §3 (argv[1]: the ch-sim binary)."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import (Api, Proc, Tap, can_use_taps, check, check_eq, finish, make_file,  # noqa: E402
                    read_log, tap_exists, tmpdir, wait_for, wait_socket)

CH = sys.argv[1]
D = tmpdir()
KERNEL = make_file(os.path.join(D, "vmlinux"), content=b"\x7fELF fake kernel")
ROOT = make_file(os.path.join(D, "root.img"), 4 << 20)
REQLOG = os.path.join(D, "requests.jsonl")
TAP, NEWTAP, MQTAP = "cvchsim0", "cvchsim1", "cvchsimq"
N = [0]
V = "/api/v1/"


def start(extra=None, env=None, sock=None):
    N[0] += 1
    sock = sock or os.path.join(D, "ch%d.sock" % N[0])
    p = Proc([CH, "--api-socket", "path=" + sock] + (extra or []), env=env)
    check(wait_socket(sock, p.p), "ch-sim %d serves its API socket" % N[0])
    return p, Api(sock), sock


def info(api):
    return api.call("GET", V + "vm.info")


def vm_state(api):
    r = info(api)
    return r[1]["state"] if r[0] == 200 else None


def config(cmdline="console=ttyS0", **kw):
    c = {"payload": {"kernel": KERNEL, "cmdline": cmdline},
         "cpus": {"boot_vcpus": 1, "max_vcpus": 1}, "memory": {"size": 256 << 20},
         "disks": [{"path": ROOT, "id": "rootdisk"}],
         "serial": {"mode": "Pty"}, "console": {"mode": "Off"}}
    c.update(kw)
    return c


def pty_fd(api, which="serial"):
    path = info(api)[1]["config"][which]["file"]
    return os.open(path, os.O_RDWR | os.O_NOCTTY)


taps = []
if can_use_taps():
    taps.append(Tap(TAP))
    taps.append(Tap(MQTAP, multi_queue=True))

# --- command line, socket lock ---------------------------------------------------------------
r = subprocess.run([CH, "--version"], capture_output=True, text=True)
check(r.returncode == 0 and "v53.0" in r.stdout, "--version")
check_eq(subprocess.run([CH, "--bogus"], capture_output=True).returncode, 2, "unknown argument exits 2")
r = subprocess.run([CH, "--kernel", KERNEL, "--disk", "path=%s,bogus=1" % ROOT, "--console", "off"],
                   capture_output=True, timeout=5, stdin=subprocess.DEVNULL)
check_eq(r.returncode, 1, "unknown --disk key exits 1")
r = subprocess.run([CH, "--kernel", KERNEL, "--cpus", "boot=2,max=1", "--console", "off"],
                   capture_output=True, timeout=5, stdin=subprocess.DEVNULL)
check(r.returncode == 1 and b"Max vCPUs lower than boot vCPUs" in r.stderr,
      "a start-up config that fails validation ends the process")
stale = os.path.join(D, "stale.sock")
make_file(stale, 0)
p, api, sock = start(sock=stale)
check_eq(api.call("GET", V + "vmm.ping")[0], 200, "a stale socket file is replaced")
r = subprocess.run([CH, "--api-socket", "path=" + stale], capture_output=True, timeout=5)
check(r.returncode != 0 and os.path.exists(stale), "a second ch-sim on a live socket fails (lock)")
p.kill()

# --- HTTP conventions, state machine ---------------------------------------------------------
p, api, sock = start(env={"COCOON_SIM_REQUEST_LOG": REQLOG})
st, body, _ = api.call("GET", V + "vmm.ping")
check(st == 200 and body["version"] == "53.0.0" and body["pid"] == p.p.pid, "vmm.ping")
check_eq(info(api)[:2], (404, ["Error from API", "The VM info is not available", "VM is not created"]),
         "vm.info without a VM: 404 + error chain")
check_eq(api.call("PUT", V + "vm.boot")[:2], (404, ["Error from API", "The VM could not boot",
                                                      "VM config is missing"]), "vm.boot without config")
for ep in ("vm.pause", "vm.resume", "vm.shutdown", "vm.power-button"):
    r = api.call("PUT", V + ep)
    check(r[0] == 500 and r[1][-1] == "VM is not running", "%s without a VM: 500 (not 404)" % ep)
check_eq(api.call("PUT", V + "vm.reboot")[0], 404, "vm.reboot without a VM: 404")
check_eq(api.call("GET", V + "vm.counters")[0], 500, "vm.counters without a VM: 500")
check_eq(api.call("PUT", V + "vm.delete")[0], 204, "vm.delete with nothing: 204")
check_eq(api.call("GET", V + "vm.nothing")[0], 404, "unknown endpoint: 404")
check_eq(api.call("GET", "/vmm.ping")[0], 404, "path outside /api/v1/: 404")
check_eq(api.call("POST", V + "vm.boot")[0], 400, "POST: 400")
check_eq(api.call("DELETE", V + "vm.delete")[0], 400, "DELETE: 400")
check_eq(api.call("GET", V + "vm.boot")[0], 400, "GET on a PUT endpoint: 400")
check_eq(api.call("PUT", V + "vm.pause", {})[0], 400, "a body on a body-less action: 400")
check_eq(api.call("PUT", V + "vm.create")[0], 400, "vm.create without a body: 400")
check_eq(api.call("PUT", V + "vm.create", raw="{oops")[0], 400, "bad JSON: 400")
r = api.call("PUT", V + "vm.create", {"payload": {"kernel": KERNEL}, "cpus": {"boot_vcpus": "x"}})
check(r[0] == 400 and isinstance(r[1], list), "wrongly typed VmConfig: 400 + string array")

bad = config(cpus={"boot_vcpus": 2, "max_vcpus": 1})
bad["unknown_field"] = {"ignored": True}
check_eq(api.call("PUT", V + "vm.create", bad)[0], 204, "vm.create: no semantic validation, unknown fields ignored")
check_eq(vm_state(api), "Created", "state Created after vm.create")
r = api.call("PUT", V + "vm.create", config())
check_eq((r[0], r[1][-1]), (500, "VM is already created"), "second vm.create: 500")
r = api.call("PUT", V + "vm.boot")
check(r[0] == 500 and r[1][-1] == "Max vCPUs lower than boot vCPUs", "validation happens at vm.boot (500)")
check_eq(vm_state(api), "Created", "a failed boot stays Created")
api.call("PUT", V + "vm.delete")
check_eq(info(api)[0], 404, "vm.delete forgets the config")

invalid = [
    ("net num_queues 1", config(net=[{"tap": TAP, "num_queues": 1}]), "less than 2"),
    ("net pairs > vCPUs", config(net=[{"tap": TAP, "num_queues": 4}]), "queue pairs"),
    ("disk queues > vCPUs", config(disks=[{"path": ROOT, "num_queues": 2}]), "block queues"),
    ("reserved id", config(disks=[{"path": ROOT, "id": "__x"}]), "reserved"),
    ("duplicate id", config(disks=[{"path": ROOT, "id": "d"}, {"path": ROOT, "id": "d"}]), "not unique"),
    ("ip without mask", config(net=[{"tap": TAP, "ip": "10.0.0.1"}]), "together"),
    ("missing kernel", config(payload={"kernel": D + "/nope"}), "No such file"),
    ("missing disk", config(disks=[{"path": D + "/nope.img"}]), "No such file"),
    ("no payload", {"memory": {"size": 256 << 20}, "console": {"mode": "Off"}}, "No kernel"),
]
for what, cfg, needle in invalid:
    api.call("PUT", V + "vm.create", cfg)
    r = api.call("PUT", V + "vm.boot")
    check(r[0] == 500 and needle in r[1][-1] + r[1][-2], "boot refused: %s (%r)" % (what, r[1]))
    api.call("PUT", V + "vm.delete")

# --- a good VM ------------------------------------------------------------------------------
nets = [{"tap": TAP, "id": "net0"}] if taps else []
if taps:
    nets.append({"tap": NEWTAP, "num_queues": 2})
cfg = config(net=nets, disks=[{"path": ROOT}])
check_eq(api.call("PUT", V + "vm.create", cfg)[0], 204, "vm.create")
ptypath = info(api)[1]["config"]["serial"]["file"]
check(ptypath and ptypath.startswith("/dev/pts/"), "Pty serial path in config.serial.file at create time")
check_eq(api.call("PUT", V + "vm.boot")[0], 204, "vm.boot")
fd = pty_fd(api)
ok, out = p.read_until("login: ", fd=fd)
check(ok and "Linux version" in out, "boot log and login prompt on the serial PTY")
r = info(api)
c = r[1]["config"]
check_eq(r[1]["state"], "Running", "state Running")
check_eq(c["memory"]["size"], 256 << 20, "memory size in bytes")
check(c["rng"]["src"] == "/dev/urandom" and c["console"]["mode"] == "Off", "defaults filled in vm.info")
check_eq(c["disks"][0]["id"], "_disk0", "auto device ids: _disk0")
check_eq(c["disks"][0]["num_queues"], 1, "disk num_queues default 1")
if taps:
    check_eq([n["id"] for n in c["net"]], ["net0", "_net1"], "shared counter: _net1 after _disk0")
    check(c["net"][0]["num_queues"] == 2 and c["net"][0]["queue_size"] == 256, "net defaults")
    check(tap_exists(NEWTAP), "a missing TAP is created by the VM (like CH)")
cnt = api.call("GET", V + "vm.counters")
check(cnt[0] == 200 and "_disk0" in cnt[1], "vm.counters keyed by device id")
os.write(fd, b"root\r")
p.read_until("# ", fd=fd)
os.write(fd, b"echo from-guest\r")
ok, _ = p.read_until("from-guest\r\nfrom-guest", fd=fd)
check(ok, "serial console echoes and answers")
check_eq(api.call("PUT", V + "vm.resume")[0], 500, "resume while Running: 500")
check_eq(api.call("PUT", V + "vm.pause")[0], 204, "pause")
check_eq(api.call("PUT", V + "vm.pause")[0], 500, "second pause: 500 (not idempotent)")
check_eq(vm_state(api), "Paused", "state Paused")
snapdir = os.path.join(D, "snap")
os.mkdir(snapdir)
r = api.call("PUT", V + "vm.snapshot", {"destination_url": "/tmp/x"})
check(r[0] == 500 and "Could not extract path from URL" in r[1], "snapshot URL must be file://")
r = api.call("PUT", V + "vm.snapshot", {"destination_url": "file://" + D + "/nodir"})
check(r[0] == 500 and "Destination is not a directory" in r[1], "snapshot needs an existing directory")
check_eq(api.call("PUT", V + "vm.snapshot", {"destination_url": "file://" + snapdir})[0], 204, "vm.snapshot")
check_eq(sorted(os.listdir(snapdir)), ["config.json", "memory-ranges", "state.json"], "snapshot files")
st = os.stat(os.path.join(snapdir, "memory-ranges"))
check(st.st_size == 256 << 20 and 0 < st.st_blocks * 512 < st.st_size, "memory-ranges: memory size, sparse")
check_eq(json.load(open(os.path.join(snapdir, "config.json")))["disks"][0]["path"], ROOT,
         "config.json is the VmConfig")
r = api.call("PUT", V + "vm.snapshot", {"destination_url": "file://" + snapdir})
check(r[0] == 500 and "File exists" in r[1][-1], "snapshot refuses to overwrite")
check_eq(api.call("PUT", V + "vm.resume")[0], 204, "resume")
check_eq(api.call("PUT", V + "vm.resume")[0], 500, "second resume: 500")
r = api.call("PUT", V + "vm.snapshot", {"destination_url": "file://" + snapdir})
check(r[0] == 500 and "Trying to snapshot while VM is running" in r[1][-1], "snapshot needs Paused")
r = api.call("PUT", V + "vm.restore", {"source_url": "file://" + snapdir})
check_eq((r[0], r[1][-1]), (500, "VM is already created"), "vm.restore with a VM: 500")
check_eq(api.call("PUT", V + "vm.shutdown")[0], 204, "vm.shutdown")
check_eq(vm_state(api), "Created", "after vm.shutdown: Created (not Shutdown)")
check(p.p.poll() is None, "the VMM survives vm.shutdown")
if taps:
    check(not tap_exists(NEWTAP), "the created TAP goes away with the VM")
    check(tap_exists(TAP), "a pre-existing TAP stays")
check_eq(api.call("PUT", V + "vm.boot")[0], 204, "vm.boot again after shutdown")
ok, _ = p.read_until("login: ", fd=fd)
check(ok and vm_state(api) == "Running", "second boot, same PTY")
os.write(fd, b"reboot\r")
ok1, _ = p.read_until("Restarting system", fd=fd)
ok2, out = p.read_until("login: ", fd=fd)
check(ok1 and ok2 and "Linux version" in out, "guest reboot boots again")
check(p.p.poll() is None and vm_state(api) == "Running", "after guest reboot: VMM alive, Running")
if taps:
    api2 = Api(os.path.join(D, "other.sock"))
    p2 = Proc([CH, "--api-socket", "path=" + api2.path, "--kernel", KERNEL, "--console", "off",
               "--net", "tap=" + TAP])
    check(p2.wait() == 1, "a TAP already attached to a running VM cannot be used twice")
    p2.kill()
    r = api.call("PUT", V + "vm.create", config())
check_eq(api.call("PUT", V + "vm.reboot")[0], 204, "vm.reboot")
check_eq(vm_state(api), "Running", "Running after vm.reboot")
r = api.call("PUT", V + "vm.add-disk", {"path": ROOT, "readonly": True})
check(r[0] == 200 and r[1]["id"].startswith("_disk") and "bdf" in r[1], "hot-add disk: 200 {id,bdf}")
check_eq(api.call("PUT", V + "vm.remove-device", {"id": r[1]["id"]})[0], 204, "remove-device")
check_eq(api.call("PUT", V + "vm.power-button")[0], 204, "power-button")
check_eq(p.wait(), 0, "guest power-off ends the VMM")
os.close(fd)
p.kill()
log = read_log(REQLOG)
check(all(set(e) == {"method", "path", "body", "status"} for e in log) and len(log) > 40, "request log lines")
boots = [e["status"] for e in log if e["path"] == V + "vm.boot"]
check(boots[0] == 404 and boots[-2:] == [204, 204], "request log records statuses in order")

# --- restore, cold add, vmm.shutdown ----------------------------------------------------------
p, api, sock = start()
api.call("PUT", V + "vm.create", config())
r = api.call("PUT", V + "vm.restore", {"source_url": "file://" + snapdir})
check_eq(r[0], 500, "vm.restore after vm.create: 500")
api.call("PUT", V + "vm.delete")
r = api.call("PUT", V + "vm.restore", {"source_url": "file://" + snapdir})
check_eq((r[0], vm_state(api)), (204, "Paused"), "vm.restore on a fresh VMM: Paused")
check(info(api)[1]["config"]["serial"]["file"].startswith("/dev/pts/"), "restored VM has a new PTY")
check_eq(api.call("PUT", V + "vm.resume")[0], 204, "resume a restored VM")
r = api.call("PUT", V + "vmm.shutdown")
check(r[0] == 200 and r[1] is None, "vmm.shutdown: 200, empty body")
check_eq(p.wait(), 0, "vmm.shutdown ends the process")
check(not os.path.exists(sock), "the API socket is removed on exit")
p.kill()
p, api, sock = start()
r = api.call("PUT", V + "vm.restore", {"source_url": "file://" + snapdir, "resume": True})
check_eq((r[0], vm_state(api)), (204, "Running"), "vm.restore with resume: Running")
p.kill()
p, api, sock = start()
r = api.call("PUT", V + "vm.restore", {"source_url": "file://" + D})
check(r[0] == 500 and info(api)[0] == 404, "a failed restore leaves no VM")
api.call("PUT", V + "vm.create", config())
r = api.call("PUT", V + "vm.add-disk", {"path": ROOT, "id": "extra"})
check(r[0] == 204 and info(api)[1]["config"]["disks"][-1]["id"] == "extra", "cold add-disk: 204, in config")
p.kill()

# --- power-off variants, command-line boot ----------------------------------------------------
args = ["--kernel", KERNEL, "--cmdline", "console=hvc0", "--cpus", "boot=2", "--memory", "size=128M",
        "--disk", "path=" + ROOT, "path=%s,readonly=on,id=ro" % ROOT, "--serial", "null", "--console", "pty"]
if taps:
    # two queue pairs need a multi-queue TAP, as with the real CH
    args += ["--net", "tap=%s,num_queues=4,mac=52:54:00:00:00:01" % MQTAP]
p, api, sock = start(args + ["--no-shutdown"])
r = info(api)
c = r[1]["config"]
check_eq(r[1]["state"], "Running", "command-line payload boots at start-up")
check((c["cpus"]["boot_vcpus"], c["cpus"]["max_vcpus"], c["memory"]["size"]) == (2, 2, 128 << 20),
      "--cpus/--memory parsed (size suffix to bytes, max defaults to boot)")
check_eq([d.get("readonly") for d in c["disks"]], [False, True], "two values after one --disk, on/off booleans")
if taps:
    check_eq(c["net"][0]["num_queues"], 4, "--net num_queues is the total queue count")
fd = pty_fd(api, "console")
check(p.read_until("login: ", fd=fd)[0], "virtio-console PTY gets the console=hvc0 output")
os.write(fd, b"poweroff\r")
check(wait_for(lambda: vm_state(api) == "Created"), "--no-shutdown: guest power-off leaves Created")
check(p.p.poll() is None, "--no-shutdown: the VMM stays")
os.close(fd)
p.kill()
p, api, sock = start(args, env={"COCOON_SIM_IGNORE_SHUTDOWN": "1"})
api.call("PUT", V + "vm.power-button")
check(p.wait(1.0) is None and vm_state(api) == "Running", "COCOON_SIM_IGNORE_SHUTDOWN=1 ignores the power button")
p.p.send_signal(signal.SIGUSR1)
check_eq(p.wait(), 0, "SIGUSR1 (guest powers itself off) ends the VMM")
p.kill()

for t in taps:
    t.delete()
finish()
