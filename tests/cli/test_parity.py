#!/usr/bin/python3
"""Layout parity with Debian's virsh: the same domains defined in libvirt's test driver and in
Cocoon's embedded driver must print byte for byte the same for the commands whose output does
not depend on the driver (tables, identity, state, messages, errors, exit statuses)."""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import Checker, Root, cocoonvirsh, run  # noqa: E402

# Debian's test driver starts with a running domain 'test'; removing it leaves exactly the
# domains we define, shut off, in both drivers.
SETUP = ["define web1.xml", "define a-long-domain-name.xml"]
DEBIAN_SETUP = ["destroy test", "undefine test"] + SETUP

# Commands compared whole: stdout, stderr and exit status. Each runs after SETUP. Commands
# that change state come last (the Cocoon root keeps state between invocations).
COMMANDS = [
    "list --all",
    "list",
    "list --inactive",
    "list --all --name",
    "list --all --uuid",
    "list --all --uuid --name",
    "list --all --id --name",
    "list --all --id",
    "list --state-shutoff",
    "list --all --table --name",
    "list --foo",
    "domstate web1",
    "domstate --reason web1",
    "domstate --domain=web1",
    "domid web1",
    "domid 3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21",
    "domuuid web1",
    "domuuid 3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21",
    "domname 3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21",
    "domname web1",
    "dominfo nope",
    "dominfo",
    "dominfo web1 extra",
    "domid --domain",
    "domid --foo web1",
    "define no-such-file.xml",
    "foo",
    "domid nope; domuuid web1",
    "domuuid web1; domid nope",
    "domuuid web1; foo",
    "domid web1; quit; domid nope",
    "help nosuch",
    "domblklist web1",
    "domblklist web1 --details",
    "domblklist web1 --inactive",
    "domiflist web1",
    "vcpucount web1",
    "vcpucount web1 --maximum",
    "vcpucount web1 --config",
    "dommemstat web1",
    "domblkstat web1 vda",
    "domifstat web1 vnet0",
    "event --list",
    "event --foo",
    "setmem web1",
    "setvcpus web1 zero",
    "autostart web1; list --all --autostart; autostart --disable web1",
    "undefine a-long-domain-name; list --all",
]

# dominfo lines printed by both (the test driver adds OS type, security and a fake CPU time)
DOMINFO_LABELS = ("Id:", "Name:", "UUID:", "State:", "CPU(s):", "Max memory:", "Used memory:",
                  "Persistent:", "Autostart:")


_setup_output = {}


def debian(cmd, quiet=False):
    """Debian virsh on a fresh test driver set up like the Cocoon root; the setup's own
    output (identical on every run) is cut off."""
    opts = ["-q"] if quiet else []
    if quiet not in _setup_output:
        _setup_output[quiet] = run(["virsh", *opts, "-c", "test:///default",
                                    "; ".join(DEBIAN_SETUP)])
    base = _setup_output[quiet]
    full = run(["virsh", *opts, "-c", "test:///default", "; ".join(DEBIAN_SETUP + [cmd])])
    assert base[0] == 0 and base[2] == "", base
    if not full[1].startswith(base[1]):
        # a syntax error in cmd: virsh ran nothing of the line, the setup included
        assert full[0] == 1 and full[1] == "", full
        return full
    return full[0], full[1][len(base[1]):], full[2]


def main():
    if not shutil.which("virsh"):
        print("SKIP: Debian's virsh is not installed")
        sys.exit(77)
    c = Checker()
    with Root() as root:
        for cmd in SETUP:
            rc, out, err = cocoonvirsh(root, cmd)
            c.eq(f"setup: {cmd}", (rc, err), (0, ""))

        for quiet in (False, True):
            for cmd in ("list --all", "domstate web1",
                        "autostart web1; domid web1; autostart --disable web1"):
                args = (["-q"] if quiet else []) + [cmd]
                c.eq(f"{' '.join(args)!r} same as virsh", cocoonvirsh(root, *args),
                     debian(cmd, quiet))

        rc, out, err = cocoonvirsh(root, "dominfo web1")
        want = debian("dominfo web1")
        pick = lambda text: [line for line in text.splitlines()  # noqa: E731
                             if line.startswith(DOMINFO_LABELS)]
        c.eq("dominfo web1: shared lines same as virsh", (rc, pick(out), err),
             (want[0], pick(want[1]), want[2]))

        rc, out, err = cocoonvirsh(root, "define web1-other-uuid.xml")
        want = debian("define web1-other-uuid.xml")
        c.eq("refused redefine: status and first error line same as virsh",
             (rc, out, err.splitlines()[:1]), (want[0], want[1], want[2].splitlines()[:1]))

        for cmd in COMMANDS:
            c.eq(f"{cmd!r} same as virsh", cocoonvirsh(root, cmd), debian(cmd))
    c.done()


if __name__ == "__main__":
    main()
