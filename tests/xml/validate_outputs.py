#!/usr/bin/python3
"""Run libvirt's schema check (virt-xml-validate FILE domain) on every canonical output.

Everything Cocoon's formatter prints must be valid libvirt domain XML; the .out.xml golden
files are that output, so each one is checked. Fails on the first invalid file's report.
"""
import glob
import os
import shutil
import subprocess
import sys

MIN_FILES = 30  # the test table has more; fewer means the data folder is not where expected


def main():
    srcdir = os.environ.get("COCOON_TEST_SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
    tool = shutil.which("virt-xml-validate")
    if tool is None:
        print("SKIP: virt-xml-validate is not installed (Debian package libvirt-clients)")
        return 77
    files = sorted(glob.glob(os.path.join(srcdir, "xml", "data", "*.out.xml")))
    if len(files) < MIN_FILES:
        print(f"only {len(files)} .out.xml files found under {srcdir}/xml/data")
        return 1
    failed = 0
    for path in files:
        proc = subprocess.run([tool, path, "domain"], capture_output=True, text=True)
        if proc.returncode != 0:
            failed += 1
            print(f"INVALID {os.path.basename(path)}:\n{proc.stdout}{proc.stderr}")
        else:
            print(f"ok {os.path.basename(path)}")
    print(f"{len(files) - failed}/{len(files)} valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
