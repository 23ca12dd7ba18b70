"""Shared helpers of the remote-driver tests: cocoond on a temporary root (tests/rpc/rpcutil's
Daemon), cocoonvirsh through it and through an embedded root side by side, and a bootable
Firecracker domain for the simulator."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
from rpcutil import DATA, Daemon, binary, check, run, skip  # noqa: E402,F401
from clientutil import write_fc_domain  # noqa: E402


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
    return write_fc_domain(directory, name, uuid)
