#pragma once

#include "util/cv_error.h"
#include "xml/domain_def.h"

/* Largest vCPU count Cloud Hypervisor accepts on x86_64 with KVM, and on other architectures. */
#define CH_MAX_VCPUS_X86_64 8192
#define CH_MAX_VCPUS_OTHER 255

/**
 * ch_validate: can Cloud Hypervisor honour def? Everything in a DomainDef is either mapped by
 * the lowering or refused here; nothing is dropped. Pure.
 * Returns 0, or -1 with *err (VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED, naming the element,
 * the attribute and the value at fault, and the backend).
 */
int ch_validate(const DomainDef *def, CvError **err);

/**
 * ch_validate_serial_device: the <serial> or serial-target <console> that is CH's legacy UART
 * (guest ttyS0), or NULL. Only meaningful for a definition that passed ch_validate.
 */
const DomainChrDef *ch_validate_serial_device(const DomainDef *def);

/**
 * ch_validate_virtio_console: the <console target type='virtio'> that is CH's virtio-console
 * (guest hvc0), or NULL. Only meaningful for a definition that passed ch_validate.
 */
const DomainChrDef *ch_validate_virtio_console(const DomainDef *def);
