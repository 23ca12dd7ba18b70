#!/usr/bin/env bash
# No shell is ever invoked, and temporary files are made safely: the C sources of src/ and
# tools/ call no system(), popen(), shell (sh -c, /bin/sh), exec*p() (which would search PATH)
# or wordexp(), and none of the unsafe temporary-name functions (tmpnam, tempnam, mktemp).
# Every process is spawned through cv_process with an argv; every temporary file is opened
# with O_EXCL/mkstemp. A hit names file and line. (tests/hostile/test_privilege.py checks the
# behaviour: a disk path full of shell syntax runs nothing.)
set -u
src=${COCOON_SRCDIR:?run through meson test}
pattern='\b(system|popen|wordexp|execlp|execvp|execvpe|tmpnam|tempnam|mktemp)[[:space:]]*\(|"/bin/sh"|"sh"[[:space:]]*,[[:space:]]*"-c"|g_spawn_command_line'
hits=$(grep -rnE "$pattern" "$src/src" "$src/tools" --include='*.c' --include='*.h' |
    grep -vE '^\S+:[0-9]+:\s*(/?\*|//)')
if [ -n "$hits" ]; then
    echo "FAIL: shell or unsafe temporary file calls in the sources:"
    echo "$hits"
    exit 1
fi
# and the check itself finds what it looks for
probe=$(printf 'int f(void) { return system("x"); }\n' | grep -cE "$pattern")
[ "$probe" = 1 ] || { echo "FAIL: the pattern does not match a system() call"; exit 1; }
echo "ok: no shell invocation and no unsafe temporary file call in src/ and tools/"
