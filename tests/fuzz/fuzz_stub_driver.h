#pragma once

#include "driver/driver.h"

/*
 * A driver for the RPC fuzz target: the members of driver.h answer from memory at once, with
 * plausible values, or fail for a domain whose name starts with 'e' (so the error path of
 * every procedure is reached too). Not stubbed (their procedures answer NO_SUPPORT here):
 * the statistics calls. Event registrations are kept and fired on define/undefine,
 * and their opaque is freed at deregistration as the contract says. Thread-safe.
 */

extern const CocoonDriver fuzz_stub_driver;

/** fuzz_stub_registrations: how many event registrations are live (0 after a disconnect). */
unsigned int fuzz_stub_registrations(void);
