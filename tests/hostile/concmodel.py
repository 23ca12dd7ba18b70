"""The model the concurrency test (test_concurrency.py) checks its clients' results against.

One domain's state is (exists, persistent, run) with run one of "off", "running", "paused".
Every operation a client did is a Call: when it began and ended (time.monotonic of the one
test process), what it was and what came back: "ok" (with the state it saw, for the state
reads), or the kind of state error it met. The history of one domain is consistent when there
is an order of its calls that respects real time (a call that ended before another began comes
first) in which each call, applied to the model one after the other, gives what the client
saw: a success only where the call is allowed, a refusal only where the model refuses it, for
the reason it refuses it. That is linearizability (Herlihy & Wing); the search below is the
usual depth-first one over the calls that may come next, with the states already met
remembered, fast while few calls on one domain overlap in time."""

import sys

# the state errors a user expects when another client got there first; anything else fails
# the test
NO_DOMAIN = "no such domain"        # VIR_ERR_NO_DOMAIN: "no domain with matching name";
                                    # virsh: "failed to get domain 'x'"
ACTIVE = "already running"          # VIR_ERR_OPERATION_INVALID: "domain is already running",
                                    # "domain 'x' is already active"
INACTIVE = "not running"            # VIR_ERR_OPERATION_INVALID: "domain is not running"
TRANSIENT = "transient"             # VIR_ERR_OPERATION_INVALID: "cannot undefine transient domain"
KINDS = (NO_DOMAIN, ACTIVE, INACTIVE, TRANSIENT)
# libvirt's remote virDomainCreate is two calls: the start, then a lookup by uuid for the new
# id. When another client undefines and destroys the domain in between, the start happened
# yet the client gets "no domain": either a refused start or a start that took effect.
START_MAYBE = "no such domain (maybe after starting)"

MUTATING = ("define", "undefine", "start", "destroy", "suspend", "resume")
READS = ("info", "xml", "state")

GONE = (False, False, "off")


def classify(message):
    """The kind of state error a message says, or None when it is not one."""
    m = message.lower()
    if "no domain with matching" in m or "domain not found" in m or \
            "failed to get domain" in m:
        return NO_DOMAIN
    if "cannot undefine transient domain" in m:
        return TRANSIENT
    if "domain is already running" in m or "is already active" in m:
        return ACTIVE
    if "domain is not running" in m:
        return INACTIVE
    return None


class Call:
    __slots__ = ("t0", "t1", "op", "outcome", "seen", "client", "detail")

    def __init__(self, t0, t1, op, outcome, seen=None, client=None, detail=""):
        self.t0, self.t1, self.op, self.outcome, self.seen = t0, t1, op, outcome, seen
        self.client, self.detail = client, detail

    def __repr__(self):
        seen = f" saw {self.seen}" if self.seen else ""
        return f"{self.client}:{self.op}->{self.outcome}{seen}@{self.t0:.3f}-{self.t1:.3f}"


def refusal(state, op):
    """The state error the model gives op in state, None when op is allowed."""
    exists, persistent, run = state
    if not exists:
        return None if op == "define" else NO_DOMAIN
    if op == "undefine" and not persistent:
        return TRANSIENT
    if op == "start" and run != "off":
        return ACTIVE
    if op in ("destroy", "suspend", "resume") and run == "off":
        return INACTIVE
    return None


def apply(state, op):
    """The state after a successful op."""
    exists, persistent, run = state
    if op == "define":
        return (True, True, run)
    if op == "undefine":
        return (True, False, run) if run != "off" else GONE
    if op == "start":
        return (True, persistent, "running")
    if op == "destroy":
        return (True, True, "off") if persistent else GONE
    if op == "suspend":
        return (True, persistent, "paused")
    if op == "resume":
        return (True, persistent, "running")
    return state


def step(state, call):
    """The state after call when the model allows what the client saw, else None."""
    if call.op == "final":
        return state if state == call.seen else None
    why = refusal(state, call.op)
    if call.outcome == START_MAYBE:
        return state if why == NO_DOMAIN else apply(state, "start") if why is None else None
    if call.outcome != "ok":
        return state if why == call.outcome else None
    if why is not None:
        return None
    if call.op in ("state", "info") and call.seen != state[2]:
        return None
    return apply(state, call.op)


def linearize(calls, start=GONE, limit=2_000_000):
    """Whether calls (one domain's) have an order consistent with the model and real time:
    (True, None), (False, the longest prefix of calls the search could place), or (None, why)
    when it gave up after limit steps."""
    calls = sorted(calls, key=lambda c: c.t0)
    n = len(calls)
    seen = set()
    best = []
    steps = [0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * n + 100))

    def search(done, state, order):
        if len(order) == n:
            return True
        key = (done, state)
        if key in seen:
            return False
        seen.add(key)
        steps[0] += 1
        if steps[0] > limit:
            raise OverflowError
        if len(order) > len(best):
            best[:] = order
        # the calls that may come next: not done, begun before every other pending one ended
        horizon = None
        for i in range(n):
            if done >> i & 1:
                continue
            c = calls[i]
            if horizon is not None and c.t0 > horizon:
                break
            horizon = c.t1 if horizon is None else min(horizon, c.t1)
        for i in range(n):
            if done >> i & 1:
                continue
            c = calls[i]
            if c.t0 > horizon:
                break
            nxt = step(state, c)
            if nxt is not None:
                order.append(c)
                if search(done | 1 << i, nxt, order):
                    return True
                order.pop()
        return False

    try:
        ok = search(0, start, [])
    except OverflowError:
        return None, f"gave up after {limit} steps"
    return (True, None) if ok else (False, best)
