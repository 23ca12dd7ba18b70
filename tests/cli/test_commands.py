#!/usr/bin/python3
"""cocoonvirsh against the embedded driver: define → list → dumpxml → identity and state
commands → redefine → undefine, the errors a user meets on the way, ';' chaining and the
global options."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import DATA, Checker, Root, binary, cocoonvirsh, project_version  # noqa: E402

WEB1_UUID = "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21"
LONG_UUID = "0e6b8a52-7c1d-4e3f-a1b2-c3d4e5f60718"


def xml_validates(c, what, xml):
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
        f.write(xml)
        f.flush()
        p = subprocess.run(["virt-xml-validate", f.name, "domain"], capture_output=True,
                           text=True)
    c.true(what, p.returncode == 0, p.stdout + p.stderr)


def memory_kib(xml):
    m = re.search(r"<memory unit='KiB'>(\d+)</memory>", xml)
    return int(m.group(1)) if m else None


def dominfo_fields(out):
    fields = {}
    for line in out.splitlines():
        if ":" in line:
            label, _, value = line.partition(":")
            fields[label] = value.strip()
    return fields


def main():
    c = Checker()
    version = project_version()
    with Root() as root:
        v = lambda *a, **kw: cocoonvirsh(root, *a, **kw)  # noqa: E731

        # an empty root lists nothing: the header and a dashes line sized to the headers
        c.eq("list --all on an empty root", v("list", "--all"),
             (0, " Id   Name   State\n--------------------\n\n", ""))

        # define
        c.eq("define web1.xml", v("define", "web1.xml"),
             (0, "Domain 'web1' defined from web1.xml\n\n", ""))
        c.eq("define --file with an absolute path",
             v("define", "--file", os.path.join(DATA, "a-long-domain-name.xml")),
             (0, "Domain 'a-long-domain-name' defined from "
              f"{os.path.join(DATA, 'a-long-domain-name.xml')}\n\n", ""))

        # list: exact bytes; inactive domains sorted by name, '-' for their ids
        table = (" Id   Name                 State\n"
                 "-------------------------------------\n"
                 " -    a-long-domain-name   shut off\n"
                 " -    web1                 shut off\n\n")
        c.eq("list --all", v("list", "--all"), (0, table, ""))
        c.eq("list (running only)", v("list"),
             (0, " Id   Name   State\n--------------------\n\n", ""))
        c.eq("list --inactive", v("list", "--inactive"), (0, table, ""))
        c.eq("list --all --name", v("list", "--all", "--name"),
             (0, "a-long-domain-name\nweb1\n\n", ""))
        c.eq("list --all --uuid --name", v("list", "--all", "--uuid", "--name"),
             (0, f"{LONG_UUID} a-long-domain-name\n{WEB1_UUID} web1\n\n", ""))
        c.eq("list --all --id (inactive ones have none)", v("list", "--all", "--id"),
             (0, "\n", ""))
        c.eq("-q list --all: rows only, sized to the rows", v("-q", "list", "--all"),
             (0, " -   a-long-domain-name   shut off\n -   web1                 shut off\n", ""))
        c.eq("list --table --name", v("list", "--table", "--name"),
             (1, "\n", "error: Options --table and --name are mutually exclusive\n"))

        # dumpxml: valid libvirt XML carrying what was defined
        rc, xml, err = v("dumpxml", "web1")
        c.eq("dumpxml web1 status", (rc, err), (0, ""))
        xml_validates(c, "dumpxml web1 passes virt-xml-validate", xml)
        c.true("dumpxml web1 has the name and uuid",
               "<name>web1</name>" in xml and f"<uuid>{WEB1_UUID}</uuid>" in xml, xml)
        c.eq("dumpxml web1 memory", memory_kib(xml), 262144)
        rc, xml2, err = v("dumpxml", "--inactive", "--domain", WEB1_UUID)
        c.eq("dumpxml --inactive --domain UUID gives the same document", (rc, xml2, err),
             (0, xml, ""))

        # identity: each command accepts the forms virsh accepts
        c.eq("domuuid web1", v("domuuid", "web1"), (0, f"{WEB1_UUID}\n\n", ""))
        c.eq("domname UUID", v("domname", WEB1_UUID), (0, "web1\n\n", ""))
        c.eq("domname NAME is refused", v("domname", "web1"),
             (1, "\n", "error: failed to get domain 'web1'\n"))
        c.eq("domid of a shut-off domain", v("domid", "web1"), (0, "-\n\n", ""))
        c.eq("domid --domain UUID", v("domid", "--domain", WEB1_UUID), (0, "-\n\n", ""))
        c.eq("domstate", v("domstate", "web1"), (0, "shut off\n\n", ""))
        rc, out, err = v("domstate", "--reason", "web1")
        c.true("domstate --reason", rc == 0 and re.fullmatch(r"shut off \([a-z ]+\)\n\n", out)
               is not None and err == "", repr((rc, out, err)))
        c.eq("-q domstate", v("-q", "domstate", "web1"), (0, "shut off\n", ""))

        rc, out, err = v("dominfo", "web1")
        c.eq("dominfo status", (rc, err), (0, ""))
        labels = [line[:16] for line in out.splitlines() if line]
        c.true("dominfo labels are padded to 16 columns",
               all(re.fullmatch(r"[A-Za-z() ]+: *", lab) and len(lab) == 16 for lab in labels),
               repr(labels))
        f = dominfo_fields(out)
        c.eq("dominfo fields", {k: f.get(k) for k in
                                ("Id", "Name", "UUID", "State", "CPU(s)", "Max memory",
                                 "Used memory", "Persistent", "Autostart")},
             {"Id": "-", "Name": "web1", "UUID": WEB1_UUID, "State": "shut off", "CPU(s)": "2",
              "Max memory": "262144 KiB", "Used memory": "262144 KiB", "Persistent": "yes",
              "Autostart": "disable"})
        c.eq("dominfo by uuid prints the same", v("dominfo", WEB1_UUID), (rc, out, err))

        # autostart round trip
        c.eq("autostart web1", v("autostart", "web1"),
             (0, "Domain 'web1' marked as autostarted\n\n", ""))
        c.eq("list --all --autostart --name", v("list", "--all", "--autostart", "--name"),
             (0, "web1\n\n", ""))
        c.eq("autostart --disable web1", v("autostart", "--disable", "web1"),
             (0, "Domain 'web1' unmarked as autostarted\n\n", ""))
        c.eq("list --all --autostart --name after disable",
             v("list", "--all", "--autostart", "--name"), (0, "\n", ""))

        # redefine: same name and uuid, new memory
        c.eq("redefine web1", v("define", "web1-512m.xml"),
             (0, "Domain 'web1' defined from web1-512m.xml\n\n", ""))
        rc, xml, err = v("dumpxml", "web1")
        c.eq("redefined memory", (rc, memory_kib(xml)), (0, 524288))
        c.eq("dominfo sees the redefinition", dominfo_fields(v("dominfo", "web1")[1])
             .get("Max memory"), "524288 KiB")

        # errors: the old definition survives every refused define
        rc, out, err = v("define", "web1-other-uuid.xml")
        lines = err.splitlines()
        c.true("redefine with another uuid is refused",
               rc == 1 and len(lines) == 2 and
               lines[0] == "error: Failed to define domain from web1-other-uuid.xml" and
               lines[1].startswith("error: ") and "web1" in lines[1], repr((rc, out, err)))
        c.eq("definition intact after the refused redefine", v("dumpxml", "web1"),
             (0, xml, ""))

        rc, out, err = v("define", "malformed.xml")
        lines = err.splitlines()
        c.true("malformed XML is refused",
               rc == 1 and len(lines) >= 2 and
               lines[0] == "error: Failed to define domain from malformed.xml" and
               lines[1].startswith("error: ") and len(lines[1]) > len("error: "),
               repr((rc, out, err)))

        rc, out, err = v("define", "unknown-element.xml")
        lines = err.splitlines()
        c.true("an element Cocoon does not know is refused, and named",
               rc == 1 and lines[:1] == ["error: Failed to define domain from unknown-element.xml"]
               and "watchdog" in err, repr((rc, out, err)))

        c.eq("missing file", v("define", "no-such-file.xml"),
             (1, "\n", "error: Failed to open file 'no-such-file.xml': No such file or directory\n"))
        c.eq("define without a file", v("define"),
             (1, "", "error: command 'define' requires <file> option\n"))
        c.eq("nothing was added by the failures", v("list", "--all", "--name"),
             (0, "a-long-domain-name\nweb1\n\n", ""))

        c.eq("missing domain", v("dominfo", "nope"),
             (1, "\n", "error: failed to get domain 'nope'\n"))
        c.eq("unknown command", v("foo"), (1, "", "error: unknown command: 'foo'\n"))
        c.eq("unknown option", v("list", "--foo"),
             (1, "", "error: command 'list' doesn't support option --foo\n"))
        c.eq("unexpected data", v("dominfo", "web1", "extra"),
             (1, "", "error: unexpected data 'extra'\n"))
        c.eq("option without its value", v("domid", "--domain"),
             (1, "", "error: expected syntax: --domain <string>\n"))

        # ';' chaining: every command runs, the exit status is the last one's
        rc, out, err = v("domid nope; domuuid web1")
        c.eq("failure then success", (rc, out, err),
             (0, f"\n{WEB1_UUID}\n\n", "error: failed to get domain 'nope'\n"))
        rc, out, err = v("domuuid web1; domid nope")
        c.eq("success then failure", (rc, out, err),
             (1, f"{WEB1_UUID}\n\n\n", "error: failed to get domain 'nope'\n"))
        c.eq("a syntax error anywhere runs nothing", v("domuuid web1; foo"),
             (1, "", "error: unknown command: 'foo'\n"))
        c.eq("quoting and comments", v("domname '%s' ;; domid \"web1\" # a comment" % WEB1_UUID),
             (0, "web1\n\n-\n\n", ""))
        c.eq("quit stops the chain", v("domid web1; quit; domid nope"), (0, "-\n\n", ""))

        # lifecycle: a missing domain is reported like any other; with no hypervisor here a
        # start either works or fails in virsh's two lines (ours, then the driver's)
        c.eq("start nope", v("start", "nope"),
             (1, "\n", "error: failed to get domain 'nope'\n"))
        c.eq("start takes no id", v("start", "1"), (1, "\n", "error: failed to get domain '1'\n"))
        rc, out, err = v("start", "web1")
        lines = err.splitlines()
        c.true("start web1 reports in virsh's words",
               (rc == 0 and out == "Domain 'web1' started\n\n") or
               (rc == 1 and len(lines) == 2 and
                lines[0] == "error: Failed to start domain 'web1'" and
                lines[1].startswith("error: ")), repr((rc, out, err)))
        if rc == 0:
            v("destroy", "web1")

        # domxml-to-native: the driver's text, as is
        for fmt, f in (("firecracker-api", "web1.xml"),
                       ("cloud-hypervisor-argv", "a-long-domain-name.xml")):
            rc, out, err = v("domxml-to-native", fmt, f)
            c.true(f"domxml-to-native {fmt}",
                   rc == 0 and err == "" and "/var/lib/cocoon/vmlinux" in out,
                   repr((rc, out[:200], err)))
        rc, out, err = v("domxml-to-native", "no-such-format", "web1.xml")
        c.true("domxml-to-native with an unknown format fails",
               rc == 1 and err.startswith("error: ") and out == "\n", repr((rc, out, err)))

        # host commands
        c.eq("uri", v("uri"), (0, f"{root.uri}\n\n", ""))
        rc, out, err = v("version")
        lines = out.splitlines()
        c.true("version",
               rc == 0 and err == "" and len(lines) == 5 and lines[4] == "" and
               lines[0] == f"Compiled against library: cocoon {version}" and
               lines[1] == f"Using library: cocoon {version}" and
               lines[2].startswith("Using API: ") and
               re.fullmatch(r"Running hypervisor: .*(Firecracker|Cloud Hypervisor).* "
                            r"\d+\.\d+\.\d+", lines[3]) is not None, repr(out))
        c.eq("-v", subprocess.run([binary(), "-v"], capture_output=True, text=True).stdout,
             f"{version}\n")
        rc, out, err = v("nodeinfo")
        c.true("nodeinfo", rc == 0 and out.startswith("CPU model:           ") and
               re.search(r"^Memory size:         \d+ KiB$", out, re.M) is not None, repr(out))
        rc, out, err = v("hostname")
        c.true("hostname", rc == 0 and out.strip() != "", repr((rc, out, err)))
        rc, out, err = v("capabilities")
        c.true("capabilities", rc == 0 and "<capabilities>" in out, repr((rc, out[:200], err)))

        # help needs no connection and names every command
        rc, out, err = run_noconn("help")
        c.true("help", rc == 0 and out.startswith("Grouped commands:\n\n") and
               all(re.search(rf"^    {cmd} +\S", out, re.M) for cmd in
                   ("define", "undefine", "dumpxml", "domuuid", "domname", "domid", "domstate",
                    "dominfo", "domxml-to-native", "autostart", "list", "version", "uri",
                    "hostname", "nodeinfo", "capabilities", "start", "shutdown", "destroy",
                    "reboot", "suspend", "resume", "create", "quit", "exit")), out)
        rc, out, err = run_noconn("help", "list")
        c.true("help list", rc == 0 and out.startswith("  NAME\n    list - list domains\n")
               and "    --all            list inactive & active domains\n" in out, out)
        c.eq("help nosuch", run_noconn("help", "nosuch"),
             (1, "\n", "error: command or command group 'nosuch' doesn't exist\n"))

        # undefine
        c.eq("undefine web1", v("undefine", "web1"),
             (0, "Domain 'web1' has been undefined\n\n", ""))
        c.eq("undefine by uuid prints what was typed", v("undefine", LONG_UUID),
             (0, f"Domain '{LONG_UUID}' has been undefined\n\n", ""))
        c.eq("list --all after undefine", v("list", "--all"),
             (0, " Id   Name   State\n--------------------\n\n", ""))
        c.eq("the domain is gone", v("domid", "web1"),
             (1, "\n", "error: failed to get domain 'web1'\n"))
        c.true("no definition left on disk",
               not os.path.exists(os.path.join(root.dir, "domains", "web1", "domain.xml")))
    c.done()


def run_noconn(*args):
    """Commands that need no connection work even with a URI that cannot be opened."""
    from cliutil import run
    return run([binary(), "-c", "cocoon:///embed?root=/nonexistent/none", *args])


if __name__ == "__main__":
    main()
