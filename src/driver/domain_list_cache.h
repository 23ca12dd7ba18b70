#pragma once

#include <glib.h>
#include <stdbool.h>

#include "xml/domain_def.h"

/*
 * The persistent half of a domain listing, kept between listings (private to domain_store.c):
 * each defined domain's name, uuid and autostart flag. A listing otherwise costs a stat of
 * every definition and of every uuid index entry, which on a host with a thousand domains is
 * most of what a client polling listAllDomains (virt-manager: every second) waits for.
 *
 * It stays right whoever changes the state directory, this process or another (an embedded
 * cocoonvirsh beside the daemon): inotify watches <root>/domains, <root>/autostart and every
 * domain's directory, and any change event there (not reads) throws the listing away. The
 * kernel queues an event before the call that caused it returns, so a listing that finds the
 * queue empty reflects every change that has completed. Watches are added before a domain's
 * directory is read, so a change during a rebuild throws the new listing away too. Without
 * inotify (a limit reached) the cache keeps nothing and every listing scans.
 * Thread-safe: one lock.
 */

typedef struct DomainListCache DomainListCache;

/* One defined domain of the listing. */
typedef struct {
    char *name;
    unsigned char uuid[DOMAIN_UUID_LEN];
    bool autostart;
} DomainListItem;

/**
 * domain_list_cache_new: watch domains_path and autostart_path; NULL (no cache) when inotify
 * is not to be had.
 */
DomainListCache *domain_list_cache_new(const char *domains_path, const char *autostart_path);

/** domain_list_cache_free: accepts NULL. */
void domain_list_cache_free(DomainListCache *cache);

/**
 * domain_list_cache_get: a copy of the listing (an array of DomainListItem, freeing it frees
 * them) when nothing changed since it was put, else NULL: the caller scans, calling
 * domain_list_cache_watch for each domain directory before it reads it, and then
 * domain_list_cache_put. *ret_gen identifies this rebuild for put.
 */
GPtrArray *domain_list_cache_get(DomainListCache *cache, guint64 *ret_gen);

/** domain_list_cache_watch: watch the directory of domain name (before reading it). */
void domain_list_cache_watch(DomainListCache *cache, const char *name);

/**
 * domain_list_cache_put: keep items (copied) as the listing of rebuild gen, and stop watching
 * the directories that rebuild did not watch. A rebuild older than the last put, or one during which a
 * change was seen, is not kept.
 */
void domain_list_cache_put(DomainListCache *cache, guint64 gen, GPtrArray *items);

/** domain_list_item_free: free an item. */
void domain_list_item_free(DomainListItem *item);
