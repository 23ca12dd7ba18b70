"""Shared helpers of the cocoonvirsh integration tests: where the binary and the data are,
a throw-away embedded-driver root, and running a command the way a user would."""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def binary():
    builddir = os.environ.get("COCOON_BUILDDIR")
    if not builddir:
        sys.exit("COCOON_BUILDDIR is not set (run through meson test)")
    path = os.path.join(builddir, "tools", "virsh", "cocoonvirsh")
    if not os.access(path, os.X_OK):
        sys.exit(f"{path} is not built")
    return path


def project_version():
    """The version meson.build declares: what `version` and `-v` must print."""
    src = os.environ.get("COCOON_SRCDIR", os.path.join(HERE, "..", ".."))
    with open(os.path.join(src, "meson.build")) as f:
        for line in f:
            line = line.strip()
            if line.startswith("version"):
                return line.split("'")[1]
    sys.exit("no version in meson.build")


class Root:
    """A temporary state directory and the cocoon:///embed URI that uses it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cocoon-cli-")
        self.uri = f"cocoon:///embed?root={self.dir}"

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run(argv, stdin=None, cwd=DATA, env=None):
    """Run argv; returns (exit status, stdout, stderr) as text."""
    full_env = dict(os.environ)
    # a default URI from the caller's environment must not leak into the tests
    full_env.pop("COCOON_DEFAULT_URI", None)
    full_env["LC_ALL"] = "C"
    if env:
        full_env.update(env)
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, cwd=cwd,
                       env=full_env, timeout=60)
    return p.returncode, p.stdout, p.stderr


def cocoonvirsh(root, *args, stdin=None, cwd=DATA):
    return run([binary(), "-c", root.uri, *args], stdin=stdin, cwd=cwd)


class Checker:
    """Collects failures so one run reports every broken expectation."""

    def __init__(self):
        self.failures = 0

    def eq(self, what, got, want):
        if got != want:
            self.failures += 1
            print(f"FAIL {what}:\n  got:  {got!r}\n  want: {want!r}")
        else:
            print(f"ok   {what}")

    def true(self, what, cond, detail=""):
        if not cond:
            self.failures += 1
            print(f"FAIL {what} {detail}")
        else:
            print(f"ok   {what}")

    def done(self):
        if self.failures:
            print(f"{self.failures} failure(s)")
            sys.exit(1)
        sys.exit(0)
