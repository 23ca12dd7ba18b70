#pragma once

#include <stddef.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/* Firecracker accepts at most this many vCPUs (its vcpu_count is 1..32). */
#define FC_MAX_VCPUS 32

/**
 * fc_validate: can Firecracker honour def? Everything in the definition that FC cannot do, and
 * everything the FC lowering does not map, is refused here, before anything runs.
 * Returns 0, or -1 with *err set (VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED) to a message that
 * names the element (and the attribute or value) and the backend.
 */
int fc_validate(const DomainDef *def, CvError **err);

/**
 * fc_validate_disk_order: the guest order of def's disks. FC names guest block devices by
 * insertion order, so the targets must be exactly vda, vdb, … (in any order in the XML).
 * On success *ret_order gets a new array of def->ndisks indexes (g_free; NULL when there are
 * no disks): ret_order[k] is the index in def->disks of the disk the guest sees as the k-th
 * (vda first). Returns 0, or -1 with *err (VIR_ERR_CONFIG_UNSUPPORTED).
 */
int fc_validate_disk_order(const DomainDef *def, size_t **ret_order, CvError **err);
