#pragma once

#include <glib.h>

#include "driver/domain_store.h"
#include "util/cv_error.h"
#include "xml/domain_def.h"

/*
 * MAC addresses of interfaces the XML gave none: parse derives one from the domain's uuid and
 * the interface's index (stable, libvirt's 52:54:00 prefix); at define time it is checked
 * against every other domain's addresses and, when taken, derived again until it is free, and
 * stored in the definition from then on. An address the XML gives is the user's and kept.
 */

/**
 * host_net_macs_taken: the MAC addresses (lower case) of every domain of store other than
 * the one with uuid: persistent definitions and the live ones of transient domains. New set.
 */
GHashTable *host_net_macs_taken(DomainStore *store, const unsigned char *uuid, CvError **err);

/**
 * host_net_macs_assign: give each generated MAC of def (mac_generated) that is in taken, or
 * is used by another interface of def, a new one derived from the uuid, the index and an
 * attempt count, free of both. Explicit MACs are left alone. 0, or -1 with *err when no free
 * address is found (the 2^24 addresses of the prefix nearly all taken).
 */
int host_net_macs_assign(DomainDef *def, GHashTable *taken, CvError **err);

/**
 * host_net_macs_unique: host_net_macs_taken + host_net_macs_assign for def about to be
 * stored in store. 0, or -1 with *err.
 */
int host_net_macs_unique(DomainStore *store, DomainDef *def, CvError **err);
