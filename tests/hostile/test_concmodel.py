"""The concurrency test's model check (concmodel.linearize) itself: it accepts histories a
correct driver can give and rejects the ones the bugs it found gave (a start that succeeded
while lookups said the domain was gone; a transient domain seen shut off), so that
the concurrency suite passing means something."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import concmodel as M  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def C(t0, t1, op, outcome="ok", seen=None):
    return M.Call(t0, t1, op, outcome, seen, "t")


def final(t, state):
    return C(t, t, "final", "ok", state)


RUNNING = (True, True, "running")
OFF = (True, True, "off")

# one client after the other
seq = [C(0, 1, "define"), C(2, 3, "start"), C(4, 5, "state", seen="running"),
       C(6, 7, "suspend"), C(8, 9, "start", M.ACTIVE), C(10, 11, "destroy"),
       C(12, 13, "destroy", M.INACTIVE), final(20, OFF)]
check(M.linearize(seq)[0] is True, "a sequential history is accepted")
check(M.linearize(seq[:-1] + [final(20, RUNNING)])[0] is False,
      "a final state the calls do not lead to is rejected")
check(M.linearize([C(0, 1, "start")] + [final(5, M.GONE)])[0] is False,
      "a start of a domain never defined that succeeded is rejected")

# overlapping calls: either order
over = [C(0, 1, "define"), C(2, 5, "start"), C(3, 4, "destroy", M.INACTIVE), final(9, RUNNING)]
check(M.linearize(over)[0] is True, "a refusal overlapping the start it lost to is accepted")
over2 = [C(0, 1, "define"), C(2, 5, "start"), C(3, 4, "destroy"), final(9, OFF)]
check(M.linearize(over2)[0] is True, "a destroy overlapping a start, placed after it, is accepted")
late = [C(0, 1, "define"), C(2, 3, "start"), C(4, 5, "destroy", M.INACTIVE), final(9, RUNNING)]
check(M.linearize(late)[0] is False, "a refusal after the start ended is rejected")

# what the bugs gave
undef_race = [C(0, 1, "define"), C(2, 10, "start"), C(3, 4, "undefine"),
              C(5, 6, "info", M.NO_DOMAIN), C(11, 12, "state", seen="running"),
              final(20, (True, False, "running"))]
check(M.linearize(undef_race)[0] is False,
      "a start that succeeded although undefine won and lookups saw no domain is rejected")
check(M.linearize([C(0, 1, "define"), C(2, 3, "start"), C(4, 5, "undefine"),
                   C(6, 9, "destroy"), C(7, 8, "state", seen="off"), final(20, M.GONE)])[0]
      is False, "a transient domain seen shut off while it is destroyed is rejected")
check(M.linearize([C(0, 1, "define"), C(2, 3, "start"), C(4, 5, "undefine"),
                   C(6, 9, "destroy"), C(7, 8, "state", M.NO_DOMAIN), final(20, M.GONE)])[0]
      is True, "... and seen gone (or running) is accepted")
maybe = [C(0, 1, "define"), C(2, 10, "start", M.START_MAYBE), C(3, 4, "undefine"),
         C(5, 6, "destroy"), final(20, M.GONE)]
check(M.linearize(maybe)[0] is True, "libvirt's two-call create: a start that took effect and "
      "then found the domain gone is accepted")
check(M.linearize([C(0, 1, "define"), C(2, 3, "start", M.START_MAYBE), final(9, OFF)])[0]
      is False, "... but not when nothing removed the domain")
check(M.classify("error: failed to get domain 'c1'") == M.NO_DOMAIN and
      M.classify("Requested operation is not valid: domain is already running") == M.ACTIVE and
      M.classify("error: internal error: something") is None,
      "messages are sorted into the state errors, and others are not")

if failures:
    sys.exit(1)
print("all checks passed")
