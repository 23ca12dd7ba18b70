#pragma once

#include "driver/backend.h"

/* What Firecracker reports of a running guest (fc_stats.c) and what it can boot
 * (fc_domcaps.c), for the backend table. */

/** fc_stats_memory: the balloon's view (GET /balloon/statistics, else GET /balloon). */
int fc_stats_memory(const BackendVm *vm, const DomainDef *def, BackendMemoryStats *ret,
                    CvError **err);

/** fc_tune_set_memory: PATCH /balloon so the guest keeps kib of its memory. */
int fc_tune_set_memory(const BackendVm *vm, const DomainDef *def, unsigned long long kib,
                       CvError **err);

/** fc_tune_send_ctrl_alt_del: PUT /actions SendCtrlAltDel. */
int fc_tune_send_ctrl_alt_del(const BackendVm *vm, CvError **err);

/** fc_domcaps_format: the <os> … <features> part of Firecracker's domcapabilities. */
void fc_domcaps_format(GString *xml);
