#pragma once

#include "driver/backend.h"

/* What Cloud Hypervisor reports of a running guest (ch_stats.c) and what it can boot
 * (ch_domcaps.c), for the backend table. */

/** ch_stats_memory: the guest's memory from vm.info (memory_actual_size). */
int ch_stats_memory(const BackendVm *vm, const DomainDef *def, BackendMemoryStats *ret,
                    CvError **err);

/** ch_stats_block: def->disks[disk]'s counters from vm.counters (id: the disk's target). */
int ch_stats_block(const BackendVm *vm, const DomainDef *def, size_t disk,
                   BackendBlockStats *ret, CvError **err);

/** ch_tune_set_memory: vm.resize desired_balloon so the guest keeps kib of its memory. */
int ch_tune_set_memory(const BackendVm *vm, const DomainDef *def, unsigned long long kib,
                       CvError **err);

/** ch_tune_set_vcpus: vm.resize desired_vcpus. */
int ch_tune_set_vcpus(const BackendVm *vm, unsigned int n, CvError **err);

/** ch_domcaps_format: the <os> … <features> part of Cloud Hypervisor's domcapabilities. */
void ch_domcaps_format(GString *xml);
