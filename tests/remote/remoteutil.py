"""Shared helpers of the remote-driver tests: cocoond on a temporary root (tests/rpc/rpcutil's
Daemon), cocoonvirsh through it and through an embedded root side by side, and a bootable
Firecracker domain for the simulator."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
from rpcutil import DATA, Daemon, binary, check, run, skip  # noqa: E402,F401


def fc_sim():
    return binary("tests", "sim", "fc-sim")


def cocoonvirsh(uri, *args, readonly=False, env=None, stdin=None, cwd=DATA):
    argv = [binary("tools", "virsh", "cocoonvirsh"), "-c", uri]
    if readonly:
        argv.append("-r")
    return run(argv + list(args), stdin=stdin, env=env, cwd=cwd)


def lifecycle_env(directory):
    """What the driver that runs VMs needs: the simulator, no host config, short timeouts."""
    return {"COCOON_FIRECRACKER": fc_sim(),
            "COCOON_CONFIG": os.path.join(directory, "none.conf"),
            "COCOON_SHUTDOWN_TIMEOUT_MS": "3000",
            "COCOON_STOP_TIMEOUT_MS": "2000"}


def write_bootable_xml(directory, name, uuid):
    """A Firecracker domain whose kernel and rootfs exist (the simulator checks them)."""
    kernel = os.path.join(directory, "vmlinux")
    rootfs = os.path.join(directory, f"{name}.ext4")
    # the driver checks that the kernel is an ELF vmlinux (or a bzImage)
    for p, size, head in ((kernel, 1 << 20, b"\x7fELF\x02\x01\x01" + b"\0" * 57),
                          (rootfs, 8 << 20, b"")):
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(head)
                f.truncate(size)
    path = os.path.join(directory, f"{name}.xml")
    with open(path, "w") as f:
        f.write(f"""<domain type='kvm'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
    <cmdline>console=ttyS0 reboot=k panic=1</cmdline></os>
  <devices>
    <emulator>/usr/bin/firecracker</emulator>
    <disk type='file' device='disk'><source file='{rootfs}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
""")
    return path
