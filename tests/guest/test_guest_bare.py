#!/usr/bin/python3
"""guest-bare: the test guest on the bare real VMMs, no Cocoon in between.

Boots tests/guest's ELF on Firecracker (`--config-file`, serial on its stdout) and on Cloud
Hypervisor (its own command line, `--serial tty`), each on a PTY, with a disk, a TAP-backed
net, vsock, rng and balloon, and checks the console protocol (GUEST-PROTOCOL.md) end to end:
banner, command line, echo, ticks, devices, sector write/read (and the host file), and every
way the guest stops: reboot, poweroff, crash, Ctrl+Alt+Del (FC), power button (CH), ignore.
Skips (77) when /dev/kvm does not open or a VMM binary is missing, naming which.
"""
import http.client
import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tty

SKIP = 77
BOOT_TIMEOUT = 20
PROMPT = "guest> "
BANNER = "cocoon-test-guest: booted"
TRIPLE_FAULT_CH = "Guest likely triple-faulted"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def vmm_dir():
    d = os.environ.get("COCOON_REAL_VMM_DIR")
    if d:
        return d
    shared = os.environ.get("COCOON_SHARED") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
    return os.path.join(shared, "vmm")


def missing_requirements(vmms, guest):
    missing = []
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError as e:
        missing.append(f"/dev/kvm does not open ({e.strerror})")
    for name in ("firecracker", "cloud-hypervisor", "ch-remote"):
        path = os.path.join(vmms, name)
        if not os.access(path, os.X_OK):
            missing.append(f"no {name} binary at {path}")
    if not os.path.isfile(guest):
        missing.append(f"no test guest at {guest} (built only on x86-64 with gcc)")
    return missing


class Vm:
    """A VMM process whose serial console is the slave side of a PTY we hold."""

    def __init__(self, name, argv, log, env=None):
        self.name = name
        self.master, slave = pty.openpty()
        tty.setraw(slave)
        self.log_path = log
        self.logf = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=self.logf,
                                     env=env, start_new_session=True)
        os.close(slave)
        self.out = ""
        self.pos = 0

    def _pump(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return None
        if not data:
            return None
        self.out += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern, timeout=10, what=None):
        """Waits for pattern (a regex) after the last match; returns the match."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = end - time.monotonic()
            if left <= 0 or self._pump(min(left, 0.2)) is None and self.proc.poll() is not None:
                if self._drain_after_exit():
                    continue
                raise Failure(f"{self.name}: no {what or repr(pattern)} within {timeout}s; "
                              f"console so far:\n{self.out[-1500:]}\n--- vmm log:\n"
                              f"{self.log()[-1500:]}")

    def _drain_after_exit(self):
        before = len(self.out)
        while self._pump(0) is True:
            pass
        return len(self.out) > before

    def send(self, line):
        os.write(self.master, line.encode() + b"\r")

    def command(self, line, timeout=10):
        """Types a command; returns its output lines (between the echo and the prompt)."""
        self.send(line)
        m = self.expect(re.escape(line) + r"\r\n((?:.*\r\n)*?)" + re.escape(PROMPT), timeout,
                        what=f"answer to {line!r}")
        return m.group(1).split("\r\n")[:-1]

    def boot(self):
        self.expect(re.escape(BANNER) + r"\r\n", BOOT_TIMEOUT, what="banner")
        cmdline = self.expect(r"cmdline: (.*)\r\n", 5, what="cmdline line").group(1)
        self.expect(re.escape(PROMPT), 10, what="first prompt")
        return cmdline

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"{self.name}: still running {timeout}s after it should have "
                          f"stopped; console:\n{self.out[-800:]}")

    def alive(self):
        return self.proc.poll() is None

    def log(self):
        """The VMM's stderr, and its own log file when it has one."""
        self.logf.flush()
        text = ""
        for path in (self.log_path, getattr(self, "vmm_log", None)):
            if path:
                with open(path, "rb") as f:
                    text += f.read().decode("utf-8", "replace")
        return text

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        self.logf.close()


def make_tap(name):
    r = subprocess.run(["ip", "tuntap", "add", "dev", name, "mode", "tap"],
                       capture_output=True, text=True)
    if r.returncode:
        return r.stderr.strip() or "ip tuntap failed"
    subprocess.run(["ip", "link", "set", name, "up"], check=False)
    return None


def remove_tap(name):
    subprocess.run(["ip", "link", "del", name], capture_output=True)


def make_disk(path, first_sector_text):
    with open(path, "wb") as f:
        f.write(first_sector_text.encode())
        f.truncate(4 << 20)


def sector_bytes(path, n, length):
    with open(path, "rb") as f:
        f.seek(512 * n)
        return f.read(length)


def check_basics(vm, name, cmdline, boot_args, exact_cmdline):
    if exact_cmdline:
        check(cmdline == boot_args, f"{name}: cmdline line {cmdline!r}, expected {boot_args!r}")
    else:
        check(cmdline.startswith(boot_args), f"{name}: cmdline {cmdline!r} lacks {boot_args!r}")
    check(vm.command("echo hello there") == ["hello there"], f"{name}: echo")
    check(vm.command("frobnicate now") == ["unknown command: frobnicate"],
          f"{name}: unknown command")
    t1 = ticks(vm, name)
    time.sleep(0.5)
    t2 = ticks(vm, name)
    # 100 Hz: 50 in 0.5 s; a loaded host may deliver fewer, never more than real time allows.
    check(10 <= t2 - t1 <= 100, f"{name}: ticks went from {t1} to {t2} in 0.5 s")


def ticks(vm, name):
    out = vm.command("ticks")
    check(len(out) == 1 and re.fullmatch(r"ticks \d+", out[0]), f"{name}: ticks said {out}")
    return int(out[0].split()[1])


def ends_with(vm, name, command, line, codes, what):
    """Types command (unless None), waits for line, then for the VMM to exit with one of codes."""
    if command:
        vm.send(command)
    vm.expect(re.escape(line) + r"\r\n", 5)
    rc = vm.wait_exit()
    check(rc in codes, f"{name}: exit status {rc} after {what}, expected {codes[0]}")
    return rc


def still_running_after(vm, name, line, what):
    """An ignored host request: reported, and the guest keeps running and answering."""
    vm.expect(re.escape(line) + r"\r\n", 5)
    vm.expect(re.escape(PROMPT), 5)
    time.sleep(0.3)
    check(vm.alive(), f"{name}: the VM stopped after an ignored {what}")
    check(vm.command("echo still here") == ["still here"], f"{name}: echo after {what}")


def check_pause(vm, name, pause, resume):
    """ticks stands still while the VM is paused (a tick or two may be delivered late)."""
    t1 = ticks(vm, name)
    result = pause()
    check(result is None or result[0] == 204, f"{name}: pause answered {result}")
    time.sleep(1.0)
    result = resume()
    check(result is None or result[0] == 204, f"{name}: resume answered {result}")
    t2 = ticks(vm, name)
    check(t2 - t1 < 40, f"{name}: ticks went from {t1} to {t2} over a 1 s pause")
    time.sleep(0.3)
    t3 = ticks(vm, name)
    check(t3 - t2 >= 10, f"{name}: ticks stuck at {t2}..{t3} after resume")


def check_devices(vm, name, pattern, expected_types):
    out = vm.command("devices")
    check(out and out[-1] == f"devices: {len(out) - 1}", f"{name}: devices said {out}")
    found = []
    for line in out[:-1]:
        m = re.fullmatch(pattern, line)
        check(m, f"{name}: device line {line!r}")
        found.append(m)
    types = sorted(m.group("type") for m in found)
    check(types == sorted(expected_types), f"{name}: devices {types}, configured "
          f"{sorted(expected_types)}")
    return found


def check_disk(vm, name, disk, first_text):
    check(vm.command("read 0") == [f"sector 0: {first_text}"], f"{name}: read 0")
    marker = f"{name}-marker-{os.getpid()}"
    check(vm.command(f"write 9 {marker}") == ["wrote sector 9"], f"{name}: write 9")
    on_host = sector_bytes(disk, 9, len(marker) + 1)
    check(on_host == marker.encode() + b"\0", f"{name}: host file has {on_host!r} at sector 9")
    check(vm.command("read 9") == [f"sector 9: {marker}"], f"{name}: read 9 back")


class Api:
    """HTTP over the VMM's UNIX socket (Firecracker's API)."""

    def __init__(self, path):
        self.path = path

    def request(self, method, url, body=None):
        conn = http.client.HTTPConnection("localhost")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.path)
        conn.sock = sock
        data = json.dumps(body) if body is not None else None
        conn.request(method, url, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, text


def wait_for(path, timeout=5):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise Failure(f"{path} did not appear")
        time.sleep(0.01)


# ------------------------------------------------------------------------------ Firecracker

def fc_config(guest, boot_args, disk=None, tap=None, vsock=None):
    cfg = {
        "boot-source": {"kernel_image_path": guest, "boot_args": boot_args},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": 64},
        "drives": [],
    }
    if disk:
        cfg["drives"].append({"drive_id": "disk0", "path_on_host": disk,
                              "is_root_device": False, "is_read_only": False})
    if tap:
        cfg["network-interfaces"] = [{"iface_id": "eth0", "host_dev_name": tap,
                                      "guest_mac": "06:00:ac:10:00:02"}]
    if vsock:
        cfg["vsock"] = {"guest_cid": 3, "uds_path": vsock}
        cfg["balloon"] = {"amount_mib": 0, "deflate_on_oom": False}
        cfg["entropy"] = {}
    return cfg


def fc_start(fc, tmp, tag, cfg, api=False):
    path = os.path.join(tmp, f"fc-{tag}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    # FC logs to stdout unless told otherwise: into a file, away from the serial console.
    fclog = os.path.join(tmp, f"fc-{tag}.fclog")
    open(fclog, "w").close()
    argv = [fc, "--id", f"guest-bare-{tag}", "--config-file", path, "--log-path", fclog,
            "--level", "Info"]
    sock = None
    if api:
        sock = os.path.join(tmp, f"fc-{tag}.sock")
        argv += ["--api-sock", sock]
    else:
        argv.append("--no-api")
    vm = Vm(f"firecracker ({tag})", argv, os.path.join(tmp, f"fc-{tag}.log"))
    vm.vmm_log = fclog
    return vm, sock


def test_firecracker(fc, guest, tmp, tap):
    boot_args = "console=ttyS0 reboot=k panic=1 cocoon.test=fc"
    disk = os.path.join(tmp, "fc-disk.img")
    make_disk(disk, "fc-first-sector")

    # Everything configured: the console protocol, devices, the disk, then reboot.
    vm, _ = fc_start(fc, tmp, "full", fc_config(guest, boot_args, disk, tap,
                                                os.path.join(tmp, "fc-v.sock")))
    try:
        cmdline = vm.boot()
        check_basics(vm, "fc", cmdline, boot_args, exact_cmdline=False)
        windows = re.findall(r"virtio_mmio\.device=\w+@(0x[0-9a-f]+):\d+", cmdline)
        found = check_devices(vm, "fc", r"virtio-mmio (?P<addr>0x[0-9a-f]+) (?P<type>\S+)",
                              ["block", "net", "vsock", "rng", "balloon"])
        check(sorted(int(m.group("addr"), 16) for m in found) ==
              sorted(int(a, 16) for a in windows),
              f"fc: device addresses {[m.group('addr') for m in found]} vs cmdline {windows}")
        check_disk(vm, "fc", disk, "fc-first-sector")
        ends_with(vm, "fc", "reboot", "rebooting", (0,), "the guest's i8042 reset")
    finally:
        vm.close()
    print("ok fc: banner, cmdline, echo, ticks, devices, sector write/read, reboot -> exit 0")

    # No disk; crash: FC ends with exit status 1 on the triple fault.
    vm, _ = fc_start(fc, tmp, "crash", fc_config(guest, boot_args))
    try:
        vm.boot()
        check(vm.command("read 0") == ["error: no block device"], "fc: read without a disk")
        check(vm.command("devices") == ["devices: 0"], "fc: devices without any")
        # FC v1.16.1 stops on KVM's shutdown exit and logs it; its exit status is racy
        # here: mostly 1 ("MicroVMStopped without an error: GenericError"), sometimes 0.
        rc = ends_with(vm, "fc", "crash", "crashing", (1, 0), "a triple fault")
        check("Unexpected exit reason on vcpu run: Shutdown" in vm.log(),
              f"fc: no triple-fault (Shutdown) exit in the log:\n{vm.log()[-1000:]}")
    finally:
        vm.close()
    print(f"ok fc: no disk -> error, crash -> vCPU shutdown exit, FC exit status {rc}")

    # Ctrl+Alt+Del through the API: the guest resets, FC exits 0.
    vm, sock = fc_start(fc, tmp, "cad", fc_config(guest, boot_args), api=True)
    try:
        vm.boot()
        wait_for(sock)
        status, text = Api(sock).request("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
        check(status == 204, f"fc: SendCtrlAltDel answered {status} {text}")
        ends_with(vm, "fc", None, "ctrl-alt-del: rebooting", (0,), "Ctrl+Alt+Del")
    finally:
        vm.close()
    print("ok fc: SendCtrlAltDel -> 'ctrl-alt-del: rebooting', exit 0")

    # ignore: Ctrl+Alt+Del is reported and nothing happens; poweroff still works (a reset).
    vm, sock = fc_start(fc, tmp, "ignore", fc_config(guest, boot_args), api=True)
    try:
        vm.boot()
        check(vm.command("ignore") == ["ignoring shutdown requests"], "fc: ignore")
        wait_for(sock)
        api = Api(sock)
        check_pause(vm, "fc", lambda: api.request("PATCH", "/vm", {"state": "Paused"}),
                    lambda: api.request("PATCH", "/vm", {"state": "Resumed"}))
        status, text = Api(sock).request("PUT", "/actions", {"action_type": "SendCtrlAltDel"})
        check(status == 204, f"fc: SendCtrlAltDel answered {status} {text}")
        still_running_after(vm, "fc", "ctrl-alt-del: ignored", "Ctrl+Alt+Del")
        ends_with(vm, "fc", "poweroff", "powering off", (0,), "poweroff")
    finally:
        vm.close()
    print("ok fc: pause/resume -> ticks stand still, then move; ignore -> "
          "'ctrl-alt-del: ignored', still running; poweroff -> exit 0")


# ------------------------------------------------------------------------ Cloud Hypervisor

def ch_start(ch, tmp, tag, guest, boot_args, disk=None, tap=None):
    api = os.path.join(tmp, f"ch-{tag}.sock")
    argv = [ch, "--kernel", guest, "--cmdline", boot_args, "--cpus", "boot=1",
            "--memory", "size=64M", "--serial", "tty", "--console", "off",
            "--api-socket", f"path={api}"]
    if disk:
        argv += ["--disk", f"path={disk},image_type=raw"]
    if tap:
        argv += ["--net", f"tap={tap},mac=06:00:ac:10:00:03"]
        argv += ["--vsock", f"cid=3,socket={os.path.join(tmp, f'ch-{tag}-v.sock')}"]
        argv += ["--rng", "src=/dev/urandom", "--balloon", "size=0"]
    return Vm(f"cloud-hypervisor ({tag})", argv, os.path.join(tmp, f"ch-{tag}.log")), api


def ch_remote(chr_bin, api, *args):
    r = subprocess.run([chr_bin, "--api-socket", api, *args], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 0, f"ch-remote {' '.join(args)}: {r.returncode} {r.stderr.strip()}")


def test_cloud_hypervisor(ch, chr_bin, guest, tmp, tap):
    boot_args = "console=ttyS0 cocoon.test=ch"
    disk = os.path.join(tmp, "ch-disk.img")
    make_disk(disk, "ch-first-sector")

    vm, api = ch_start(ch, tmp, "full", guest, boot_args, disk, tap)
    try:
        cmdline = vm.boot()
        check_basics(vm, "ch", cmdline, boot_args, exact_cmdline=True)
        check_devices(vm, "ch", r"virtio-pci (?P<bdf>[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]) "
                      r"(?P<type>\S+)", ["block", "net", "vsock", "rng", "balloon"])
        check_disk(vm, "ch", disk, "ch-first-sector")
        # The guest's reset: CH restarts the guest inside the same process.
        vm.send("reboot")
        vm.expect(r"rebooting\r\n", 5)
        vm.boot()
        check(vm.alive(), "ch: the process ended on the guest's reboot")
        check(TRIPLE_FAULT_CH not in vm.log(), "ch: an i8042 reset logged as a triple fault")
        check(vm.command("echo after reboot") == ["after reboot"], "ch: echo after reboot")
        # The ACPI power button: the guest powers off (S5), CH exits 0.
        wait_for(api)
        ch_remote(chr_bin, api, "power-button")
        ends_with(vm, "ch", None, "power button: powering off", (0,), "the power button")
    finally:
        vm.close()
    print("ok ch: banner, cmdline, echo, ticks, devices, sector write/read, reboot (in "
          "process), power button -> exit 0")

    vm, api = ch_start(ch, tmp, "ignore", guest, boot_args)
    try:
        vm.boot()
        check(vm.command("read 0") == ["error: no block device"], "ch: read without a disk")
        check(vm.command("ignore") == ["ignoring shutdown requests"], "ch: ignore")
        wait_for(api)
        check_pause(vm, "ch", lambda: ch_remote(chr_bin, api, "pause"),
                    lambda: ch_remote(chr_bin, api, "resume"))
        ch_remote(chr_bin, api, "power-button")
        still_running_after(vm, "ch", "power button: ignored", "power button")
        # A triple fault: CH resets the guest inside its process (it does not exit).
        vm.send("crash")
        vm.expect(r"crashing\r\n", 5)
        vm.boot()
        check(vm.alive(), "ch: the process ended on a triple fault")
        # What tells it from a reboot: CH's error line (default verbosity) before its reset.
        check(TRIPLE_FAULT_CH in vm.log(), f"ch: no {TRIPLE_FAULT_CH!r} in its log")
        ends_with(vm, "ch", "poweroff", "powering off", (0,), "poweroff (ACPI S5)")
    finally:
        vm.close()
    print("ok ch: pause/resume -> ticks stand still, then move; ignore -> 'power button: "
          "ignored', crash -> reset in process, poweroff (ACPI S5) -> exit 0")


def main():
    build = os.environ.get("COCOON_BUILDDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "build-test"))
    guest = os.path.join(build, "tests", "guest", "cocoon-test-guest")
    vmms = vmm_dir()
    missing = missing_requirements(vmms, guest)
    if missing:
        print("SKIP: " + "; ".join(missing))
        return SKIP
    tmp = tempfile.mkdtemp(prefix="cocoon-guest-bare-")
    taps = [f"cgb{os.getpid() % 1000000}f", f"cgb{os.getpid() % 1000000}c"]
    try:
        for t in taps:
            err = make_tap(t)
            if err:
                print(f"SKIP: cannot create TAP '{t}': {err}")
                return SKIP
        test_firecracker(os.path.join(vmms, "firecracker"), guest, tmp, taps[0])
        test_cloud_hypervisor(os.path.join(vmms, "cloud-hypervisor"),
                              os.path.join(vmms, "ch-remote"), guest, tmp, taps[1])
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        for t in taps:
            remove_tap(t)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
