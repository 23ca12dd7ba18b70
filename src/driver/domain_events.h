#pragma once

#include <glib.h>

#include "driver/driver.h"

/*
 * Domain event callbacks of one local-driver connection (driver.h's
 * connectDomainEventRegisterAny). Callbacks run on the thread that emits, outside the
 * registry's lock; a callback being deregistered while it runs keeps its opaque alive until
 * it returns.
 */

typedef struct DomainEvents DomainEvents;

/** domain_events_new: an empty registry. */
DomainEvents *domain_events_new(void);

/** domain_events_free: drop every callback (running free_opaque); accepts NULL. */
void domain_events_free(DomainEvents *events);

/**
 * domain_events_register: add cb for event_id (any VIR_DOMAIN_EVENT_ID_*) on the domain
 * with uuid (NULL: every domain). Returns the callback id (>= 0), or -1 with *err,
 * in which case opaque stays the caller's.
 */
int domain_events_register(DomainEvents *events, const unsigned char *uuid, int event_id,
                           CocoonDomainEventFunc cb, void *opaque,
                           GDestroyNotify free_opaque, CvError **err);

/** domain_events_deregister: remove callback id. 0, or -1 with VIR_ERR_INVALID_ARG. */
int domain_events_deregister(DomainEvents *events, int callback_id, CvError **err);

/** domain_events_count: how many callbacks are registered. */
unsigned int domain_events_count(DomainEvents *events);

/**
 * domain_events_emit: call every callback of ev's event id that matches the domain (name,
 * uuid, id: -1 when not running) with ev, conn as theirs.
 */
void domain_events_emit(DomainEvents *events, CocoonConn *conn, const char *name,
                        const unsigned char *uuid, int id, const CocoonDomainEvent *ev);
