#pragma once

#include "driver/driver.h"
#include "driver/local_lifecycle.h"

/*
 * save / restore / managedsave of the local driver (local_save.c). Private to src/driver.
 */

int local_domain_save_flags(CocoonDomain *dom, const char *to, const char *dxml,
                            unsigned int flags, CvError **err);
int local_domain_restore_flags(CocoonConn *conn, const char *from, const char *dxml,
                               unsigned int flags, CvError **err);
int local_domain_managed_save(CocoonDomain *dom, unsigned int flags, CvError **err);
int local_domain_managed_save_remove(CocoonDomain *dom, unsigned int flags, CvError **err);

/** local_managed_save_exists: whether the domain name has a managed save image. */
bool local_managed_save_exists(LocalDriverPriv *priv, const char *name);

/**
 * local_managed_save_start: start's first step: restore job's managed save image (flags:
 * VIR_DOMAIN_START_PAUSED; FORCE_BOOT discards it) and remove it. 1 when restored, 0 when
 * there is none (boot as usual), -1 with *err.
 */
int local_managed_save_start(LocalJob *job, unsigned int flags, CvError **err);
