#include "domain_def_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver/domain_store.h"
#include "util/cv_file.h"
#include "util/cv_sync.h"

/*
 * Each entry holds the identity of the file it was read from: device, inode, size,
 * modification and change times. Writers replace a definition file, never rewrite it (the
 * store, the lifecycle code, editors), and a replacement has another identity, so one fstatat
 * tells a valid entry from a stale one, whoever changed the file. A file changed so lately
 * that a replacement could still get the same times (the file system's clock ticks coarsely)
 * is not kept.
 */
#define DEF_CACHE_MAX 2048
#define DEF_CACHE_MAX_BYTES (8u << 20) /* text kept, both tables together */
#define DEF_CACHE_SETTLE_NS (50LL * 1000 * 1000)

struct DomainDefCache {
    int dir_fd[2]; /* [live]: borrowed from the store */
    GMutex lock;
    GHashTable *table[2]; /* [live]: name → DefCacheEntry */
    size_t bytes;         /* text held by both tables */
};

typedef struct {
    DomainDefCache *cache;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtim;
    struct timespec ctim;
    char *xml;
    bool has_uuid;
    unsigned char uuid[DOMAIN_UUID_LEN];
} DefCacheEntry;

static void
def_cache_entry_free(gpointer p)
{
    DefCacheEntry *c = p;
    c->cache->bytes -= (size_t)c->size;
    g_free(c->xml);
    g_free(c);
}

DomainDefCache *
domain_def_cache_new(int domains_fd, int run_domains_fd)
{
    DomainDefCache *cache = g_new0(DomainDefCache, 1);
    cache->dir_fd[false] = domains_fd;
    cache->dir_fd[true] = run_domains_fd;
    g_mutex_init(&cache->lock);
    for (int live = 0; live < 2; live++)
        cache->table[live] =
            g_hash_table_new_full(g_str_hash, g_str_equal, g_free, def_cache_entry_free);
    return cache;
}

void
domain_def_cache_free(DomainDefCache *cache)
{
    if (!cache)
        return;
    for (int live = 0; live < 2; live++)
        g_hash_table_destroy(cache->table[live]);
    g_mutex_clear(&cache->lock);
    g_free(cache);
}

static bool
timespec_eq(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static bool
def_cache_matches(const DefCacheEntry *c, const struct stat *st)
{
    return c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
           timespec_eq(&c->mtim, &st->st_mtim) && timespec_eq(&c->ctim, &st->st_ctim);
}

/* Whether st was last changed long enough ago to be told from a replacement by its times. */
static bool
def_cache_settled(const struct stat *st)
{
    struct timespec now;
    if (!S_ISREG(st->st_mode) || clock_gettime(CLOCK_REALTIME, &now) < 0)
        return false;
    gint64 now_ns = (gint64)now.tv_sec * G_GINT64_CONSTANT(1000000000) + now.tv_nsec;
    gint64 m = (gint64)st->st_mtim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_mtim.tv_nsec;
    gint64 c = (gint64)st->st_ctim.tv_sec * G_GINT64_CONSTANT(1000000000) + st->st_ctim.tv_nsec;
    return now_ns - MAX(m, c) > DEF_CACHE_SETTLE_NS;
}

/* Keep xml (len bytes, the whole file st), of name, with its uuid when has_uuid. */
static void
def_cache_put(DomainDefCache *cache, bool live, const char *name, const struct stat *st,
              const char *xml, size_t len, bool has_uuid, const unsigned char *uuid)
{
    DefCacheEntry *c = g_new0(DefCacheEntry, 1);
    c->cache = cache;
    c->dev = st->st_dev;
    c->ino = st->st_ino;
    c->size = st->st_size;
    c->mtim = st->st_mtim;
    c->ctim = st->st_ctim;
    c->xml = g_memdup2(xml, len + 1);
    c->has_uuid = has_uuid;
    if (has_uuid)
        memcpy(c->uuid, uuid, DOMAIN_UUID_LEN);
    cv_mutex_lock(&cache->lock);
    /* full: start over (cheap, and a working set this big is rare) */
    if (g_hash_table_size(cache->table[live]) >= DEF_CACHE_MAX ||
        cache->bytes + len > DEF_CACHE_MAX_BYTES) {
        g_hash_table_remove_all(cache->table[false]);
        g_hash_table_remove_all(cache->table[true]);
    }
    cache->bytes += len;
    g_hash_table_replace(cache->table[live], g_strdup(name), c);
    cv_mutex_unlock(&cache->lock);
}

/* After a failed fstatat or open of the definition of name (errno): 0 when there is no such
 * file, else -1 with *err. */
static int
def_open_failed(const char *name, CvError **err)
{
    if (errno == ENOENT || errno == ENOTDIR)
        return 0;
    cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot read definition of domain '%s'", name);
    return -1;
}

int
domain_def_cache_get(DomainDefCache *cache, bool live, const char *name, char **ret_xml,
                     unsigned char *ret_uuid, CvError **err)
{
    int dirfd = cache->dir_fd[live];
    g_autofree char *rel = g_build_filename(name, DOMAIN_DEF_FILE, NULL);
    struct stat st;
    if (fstatat(dirfd, rel, &st, 0) < 0)
        return def_open_failed(name, err);

    cv_mutex_lock(&cache->lock);
    DefCacheEntry *c = g_hash_table_lookup(cache->table[live], name);
    if (c && def_cache_matches(c, &st) && (c->has_uuid || !ret_uuid)) {
        if (ret_uuid)
            memcpy(ret_uuid, c->uuid, DOMAIN_UUID_LEN);
        if (ret_xml)
            *ret_xml = g_strdup(c->xml);
        cv_mutex_unlock(&cache->lock);
        return 1;
    }
    cv_mutex_unlock(&cache->lock);

    /* read through one fd: its fstat is the identity of exactly the text read */
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return def_open_failed(name, err);
    g_autofree char *xml = NULL;
    int rc = fstat(fd, &st) == 0
                 ? cv_file_read_fd(fd, (size_t)MAX(st.st_size, 0), DOMAIN_XML_MAX_SIZE, &xml, NULL)
                 : -1;
    int saved = errno;
    close(fd);
    if (rc < 0) {
        cv_error_set_errno(err, VIR_FROM_CH, saved, "cannot read definition of domain '%s'", name);
        return -1;
    }
    unsigned char uuid[DOMAIN_UUID_LEN];
    bool has_uuid = ret_uuid != NULL;
    if (has_uuid && domain_store_def_uuid(xml, name, uuid, err) < 0)
        return -1;

    size_t len = strlen(xml);
    if (len == (size_t)st.st_size && len <= DEF_CACHE_MAX_BYTES / 64 && def_cache_settled(&st))
        def_cache_put(cache, live, name, &st, xml, len, has_uuid, uuid);
    if (ret_uuid)
        memcpy(ret_uuid, uuid, DOMAIN_UUID_LEN);
    if (ret_xml)
        *ret_xml = g_steal_pointer(&xml);
    return 1;
}

void
domain_def_cache_forget(DomainDefCache *cache, const char *name)
{
    cv_mutex_lock(&cache->lock);
    g_hash_table_remove(cache->table[false], name);
    cv_mutex_unlock(&cache->lock);
}
