#pragma once

#include <stdbool.h>

#include <glib.h>

#include "driver/backend.h"
#include "driver/config.h"

/*
 * `cocoonvirsh doctor`: what this host offers Cocoon's backends, each finding with what it
 * means and how to fix it. Library code so that the command stays a printer.
 */

/* The hypervisor versions Cocoon was tested with (tests/sim follow these too). */
#define HOST_DOCTOR_FIRECRACKER_TESTED "1.16.1"
#define HOST_DOCTOR_CLOUD_HYPERVISOR_TESTED "53.0"

typedef enum {
    DOCTOR_OK,
    DOCTOR_WARN, /* works, with a limit or a difference worth knowing */
    DOCTOR_FAIL, /* something Cocoon needs is missing */
} DoctorLevel;

typedef struct {
    char *name;   /* what was checked: "/dev/kvm", "firecracker", … */
    DoctorLevel level;
    char *detail; /* what was found */
    char *fix;    /* how to fix it; NULL when nothing is to be done */
    /* the backends (1 << BackendKind) that cannot run because of a DOCTOR_FAIL */
    unsigned int blocks;
} DoctorCheck;

typedef struct {
    GPtrArray *checks; /* DoctorCheck, owned, in the order run */
} DoctorReport;

/** The folders and sockets to look at; NULL members take cocoon.conf's or the defaults. */
typedef struct {
    const char *root;
    const char *socket; /* the daemon's read-write socket; "-ro" is appended for the other */
} DoctorWhere;

/**
 * host_doctor_run: run every check against cfg (binaries, jailer) and where. Never fails:
 * what cannot be examined is itself a finding. New report.
 */
DoctorReport *host_doctor_run(const CocoonConfig *cfg, const DoctorWhere *where);

/** host_doctor_backend_runs: whether no DOCTOR_FAIL of report blocks backend. */
bool host_doctor_backend_runs(const DoctorReport *report, const CocoonBackend *backend);

/**
 * host_doctor_version_cmp: compare dotted versions numerically, missing parts being 0
 * ("53.0.0" equals "53.0"); a leading 'v' and any suffix after the numbers ("-offline") are
 * ignored. <0, 0 or >0; a string with no number compares below every version.
 */
int host_doctor_version_cmp(const char *a, const char *b);

void host_doctor_report_free(DoctorReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DoctorReport, host_doctor_report_free)
