#pragma once

#include "driver/driver.h"

/*
 * A driver for the RPC fuzz target: every member of driver.h answers from memory at once, with
 * plausible values, or fails for a domain whose name starts with 'e' (so the error path of
 * every procedure is reached too). Event registrations are kept and fired on define/undefine,
 * and their opaque is freed at deregistration as the contract says. Thread-safe.
 */

extern const CocoonDriver fuzz_stub_driver;

/** fuzz_stub_registrations: how many event registrations are live (0 after a disconnect). */
unsigned int fuzz_stub_registrations(void);
