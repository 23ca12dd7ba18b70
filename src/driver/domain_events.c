#include "domain_events.h"

#include <string.h>
#include "util/cv_sync.h"

typedef struct {
    gatomicrefcount ref;
    int id;
    int event_id; /* VIR_DOMAIN_EVENT_ID_* */
    bool any_domain;
    unsigned char uuid[DOMAIN_UUID_LEN];
    CocoonDomainEventFunc cb;
    void *opaque;
    GDestroyNotify free_opaque;
} EventCallback;

struct DomainEvents {
    GMutex lock;
    GPtrArray *callbacks; /* EventCallback, each holding one reference */
    int next_id;
};

static EventCallback *
event_callback_ref(EventCallback *c)
{
    g_atomic_ref_count_inc(&c->ref);
    return c;
}

static void
event_callback_unref(EventCallback *c)
{
    if (!c || !g_atomic_ref_count_dec(&c->ref))
        return;
    if (c->free_opaque)
        c->free_opaque(c->opaque);
    g_free(c);
}

DomainEvents *
domain_events_new(void)
{
    DomainEvents *events = g_new0(DomainEvents, 1);
    g_mutex_init(&events->lock);
    events->callbacks = g_ptr_array_new_with_free_func((GDestroyNotify)event_callback_unref);
    return events;
}

void
domain_events_free(DomainEvents *events)
{
    if (!events)
        return;
    g_ptr_array_unref(events->callbacks);
    g_mutex_clear(&events->lock);
    g_free(events);
}

int
domain_events_register(DomainEvents *events, const unsigned char *uuid, int event_id,
                       CocoonDomainEventFunc cb, void *opaque, GDestroyNotify free_opaque,
                       CvError **err)
{
    /* any id libvirt 9.0 knows may be registered (libvirtd's own words for the others); ids of
     * events Cocoon never raises simply never fire */
    if (event_id < 0 || event_id > VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "unsupported event ID %d",
                     event_id);
        return -1;
    }
    if (!cb) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG, "callback must not be NULL");
        return -1;
    }
    EventCallback *c = g_new0(EventCallback, 1);
    g_atomic_ref_count_init(&c->ref);
    c->event_id = event_id;
    c->any_domain = uuid == NULL;
    if (uuid)
        memcpy(c->uuid, uuid, DOMAIN_UUID_LEN);
    c->cb = cb;
    c->opaque = opaque;
    c->free_opaque = free_opaque;
    cv_mutex_lock(&events->lock);
    c->id = events->next_id++;
    g_ptr_array_add(events->callbacks, c);
    cv_mutex_unlock(&events->lock);
    return c->id;
}

int
domain_events_deregister(DomainEvents *events, int callback_id, CvError **err)
{
    EventCallback *found = NULL;
    cv_mutex_lock(&events->lock);
    for (guint i = 0; i < events->callbacks->len; i++) {
        EventCallback *c = events->callbacks->pdata[i];
        if (c->id == callback_id) {
            found = g_ptr_array_steal_index(events->callbacks, i);
            break;
        }
    }
    cv_mutex_unlock(&events->lock);
    if (!found) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG,
                     "could not find event callback %d for deregistration", callback_id);
        return -1;
    }
    event_callback_unref(found);
    return 0;
}

unsigned int
domain_events_count(DomainEvents *events)
{
    cv_mutex_lock(&events->lock);
    unsigned int n = events->callbacks->len;
    cv_mutex_unlock(&events->lock);
    return n;
}

void
domain_events_emit(DomainEvents *events, CocoonConn *conn, const char *name,
                   const unsigned char *uuid, int id, const CocoonDomainEvent *ev)
{
    if (!events)
        return;
    g_autoptr(GPtrArray) due = g_ptr_array_new_with_free_func((GDestroyNotify)event_callback_unref);
    cv_mutex_lock(&events->lock);
    for (guint i = 0; i < events->callbacks->len; i++) {
        EventCallback *c = events->callbacks->pdata[i];
        if (c->event_id == ev->event_id &&
            (c->any_domain || memcmp(c->uuid, uuid, DOMAIN_UUID_LEN) == 0))
            g_ptr_array_add(due, event_callback_ref(c));
    }
    cv_mutex_unlock(&events->lock);
    if (due->len == 0)
        return;
    g_autoptr(CocoonDomain) dom = cocoon_domain_new(conn, name, uuid, id);
    for (guint i = 0; i < due->len; i++) {
        EventCallback *c = due->pdata[i];
        c->cb(conn, dom, ev, c->opaque);
    }
}
