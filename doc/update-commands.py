#!/usr/bin/python3
"""Rewrite the COMMANDS section of doc/cocoonvirsh.1.scd from cocoonvirsh's own help, after a
command or an option was added to its table:

    doc/update-commands.py build/tools/virsh/cocoonvirsh

Review the diff: the summaries and option texts are those of the command table, the man
page's own text around the section is kept. tests/docs/test_man_help.py checks they agree."""

import os
import re
import subprocess
import sys

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cocoonvirsh.1.scd")


def run(virsh, *args):
    return subprocess.run([virsh, *args], capture_output=True, text=True, check=True).stdout


def section(virsh):
    out = []
    for title, body in re.findall(r"^ (.+) \(help keyword '\w+'\):\n((?:    .*\n)+)",
                                  run(virsh, "help"), re.M):
        out.append(f"## {title}\n")
        for name, summary in re.findall(r"^    (\S+)\s+(.*)$", body, re.M):
            text = run(virsh, "help", name)
            synopsis = re.search(r"SYNOPSIS\n    (.*)\n", text).group(1)[len(name):].strip()
            out.append(f"*{name}* {synopsis}".rstrip())
            out.append(f"\t{summary[0].upper() + summary[1:]}.\n")
            if "  OPTIONS\n" not in text:
                continue
            for line in text.split("  OPTIONS\n")[1].splitlines():
                m = re.match(r"    \[?(--[a-z0-9-]+)\]?( <string>)?\s+(.*)", line)
                if m:
                    value = " _string_" if m.group(2) else ""
                    out.append(f"\t*{m.group(1)}*{value}: {m.group(3)}\n")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(PAGE, encoding="utf-8") as f:
        page = f.read()
    start = page.index("# COMMANDS")
    first = page.index("\n## ", start) + 1
    end = page.index("\n# ", first) + 1
    page = page[:first] + section(sys.argv[1]) + page[end:]
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
