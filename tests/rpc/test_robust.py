"""cocoond under hostile or careless clients: a malformed frame, a length over 16 MiB, an
unknown program and version, an unknown procedure, a client vanishing mid-call and mid-frame,
64 clients at once, a client that never reads. After each, a normal client still gets its
answers. Also: keepalive PING/PONG, the probing open, Cocoon's own program, and the one-daemon-
per-root lock."""

import os
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpcutil import (CALL, COCOON_PROGRAM, ERROR, KEEPALIVE_PROGRAM, MESSAGE, OK,  # noqa: E402
                     REMOTE_PROGRAM, REPLY, VIR_ERR_NO_SUPPORT, VIR_ERR_RPC, Daemon, RawClient,
                     binary, check, daemon_answers, frame, parse_error, run, xdr_opt_string)

import libvirt  # noqa: E402


def bad_lengths(d):
    for length, what in ((8, "shorter than a header"), (16 * 1024 * 1024 + 5, "over 16 MiB + 4")):
        c = RawClient(d.sock)
        c.send(struct.pack(">I", length) + b"\0" * 24)
        hdr, payload = c.recv()
        code, _, msg = parse_error(payload)
        check(hdr[3] == REPLY and hdr[5] == ERROR and code == VIR_ERR_RPC,
              f"a frame {what} gets an RPC error ({msg})")
        check(c.closed_by_peer(), f"and the connection {what} is dropped")
        c.close()
        check(daemon_answers(d), f"the daemon still serves others after a frame {what}")


def unknown_program(d):
    c = RawClient(d.sock)
    s = c.call(1, prog=0x12345678)
    hdr, payload = c.reply(s)
    code, _, msg = parse_error(payload)
    check(hdr[5] == ERROR and code == VIR_ERR_RPC and "program" in msg,
          f"an unknown program is an error reply ({msg})")
    s = c.call(66, vers=7)
    hdr, payload = c.reply(s)
    check(hdr[5] == ERROR, "an unknown version of ours is an error reply")
    s = c.call(66)
    hdr, payload = c.reply(s)
    check(hdr[5] == OK and struct.unpack(">II", payload) == (1, 0),
          "the same connection then gets AUTH_LIST = [none]")
    c.open()
    s = c.call(999)
    hdr, payload = c.reply(s)
    code, _, msg = parse_error(payload)
    check(code == VIR_ERR_NO_SUPPORT and "procedure 999" in msg,
          f"an unknown procedure is NO_SUPPORT ({msg})")
    s = c.call(40, struct.pack(">I", 0))  # NETWORK_CREATE_XML, not served
    hdr, payload = c.reply(s)
    code, _, msg = parse_error(payload)
    check(code == VIR_ERR_NO_SUPPORT and msg.endswith(": virNetworkCreateXML"),
          "a known unserved procedure names libvirt's API")
    s = c.call(3, b"garbage!")
    hdr, payload = c.reply(s)
    code, _, msg = parse_error(payload)
    check(hdr[5] == ERROR and code == VIR_ERR_RPC, f"undecodable arguments are refused ({msg})")

    # keepalive: PING is a MESSAGE with serial 0, answered by a PONG
    c.send(frame(KEEPALIVE_PROGRAM, 1, 1, MESSAGE, 0))
    hdr, payload = c.recv()
    check(hdr[:4] == (KEEPALIVE_PROGRAM, 1, 2, MESSAGE) and payload == b"", "PING gets PONG")

    s = c.call(1, prog=COCOON_PROGRAM)
    hdr, payload = c.reply(s)
    check(hdr[5] == OK and b"connect-get-features" in payload,
          "Cocoon's own program answers CONNECT_GET_FEATURES")
    c.close()
    check(daemon_answers(d), "the daemon still serves others after unknown programs")


def probe_open(d):
    c = RawClient(d.sock)
    c.call(66)
    c.reply(0)
    c.open(name="")
    s = c.call(110)
    hdr, payload = c.reply(s)
    (n,) = struct.unpack(">I", payload[:4])
    check(hdr[5] == OK and payload[4:4 + n] == b"cocoon:///system",
          "a probing open (name \"\") then CONNECT_GET_URI is cocoon:///system")
    s = c.call(1, xdr_opt_string("qemu:///system") + struct.pack(">I", 0))
    hdr, payload = c.reply(s)
    check(hdr[5] == ERROR, "another driver's URI is refused")
    c.close()


def vanishing(d):
    # gone right after a call: the reply has nowhere to go
    for _ in range(20):
        c = RawClient(d.sock)
        c.call(66)
        c.open()
        c.call(273, struct.pack(">iI", 1, 3))
        c.close()
    # gone half-way through a frame
    c = RawClient(d.sock)
    c.send(struct.pack(">I", 1000) + b"\0" * 100)
    c.close()
    # gone with a stream of calls in flight
    c = RawClient(d.sock)
    c.call(66)
    c.open()
    for _ in range(200):
        c.call(7)
    c.s.shutdown(socket.SHUT_RDWR)
    c.close()
    check(daemon_answers(d), "clients vanishing mid-call and mid-frame do not hurt the daemon")


def many_clients(d):
    conns = [libvirt.open(d.uri) for _ in range(64)]
    results = [None] * 64
    errors = []

    def work(i):
        try:
            results[i] = len(conns[i].listAllDomains(0)) == 1 and \
                conns[i].lookupByName("web1").XMLDesc(0).count("<name>web1</name>") == 1
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    check(not errors and all(results), f"64 clients at once all get their answers ({errors[:1]})")
    for c in conns:
        c.close()
    check(daemon_answers(d), "the daemon serves after 64 clients")


def never_reads(d):
    c = RawClient(d.sock, timeout=5)
    c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.call(66)
    c.open()
    c.s.setblocking(False)
    dropped = False
    sent_calls = 0
    deadline = time.time() + 60
    call = frame(REMOTE_PROGRAM, 1, 7, CALL, 1)  # capabilities: a few KiB each
    burst = call * 256
    checked_other = False
    while time.time() < deadline:
        try:
            n = c.s.send(burst)
            sent_calls += n // len(call)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        if sent_calls > 2000 and not checked_other:
            t0 = time.time()
            check(daemon_answers(d), "others are answered while a client does not read")
            check(time.time() - t0 < 5, "and without waiting for it")
            checked_other = True
    c.close()
    check(dropped, f"a client that never reads is disconnected (after {sent_calls} calls)")
    check(daemon_answers(d), "the daemon serves after dropping the non-reader")


def second_daemon(d):
    rc, out, err = run([binary("tools", "daemon", "cocoond"), "--root", d.root, "--run-dir",
                        d.run, "--socket", d.sock + "2"], timeout=30)
    check(rc != 0 and "already serving root" in err,
          f"a second daemon on the same root fails clearly ({err.strip()})")
    check(not os.path.exists(d.sock + "2"), "and creates no socket")


def main():
    with Daemon() as d:
        conn = libvirt.open(d.uri)
        conn.defineXML(open(os.path.join(os.environ["COCOON_SRCDIR"], "tests", "cli", "data",
                                         "web1.xml")).read())
        conn.close()
        bad_lengths(d)
        unknown_program(d)
        probe_open(d)
        vanishing(d)
        many_clients(d)
        never_reads(d)
        second_daemon(d)
        check(d.alive(), "the daemon is still running")


if __name__ == "__main__":
    main()
