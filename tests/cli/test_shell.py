#!/usr/bin/python3
"""The interactive shell fed through a pipe: one command per line (';' works too), no banner
or prompt when stdin is not a terminal, errors reported as they happen, quit ends it, and the
shell itself exits 0 as virsh's does."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import Checker, Root, cocoonvirsh  # noqa: E402

WEB1_UUID = "3b1c2f4e-8a6d-4f0b-9c2e-5d7a1e0f4b21"


def main():
    c = Checker()
    with Root() as root:
        script = ("define web1.xml\n"
                  "\n"
                  "list --all\n"
                  "domstate web1; domuuid web1\n"
                  "foo\n"
                  "domid nope\n"
                  "  # a comment line\n"
                  "quit\n"
                  "undefine web1\n")
        rc, out, err = cocoonvirsh(root, stdin=script)
        c.eq("piped session stdout", out,
             "Domain 'web1' defined from web1.xml\n\n"
             " Id   Name   State\n"
             "-----------------------\n"
             " -    web1   shut off\n\n"
             "shut off\n\n"
             f"{WEB1_UUID}\n\n"
             "\n")
        c.eq("piped session stderr", err,
             "error: unknown command: 'foo'\n"
             "error: failed to get domain 'nope'\n")
        c.eq("piped session exit status", rc, 0)
        # the line after quit did not run: web1 is still defined
        c.eq("nothing ran after quit", cocoonvirsh(root, "list --all --name"),
             (0, "web1\n\n", ""))

        # end of input ends the shell like quit; exit works as quit
        c.eq("EOF ends the shell", cocoonvirsh(root, stdin="domid web1"), (0, "-\n\n", ""))
        c.eq("exit", cocoonvirsh(root, stdin="exit\ndomid web1\n"), (0, "", ""))
        # quiet: no confirmations, no empty line after each command
        c.eq("-q in the shell", cocoonvirsh(root, "-q", stdin="domid web1\nundefine web1\n"),
             (0, "-\n", ""))
        c.eq("undefined by the quiet shell", cocoonvirsh(root, "list --all --name"),
             (0, "\n", ""))
    c.done()


if __name__ == "__main__":
    main()
