#pragma once

#include <glib.h>
#include <stdbool.h>

#include "snapshot/snapshot_meta.h"
#include "util/cv_error.h"

/*
 * libvirt's <domainsnapshot> XML (domainsnapshot.rng): what snapshot-dumpxml prints, what
 * snapshot-create reads. Cocoon's snapshots are external ones: the memory and each writable
 * disk are files of the snapshot's own folder, and the XML names them there.
 * Errors: VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_XML_ERROR / VIR_ERR_CONFIG_UNSUPPORTED.
 */

typedef enum {
    SNAPSHOT_XML_LOCATION_DEFAULT = 0, /* not given */
    SNAPSHOT_XML_LOCATION_NO,
    SNAPSHOT_XML_LOCATION_INTERNAL,
    SNAPSHOT_XML_LOCATION_EXTERNAL,
    SNAPSHOT_XML_LOCATION_MANUAL,
    SNAPSHOT_XML_LOCATION_LAST
} SnapshotXmlLocation;

/* A <disk> of a request: its name (target) and where its snapshot goes. */
typedef struct {
    char *name;
    SnapshotXmlLocation snapshot;
    char *source; /* <source file>: refused, Cocoon keeps the copy in the snapshot */
} SnapshotXmlDisk;

/* What a <domainsnapshot> given to snapshot-create says. */
typedef struct {
    char *name;        /* NULL: the driver picks one (the creation time) */
    char *description;
    SnapshotXmlLocation memory;
    char *memory_file;
    GPtrArray *disks;  /* of SnapshotXmlDisk */
    /* only a redefinition carries these */
    char *state;
    long long created; /* -1: not given */
    char *parent;
    char *domain_xml;  /* the <domain> element as text, or NULL */
} SnapshotXmlRequest;

void snapshot_xml_request_free(SnapshotXmlRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotXmlRequest, snapshot_xml_request_free)

/** snapshot_xml_parse: a <domainsnapshot> document. New request or NULL with *err. */
SnapshotXmlRequest *snapshot_xml_parse(const char *xml, CvError **err);

/**
 * snapshot_xml_format: the <domainsnapshot> of m as snapshot-dumpxml prints it, with absolute
 * paths in m->dir (m->dir NULL: relative ones) and m->domain_xml indented inside. New string.
 */
char *snapshot_xml_format(const SnapshotMeta *m);

/** snapshot_xml_location_to_string: "no", "internal", "external", "manual" (NULL: default). */
const char *snapshot_xml_location_to_string(SnapshotXmlLocation loc);
