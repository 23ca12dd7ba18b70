#pragma once

#include <stdbool.h>

/*
 * Calls that must not wait. A caller that cannot afford to wait (cocoond's event loop, which
 * answers read-only calls itself) brackets driver calls with cocoon_nowait_begin/_end on its
 * thread. Inside the bracket, a driver call that would wait for a domain's lock or a VMM, or
 * do work that grows with the number of domains, gives up instead: it returns whatever it
 * returns (the result is meaningless), changes nothing, and cocoon_nowait_end reports it, so
 * the caller runs the call again on a thread that may wait. Outside a bracket nothing changes.
 */

/** cocoon_nowait_begin: from now on, driver calls on this thread must not wait. */
void cocoon_nowait_begin(void);

/**
 * cocoon_nowait_end: end the bracket of this thread; true when a call inside it gave up
 * (its result must be thrown away and the call made again where it may wait).
 */
bool cocoon_nowait_end(void);

/**
 * cocoon_nowait_give_up: for driver code: whether this thread must not wait; when so, the
 * bracket is marked as given up (the caller then returns without acting).
 */
bool cocoon_nowait_give_up(void);
