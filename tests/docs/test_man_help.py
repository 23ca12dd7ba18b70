#!/usr/bin/python3
"""The man pages say what the programs do: every cocoonvirsh command of `help` is in
cocoonvirsh(1) with the same synopsis and exactly its options, every cocoond --help option
is in cocoond(8), every key of the shipped cocoon.conf is in cocoon.conf(5) and the pages
were rendered by the build."""

import os
import re
import subprocess
import sys

SRC = os.environ["COCOON_SRCDIR"]
BUILD = os.environ["COCOON_BUILDDIR"]
VIRSH = os.path.join(BUILD, "tools", "virsh", "cocoonvirsh")
COCOOND = os.path.join(BUILD, "tools", "daemon", "cocoond")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


def run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def read(name):
    with open(os.path.join(SRC, "doc", name), encoding="utf-8") as f:
        return f.read()


def commands():
    """{name: (synopsis after the name, [options])} from cocoonvirsh's own help."""
    out = {}
    for name in re.findall(r"^    (\S+)\s", run(VIRSH, "help"), re.M):
        text = run(VIRSH, "help", name)
        synopsis = re.search(r"SYNOPSIS\n    (.*)\n", text).group(1)[len(name):].strip()
        opts = []
        if "  OPTIONS\n" in text:
            for line in text.split("  OPTIONS\n")[1].splitlines():
                m = re.match(r"    \[?(--[a-z0-9-]+)", line)
                if m:
                    opts.append(m.group(1))
        out[name] = (synopsis, opts)
    return out


def man_entries(scd):
    """{command: (synopsis, [options])} of the COMMANDS section of cocoonvirsh.1.scd."""
    section = scd.split("# COMMANDS")[1].split("\n# ")[0]
    out = {}
    for block in re.split(r"\n(?=\*[a-z])", section):
        m = re.match(r"\*([a-z][a-z0-9-]*)\*(.*)", block)
        if not m:
            continue
        opts = re.findall(r"^\t\*(--[a-z0-9-]+)\*", block, re.M)
        out[m.group(1)] = (m.group(2).strip(), opts)
    return out


def check_cocoonvirsh():
    help_cmds = commands()
    if len(help_cmds) < 10:
        fail(f"cocoonvirsh help lists only {len(help_cmds)} commands")
    man = man_entries(read("cocoonvirsh.1.scd"))
    for name, (synopsis, opts) in help_cmds.items():
        if name not in man:
            fail(f"cocoonvirsh(1) lacks the command '{name}' (doc/update-commands.py "
                 "rewrites the section from the help)")
            continue
        msyn, mopts = man[name]
        if msyn != synopsis:
            fail(f"'{name}': help says '{synopsis}', cocoonvirsh(1) '{msyn}'")
        if mopts != opts:
            fail(f"'{name}': help's options {opts}, cocoonvirsh(1)'s {mopts}")
    for name in man:
        if name not in help_cmds:
            fail(f"cocoonvirsh(1) documents '{name}', which cocoonvirsh does not have")
    # the global options of --help
    page = read("cocoonvirsh.1.scd")
    for opt in re.findall(r"(--[a-z]+)", run(VIRSH, "--help")):
        if f"*{opt}*" not in page:
            fail(f"cocoonvirsh --help's {opt} is not in cocoonvirsh(1)")
    print(f"ok   cocoonvirsh: {len(help_cmds)} commands against cocoonvirsh(1)")


def check_cocoond():
    page = read("cocoond.8.scd")
    helped = set(re.findall(r"^\s+(?:-\w, )?(--[a-z-]+)", run(COCOOND, "--help"), re.M))
    helped -= {"--help"}
    documented = set(re.findall(r"^\*(--[a-z-]+)\*", page, re.M))
    documented |= set(re.findall(r"^\*-\w\*, \*(--[a-z-]+)\*", page, re.M))
    documented -= {"--help"}
    if not helped:
        fail("cocoond --help lists no options")
    for o in sorted(helped - documented):
        fail(f"cocoond --help's {o} is not in cocoond(8)")
    for o in sorted(documented - helped):
        fail(f"cocoond(8) documents {o}, which cocoond --help does not list")
    print(f"ok   cocoond: {len(helped)} options against cocoond(8)")


def check_conf():
    page = read("cocoon.conf.5.scd")
    with open(os.path.join(SRC, "data", "cocoon.conf"), encoding="utf-8") as f:
        shipped = f.read()
    groups = re.findall(r"^\[([a-z]+)\]", shipped, re.M)
    keys = re.findall(r"^#([a-z-]+) = ", shipped, re.M)
    for g in groups:
        if f"# [{g}]" not in page:
            fail(f"cocoon.conf(5) has no section [{g}]")
    for k in keys:
        if f"*{k}* =" not in page:
            fail(f"the key '{k}' of the shipped cocoon.conf is not in cocoon.conf(5)")
    print(f"ok   cocoon.conf: {len(groups)} groups, {len(keys)} keys against cocoon.conf(5)")


def check_rendered():
    for page in ("cocoonvirsh.1", "cocoond.8", "cocoon.conf.5"):
        path = os.path.join(BUILD, "doc", page)
        if not os.path.isfile(path):
            fail(f"the build did not render {page}")
            continue
        text = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                              env=dict(os.environ, MANWIDTH="80"), check=False).stdout
        name = page.rsplit(".", 1)[0]
        if "NAME" not in text or name not in text:
            fail(f"man -l {page} does not show its NAME section")
    print("ok   the three pages are rendered")


def main():
    if not os.path.isfile(os.path.join(BUILD, "doc", "cocoonvirsh.1")):
        print("SKIP: the man pages were not rendered (scdoc missing at configure time)")
        return 77
    check_cocoonvirsh()
    check_cocoond()
    check_conf()
    check_rendered()
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
