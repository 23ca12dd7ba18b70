"""The everyday calls every libvirt client assumes, through python3-libvirt and Debian's virsh
against cocoond, on both simulators: the older lists, host limits and free memory, domain
capabilities (schema-valid), empty networks/pools/…, vCPUs, statistics of a running domain,
"domain is not running" for an inactive one, a stale handle found by uuid, and the name of an
unserved procedure in its error."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import write_fc_domain  # noqa: E402
from rpcutil import Daemon, binary, check, cocoonvirsh  # noqa: E402
from rpcutil import virsh as virsh_tuple  # noqa: E402

import libvirt  # noqa: E402


class Result:
    def __init__(self, t):
        self.returncode, self.stdout, self.stderr = t


def virsh(uri, *args):
    return Result(virsh_tuple(uri, *args))


def write_ch_domain(directory, name):
    kernel = os.path.join(directory, "vmlinux")
    if not os.path.exists(kernel):
        with open(kernel, "wb") as f:
            f.write(b"\x7fELF\x02\x01\x01")
            f.truncate(1 << 20)
    disk = os.path.join(directory, f"{name}.raw")
    with open(disk, "wb") as f:
        f.truncate(8 << 20)
    path = os.path.join(directory, f"{name}.xml")
    with open(path, "w") as f:
        f.write(f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>192</currentMemory>
  <vcpu current='1'>2</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>{kernel}</kernel>
    <cmdline>console=ttyS0</cmdline></os>
  <devices>
    <emulator>/usr/bin/cloud-hypervisor</emulator>
    <disk type='file' device='disk'><source file='{disk}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'><target port='0'/></serial>
    <memballoon model='virtio'/>
  </devices>
</domain>
""")
    return path


def schema_valid(xml, schema):
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(xml)
    p = subprocess.run(["virt-xml-validate", f.name, schema], capture_output=True, text=True)
    os.unlink(f.name)
    return p.returncode == 0, p.stderr


def host_calls(conn, d):
    check(conn.getMaxVcpus(None) > 0, "getMaxVcpus answers")
    check(conn.getMaxVcpus("firecracker") == 32, "Firecracker takes at most 32 vCPUs")
    check(conn.getMaxVcpus("cloud-hypervisor") > 32, "Cloud Hypervisor takes more")
    free = conn.getFreeMemory()
    meminfo = dict(line.split(":", 1) for line in open("/proc/meminfo"))
    total = int(meminfo["MemTotal"].split()[0]) * 1024
    check(0 < free <= total, "getFreeMemory is within the host's memory")
    cells = conn.getCellsFreeMemory(0, 8)
    check(len(cells) >= 1 and all(0 < c <= total for c in cells), "getCellsFreeMemory")
    for emu, backend in (("/usr/bin/firecracker", "fc"), ("/usr/bin/cloud-hypervisor", "ch")):
        caps = conn.getDomainCapabilities(emu, None, None, None, 0)
        ok, why = schema_valid(caps, "domaincaps")
        check(ok, f"{backend} domcapabilities pass virt-xml-validate {why}")
        check(f"<path>{emu}</path>" in caps, f"{backend} domcapabilities names the emulator")
    fc_caps = conn.getDomainCapabilities("/usr/bin/firecracker", None, None, None, 0)
    ch_caps = conn.getDomainCapabilities("/usr/bin/cloud-hypervisor", None, None, None, 0)
    check("<loader supported='no'/>" in fc_caps and "<value>pflash</value>" in ch_caps,
          "only CH boots firmware")
    check("<vcpu max='32'/>" in fc_caps, "FC's vcpu max")
    r = virsh(d.uri, "domcapabilities", "--emulatorbin", "/usr/bin/cloud-hypervisor")
    check(r.returncode == 0 and "<domainCapabilities>" in r.stdout, "virsh domcapabilities")
    r = virsh(d.uri, "maxvcpus", "--type", "firecracker")
    check(r.returncode == 0 and r.stdout.strip() == "32", f"virsh maxvcpus: {r.stdout!r}")
    r = virsh(d.uri, "freecell")
    check(r.returncode == 0 and "KiB" in r.stdout, f"virsh freecell: {r.stdout!r} {r.stderr!r}")


def empty_kinds(conn, d):
    check(conn.numOfNetworks() == 0 and conn.listNetworks() == [], "no networks")
    check(conn.numOfDefinedNetworks() == 0 and conn.listDefinedNetworks() == [], "none defined")
    check(conn.listAllNetworks(0) == [], "listAllNetworks is empty")
    check(conn.numOfStoragePools() == 0 and conn.listStoragePools() == [], "no pools")
    check(conn.listAllStoragePools(0) == [], "listAllStoragePools is empty")
    check(conn.listAllInterfaces(0) == [] and conn.numOfInterfaces() == 0, "no interfaces")
    check(conn.listAllDevices(0) == [] and conn.numOfDevices(None, 0) == 0, "no node devices")
    check(conn.listDevices(None, 0) == [], "listDevices is empty")
    check(conn.listAllNWFilters(0) == [] and conn.numOfNWFilters() == 0, "no nwfilters")
    check(conn.listAllSecrets(0) == [] and conn.numOfSecrets() == 0, "no secrets")
    for cmd in (("net-list", "--all"), ("pool-list", "--all"), ("iface-list", "--all"),
                ("nodedev-list",), ("nwfilter-list",), ("secret-list",)):
        r = virsh(d.uri, *cmd)
        check(r.returncode == 0, f"virsh {' '.join(cmd)} works on a host without any ({r.stderr})")
    cb = conn.networkEventRegisterAny(None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE,
                                      lambda *a: None, None)
    conn.networkEventDeregisterAny(cb)
    check(True, "network events register and deregister")
    try:
        conn.networkCreateXML("<network><name>n</name></network>")
        check(False, "networkCreateXML is refused")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT and
              "virNetworkCreateXML" in str(e), f"the refusal names the API: {e}")


def inactive(conn, dom, d):
    r = virsh(d.uri, "vcpuinfo", dom.name())
    check(r.returncode == 0 and "State:          N/A" in r.stdout and "CPU Affinity:   y" in r.stdout,
          f"virsh vcpuinfo of a shut-off domain (its pin info) {r.stdout!r} {r.stderr!r}")
    pins = dom.vcpuPinInfo(libvirt.VIR_DOMAIN_AFFECT_CONFIG)
    check(len(pins) == 1 and all(pins[0]), f"vcpuPinInfo: every host CPU {pins}")
    for what, fn in (("memoryStats", lambda: dom.memoryStats()),
                     ("blockStats", lambda: dom.blockStats("vda")),
                     ("vcpus", lambda: dom.vcpus()),
                     ("getCPUStats", lambda: dom.getCPUStats(True))):
        try:
            fn()
            check(False, f"{what} of an inactive domain fails")
        except libvirt.libvirtError as e:
            check(e.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID and
                  "domain is not running" in str(e), f"{what}: operation invalid ({e})")


def lists(conn, names_defined):
    check(sorted(conn.listDefinedDomains()) == sorted(names_defined), "listDefinedDomains")
    check(conn.numOfDefinedDomains() == len(names_defined), "numOfDefinedDomains")
    check(conn.listDomainsID() == [], "listDomainsID: none running yet")


def running(conn, d, dom, backend):
    dom.create()
    check(dom.ID() in conn.listDomainsID(), f"{backend}: listDomainsID has the running id")
    check(dom.maxMemory() == (128 if backend == "fc" else 256) * 1024, f"{backend}: maxMemory")
    vmax = dom.vcpusFlags(libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
    vcur = dom.vcpusFlags(0)
    check((vmax, vcur) == ((1, 1) if backend == "fc" else (2, 1)), f"{backend}: vcpusFlags")
    info, maps = dom.vcpus()
    check(len(info) == vcur and info[0][1] == libvirt.VIR_VCPU_RUNNING,
          f"{backend}: vcpus() lists the online vCPUs")
    check(all(maps[0]), f"{backend}: no vCPU is pinned")
    total = dom.getCPUStats(True)[0]
    check(set(total) >= {"cpu_time", "user_time", "system_time"}, f"{backend}: getCPUStats")
    mem = dom.memoryStats()
    check("rss" in mem and mem["rss"] > 0, f"{backend}: memoryStats has the VMM's rss")
    want_actual = 128 * 1024 if backend == "fc" else 192 * 1024  # CH: <currentMemory>
    check(mem.get("actual") == want_actual, f"{backend}: balloon actual {mem.get('actual')}")
    if backend == "ch":
        bs = dom.blockStats("vda")
        check(len(bs) == 5 and bs[0] >= 0, f"ch: blockStats from vm.counters {bs}")
        r = virsh(d.uri, "domblkstat", dom.name(), "vda")
        check(r.returncode == 0 and "rd_req" in r.stdout, f"virsh domblkstat {r.stdout!r}")
    else:
        try:
            dom.blockStats("vda")
            check(False, "fc: blockStats is refused")
        except libvirt.libvirtError as e:
            check(e.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED,
                  f"fc: no disk counters, said so ({e})")
    try:
        dom.interfaceStats("nosuch0")
        check(False, "interfaceStats of an unknown interface fails")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_INVALID_ARG, f"unknown interface: {e}")
    recs = conn.getAllDomainStats(0, 0)
    mine = [s for dd, s in recs if dd.name() == dom.name()]
    check(len(mine) == 1 and mine[0]["state.state"] == libvirt.VIR_DOMAIN_RUNNING and
          "cpu.time" in mine[0] and mine[0]["vcpu.maximum"] == vmax and
          mine[0]["block.count"] == 1 and mine[0]["block.0.name"] == "vda",
          f"{backend}: getAllDomainStats {mine}")
    r = virsh(d.uri, "domstats", dom.name())
    check(r.returncode == 0 and f"Domain: '{dom.name()}'" in r.stdout and
          "state.state=1" in r.stdout, f"{backend}: virsh domstats {r.stdout!r} {r.stderr!r}")
    r = virsh(d.uri, "dommemstat", dom.name())
    check(r.returncode == 0 and "rss" in r.stdout, f"{backend}: virsh dommemstat {r.stdout!r}")
    r = virsh(d.uri, "vcpuinfo", dom.name())
    check(r.returncode == 0 and "VCPU:" in r.stdout and "CPU Affinity:" in r.stdout,
          f"{backend}: virsh vcpuinfo {r.stdout!r} {r.stderr!r}")
    r = virsh(d.uri, "vcpucount", dom.name())
    check(r.returncode == 0 and "maximum" in r.stdout, f"{backend}: virsh vcpucount {r.stdout!r}")
    r = virsh(d.uri, "cpu-stats", dom.name(), "--total")
    check(r.returncode == 0 and "cpu_time" in r.stdout, f"{backend}: cpu-stats --total")
    # cocoonvirsh through the daemon: the remote driver serves the same calls
    for cmd, want in ((("dommemstat", dom.name()), "rss "),
                      (("domstats", dom.name()), f"Domain: '{dom.name()}'"),
                      (("vcpucount", dom.name()), "maximum      live"),
                      (("vcpuinfo", dom.name()), "CPU Affinity:"),
                      (("domblkinfo", dom.name(), "vda"), "Capacity:"),
                      (("maxvcpus", "--type", "firecracker"), "32"),
                      (("freecell",), "Total:")):
        rc, out, err = cocoonvirsh(d.uri, *cmd)
        check(rc == 0 and want in out, f"{backend}: cocoonvirsh {' '.join(cmd)} via cocoond {err}")
    dom.destroy()


def stale_handle(conn, d):
    """A handle keeps working by uuid after its domain is renamed behind it."""
    path = write_fc_domain(d.dir, "oldname")
    dom = conn.defineXML(open(path).read())
    uuid = dom.UUIDString()
    xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    dom.undefine()
    conn.defineXML(xml.replace("<name>oldname</name>", "<name>newname</name>"))
    check(dom.info()[0] == libvirt.VIR_DOMAIN_SHUTOFF, "a stale handle answers info() by uuid")
    check(dom.maxMemory() == 128 * 1024, "and maxMemory")
    check(conn.lookupByUUIDString(uuid).name() == "newname", "lookupByUUID has the new name")
    conn.lookupByName("newname").undefine()


def main():
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim"),
           "COCOON_CLOUD_HYPERVISOR": binary("tests", "sim", "ch-sim")}
    libvirt.virEventRegisterDefaultImpl()  # event registrations need a loop implementation
    with Daemon(env=env) as d:
        conn = libvirt.open(d.uri)
        host_calls(conn, d)
        empty_kinds(conn, d)
        fc = conn.defineXML(open(write_fc_domain(d.dir, "fcdom")).read())
        ch = conn.defineXML(open(write_ch_domain(d.dir, "chdom")).read())
        lists(conn, ["fcdom", "chdom"])
        inactive(conn, fc, d)
        running(conn, d, fc, "fc")
        running(conn, d, ch, "ch")
        stale_handle(conn, d)
        conn.close()


if __name__ == "__main__":
    main()
