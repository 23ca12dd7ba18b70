#pragma once

#include <glib.h>
#include <stdbool.h>

#include "driver/domain_status.h"
#include "util/cv_lock.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The local driver's state directory (DESIGN.md "State"):
 *
 *   <root>/domains/<name>/domain.xml   the persistent definition (canonical XML)
 *   <root>/autostart/<name>.xml        symlink to ../domains/<name>/domain.xml
 *   <root>/by-uuid/<uuid>              hard link to a version of that domain's domain.xml: a
 *                                      uuid → name index, a cache verified on every use and
 *                                      repaired on a miss; it only ever links a file with
 *                                      that uuid, so a definition that is the very file it
 *                                      links (same inode) has that uuid without being read
 *   <root>/trash/                      undefined domains on their way out
 *   <run>/domains/<name>/              live state (status, sockets, logs; domain_status.h)
 *
 * Every write is atomic and durable when the call returns. Every change of a domain holds
 * its lock: a flock on its directory (util/cv_lock.h), so changes of one domain serialise
 * across processes and different domains proceed in parallel. Readers take no lock; the
 * definitions they read are cached by the identity of their file (one fstatat answers for an
 * unchanged one; a file replaced or rewritten, by any process, is read again).
 * Errors: VIR_FROM_CH; a missing domain is VIR_ERR_NO_DOMAIN with libvirt's wording.
 */

typedef struct DomainStore DomainStore;

/* One domain as lookups and listings see it: identity and state, no definition. */
typedef struct {
    char *name;
    unsigned char uuid[DOMAIN_UUID_LEN];
    bool persistent; /* has a definition under <root>/domains */
    bool autostart;
    DomainStatus status;
} DomainStoreEntry;

/** domain_store_entry_free: free an entry; accepts NULL. */
void domain_store_entry_free(DomainStoreEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainStoreEntry, domain_store_entry_free)

/**
 * domain_store_open: use root (persistent) and run (live) as the state directories, creating
 * them and their subdirectories (0700) as needed. Returns a store freed with
 * domain_store_free, or NULL with *err.
 */
DomainStore *domain_store_open(const char *root, const char *run, CvError **err);

/** domain_store_free: close the store; accepts NULL. */
void domain_store_free(DomainStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainStore, domain_store_free)

/** domain_store_root: the persistent root (borrowed). */
const char *domain_store_root(const DomainStore *store);

/** domain_store_run: the live root (borrowed). */
const char *domain_store_run(const DomainStore *store);

/** domain_store_live_dir: <run>/domains/<name>; new string. */
char *domain_store_live_dir(const DomainStore *store, const char *name);

/**
 * domain_store_list: every domain, persistent and transient, in no particular order: a new
 * array of DomainStoreEntry (freeing the array frees them). Reads no definition in full:
 * uuids come from the uuid index where it links the definition itself (one stat each), else
 * from a strict scan of the canonical files. 0 or -1 with *err.
 */
int domain_store_list(DomainStore *store, GPtrArray **ret_entries, CvError **err);

typedef enum {
    DOMAIN_STORE_LOOKUP_NONE = 0,
    /* leave entry->autostart false: one system call less for callers that do not need it
     * (state queries, which a listing client makes once per domain) */
    DOMAIN_STORE_LOOKUP_NO_AUTOSTART = 1 << 0,
} DomainStoreLookupFlags;

/**
 * domain_store_lookup_name: the domain called name (flags: DomainStoreLookupFlags), or NULL
 * with VIR_ERR_NO_DOMAIN.
 */
DomainStoreEntry *domain_store_lookup_name(DomainStore *store, const char *name, unsigned int flags,
                                           CvError **err);

/** domain_store_lookup_uuid: the domain with uuid, or NULL with VIR_ERR_NO_DOMAIN. */
DomainStoreEntry *domain_store_lookup_uuid(DomainStore *store,
                                           const unsigned char uuid[DOMAIN_UUID_LEN],
                                           CvError **err);

/**
 * domain_store_read_xml: the persistent definition of name as stored (canonical XML), or
 * with live, the definition of the running domain (<run>/domains/<name>/domain.xml, written
 * by the lifecycle code at start). uuid, when not NULL, must match.
 * New string, or NULL with *err (VIR_ERR_NO_DOMAIN when there is no such file).
 */
char *domain_store_read_xml(DomainStore *store, const char *name, bool live,
                            const unsigned char *uuid, CvError **err);

/** domain_store_load_def: domain_store_read_xml, parsed. New definition or NULL with *err. */
DomainDef *domain_store_load_def(DomainStore *store, const char *name, bool live,
                                 const unsigned char *uuid, CvError **err);

/**
 * domain_store_save: store xml (the canonical text of a definition called name with uuid)
 * as the persistent definition of name, durably. A new name with a uuid another domain has
 * is refused ("domain 'OTHER' already exists with uuid U"), so is an existing name with a
 * different uuid ("domain 'NAME' is already defined with uuid U"); a failure leaves the
 * previous definition as it was. *ret_created (may be NULL): whether name was new.
 * 0 or -1 with *err.
 */
int domain_store_save(DomainStore *store, const char *name,
                      const unsigned char uuid[DOMAIN_UUID_LEN], const char *xml, bool *ret_created,
                      CvError **err);

/**
 * domain_store_delete: remove the persistent definition of name (uuid, when not NULL, must
 * match), its autostart link and everything under its directory. Durable when it returns.
 * 0 or -1 with *err (VIR_ERR_NO_DOMAIN when there is no such definition).
 */
int domain_store_delete(DomainStore *store, const char *name, const unsigned char *uuid,
                        CvError **err);

/** domain_store_get_autostart: whether name starts with the host (its link exists). */
bool domain_store_get_autostart(DomainStore *store, const char *name);

/**
 * domain_store_set_autostart: create or remove the autostart link of the persistent
 * domain name (uuid, when not NULL, must match), durably. 0 or -1 with *err.
 */
int domain_store_set_autostart(DomainStore *store, const char *name, const unsigned char *uuid,
                               bool autostart, CvError **err);

/**
 * domain_store_check_name: whether name can be a domain's directory name (not empty, no
 * '/', not "." or "..", short enough). 0 or -1 with *err.
 */
int domain_store_check_name(const char *name, CvError **err);

/** domain_store_status: the live status of name (shut off when it has none). 0 or -1. */
int domain_store_status(DomainStore *store, const char *name, DomainStatus *ret_st, CvError **err);

/** domain_store_has_snapshots: whether <root>/domains/<name>/snapshots holds anything. */
bool domain_store_has_snapshots(DomainStore *store, const char *name);

/**
 * domain_store_lock_live: lock the live directory of name (<run>/domains/<name>, created as
 * needed): the lock every lifecycle operation on name holds, in every process, so that two
 * of them on one domain serialise and those on different domains run in parallel.
 * Returns the lock, or NULL with *err.
 */
CvLock *domain_store_lock_live(DomainStore *store, const char *name, CvError **err);

/**
 * domain_store_live_drop_empty: remove <run>/domains/<name> when it is empty (a domain that
 * never ran has only the folder its lock made); the caller holds that lock, and a waiter for
 * it finds the folder gone (cv_lock_dir_at). Best effort.
 */
void domain_store_live_drop_empty(DomainStore *store, const char *name);

/** domain_store_next_id: a new domain id (1, 2, …), unique for the live root. 0 or -1. */
int domain_store_next_id(DomainStore *store, int *ret_id, CvError **err);

/**
 * domain_store_lookup_handle: domain_store_lookup_name for a handle that names the domain by
 * name and uuid: when the uuid index confirms the pair (two stats, no read), the entry has that
 * uuid; otherwise the definition is read as domain_store_lookup_name does, the entry has the
 * uuid it holds (the caller compares), and a missing or stale index entry is repaired.
 */
DomainStoreEntry *domain_store_lookup_handle(DomainStore *store, const char *name,
                                             const unsigned char uuid[DOMAIN_UUID_LEN],
                                             unsigned int flags, CvError **err);

/**
 * domain_store_def_uuid: the uuid of xml, the text of a definition of name: read straight from
 * the text when it has the shape domain_def_format gives it, else parsed in full.
 * 0, or -1 with *err ("invalid definition of domain 'NAME': …").
 */
int domain_store_def_uuid(const char *xml, const char *name, unsigned char uuid[DOMAIN_UUID_LEN],
                          CvError **err);
