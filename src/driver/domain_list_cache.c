#include "domain_list_cache.h"

#include <errno.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* What counts as a change: everything but reads (our own listings open and read the files). */
#define LIST_WATCH_MASK                                                                           \
    (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY |           \
     IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

struct DomainListCache {
    GMutex lock;
    int ifd;
    char *domains_path;
    GHashTable *watched; /* domain name → its directory's watch descriptor */
    GHashTable *seen;    /* the names watched since the last rebuild began */
    GPtrArray *items;    /* the listing, or NULL */
    bool dirty;          /* a change seen since the last rebuild began */
    guint64 gen;         /* the last rebuild begun */
};

void
domain_list_item_free(DomainListItem *item)
{
    if (!item)
        return;
    g_free(item->name);
    g_free(item);
}

static GPtrArray *
items_copy(GPtrArray *items)
{
    GPtrArray *out = g_ptr_array_new_full(items->len, (GDestroyNotify)domain_list_item_free);
    for (guint i = 0; i < items->len; i++) {
        const DomainListItem *it = g_ptr_array_index(items, i);
        DomainListItem *c = g_new0(DomainListItem, 1);
        c->name = g_strdup(it->name);
        memcpy(c->uuid, it->uuid, sizeof(c->uuid));
        c->autostart = it->autostart;
        g_ptr_array_add(out, c);
    }
    return out;
}

DomainListCache *
domain_list_cache_new(const char *domains_path, const char *autostart_path)
{
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ifd < 0)
        return NULL;
    if (inotify_add_watch(ifd, domains_path, LIST_WATCH_MASK | IN_ONLYDIR) < 0 ||
        inotify_add_watch(ifd, autostart_path, LIST_WATCH_MASK | IN_ONLYDIR) < 0) {
        close(ifd);
        return NULL;
    }
    DomainListCache *c = g_new0(DomainListCache, 1);
    g_mutex_init(&c->lock);
    c->ifd = ifd;
    c->domains_path = g_strdup(domains_path);
    c->watched = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    c->dirty = true;
    return c;
}

void
domain_list_cache_free(DomainListCache *cache)
{
    if (!cache)
        return;
    close(cache->ifd);
    g_hash_table_destroy(cache->watched);
    g_hash_table_destroy(cache->seen);
    if (cache->items)
        g_ptr_array_unref(cache->items);
    g_free(cache->domains_path);
    g_mutex_clear(&cache->lock);
    g_free(cache);
}

/* Read every queued event; any but a watch's removal is a change. Caller holds the lock. */
static void
cache_drain(DomainListCache *c)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(c->ifd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* EAGAIN: the queue is empty; anything else: trust nothing from now on */
            if (n == 0 || errno != EAGAIN)
                c->dirty = true;
            return;
        }
        for (ssize_t off = 0; off < n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(buf + off);
            if (!(ev->mask & IN_IGNORED))
                c->dirty = true;
            off += (ssize_t)sizeof(*ev) + ev->len;
        }
    }
}

GPtrArray *
domain_list_cache_get(DomainListCache *cache, guint64 *ret_gen)
{
    g_mutex_lock(&cache->lock);
    cache_drain(cache);
    GPtrArray *out = NULL;
    if (!cache->dirty && cache->items) {
        out = items_copy(cache->items);
    } else {
        g_clear_pointer(&cache->items, g_ptr_array_unref);
        g_hash_table_remove_all(cache->seen);
        cache->dirty = false;
        *ret_gen = ++cache->gen;
    }
    g_mutex_unlock(&cache->lock);
    return out;
}

void
domain_list_cache_watch(DomainListCache *cache, const char *name)
{
    g_autofree char *path = g_build_filename(cache->domains_path, name, NULL);
    g_mutex_lock(&cache->lock);
    int wd = inotify_add_watch(cache->ifd, path, LIST_WATCH_MASK | IN_ONLYDIR);
    gpointer old = NULL;
    g_hash_table_add(cache->seen, g_strdup(name));
    if (wd < 0) {
        /* a limit, or the directory is gone already: this listing cannot be kept */
        cache->dirty = true;
    } else if (g_hash_table_lookup_extended(cache->watched, name, NULL, &old)) {
        /* a new directory under the old name: the old one's watch follows it into the trash */
        if (GPOINTER_TO_INT(old) != wd)
            inotify_rm_watch(cache->ifd, GPOINTER_TO_INT(old));
        g_hash_table_insert(cache->watched, g_strdup(name), GINT_TO_POINTER(wd));
    } else {
        g_hash_table_insert(cache->watched, g_strdup(name), GINT_TO_POINTER(wd));
    }
    g_mutex_unlock(&cache->lock);
}

void
domain_list_cache_put(DomainListCache *cache, guint64 gen, GPtrArray *items)
{
    g_mutex_lock(&cache->lock);
    cache_drain(cache);
    if (gen == cache->gen && !cache->dirty) {
        /* directories the rebuild passed over stay watched: one without a readable
         * definition (a define cut short) may get one */
        GHashTableIter it;
        gpointer name, wd;
        g_hash_table_iter_init(&it, cache->watched);
        while (g_hash_table_iter_next(&it, &name, &wd)) {
            if (!g_hash_table_contains(cache->seen, name)) {
                inotify_rm_watch(cache->ifd, GPOINTER_TO_INT(wd));
                g_hash_table_iter_remove(&it);
            }
        }
        cache->items = items_copy(items);
    }
    g_mutex_unlock(&cache->lock);
}
