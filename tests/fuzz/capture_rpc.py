"""Capture real client traffic as seeds of the RPC fuzz target: a logging proxy between
Debian's virsh / python3-libvirt and a cocoond on a throw-away root (on the Firecracker
simulator), recording what each client connection sends. Each connection becomes one seed in
tests/fuzz/corpus/rpc/: a first byte (0: the read-write socket, 1: the read-only one) and the
client's bytes as sent. Run from a build dir's environment:

    COCOON_BUILDDIR=build-test COCOON_SRCDIR=. /usr/bin/python3 tests/fuzz/capture_rpc.py [OUTDIR]
"""

import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rpc"))
from clientutil import fc_domain_xml  # noqa: E402
from rpcutil import Daemon, binary, virsh  # noqa: E402

import libvirt  # noqa: E402


class Proxy:
    """Listens on path, forwards each connection to target, records the client's bytes."""

    def __init__(self, path, target, mode):
        self.path, self.target, self.mode = path, target, mode
        self.sessions = []
        self.lock = threading.Lock()
        self.ls = socket.socket(socket.AF_UNIX)
        self.ls.bind(path)
        self.ls.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.ls.accept()
            s = socket.socket(socket.AF_UNIX)
            s.connect(self.target)
            rec = bytearray([self.mode])
            with self.lock:
                self.sessions.append(rec)
            threading.Thread(target=self.pump, args=(c, s, rec), daemon=True).start()
            threading.Thread(target=self.pump, args=(s, c, None), daemon=True).start()

    @staticmethod
    def pump(src, dst, rec):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                if rec is not None:
                    rec.extend(b)
                dst.sendall(b)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus", "rpc")
    os.makedirs(out, exist_ok=True)
    env = {"COCOON_FIRECRACKER": binary("tests", "sim", "fc-sim")}
    with Daemon(env=env) as d:
        rw = Proxy(os.path.join(d.dir, "proxy"), d.sock, 0)
        ro = Proxy(os.path.join(d.dir, "proxy-ro"), d.ro_sock, 1)
        uri = f"cocoon+unix:///system?socket={rw.path}"
        ro_uri = f"cocoon+unix:///system?socket={ro.path}"
        xml_path = fc_domain_xml(d, "web1")
        names = []
        for args in (["define", xml_path], ["list", "--all"], ["dumpxml", "web1"],
                     ["dominfo", "web1"], ["start", "web1"], ["domstate", "web1", "--reason"],
                     ["suspend", "web1"], ["resume", "web1"],
                     ["snapshot-create-as", "web1", "snap1", "--description", "first"],
                     ["snapshot-list", "web1", "--tree"], ["snapshot-info", "web1", "snap1"],
                     ["snapshot-dumpxml", "web1", "snap1"], ["snapshot-current", "web1"],
                     ["snapshot-revert", "web1", "snap1"], ["snapshot-delete", "web1", "snap1"],
                     ["destroy", "web1"],
                     ["domxml-to-native", "firecracker-json", xml_path],
                     ["autostart", "web1"], ["version"], ["nodeinfo"], ["capabilities"],
                     ["undefine", "web1"]):
            virsh(uri, *args)
            names.append("virsh-" + args[0])
        virsh(ro_uri, "list", "--all", readonly=True)
        names.append("virsh-ro-list")
        virsh(ro_uri, "define", xml_path, readonly=True)
        names.append("virsh-ro-define")

        conn = libvirt.open(uri)
        conn.defineXML(open(xml_path).read())
        ev = []
        libvirt.virEventRegisterDefaultImpl()
        cb = conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         lambda *a: ev.append(a), None)
        dom = conn.lookupByName("web1")
        dom.info(), dom.isActive(), dom.isPersistent(), dom.state(), dom.XMLDesc(0)
        conn.lookupByUUIDString(dom.UUIDString())
        dom.create()
        conn.lookupByID(dom.ID())
        st = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, st, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        st.send(b"\r")
        time.sleep(0.5)
        st.abort()
        dom.destroy()
        conn.domainEventDeregisterAny(cb)
        dom.undefine()
        conn.close()
        names.append("python-session")

        time.sleep(0.5)
        for i, rec in enumerate(rw.sessions + ro.sessions):
            path = os.path.join(out, f"capture-{i:02d}")
            with open(path, "wb") as f:
                f.write(bytes(rec))
            print(f"{path}: {len(rec)} bytes")


if __name__ == "__main__":
    main()
