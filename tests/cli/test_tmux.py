#!/usr/bin/python3
"""The interactive shell on a real terminal: tmux runs cocoonvirsh in a pane, the test types
commands at the 'cocoonvirsh # ' prompt and reads the screen back, as a user would."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cliutil import DATA, Checker, Root, binary, cocoonvirsh  # noqa: E402

PROMPT = "cocoonvirsh # "
SHOWN_PROMPT = PROMPT.rstrip()  # capture-pane drops the blanks at the end of a line


class Tmux:
    def __init__(self, sockdir):
        self.sock = os.path.join(sockdir, "tmux.sock")

    def __call__(self, *args, check=True):
        p = subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                           timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError(f"tmux {args}: {p.stderr}")
        return p.stdout

    def screen(self):
        return self("capture-pane", "-p", "-t", "cli", "-S", "-200")

    def wait_for(self, text, timeout=20.0):
        """Poll the screen (10 times a second) until text shows; returns the screen."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} never appeared; screen:\n{screen}")
            time.sleep(0.1)

    def type(self, line):
        self("send-keys", "-t", "cli", "-l", line)
        self("send-keys", "-t", "cli", "Enter")

    def pane(self, fmt):
        return self("display-message", "-p", "-t", "cli", fmt).strip()


def main():
    if not shutil.which("tmux"):
        print("SKIP: tmux is not installed (scripts/setup.sh installs it)")
        sys.exit(77)
    c = Checker()
    with Root() as root, tempfile.TemporaryDirectory(prefix="cocoon-tmux-") as sockdir:
        tmux = Tmux(sockdir)
        # the shell around it prints the exit status (tmux 3.3 does not keep it)
        cmd = f"{binary()} -c '{root.uri}'; echo \"exit status $?\""
        tmux("new-session", "-d", "-s", "cli", "-x", "150", "-y", "50", "-c", DATA, cmd)
        try:
            # keep the pane after the shell exits, to read the last lines
            tmux("set-option", "-t", "cli", "-w", "remain-on-exit", "on")
            screen = tmux.wait_for(SHOWN_PROMPT)
            c.true("banner on a terminal",
                   "Welcome to cocoonvirsh, the virtualization interactive terminal." in screen,
                   screen)

            tmux.type("define web1.xml")
            tmux.wait_for("Domain 'web1' defined from web1.xml")
            tmux.type("list --all")
            screen = tmux.wait_for(" -    web1   shut off")
            c.true("list table on the terminal",
                   " Id   Name   State\n-----------------------\n -    web1   shut off\n" in screen,
                   screen)
            tmux.type("domstate web1; domid web1")
            block = f"{PROMPT}domstate web1; domid web1\nshut off\n\n-\n\n{SHOWN_PROMPT}"
            try:
                tmux.wait_for(block)
                c.true("';' in the shell, each command's output then the prompt", True)
            except TimeoutError as e:
                c.true("';' in the shell, each command's output then the prompt", False, str(e))
            tmux.type("foo")
            screen = tmux.wait_for("error: unknown command: 'foo'")
            c.true("error shown, shell still running", tmux.pane("#{pane_dead}") == "0")
            tmux.type("quit")
            deadline = time.monotonic() + 20
            while tmux.pane("#{pane_dead}") != "1":
                if time.monotonic() > deadline:
                    raise TimeoutError("quit did not end the shell:\n" + tmux.screen())
                time.sleep(0.1)
            screen = tmux.screen()
            c.true("quit ends the shell with status 0", "\nexit status 0\n" in screen, screen)
            c.eq("one prompt per command typed, plus the one quit was typed at",
                 screen.count(SHOWN_PROMPT), 5)
        finally:
            tmux("kill-server", check=False)
        c.eq("what was typed took effect", cocoonvirsh(root, "list --all --name"),
             (0, "web1\n\n", ""))
    c.done()


if __name__ == "__main__":
    main()
