"""python3-libvirt against cocoond: open, listAllDomains, lookupByName, XMLDesc, defineXML,
undefine, error codes, the read-only socket."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import DATA, Daemon, check  # noqa: E402

import libvirt  # noqa: E402

WEB1 = open(os.path.join(DATA, "web1.xml")).read()


def basics(d):
    conn = libvirt.open(d.uri)
    check(conn.getType() == "Cocoon", "getType is Cocoon")
    check(conn.listAllDomains(0) == [], "no domains on a new root")
    dom = conn.defineXML(WEB1)
    check(dom.name() == "web1" and dom.ID() == -1, "defineXML returns the inactive domain")
    names = [x.name() for x in conn.listAllDomains(0)]
    check(names == ["web1"], "listAllDomains sees it")
    inactive = [x.name() for x in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)]
    active = [x.name() for x in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    check(inactive == ["web1"] and active == [], "list flags reach the driver")
    dom2 = conn.lookupByName("web1")
    check(dom2.UUIDString() == dom.UUIDString(), "lookupByName finds the same uuid")
    xml = dom2.XMLDesc(0)
    check("<name>web1</name>" in xml, "XMLDesc returns the definition")
    check(dom2.info()[0] == libvirt.VIR_DOMAIN_SHUTOFF, "info() state is shut off")
    try:
        conn.lookupByName("nosuch")
        check(False, "lookup of a missing domain fails")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN,
              "a missing domain is VIR_ERR_NO_DOMAIN")
    try:
        conn.listAllNetworks(0)
        check(conn.listAllNetworks(0) == [], "a host without networks lists none")
    except libvirt.libvirtError as e:
        check(False, f"listAllNetworks answers: {e}")
    check(conn.getURI() == d.uri, "getURI")
    dom2.undefine()
    check(conn.listAllDomains(0) == [], "undefine removes it")
    ro = libvirt.openReadOnly(d.ro_uri)
    try:
        ro.defineXML(WEB1)
        check(False, "read-only define fails")
    except libvirt.libvirtError as e:
        check(e.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED,
              "read-only define is OPERATION_DENIED")
    ro.close()
    conn.close()


def main():
    with Daemon() as d:
        basics(d)


if __name__ == "__main__":
    main()
