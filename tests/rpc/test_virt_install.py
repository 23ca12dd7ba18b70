"""Domain XML written the way virt-install writes a default x86 guest (features, clock with
its timers, on_* actions, a disk with driver cache='none', a virtio NIC of type ethernet,
serial + console) defines and starts unchanged on both backends (simulators) through Debian's
virsh and cocoond, and what dumpxml prints passes libvirt's schema."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import Daemon, binary, check, virsh  # noqa: E402

VIRT_INSTALL = """<domain type="kvm">
  <name>{name}</name>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory>262144</memory>
  <currentMemory>262144</currentMemory>
  <vcpu>2</vcpu>
  <os>
    <type arch="x86_64">hvm</type>
    <kernel>{kernel}</kernel>
    <cmdline>console=ttyS0 root=/dev/vda rw</cmdline>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{emulator}</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="raw" cache="none"/>
      <source file="{disk}"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <interface type="ethernet">
      <target dev="{tap}"/>
      <model type="virtio"/>
    </interface>
    <serial type="pty">
      <target port="0"/>
    </serial>
    <console type="pty">
      <target type="serial" port="0"/>
    </console>
  </devices>
</domain>
"""


def main():
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun"):
        print("SKIP: an ethernet interface needs root and /dev/net/tun for its TAP")
        sys.exit(77)
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim"),
           "COCOON_CLOUD_HYPERVISOR": binary("tests", "sim", "ch-sim")}
    with Daemon(env=env) as d:
        kernel = os.path.join(d.dir, "vmlinux")
        with open(kernel, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01")
            f.truncate(1 << 20)
        for backend, emulator in (("fc", "/usr/bin/firecracker"),
                                  ("ch", "/usr/bin/cloud-hypervisor")):
            name = f"vi-{backend}-{os.getpid()}"
            disk = os.path.join(d.dir, f"{name}.raw")
            with open(disk, "wb") as f:
                f.truncate(8 << 20)
            path = os.path.join(d.dir, f"{name}.xml")
            tap = f"cvi{backend}{os.getpid() % 100000}"
            with open(path, "w") as f:
                f.write(VIRT_INSTALL.format(name=name, kernel=kernel, emulator=emulator,
                                            disk=disk, tap=tap))
            rc, out, err = virsh(d.uri, "define", path)
            check(rc == 0, f"{backend}: virt-install's XML defines unchanged ({err.strip()})")
            rc, out, err = virsh(d.uri, "start", name)
            check(rc == 0, f"{backend}: and starts ({err.strip()})")
            rc, out, err = virsh(d.uri, "domstate", name)
            check(out.strip() == "running", f"{backend}: running")
            rc, xml, err = virsh(d.uri, "dumpxml", name)
            for kept in ("<acpi/>", "<apic/>", "<clock offset='utc'>",
                         "<timer name='hpet' present='no'/>", "cache='none'"):
                check(kept in xml, f"{backend}: dumpxml keeps {kept}")
            dumped = os.path.join(d.dir, f"{name}.dump.xml")
            with open(dumped, "w") as f:
                f.write(xml)
            p = subprocess.run(["virt-xml-validate", dumped, "domain"], capture_output=True,
                               text=True)
            check(p.returncode == 0, f"{backend}: dumpxml passes virt-xml-validate {p.stderr}")
            rc, out, err = virsh(d.uri, "domifstat", name, tap)
            rx = open(f"/sys/class/net/{tap}/statistics/tx_bytes").read().strip()
            check(rc == 0 and f"{tap} rx_bytes " in out and f"{tap} tx_packets " in out,
                  f"{backend}: domifstat reads the TAP's counters ({err.strip()})")
            check(int(out.split(f"{tap} rx_bytes ")[1].split()[0]) <= int(rx),
                  f"{backend}: the guest's rx is the TAP's tx")
            rc, out, err = virsh(d.uri, "domiflist", name)
            check(rc == 0 and tap in out and "ethernet" in out, f"{backend}: domiflist")
            rc, out, err = virsh(d.uri, "destroy", name)
            check(rc == 0, f"{backend}: destroy")
            check(not os.path.exists(f"/sys/class/net/{tap}"), f"{backend}: its TAP is gone")
            virsh(d.uri, "undefine", name)


if __name__ == "__main__":
    main()
