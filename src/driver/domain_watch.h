#pragma once

#include "driver/driver.h"
#include "driver/local.h"

/*
 * The watcher of a long-lived local-driver connection (the daemon's): a thread that sleeps
 * on the pidfds of the running VMMs and reconciles a domain as soon as its VMM exits —
 * STOPPED events, restarts per on_reboot/on_poweroff/on_crash, leftovers cleaned — without
 * waiting for the next command. It also rescans every second, which picks up VMs started by
 * other processes on the same root. A short-lived cocoonvirsh never starts one: every command
 * makes the same check itself.
 */

/** domain_watch_ensure: start conn's watcher unless it runs. 0 or -1 with *err. */
int domain_watch_ensure(CocoonConn *conn, CvError **err);

/** domain_watch_wake: make a running watcher rescan now (a VM was started). */
void domain_watch_wake(LocalDriverPriv *priv);

/** domain_watch_stop: stop and join the watcher of priv, if any. */
void domain_watch_stop(LocalDriverPriv *priv);
