#pragma once

#include <glib.h>
#include <stdbool.h>

#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * The definition cache of the domain store (private to domain_store.c): the text and uuid of
 * the definitions read lately, persistent (<root>/domains/<name>/domain.xml) and live
 * (<run>/domains/<name>/domain.xml) apart, each checked against the identity of its file on
 * every use (one fstatat), so a file replaced by any process is read again.
 * Thread-safe: one lock guards the tables.
 */

/* The file of a definition in its domain's directory. */
#define DOMAIN_DEF_FILE "domain.xml"

typedef struct DomainDefCache DomainDefCache;

/**
 * domain_def_cache_new: an empty cache of the definitions under domains_fd (persistent) and
 * run_domains_fd (live). Both fds are borrowed: they must stay open until
 * domain_def_cache_free.
 */
DomainDefCache *domain_def_cache_new(int domains_fd, int run_domains_fd);

/** domain_def_cache_free: drop the cache; accepts NULL. */
void domain_def_cache_free(DomainDefCache *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDefCache, domain_def_cache_free)

/**
 * domain_def_cache_get: the definition of name, persistent or live: 1 found, with its text in
 * *ret_xml (a new string; ret_xml may be NULL) and its uuid in ret_uuid (may be NULL), 0 no
 * such file, -1 with *err. One fstatat when the cache holds that very file.
 */
int domain_def_cache_get(DomainDefCache *cache, bool live, const char *name, char **ret_xml,
                         unsigned char *ret_uuid, CvError **err);

/** domain_def_cache_forget: drop what the cache holds for the persistent definition of name. */
void domain_def_cache_forget(DomainDefCache *cache, const char *name);
