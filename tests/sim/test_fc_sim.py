#!/usr/bin/python3
"""Self-test of fc-sim against NOTES.md §1 and §3 (argv[1]: the fc-sim binary)."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import (Api, Proc, Tap, can_use_taps, check, check_eq, finish, make_file,  # noqa: E402
                    read_log, tmpdir, wait_for, wait_socket)

FC = sys.argv[1]
PRE = "The requested operation is not supported before starting the microVM."
POST = "The requested operation is not supported after starting the microVM."
DESER = "An error occurred when deserializing the json body of a request: "
D = tmpdir()
KERNEL = make_file(os.path.join(D, "vmlinux"), content=b"\x7fELF fake kernel")
ROOT = make_file(os.path.join(D, "root.img"), 4 << 20)
DATA = make_file(os.path.join(D, "data.img"), 1 << 20)
REQLOG = os.path.join(D, "requests.jsonl")
TAP = "cvfcsim0"
N = [0]


def start(extra=None, env=None, with_pty=True):
    N[0] += 1
    sock = os.path.join(D, "fc%d.sock" % N[0])
    p = Proc([FC, "--api-sock", sock, "--id", "vm-%d" % N[0]] + (extra or []), env=env,
             with_pty=with_pty)
    check(wait_socket(sock, p.p), "fc-sim %d serves its API socket" % N[0])
    return p, Api(sock), sock


def fault(r):
    return r[1].get("fault_message") if isinstance(r[1], dict) else None


def boot(api, args="console=ttyS0 reboot=k panic=1"):
    api.call("PUT", "/boot-source", {"kernel_image_path": KERNEL, "boot_args": args})
    api.call("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": ROOT,
                                       "is_root_device": True, "is_read_only": False})
    return api.call("PUT", "/actions", {"action_type": "InstanceStart"})


def state(api):
    return api.call("GET", "/")[1]["state"]


# --- command line -------------------------------------------------------------------------
r = subprocess.run([FC, "--version"], capture_output=True, text=True)
check(r.returncode == 0 and "Firecracker v1.16.1" in r.stdout, "--version prints Firecracker v1.16.1")
check_eq(subprocess.run([FC, "--bogus"], capture_output=True).returncode, 153, "unknown argument exits 153")
check_eq(subprocess.run([FC, "--api-sock"], capture_output=True).returncode, 153, "missing value exits 153")
check_eq(subprocess.run([FC, "--no-seccomp", "--seccomp-filter", "x"], capture_output=True).returncode,
         153, "--no-seccomp with --seccomp-filter exits 153")
check_eq(subprocess.run([FC, "--no-api"], capture_output=True).returncode, 153, "--no-api needs --config-file")
bad = os.path.join(D, "bad-id.sock")
r = subprocess.run([FC, "--api-sock", bad, "--id", "bad_id!"], capture_output=True, text=True)
check(r.returncode != 0 and not os.path.exists(bad), "an invalid --id kills the process (panic)")
r = subprocess.run([FC, "--api-sock", bad, "--id", "x" * 65], capture_output=True)
check(r.returncode != 0, "an --id of 65 characters is refused")
exists = make_file(os.path.join(D, "exists.sock"), 0)
r = subprocess.run([FC, "--api-sock", exists], capture_output=True, text=True, timeout=5)
check(r.returncode == 1 and "Failed to open the API socket at: %s. Check that it is not already used."
      % exists in r.stderr, "refuses to start when the socket path exists (exit 1, FC's message)")

# --- pre-boot API ---------------------------------------------------------------------------
p, api, sock = start(env={"COCOON_SIM_REQUEST_LOG": REQLOG})
st, body, _ = api.call("GET", "/")
check_eq(body, {"id": "vm-1", "state": "Not started", "vmm_version": "1.16.1", "app_name": "Firecracker"},
         "GET / before boot")
check_eq(api.call("GET", "/version")[1], {"firecracker_version": "1.16.1"}, "GET /version")
mc = api.call("GET", "/machine-config")[1]
check(mc["vcpu_count"] == 1 and mc["mem_size_mib"] == 128 and mc["smt"] is False, "machine-config defaults")
r = api.call("GET", "/nothing")
check_eq((r[0], fault(r)), (400, "Invalid request method and/or path: GET nothing."), "unknown path")
r = api.call("GET", "/", raw="{}")
check_eq((r[0], fault(r)), (400, "GET request cannot have a body."), "GET with a body")
r = api.call("PUT", "/boot-source")
check_eq((r[0], fault(r)), (400, "Empty PUT request."), "PUT without a body")
r = api.call("PATCH", "/machine-config")
check_eq((r[0], fault(r)), (400, "Empty PATCH request."), "PATCH without a body")
r = api.call("PATCH", "/machine-config", {})
check_eq((r[0], fault(r)), (400, "Empty PATCH request."), "PATCH machine-config with {}")
r = api.call("PUT", "/boot-source", {"kernel_image_path": KERNEL, "bogus": 1})
check(r[0] == 400 and fault(r).startswith(DESER) and "bogus" in fault(r), "unknown JSON field rejected (400)")
r = api.call("PUT", "/boot-source", raw="{not json")
check(r[0] == 400 and fault(r).startswith(DESER), "malformed JSON rejected")
r = api.call("PUT", "/machine-config", {"vcpu_count": 2})
check(r[0] == 400 and "missing field `mem_size_mib`" in fault(r), "machine-config needs mem_size_mib")
r = api.call("PUT", "/machine-config", {"vcpu_count": "2", "mem_size_mib": 256})
check(r[0] == 400 and fault(r).startswith(DESER), "vcpu_count must be a number")
r = api.call("PUT", "/machine-config", {"vcpu_count": 300, "mem_size_mib": 256})
check(r[0] == 400 and fault(r).startswith(DESER), "vcpu_count over 255 fails deserialisation")
VCPU_MSG = ("Machine config error: The number of vCPUs must be greater than 0, less than 32 and must be "
            "1 or an even number if SMT is enabled.")
for body in ({"vcpu_count": 0, "mem_size_mib": 256}, {"vcpu_count": 33, "mem_size_mib": 256},
             {"vcpu_count": 3, "mem_size_mib": 256, "smt": True}):
    r = api.call("PUT", "/machine-config", body)
    check_eq((r[0], fault(r)), (400, VCPU_MSG), "vCPU limits: %r" % body)
r = api.call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 0})
check(r[0] == 400 and "The memory size (MiB) is either 0" in fault(r), "0 MiB rejected")
r = api.call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 255, "huge_pages": "2M"})
check(r[0] == 400 and "not a multiple of the configured page size" in fault(r), "odd MiB with 2M pages")
check_eq(api.call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256, "smt": True,
                                             "track_dirty_pages": True})[0], 204, "PUT machine-config")
check_eq(api.call("PATCH", "/machine-config", {"mem_size_mib": 64})[0], 204, "PATCH machine-config")
mc = api.call("GET", "/machine-config")[1]
check(mc["smt"] is True and mc["mem_size_mib"] == 64 and mc["vcpu_count"] == 2, "PATCH changes only what is given")
api.call("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 64})
mc = api.call("GET", "/machine-config")[1]
check(mc["smt"] is False and mc["track_dirty_pages"] is False, "PUT resets omitted optional fields")

r = api.call("PUT", "/drives/root-fs", {"drive_id": "root-fs", "path_on_host": ROOT, "is_root_device": True})
check_eq((r[0], fault(r)), (400, "API Resource IDs can only contain alphanumeric characters and underscores."),
         "hyphen in a drive id")
r = api.call("PUT", "/drives/a", {"drive_id": "b", "path_on_host": ROOT, "is_root_device": True})
check_eq(fault(r), "The id from the path does not match the id from the body!", "drive id mismatch")
r = api.call("PUT", "/drives/", {"drive_id": "b", "path_on_host": ROOT, "is_root_device": True})
check_eq(fault(r), "The ID cannot be empty.", "empty drive id")
r = api.call("PUT", "/drives/missing", {"drive_id": "missing", "path_on_host": D + "/nope.img",
                                        "is_root_device": False})
check(r[0] == 400 and "Unable to open the block device backing file" in fault(r), "drive file opened at PUT time")
r = api.call("PUT", "/boot-source", {"kernel_image_path": D + "/nope"})
check(r[0] == 400 and fault(r).startswith("Boot source error: The kernel file cannot be opened"),
      "kernel opened at PUT time")
r = api.call("PUT", "/boot-source", {"kernel_image_path": KERNEL, "initrd_path": D + "/nope"})
check(r[0] == 400 and "initrd" in fault(r), "initrd opened at PUT time")
check_eq(api.call("PUT", "/drives/data", {"drive_id": "data", "path_on_host": DATA, "is_root_device": False,
                                          "is_read_only": True})[0], 204, "PUT data drive")
check_eq(api.call("PUT", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": ROOT,
                                            "is_root_device": True})[0], 204, "PUT root drive")
r = api.call("PUT", "/drives/root2", {"drive_id": "root2", "path_on_host": DATA, "is_root_device": True})
check_eq(fault(r), "A root block device already exists!", "only one root device")
drives = api.call("GET", "/vm/config")[1]["drives"]
check_eq([d["drive_id"] for d in drives], ["rootfs", "data"], "root drive listed first")
r = api.call("PUT", "/network-interfaces/eth0", {"iface_id": "eth1", "host_dev_name": TAP})
check_eq(fault(r), "The id from the path [eth0] does not match the id from the body [eth1]!", "net id mismatch")
r = api.call("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "cvnosuchtap"})
check(r[0] == 400 and "cvnosuchtap" in fault(r), "missing TAP rejected at PUT time")
tap = None
if can_use_taps():
    tap = Tap(TAP)
    r = api.call("PUT", "/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": TAP,
                                                     "guest_mac": "06:00:ac:10:00:02"})
    check_eq(r[0], 204, "existing TAP accepted")
for method, path, body in (("PATCH", "/vm", {"state": "Paused"}),
                           ("PUT", "/snapshot/create", {"snapshot_path": "a", "mem_file_path": "b"}),
                           ("PUT", "/actions", {"action_type": "SendCtrlAltDel"}),
                           ("PUT", "/actions", {"action_type": "FlushMetrics"}),
                           ("PATCH", "/drives/rootfs", {"drive_id": "rootfs", "path_on_host": ROOT})):
    r = api.call(method, path, body)
    check_eq((r[0], fault(r)), (400, PRE), "%s %s %s before boot" % (method, path, body))
r = api.call("PUT", "/snapshot/load", {"snapshot_path": "x", "mem_backend": {"backend_type": "File",
                                                                              "backend_path": "y"}})
check_eq(fault(r), "Load snapshot error: Loading a microVM snapshot not allowed after configuring "
         "boot-specific resources.", "snapshot load refused after boot-path resources")
check(p.p.poll() is None and state(api) == "Not started", "a refused load is not fatal")

# --- boot -----------------------------------------------------------------------------------
api.call("PUT", "/boot-source", {"kernel_image_path": KERNEL, "boot_args": "console=ttyS0 reboot=k panic=1"})
check_eq(api.call("PUT", "/actions", {"action_type": "InstanceStart"})[0], 204, "InstanceStart")
check_eq(state(api), "Running", "state Running after InstanceStart")
ok, out = p.read_until("login: ")
check(ok and "Linux version" in out and "root=/dev/vda rw" in out, "boot log with root device, then login prompt")
r = api.call("PUT", "/actions", {"action_type": "InstanceStart"})
check_eq((r[0], fault(r)), (400, POST), "second InstanceStart rejected")
for method, path, body in (("PUT", "/boot-source", {"kernel_image_path": KERNEL}),
                           ("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 64}),
                           ("PATCH", "/machine-config", {"vcpu_count": 1}),
                           ("PUT", "/drives/x", {"drive_id": "x", "path_on_host": DATA, "is_root_device": False}),
                           ("PUT", "/logger", {"log_path": D + "/log"}),
                           ("PUT", "/snapshot/load", {"snapshot_path": "x", "mem_file_path": "y"})):
    r = api.call(method, path, body)
    check_eq((r[0], fault(r)), (400, POST), "%s %s after boot" % (method, path))
check_eq(api.call("PATCH", "/drives/data", {"drive_id": "data", "path_on_host": DATA})[0], 204,
         "PATCH drive after boot")
for want, req in (("Paused", "Paused"), ("Paused", "Paused"), ("Running", "Resumed"), ("Running", "Resumed")):
    r = api.call("PATCH", "/vm", {"state": req})
    check_eq((r[0], state(api)), (204, want), "PATCH /vm %s is idempotent" % req)
r = api.call("PATCH", "/vm", {"state": "Running"})
check(r[0] == 400 and fault(r).startswith(DESER), "PATCH /vm only takes Paused|Resumed")
r = api.call("PUT", "/snapshot/create", {"snapshot_path": D + "/s", "mem_file_path": D + "/m"})
check_eq(fault(r), "Create snapshot error: Cannot save the microVM state: Operation not allowed: "
         "save/restore unavailable while running", "snapshot create needs Paused")
api.call("PATCH", "/vm", {"state": "Paused"})
SNAP, MEM = os.path.join(D, "vm.snap"), os.path.join(D, "vm.mem")
check_eq(api.call("PUT", "/snapshot/create", {"snapshot_path": SNAP, "mem_file_path": MEM})[0], 204,
         "snapshot create while Paused")
st = os.stat(MEM)
check_eq(st.st_size, 64 << 20, "memory file has mem_size_mib MiB")
check(0 < st.st_blocks * 512 < st.st_size, "memory file is sparse with pages written")
blob = json.load(open(SNAP))
check(os.path.abspath(ROOT) in [d["path_on_host"] for d in blob["drives"]], "state file records absolute drive paths")
if tap:
    check_eq([n["host_dev_name"] for n in blob["network-interfaces"]], [TAP], "state file records TAP names")
check_eq(state(api), "Paused", "VM stays Paused after snapshot create")
api.call("PATCH", "/vm", {"state": "Resumed"})

# console: echo, poweroff halts but the process and state stay
p.write("root\r")
ok, _ = p.read_until("# ")
p.write("echo cocoon-hello\r")
ok, out = p.read_until("cocoon-hello\r\ncocoon-hello")
check(ok, "console echoes input and runs it")
p.write("poweroff\r")
ok, out = p.read_until("reboot: Power down")
check(ok, "poweroff prints the halt message")
time.sleep(0.3)
check(p.p.poll() is None and state(api) == "Running", "after guest poweroff the process lives, state Running")
r = api.call("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
time.sleep(0.3)
check(r[0] == 204 and p.p.poll() is None, "a halted guest ignores Ctrl+Alt+Del")
api.close()
p.kill()
log = read_log(REQLOG)
check(len(log) > 40 and all(set(e) == {"method", "path", "body", "status"} for e in log), "request log lines")
starts = [e for e in log if e["path"] == "/actions" and e["body"] == {"action_type": "InstanceStart"}]
check_eq([e["status"] for e in starts], [204, 400], "request log records bodies and statuses in order")

# --- reboot paths ---------------------------------------------------------------------------
p, api, sock = start()
boot(api)
p.read_until("login: ")
p.write("reboot\r")
check_eq(p.wait(), 0, "guest reboot ends the process with 0")
p.kill()
p, api, sock = start()
boot(api)
p.read_until("login: ")
check_eq(api.call("PUT", "/actions", {"action_type": "SendCtrlAltDel"})[0], 204, "SendCtrlAltDel answers 204")
check_eq(p.wait(), 0, "an honoured Ctrl+Alt+Del ends the process with 0")
p.kill()
p, api, sock = start(env={"COCOON_SIM_IGNORE_SHUTDOWN": "1"})
boot(api)
p.read_until("login: ")
api.call("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
check(p.wait(1.0) is None and state(api) == "Running", "COCOON_SIM_IGNORE_SHUTDOWN=1: Ctrl+Alt+Del ignored")
p.p.send_signal(signal.SIGTERM)
check_eq(p.wait(), -signal.SIGTERM, "SIGTERM ends it")
p.kill()
p, api, sock = start()
boot(api, args="reboot=k panic=1")
time.sleep(0.3)
ok, out = p.read_until("login:", timeout=0.5)
check(not ok and "Linux version" not in out, "no console output without console=ttyS0")
p.kill()

# --- snapshot load --------------------------------------------------------------------------
p, api, sock = start()
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP, "mem_file_path": MEM,
                                       "mem_backend": {"backend_type": "File", "backend_path": MEM}})
check(r[0] == 400 and "too many fields" in fault(r) and p.p.poll() is None, "mem_backend xor mem_file_path")
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP})
check(r[0] == 400 and "missing field: either `mem_backend` or `mem_file_path` is required" in fault(r),
      "load needs a memory backend")
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP, "mem_file_path": MEM})
check(r[0] == 204 and "Deprecation" in r[2].headers, "load with deprecated mem_file_path works, Deprecation header")
check_eq(state(api), "Paused", "loaded VM is Paused")
cfg = api.call("GET", "/vm/config")[1]
check(cfg["boot-source"]["kernel_image_path"] == "" and "smt" not in cfg["machine-config"],
      "after load: empty boot-source, no smt")
check_eq(cfg["machine-config"]["mem_size_mib"], 64, "after load: machine config from the snapshot")
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP, "mem_file_path": MEM})
check_eq(fault(r), POST, "a second load is post-boot")
api.call("PATCH", "/vm", {"state": "Resumed"})
check_eq(state(api), "Running", "resumed after load")
p.kill()
if tap:
    p, api, sock = start()
    r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP, "resume_vm": True,
                                           "mem_backend": {"backend_type": "File", "backend_path": MEM},
                                           "network_overrides": [{"iface_id": "eth0", "host_dev_name": "cvnotap9"}]})
    check(r[0] == 400 and "cvnotap9" in fault(r), "load fails when the (overridden) TAP is missing")
    check(p.wait() not in (None, 0), "a failed load ends the process")
    p.kill()
p, api, sock = start()
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP, "resume_vm": True,
                                       "mem_backend": {"backend_type": "File", "backend_path": MEM}})
check(r[0] == 204 and state(api) == "Running", "load with resume_vm runs")
p.kill()
p, api, sock = start()
r = api.call("PUT", "/snapshot/load", {"snapshot_path": SNAP,
                                       "mem_backend": {"backend_type": "File", "backend_path": D + "/nomem"}})
check_eq(r[0], 400, "load with a missing memory file answers 400")
check(p.wait() not in (None, 0), "... and the process exits")
p.kill()

# --- config file, logger --------------------------------------------------------------------
cfgfile = os.path.join(D, "vm.json")
json.dump({"boot-source": {"kernel_image_path": KERNEL, "boot_args": "console=ttyS0"},
           "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
           "drives": [{"drive_id": "rootfs", "path_on_host": ROOT, "is_root_device": True}]},
          open(cfgfile, "w"))
logfile = os.path.join(D, "fc.log")
p, api, sock = start(["--config-file", cfgfile, "--log-path", logfile])
check_eq(state(api), "Running", "--config-file boots at start-up")
check(p.read_until("login: ")[0], "console after --config-file boot")
check("Running Firecracker v1.16.1" in open(logfile).read(), "log lines go to --log-path")
p.kill()
json.dump({"boot-source": {"kernel_image_path": D + "/nope"}}, open(cfgfile, "w"))
r = subprocess.run([FC, "--no-api", "--config-file", cfgfile], capture_output=True, timeout=5,
                   stdin=subprocess.DEVNULL)
check_eq(r.returncode, 152, "a bad --config-file exits 152")

if tap:
    tap.delete()
finish()
