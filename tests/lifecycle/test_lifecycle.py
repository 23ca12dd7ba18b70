"""Full lifecycle through the real cocoonvirsh, per backend (Firecracker and Cloud Hypervisor
simulators): start, suspend, resume, reboot, shutdown, start --paused, destroy, destroy
--graceful, with list / domstate --reason / dominfo after each step; shutdown returns at once
and one the guest ignores escalates in the background (shut off (destroyed)); a vCPU error
reads crashed although the VMM exits 0; guest poweroff and reboot from inside honour
on_poweroff / on_reboot (CH's in-place reset included);
kill -9 of the VMM is a crash whose leftovers are cleaned; re-attach from a new process."""

import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lifeutil import Root, alive, check, finish, wait_for  # noqa: E402


def list_state(r, name):
    for line in r.virsh("list", "--all").stdout.splitlines()[2:]:
        cols = line.split(None, 2)
        if len(cols) == 3 and cols[1] == name:
            return cols[0], cols[2].strip()
    return None


def dominfo(r, name):
    out = {}
    for line in r.virsh("dominfo", name).stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def vmm_cpu_seconds(pid):
    """utime + stime of pid, from /proc/PID/stat (fields 14 and 15)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keep_vmm_busy(r, name, backend, seconds):
    """Ask the VMM's API until it has used `seconds` of CPU (5 s at most)."""
    sock = r.status(name).get("api-socket", "")
    path = "/" if backend == "fc" else "/api/v1/vmm.ping"
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    pid = r.pid(name)
    deadline = time.monotonic() + 5
    while vmm_cpu_seconds(pid) < seconds and time.monotonic() < deadline:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(sock)
            s.sendall(request)
            while s.recv(4096):
                pass


def cpu_time(r, name, backend):
    """dominfo's 'CPU time' of a running domain is its VMM's, as /proc tells it."""
    keep_vmm_busy(r, name, backend, 0.05)
    pid = r.pid(name)
    before = vmm_cpu_seconds(pid)
    shown = dominfo(r, name).get("CPU time", "")
    after = vmm_cpu_seconds(pid)
    value = float(shown[:-1]) if re.fullmatch(r"\d+\.\d+s", shown) else -1
    check(before > 0 and before - 0.05 <= value <= after + 0.05,
          f"{backend}: dominfo's CPU time is the VMM's ({shown!r}, /proc: {before}..{after} s)")


def expect(r, name, state, reason, what):
    check(r.state(name) == f"{state} ({reason})", f"{what}: domstate --reason is "
          f"'{state} ({reason})' (got '{r.state(name)}')")
    ls = list_state(r, name)
    info = dominfo(r, name)
    if state == "shut off":
        check(ls == ("-", "shut off"), f"{what}: list --all shows '- {name} shut off' ({ls})")
        check(info.get("Id") == "-" and info.get("State") == "shut off",
              f"{what}: dominfo says Id -, shut off ({info.get('Id')}, {info.get('State')})")
    else:
        check(ls is not None and ls[0].isdigit() and ls[1] == state,
              f"{what}: list --all shows an id and '{state}' ({ls})")
        check(info.get("Id") == (ls[0] if ls else None) and info.get("State") == state,
              f"{what}: dominfo agrees ({info.get('Id')}, {info.get('State')})")


def lifecycle(r, backend):
    name = r.define(f"{backend}1", backend=backend, disks=[r.disk(f"{backend}1.img")])
    expect(r, name, "shut off", "unknown", f"{backend} defined")

    out = r.ok("start", name)
    check(out.returncode == 0 and f"Domain '{name}' started" in out.stdout,
          f"{backend}: start prints virsh's line")
    expect(r, name, "running", "booted", f"{backend} started")
    pid = r.pid(name)
    check(alive(pid), f"{backend}: the VMM process runs (pid {pid})")
    cpu_time(r, name, backend)

    out = r.virsh("start", name)
    check(out.returncode == 1 and "error: Domain is already active" in out.stderr,
          f"{backend}: a second start fails with virsh's error ({out.stderr.strip()})")

    out = r.ok("suspend", name)
    check(f"Domain '{name}' suspended" in out.stdout, f"{backend}: suspend")
    expect(r, name, "paused", "user", f"{backend} suspended")
    out = r.ok("resume", name)
    check(f"Domain '{name}' resumed" in out.stdout, f"{backend}: resume")
    expect(r, name, "running", "unpaused", f"{backend} resumed")

    out = r.ok("reboot", name)
    check(f"Domain '{name}' is being rebooted" in out.stdout, f"{backend}: reboot")
    expect(r, name, "running", "booted", f"{backend} rebooted")
    if backend == "fc":
        check(r.pid(name) != pid and alive(r.pid(name)),
              "fc: reboot starts a new process (FC has no reboot)")
    else:
        check(r.pid(name) == pid, "ch: reboot keeps the process (vm.reboot)")

    out = r.ok("shutdown", name)
    check(f"Domain '{name}' is being shutdown" in out.stdout, f"{backend}: shutdown")
    wait_for(lambda: not alive(pid))
    expect(r, name, "shut off", "shutdown", f"{backend} shut down")
    check(not alive(pid) and not r.processes(), f"{backend}: no process left after shutdown")
    check(r.live_files(name) == ["status"], f"{backend}: only the status is left in the live "
          f"directory ({r.live_files(name)})")

    out = r.ok("start", "--paused", name)
    check(out.returncode == 0, f"{backend}: start --paused")
    expect(r, name, "paused", "user", f"{backend} started paused")
    out = r.ok("destroy", name)
    check(f"Domain '{name}' destroyed" in out.stdout, f"{backend}: destroy")
    expect(r, name, "shut off", "destroyed", f"{backend} destroyed")
    check(not r.processes(), f"{backend}: no process left after destroy")

    r.ok("start", name)
    out = r.ok("destroy", "--graceful", name)
    check(out.returncode == 0, f"{backend}: destroy --graceful")
    expect(r, name, "shut off", "destroyed", f"{backend} destroyed gracefully")

    for cmd in ("suspend", "resume", "shutdown", "destroy", "reboot"):
        out = r.virsh(cmd, name)
        check(out.returncode == 1 and "Requested operation is not valid: domain is not running"
              in out.stderr, f"{backend}: {cmd} of a shut-off domain is refused")


def shutdown_ignored(r, backend):
    name = r.define(f"{backend}-deaf", backend=backend)
    r.ok("start", name, env={"COCOON_SIM_IGNORE_SHUTDOWN": "1"})
    pid = r.pid(name)
    t0 = time.time()
    out = r.ok("shutdown", name, env={"COCOON_SHUTDOWN_TIMEOUT_MS": "1500",
                                      "COCOON_STOP_TIMEOUT_MS": "500"})
    took = time.time() - t0
    # as virsh's: the request is made, the command returns, the guest has the time it has
    check(out.returncode == 0 and f"Domain '{name}' is being shutdown" in out.stdout and
          took < 1.0, f"{backend}: shutdown returns at once ({took:.2f}s)")
    expect(r, name, "running", "booted", f"{backend} asked to shut down, not yet gone")
    check(wait_for(lambda: not alive(pid), 5),
          f"{backend}: a shutdown the guest ignores ends the VMM with SIGTERM/SIGKILL, with no "
          f"Cocoon process running ({time.time() - t0:.1f}s)")
    check(time.time() - t0 >= 1.4, f"{backend}: not before COCOON_SHUTDOWN_TIMEOUT_MS "
          f"({time.time() - t0:.1f}s)")
    # stopped by Cocoon, not powered off by the guest: as a destroy
    expect(r, name, "shut off", "destroyed", f"{backend} shutdown escalated")
    check(wait_for(lambda: not r.processes(), 5), f"{backend}: nothing left after the escalation")
    check(r.live_files(name) == ["status"], f"{backend}: nothing but the status in the live "
          f"directory ({r.live_files(name)})")

    # a destroy while the escalation waits is a destroy, and stays one
    r.ok("start", name, env={"COCOON_SIM_IGNORE_SHUTDOWN": "1"})
    pid = r.pid(name)
    r.ok("shutdown", name, env={"COCOON_SHUTDOWN_TIMEOUT_MS": "300"})
    t0 = time.time()
    out = r.ok("destroy", name)
    check(out.returncode == 0 and not alive(pid) and time.time() - t0 < 1.0,
          f"{backend}: destroy during a shutdown is immediate ({time.time() - t0:.2f}s)")
    time.sleep(0.5)
    expect(r, name, "shut off", "destroyed", f"{backend} destroyed while shutting down")


def guest_crash(r, backend):
    """The guest's vCPU fails: both real VMMs then exit 0 (CH "VCPU generated error", FC
    "Received KVM_EXIT_INTERNAL_ERROR"), and the domain must read crashed, not shutdown."""
    name = r.define(f"{backend}-vcpu", backend=backend)
    r.ok("start", name)
    pid = r.pid(name)
    r.console_type(name, "crash\r")
    check(wait_for(lambda: not alive(pid), 5), f"{backend}: the VMM ends after the vCPU error")
    expect(r, name, "shut off", "crashed", f"{backend} vCPU error")
    r.ok("start", name)
    pid = r.pid(name)
    r.console_type(name, "poweroff\r" if backend == "ch" else "reboot\r")
    check(wait_for(lambda: not alive(pid), 5), f"{backend}: the VMM ends after the guest's own "
          f"{'poweroff' if backend == 'ch' else 'reset'}")
    if backend == "ch":
        expect(r, name, "shut off", "shutdown", "ch guest poweroff after a crashed boot")
    else:
        expect(r, name, "running", "booted", "fc guest reset after a crashed boot restarts")
        r.ok("destroy", name)

    # a triple fault: FC exits 1; CH logs it and resets the guest in place, which Cocoon
    # takes as the crash it is (on_crash, destroy by default), with no Cocoon process running
    r.ok("start", name)
    pid = r.pid(name)
    r.console_type(name, "triple-fault\r")
    check(wait_for(lambda: not alive(pid), 5), f"{backend}: the VMM is gone after a triple fault")
    expect(r, name, "shut off", "crashed", f"{backend} guest triple fault")
    if backend == "ch":
        name = r.define("ch-tf-restart", backend="ch", extra="<on_crash>restart</on_crash>")
        r.ok("start", name)
        pid = r.pid(name)
        r.console_type(name, "triple-fault\r")
        time.sleep(0.3)
        expect(r, name, "running", "booted", "ch triple fault with on_crash restart")
        notes = os.path.join(r.live(name), "vmm.notes")
        check(r.pid(name) == pid and open(notes).read() == "crash-reset\n",
              "ch: the VMM kept the reset guest, and the crash is noted")
        r.ok("destroy", name)


def crash(r, backend):
    name = r.define(f"{backend}-crash", backend=backend,
                    disks=[(r.disk(f"{backend}-crash.img"), True)])
    r.ok("start", name)
    overlay = [f for f in r.live_files(name) if f.endswith(".overlay")]
    pid = r.kill_vmm(name, signal.SIGKILL)
    wait_for(lambda: not alive(pid))
    expect(r, name, "shut off", "crashed", f"{backend} killed behind Cocoon's back")
    check(overlay and r.live_files(name) == ["status"],
          f"{backend}: the crash's leftovers are cleaned ({overlay} → {r.live_files(name)})")
    check(wait_for(lambda: not r.processes(), 5), f"{backend}: no relay or waiter left")


def reattach(r, backend):
    name = r.define(f"{backend}-again", backend=backend)
    r.ok("start", name)
    first = list_state(r, name)
    # every cocoonvirsh is a new process: a fresh one must find the same VM
    second = list_state(r, name)
    check(first == second and first[1] == "running", f"{backend}: a new cocoonvirsh process sees "
          f"the VM running with the same id ({first}, {second})")
    check(r.virsh("domid", name).stdout.strip() == first[0], f"{backend}: domid agrees")
    r.ok("destroy", name)


def guest_events(r):
    # FC: a guest reboot ends the process with 0; on_reboot restart starts it again
    name = r.define("fc-rb", extra="<on_reboot>restart</on_reboot>")
    r.ok("start", name)
    pid = r.pid(name)
    dom_id = list_state(r, name)[0]
    os.kill(pid, signal.SIGUSR2)
    wait_for(lambda: not alive(pid))
    expect(r, name, "running", "booted", "fc guest reboot with on_reboot restart")
    check(r.pid(name) != pid and alive(r.pid(name)), "fc: the guest reboot got a new process")
    check(list_state(r, name)[0] == dom_id, "fc: the restarted domain keeps its id")
    r.ok("destroy", name)

    name = r.define("fc-rb-off", extra="<on_reboot>destroy</on_reboot>")
    r.ok("start", name)
    pid = r.pid(name)
    os.kill(pid, signal.SIGUSR2)
    wait_for(lambda: not alive(pid))
    expect(r, name, "shut off", "shutdown", "fc guest reboot with on_reboot destroy")
    check(not r.processes(), "fc: nothing left after on_reboot destroy")

    # CH reboots in place: the process stays
    name = r.define("ch-rb", backend="ch")
    r.ok("start", name)
    pid = r.pid(name)
    os.kill(pid, signal.SIGUSR2)
    time.sleep(0.3)
    expect(r, name, "running", "booted", "ch guest reboot")
    check(r.pid(name) == pid, "ch: a guest reboot keeps the VMM")
    notes = os.path.join(r.live(name), "vmm.notes")
    check(os.path.exists(notes) and open(notes).read() == "reboot\n",
          "ch: the guest's reset is noted (for a REBOOT event)")

    # CH guest poweroff: the VMM exits 0 → shut off (shutdown)
    os.kill(pid, signal.SIGUSR1)
    wait_for(lambda: not alive(pid))
    expect(r, name, "shut off", "shutdown", "ch guest poweroff")
    check(not r.processes(), "ch: nothing left after the guest powered off")

    # CH with on_reboot destroy: CH resets in place, so Cocoon stops it, with no Cocoon
    # process running meanwhile
    name = r.define("ch-rb-off", backend="ch", extra="<on_reboot>destroy</on_reboot>")
    r.ok("start", name)
    pid = r.pid(name)
    os.kill(pid, signal.SIGUSR2)
    check(wait_for(lambda: not alive(pid), 5), "ch: on_reboot destroy stops the VMM on a guest "
          "reset by itself")
    expect(r, name, "shut off", "shutdown", "ch guest reboot with on_reboot destroy")
    check(wait_for(lambda: not r.processes(), 5), "ch: nothing left after on_reboot destroy")

    # FC x86 guest poweroff only halts: the process stays and so does 'running'; a shutdown
    # then has to escalate
    name = r.define("fc-halt")
    r.ok("start", name)
    pid = r.pid(name)
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.3)
    expect(r, name, "running", "booted", "fc guest halted (process stays, as real FC)")
    r.ok("shutdown", name, env={"COCOON_SHUTDOWN_TIMEOUT_MS": "300"})
    check(wait_for(lambda: not alive(pid), 5), "fc: the halted guest's VMM is stopped")
    expect(r, name, "shut off", "destroyed", "fc halted guest, stopped after the shutdown timeout")


def console_latency(r, backend):
    """start --console shows the boot output as soon as the guest prints it. Cloud Hypervisor
    (and ch-sim, which follows it) looks at a PTY of its own that nobody held at boot only once
    a second: the console must not depend on that."""
    name = r.define(f"{backend}-banner", backend=backend)
    took = []
    for _ in range(2):  # the better of two: one slow run on a loaded host is not the point
        took.append(r.start_console(name))
        r.ok("destroy", name)
    best = min((t for t in took if t is not None), default=None)
    check(best is not None and best < 0.8, f"{backend}: start --console shows the banner "
          f"within 0.8 s, not after CH's 1 s PTY re-check ({took})")


def transient(r):
    base = r.disk("base.img", data=b"BASE" * 1024)
    before = open(base, "rb").read()
    path = r.xml("tr1", disks=[(base, True)])
    out = r.ok("create", path)
    check(f"Domain 'tr1' created from {path}" in out.stdout, "create prints virsh's line")
    ls = list_state(r, "tr1")
    check(ls is not None and ls[1] == "running", f"the transient domain runs ({ls})")
    check(r.virsh("dominfo", "tr1").stdout.count("Persistent:     no") == 1,
          "dominfo says it is not persistent")
    overlay = os.path.join(r.live("tr1"), "vda.overlay")
    check(os.path.exists(overlay) and open(overlay, "rb").read() == before,
          "the transient disk's overlay exists while it runs, a copy of the base")
    with open(overlay, "r+b") as f:
        f.write(b"GUESTWROTE")
    r.ok("destroy", "tr1")
    check(not os.path.exists(overlay), "the overlay is gone after destroy")
    check(open(base, "rb").read() == before, "the base image is untouched")
    out = r.virsh("domstate", "tr1")
    check(out.returncode == 1 and "failed to get domain 'tr1'" in out.stderr,
          "a transient domain disappears when it stops")
    check("tr1" not in r.virsh("list", "--all").stdout, "list --all no longer shows it")


def main():
    with Root() as r:
        for backend in ("fc", "ch"):
            lifecycle(r, backend)
            shutdown_ignored(r, backend)
            guest_crash(r, backend)
            console_latency(r, backend)
            crash(r, backend)
            reattach(r, backend)
        guest_events(r)
        transient(r)
    finish()


if __name__ == "__main__":
    main()
