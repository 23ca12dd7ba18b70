"""`virsh console` (Debian's virsh) through cocoond, used the way a person does: in a terminal
(a private tmux server), on a domain running on the Firecracker simulator. Log in to the
simulated guest, run `echo hello-from-tmux`, read the answer off the screen, leave with Ctrl+]
and check virsh exited 0 and left the terminal as it found it (same stty settings, a shell that
still answers). Then `virsh console` on a stopped domain is refused."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clientutil import fc_domain_xml, fc_env, wait_for  # noqa: E402
from rpcutil import Daemon, check, skip, virsh  # noqa: E402


class Terminal:
    """A shell in a detached tmux session on a tmux server of our own (its own socket)."""

    def __init__(self, d):
        self.sock = os.path.join(d.dir, "tmux.sock")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
        env.update({"LC_ALL": "C", "PS1": "$ ", "HOME": d.dir})
        env.pop("LIBVIRT_DEFAULT_URI", None)
        self.env = env
        self.tmux("new-session", "-d", "-s", "t", "-x", "160", "-y", "50",
                  "bash --norc --noprofile -i")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock, *args], env=self.env, check=True,
                              capture_output=True, text=True, timeout=20).stdout

    def type(self, text):
        """Type text and press Enter."""
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "t")

    def lines(self):
        return [line.rstrip() for line in self.screen().splitlines()]

    def wait_line(self, pred, timeout=20):
        return wait_for(lambda: any(pred(line) for line in self.lines()), timeout)

    def close(self):
        subprocess.run(["tmux", "-S", self.sock, "kill-server"], env=self.env,
                       capture_output=True, timeout=20)


def console_session(d, term):
    before = os.path.join(d.dir, "stty.before")
    after = os.path.join(d.dir, "stty.after")
    term.type(f"stty -g > {before}; echo ready-$((6*7))")
    check(term.wait_line(lambda s: s == "ready-42"), "the shell in tmux is up")
    term.type(f"virsh -c '{d.uri}' console web1; echo virsh-exit=$?; stty -g > {after}")
    check(term.wait_line(lambda s: s.startswith("Escape character is ^]")),
          "virsh console connects and tells the escape character")
    term.keys("Enter")
    check(term.wait_line(lambda s: s.endswith("cocoon-sim login:")),
          "the simulated guest's login prompt shows in the terminal")
    term.type("root")
    check(term.wait_line(lambda s: s.startswith("root@cocoon-sim:~#")), "logged in as root")
    term.type("echo hello-from-tmux")
    check(term.wait_line(lambda s: s.endswith("# echo hello-from-tmux")),
          "the guest echoed the typed command")
    check(term.wait_line(lambda s: s == "hello-from-tmux"),
          "and its answer hello-from-tmux is on the screen, on a line of its own")
    term.keys("C-]")
    check(term.wait_line(lambda s: s == "virsh-exit=0"), "Ctrl+] ends virsh console with status 0")
    check(wait_for(lambda: os.path.exists(after) and os.path.getsize(after) > 0),
          "the shell runs the next command")
    with open(before) as b, open(after) as a:
        sb, sa = b.read().strip(), a.read().strip()
    check(sb == sa, f"the terminal's settings are restored (stty -g {sb} / {sa})")
    term.type("echo usable-$((6*7))")
    check(term.wait_line(lambda s: s == "usable-42"),
          "typed text is echoed and answered as before (the terminal is usable)")
    rc, out, _ = virsh(d.uri, "domstate", "web1")
    check(rc == 0 and out.strip() == "running", "leaving the console leaves the guest running")


def main():
    if not shutil.which("tmux"):
        skip("tmux is not installed")
    with Daemon(env=fc_env()) as d:
        rc, _, err = virsh(d.uri, "define", fc_domain_xml(d, "web1"))
        check(rc == 0, f"define ({err.strip()})")
        rc, _, err = virsh(d.uri, "start", "web1")
        check(rc == 0, f"start ({err.strip()})")
        term = Terminal(d)
        try:
            console_session(d, term)
        finally:
            term.close()
        rc, _, err = virsh(d.uri, "destroy", "web1")
        check(rc == 0, f"destroy ({err.strip()})")
        rc, _, err = virsh(d.uri, "console", "web1")
        check(rc != 0 and "error: The domain is not running" in err,
              "console on a stopped domain is refused by virsh")
        virsh(d.uri, "undefine", "web1")


if __name__ == "__main__":
    main()
