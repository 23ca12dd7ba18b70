#pragma once

#include <glib.h>
#include <stdbool.h>

#include "util/cv_error.h"

/*
 * The snapshots of one domain on disk (the layout of src/snapshot/README.md):
 *
 *   <root>/domains/<dom>/snapshots/<snap>/{snapshot.xml, meta.json, memory, vmstate, ch/,
 *                                          disks/<target>.img}
 *   <root>/domains/<dom>/snapshots/current        the current snapshot's name
 *
 * meta.json holds Cocoon's facts with every path relative to the snapshot's folder; the
 * absolute paths a SnapshotMeta hands out are derived from the folder at load time, so a
 * folder moved to another root still works. A snapshot is made in a staging folder
 * (.tmp-<snap>-XXXXXX) and renamed into place only when complete and durable: a listing never
 * sees half a snapshot. Errors: VIR_FROM_DOMAIN_SNAPSHOT; a missing snapshot is
 * VIR_ERR_NO_DOMAIN_SNAPSHOT in libvirt's words.
 */

#define SNAPSHOT_META_VERSION 1
#define SNAPSHOT_META_FILE "meta.json"
#define SNAPSHOT_XML_FILE "snapshot.xml"
#define SNAPSHOT_CURRENT_FILE "current"
#define SNAPSHOT_TMP_PREFIX ".tmp-"
/* the file names inside a snapshot folder */
#define SNAPSHOT_MEMORY_FILE "memory"   /* FC mem_file_path */
#define SNAPSHOT_VMSTATE_FILE "vmstate" /* FC snapshot_path */
#define SNAPSHOT_CH_DIR "ch"            /* CH destination_url: config.json, state.json, memory-ranges */
#define SNAPSHOT_DISKS_DIR "disks"

/* One disk of the domain as the snapshot saw it. */
typedef struct {
    char *target;  /* "vda" */
    char *file;    /* the captured copy, relative ("disks/vda.img"); NULL: not captured
                      (read-only disks, snapshot='no') */
    char *source;  /* the absolute path the domain defines */
    bool readonly;
} SnapshotDisk;

typedef struct {
    char *name;
    char *description;          /* NULL: none */
    char *backend;              /* "firecracker" / "cloud-hypervisor" */
    char *state;                /* "running", "paused", "shutoff", "disk-snapshot" */
    long long created;          /* unix seconds */
    char *parent;               /* NULL: a root */
    char *memory_file;          /* relative; NULL: no memory (disk-only, shut off) */
    unsigned long long memory_size; /* bytes of the memory file (or CH's memory-ranges) */
    char *vmstate;              /* FC's state file, relative; NULL: none */
    char *ch_dir;               /* CH's snapshot folder, relative; NULL: none */
    GPtrArray *disks;           /* of SnapshotDisk */
    GHashTable *fc_drive_paths; /* FC drive_id → the absolute path FC recorded; may be NULL */
    char *domain_xml;           /* the <domain> definition as it was (canonical text) */
    /* derived at load (or set by snapshot_meta_stage_begin), never stored: */
    char *dir;                  /* the absolute folder of the snapshot */
} SnapshotMeta;

SnapshotMeta *snapshot_meta_new(const char *name);
void snapshot_meta_free(SnapshotMeta *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SnapshotMeta, snapshot_meta_free)

/** snapshot_meta_add_disk: append a disk (strings copied; file may be NULL). */
void snapshot_meta_add_disk(SnapshotMeta *m, const char *target, const char *file,
                            const char *source, bool readonly);

/** snapshot_meta_path: the absolute path of rel (a path stored in m) in m's folder; new. */
char *snapshot_meta_path(const SnapshotMeta *m, const char *rel);

/** snapshot_meta_has_data: whether m holds anything to revert to (memory or a captured disk). */
bool snapshot_meta_has_data(const SnapshotMeta *m);

/** snapshot_meta_dir: <root>/domains/<dom>/snapshots; new string. */
char *snapshot_meta_dir(const char *root, const char *dom);

/** snapshot_meta_check_name: a name usable as a folder: not empty, no '/', not '.' first. */
int snapshot_meta_check_name(const char *name, CvError **err);

/**
 * snapshot_meta_load: the snapshot name of dom, or NULL with *err (VIR_ERR_NO_DOMAIN_SNAPSHOT
 * "no domain snapshot with matching name 'NAME'" when there is none).
 */
SnapshotMeta *snapshot_meta_load(const char *root, const char *dom, const char *name,
                                 CvError **err);

/**
 * snapshot_meta_load_dir: the snapshot-shaped folder dir (a save image, a managed save) as
 * name. NULL with *err: VIR_ERR_NO_DOMAIN_SNAPSHOT when it holds no metadata.
 */
SnapshotMeta *snapshot_meta_load_dir(const char *dir, const char *name, CvError **err);

/**
 * snapshot_meta_stage_begin_at: as snapshot_meta_stage_begin, for a folder at path (which must
 * not exist): the staging folder is made next to it and the commit renames it to path.
 * m->name becomes path's last component.
 */
int snapshot_meta_stage_begin_at(const char *path, SnapshotMeta *m, CvError **err);

/**
 * snapshot_meta_list: every complete snapshot of dom (staging folders skipped), oldest first
 * (creation time, then name): a new array of SnapshotMeta. No snapshot folder: empty.
 * 0 or -1 with *err.
 */
int snapshot_meta_list(const char *root, const char *dom, GPtrArray **ret_list, CvError **err);

/** snapshot_meta_find: the member of list called name (borrowed), or NULL. */
SnapshotMeta *snapshot_meta_find(GPtrArray *list, const char *name);

/** snapshot_meta_count_children: direct children of name in list (all of them: descendants). */
size_t snapshot_meta_count_children(GPtrArray *list, const char *name, bool descendants);

/** snapshot_meta_is_descendant: whether name descends from ancestor in list. */
bool snapshot_meta_is_descendant(GPtrArray *list, const char *name, const char *ancestor);

/**
 * snapshot_meta_stage_begin: make the staging folder of a new snapshot m->name of dom
 * (an existing snapshot of that name: VIR_ERR_OPERATION_INVALID "domain snapshot 'NAME'
 * already exists") and set m->dir to it. 0 or -1 with *err.
 */
int snapshot_meta_stage_begin(const char *root, const char *dom, SnapshotMeta *m, CvError **err);

/**
 * snapshot_meta_stage_commit: write meta.json and snapshot.xml (xml: the <domainsnapshot>
 * text) into m's staging folder, fsync everything in it, and rename it into place; m->dir then
 * is the final folder. On failure the staging folder is removed. 0 or -1 with *err.
 */
int snapshot_meta_stage_commit(SnapshotMeta *m, const char *xml, CvError **err);

/** snapshot_meta_stage_abort: remove m's staging folder and all in it (best effort). */
void snapshot_meta_stage_abort(SnapshotMeta *m);

/**
 * snapshot_meta_save: rewrite meta.json and snapshot.xml of an existing snapshot atomically
 * (a changed parent or description). 0 or -1 with *err.
 */
int snapshot_meta_save(const SnapshotMeta *m, const char *xml, CvError **err);

/**
 * snapshot_meta_delete: remove the folder of m and all in it: renamed out of the listing
 * first (a staging name), so a crash midway leaves no half snapshot listed. 0 or -1.
 */
int snapshot_meta_delete(const SnapshotMeta *m, CvError **err);

/** snapshot_meta_current: the current snapshot's name of dom (new string), or NULL: none. */
char *snapshot_meta_current(const char *root, const char *dom);

/** snapshot_meta_set_current: make name (NULL: none) the current snapshot, durably. */
int snapshot_meta_set_current(const char *root, const char *dom, const char *name,
                              CvError **err);

/** snapshot_meta_to_json: the text of m's meta.json (new string). */
char *snapshot_meta_to_json(const SnapshotMeta *m);

/**
 * snapshot_meta_from_json: m's Cocoon facts from the text of a meta.json (paths must be
 * relative and stay inside the folder). New meta (no dir, no xml facts) or NULL with *err.
 */
SnapshotMeta *snapshot_meta_from_json(const char *name, const char *text, CvError **err);
