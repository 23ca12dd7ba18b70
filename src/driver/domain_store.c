#include "domain_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver/domain_def_cache.h"
#include "driver/domain_list_cache.h"
#include "driver/driver_nowait.h"
#include "util/cv_file.h"
#include "util/cv_lock.h"

/* The canonical file starts with the domain tag, the name and the uuid; this much holds them. */
#define HEAD_MAX 4096
/* How long a uuid claim waits for another domain's lock before giving up. */
#define CLAIM_WAIT_US (10 * G_USEC_PER_SEC)

/* Hand a caught error on to the caller's err (or drop it when the caller passed none). */
static void
error_pass(CvError **err, CvError *e)
{
    if (err && !*err)
        *err = e;
    else
        cv_error_free(e);
}

struct DomainStore {
    char *root;
    char *run;
    char *domains_path;
    int domains_fd;
    int autostart_fd;
    int byuuid_fd;
    int trash_fd;
    int run_domains_fd;
    DomainDefCache *defs; /* the definitions read lately (domain_def_cache.h) */
    char *autostart_path;
    gint listings;         /* how many listings this process made */
    gsize list_cache_once; /* 0: not tried; 1: none to be had; else the DomainListCache */
};

void
domain_store_entry_free(DomainStoreEntry *entry)
{
    if (!entry)
        return;
    g_free(entry->name);
    domain_status_clear(&entry->status);
    g_free(entry);
}

static void
no_domain_name(CvError **err, const char *name)
{
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'", name);
}

static void
no_domain_uuid(CvError **err, const unsigned char *uuid, const char *name)
{
    char us[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(uuid, us);
    if (name)
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s' (%s)",
                     us, name);
    else
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s'", us);
}

int
domain_store_check_name(const char *name, CvError **err)
{
    if (!name || !*name) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_XML_ERROR, "missing domain name");
        return -1;
    }
    if (strchr(name, '/')) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_XML_ERROR, "name %s cannot contain '/'", name);
        return -1;
    }
    /* room for the autostart link "<name>.xml" and the temporary files next to it */
    if (strlen(name) > NAME_MAX - 4) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                     "domain name of %zu bytes is too long (at most %d)", strlen(name),
                     NAME_MAX - 4);
        return -1;
    }
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                     "domain name '%s' cannot be used as a directory name", name);
        return -1;
    }
    return 0;
}

/* ---- reading the uuid of a definition ---------------------------------------------------- */

/* The uuid of a file we wrote ourselves, without libxml2: domain_def_format puts <name> and
 * <uuid> first, each on its own line. Anything else (hand-edited, escaped names) is -1. */
static int
uuid_scan_canonical(const char *buf, const char *name, unsigned char uuid[DOMAIN_UUID_LEN])
{
    static const char name_open[] = "\n  <name>";
    static const char name_close_uuid[] = "</name>\n  <uuid>";
    static const char uuid_close[] = "</uuid>\n";

    if (strncmp(buf, "<domain ", 8) != 0)
        return -1;
    const char *p = strstr(buf, name_open);
    if (!p || memchr(buf + 1, '<', (size_t)(p - buf - 1)))
        return -1;
    p += sizeof(name_open) - 1;
    size_t nlen = strlen(name);
    if (strncmp(p, name, nlen) != 0)
        return -1;
    p += nlen;
    if (strncmp(p, name_close_uuid, sizeof(name_close_uuid) - 1) != 0)
        return -1;
    p += sizeof(name_close_uuid) - 1;
    if (strnlen(p, 36 + sizeof(uuid_close)) < 36 + sizeof(uuid_close) - 1 ||
        strncmp(p + 36, uuid_close, sizeof(uuid_close) - 1) != 0)
        return -1;
    char text[DOMAIN_UUID_STRING_LEN];
    memcpy(text, p, 36);
    text[36] = '\0';
    return domain_uuid_parse(text, uuid);
}

/* The uuid of the definition xml of name, parsed: 0, or -1 with *err. */
static int
uuid_parse_full(const char *xml, const char *name, unsigned char uuid[DOMAIN_UUID_LEN],
                CvError **err)
{
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
    if (!def) {
        cv_error_prefix(err, "invalid definition of domain '%s': ", name);
        return -1;
    }
    memcpy(uuid, def->uuid, DOMAIN_UUID_LEN);
    return 0;
}

/* The uuid of the definition at dirfd/rel (of the domain name): 1 found, 0 no such file,
 * -1 with *err (unreadable or not a definition). */
static int
store_read_uuid(int dirfd, const char *rel, const char *name, unsigned char uuid[DOMAIN_UUID_LEN],
                CvError **err)
{
    char head[HEAD_MAX + 1];
    ssize_t n = cv_file_read_head_at(dirfd, rel, head, HEAD_MAX);
    if (n < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot read definition of domain '%s'", name);
        return -1;
    }
    if (uuid_scan_canonical(head, name, uuid) == 0)
        return 1;

    /* not in the shape we write: parse it in full */
    g_autofree char *xml = NULL;
    if (cv_file_read_at(dirfd, rel, DOMAIN_XML_MAX_SIZE, &xml, NULL, err) < 0 ||
        uuid_parse_full(xml, name, uuid, err) < 0)
        return -1;
    return 1;
}

int
domain_store_def_uuid(const char *xml, const char *name, unsigned char uuid[DOMAIN_UUID_LEN],
                      CvError **err)
{
    if (uuid_scan_canonical(xml, name, uuid) == 0)
        return 0;
    /* not in the shape we write: parse it in full */
    return uuid_parse_full(xml, name, uuid, err);
}

/* ---- open / close ------------------------------------------------------------------------ */

static int
subdir_open(const char *parent, const char *sub, CvError **err)
{
    g_autofree char *path = g_build_filename(parent, sub, NULL);
    if (cv_dir_ensure(path, 0700, err) < 0)
        return -1;
    return cv_dir_open(path, err);
}

DomainStore *
domain_store_open(const char *root, const char *run, CvError **err)
{
    g_autoptr(DomainStore) store = g_new0(DomainStore, 1);
    store->domains_fd = store->autostart_fd = store->byuuid_fd = -1;
    store->trash_fd = store->run_domains_fd = -1;
    store->root = g_strdup(root);
    store->run = g_strdup(run);
    store->domains_path = g_build_filename(root, "domains", NULL);
    store->autostart_path = g_build_filename(root, "autostart", NULL);

    if (cv_dir_ensure(root, 0700, err) < 0 || cv_dir_ensure(run, 0700, err) < 0)
        return NULL;
    if ((store->domains_fd = subdir_open(root, "domains", err)) < 0 ||
        (store->autostart_fd = subdir_open(root, "autostart", err)) < 0 ||
        (store->byuuid_fd = subdir_open(root, "by-uuid", err)) < 0 ||
        (store->trash_fd = subdir_open(root, "trash", err)) < 0 ||
        (store->run_domains_fd = subdir_open(run, "domains", err)) < 0)
        return NULL;
    store->defs = domain_def_cache_new(store->domains_fd, store->run_domains_fd);
    /* leftovers of an undefine that was interrupted after its (durable) rename */
    cv_dir_empty_at(store->trash_fd, ".", NULL, NULL);
    return g_steal_pointer(&store);
}

void
domain_store_free(DomainStore *store)
{
    if (!store)
        return;
    domain_def_cache_free(store->defs); /* it borrows the fds */
    if (store->list_cache_once > 1)
        domain_list_cache_free((DomainListCache *)store->list_cache_once);
    g_free(store->autostart_path);
    int fds[] = {store->domains_fd, store->autostart_fd, store->byuuid_fd, store->trash_fd,
                 store->run_domains_fd};
    for (size_t i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    g_free(store->root);
    g_free(store->run);
    g_free(store->domains_path);
    g_free(store);
}

const char *
domain_store_root(const DomainStore *store)
{
    return store->root;
}

const char *
domain_store_run(const DomainStore *store)
{
    return store->run;
}

char *
domain_store_live_dir(const DomainStore *store, const char *name)
{
    return g_build_filename(store->run, "domains", name, NULL);
}

/* ---- entries ----------------------------------------------------------------------------- */

static char *
autostart_link_name(const char *name)
{
    return g_strconcat(name, ".xml", NULL);
}

bool
domain_store_get_autostart(DomainStore *store, const char *name)
{
    g_autofree char *link = autostart_link_name(name);
    struct stat st;
    return fstatat(store->autostart_fd, link, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The entry of name: 1 found (*ret set), 0 no such domain, -1 error. */
static int
store_entry_load(DomainStore *store, const char *name, unsigned int flags, DomainStoreEntry **ret,
                 CvError **err)
{
    g_autoptr(DomainStoreEntry) e = g_new0(DomainStoreEntry, 1);
    domain_status_init(&e->status);
    int found = domain_def_cache_get(store->defs, false, name, NULL, e->uuid, err);
    if (found < 0)
        return -1;
    e->persistent = found > 0;
    if (domain_status_load_at(store->run_domains_fd, name, &e->status, err) < 0)
        return -1;
    if (!e->persistent) {
        /* a transient domain lives only in the run directory, while it is active */
        if (!domain_status_is_active(&e->status))
            return 0;
        found = domain_def_cache_get(store->defs, true, name, NULL, e->uuid, err);
        if (found <= 0)
            return found;
    } else if (!(flags & DOMAIN_STORE_LOOKUP_NO_AUTOSTART)) {
        e->autostart = domain_store_get_autostart(store, name);
    }
    e->name = g_strdup(name);
    *ret = g_steal_pointer(&e);
    return 1;
}

DomainStoreEntry *
domain_store_lookup_name(DomainStore *store, const char *name, unsigned int flags, CvError **err)
{
    DomainStoreEntry *e = NULL;
    if (domain_store_check_name(name, NULL) < 0) {
        no_domain_name(err, name);
        return NULL;
    }
    int found = store_entry_load(store, name, flags, &e, err);
    if (found == 0)
        no_domain_name(err, name);
    return found > 0 ? e : NULL;
}

/* The text of the first <name> of a definition's head, when it is plain (no markup, no
 * entity); NULL otherwise. */
static char *
name_scan_canonical(const char *buf)
{
    static const char name_open[] = "\n  <name>";
    if (strncmp(buf, "<domain ", 8) != 0)
        return NULL;
    const char *p = strstr(buf, name_open);
    if (!p || memchr(buf + 1, '<', (size_t)(p - buf - 1)))
        return NULL;
    p += sizeof(name_open) - 1;
    const char *end = strstr(p, "</name>\n");
    if (!end || end == p || memchr(p, '<', (size_t)(end - p)) || memchr(p, '&', (size_t)(end - p)))
        return NULL;
    return g_strndup(p, (size_t)(end - p));
}

/*
 * The uuid index: by-uuid/<uuid> is a hard link to a version of the definition file of the
 * domain with that uuid (a hard link costs no inode, so the define stays at one file fsync
 * and one directory fsync). The name inside the linked file says which domain it is; the
 * name never changes for a uuid, so an older version serves as well as the current one.
 * It is a cache: every use checks the named domain really has the uuid.
 */

/* The name the index gives for uuidstr, or NULL. */
static char *
store_index_get(DomainStore *store, const char *uuidstr)
{
    char head[HEAD_MAX + 1];
    if (cv_file_read_head_at(store->byuuid_fd, uuidstr, head, HEAD_MAX) < 0)
        return NULL;
    char *name = name_scan_canonical(head);
    if (name)
        return name;
    g_autofree char *xml = NULL;
    if (cv_file_read_at(store->byuuid_fd, uuidstr, DOMAIN_XML_MAX_SIZE, &xml, NULL, NULL) < 0)
        return NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, NULL);
    return def ? g_strdup(def->name) : NULL;
}

/* Point the index entry uuidstr at the file src under srcdir, replacing it atomically. With
 * name, only when the file is a definition of name with the uuid uuidstr: checked on the new
 * link before it is published, so that an entry never links a file with another uuid
 * (store_index_confirms and the listing rely on it). */
static int
store_index_set(DomainStore *store, const char *uuidstr, int srcdir, const char *src,
                const char *name)
{
    g_autofree char *tmp = g_strdup_printf(".%s.%d", uuidstr, (int)getpid());
    unlinkat(store->byuuid_fd, tmp, 0);
    if (linkat(srcdir, src, store->byuuid_fd, tmp, 0) < 0)
        return -1;
    int ret = 0;
    if (name) {
        unsigned char want[DOMAIN_UUID_LEN], linked[DOMAIN_UUID_LEN];
        if (domain_uuid_parse(uuidstr, want) < 0 ||
            store_read_uuid(store->byuuid_fd, tmp, name, linked, NULL) <= 0 ||
            memcmp(linked, want, DOMAIN_UUID_LEN) != 0)
            ret = -1;
    }
    if (ret == 0)
        ret = renameat(store->byuuid_fd, tmp, store->byuuid_fd, uuidstr);
    /* a rename between two links of one file leaves both in place */
    unlinkat(store->byuuid_fd, tmp, 0);
    return ret;
}

/*
 * Whether the index entry of uuidstr and the persistent definition of name are one file: then
 * name has that uuid (an entry only ever links a file with its uuid, and the store never
 * rewrites a file in place). Two stats, no read. The change times must agree too.
 */
static bool
store_index_confirms(DomainStore *store, const char *uuidstr, const char *name)
{
    g_autofree char *rel = g_build_filename(name, DOMAIN_DEF_FILE, NULL);
    struct stat def, idx;
    if (fstatat(store->domains_fd, rel, &def, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(def.st_mode))
        return false;
    if (fstatat(store->byuuid_fd, uuidstr, &idx, AT_SYMLINK_NOFOLLOW) < 0)
        return false;
    return def.st_ino == idx.st_ino && def.st_dev == idx.st_dev &&
           def.st_ctim.tv_sec == idx.st_ctim.tv_sec && def.st_ctim.tv_nsec == idx.st_ctim.tv_nsec;
}

DomainStoreEntry *
domain_store_lookup_handle(DomainStore *store, const char *name,
                           const unsigned char uuid[DOMAIN_UUID_LEN], unsigned int flags,
                           CvError **err)
{
    if (domain_store_check_name(name, NULL) < 0) {
        no_domain_name(err, name);
        return NULL;
    }
    char us[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(uuid, us);
    /* the definition as cached (one stat), else the index (two stats, no read) */
    unsigned char cached[DOMAIN_UUID_LEN];
    bool confirmed = domain_def_cache_get(store->defs, false, name, NULL, cached, NULL) > 0 &&
                     memcmp(cached, uuid, DOMAIN_UUID_LEN) == 0;
    if (confirmed || store_index_confirms(store, us, name)) {
        g_autoptr(DomainStoreEntry) e = g_new0(DomainStoreEntry, 1);
        domain_status_init(&e->status);
        if (domain_status_load_at(store->run_domains_fd, name, &e->status, err) < 0)
            return NULL;
        memcpy(e->uuid, uuid, DOMAIN_UUID_LEN);
        e->persistent = true;
        if (!(flags & DOMAIN_STORE_LOOKUP_NO_AUTOSTART))
            e->autostart = domain_store_get_autostart(store, name);
        e->name = g_strdup(name);
        return g_steal_pointer(&e);
    }

    DomainStoreEntry *e = NULL;
    int found = store_entry_load(store, name, flags, &e, err);
    if (found == 0)
        no_domain_name(err, name);
    if (found <= 0)
        return NULL;
    /* the index missed or is stale: repair it for the next time */
    if (e->persistent && memcmp(e->uuid, uuid, DOMAIN_UUID_LEN) == 0) {
        g_autofree char *rel = g_build_filename(name, DOMAIN_DEF_FILE, NULL);
        store_index_set(store, us, store->domains_fd, rel, name);
    }
    return e;
}

DomainStoreEntry *
domain_store_lookup_uuid(DomainStore *store, const unsigned char uuid[DOMAIN_UUID_LEN],
                         CvError **err)
{
    char us[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(uuid, us);

    g_autofree char *name = store_index_get(store, us);
    if (name && domain_store_check_name(name, NULL) == 0) {
        DomainStoreEntry *e = NULL;
        CvError *lerr = NULL;
        int found = store_entry_load(store, name, 0, &e, &lerr);
        cv_error_free(lerr);
        if (found > 0 && memcmp(e->uuid, uuid, DOMAIN_UUID_LEN) == 0)
            return e;
        domain_store_entry_free(e);
    }

    /* The index missed (a transient domain, or an index entry lost in a crash): look at
     * every domain, and repair the index on the way. */
    if (cocoon_nowait_give_up()) {
        no_domain_uuid(err, uuid, NULL);
        return NULL;
    }
    g_autoptr(GPtrArray) all = NULL;
    if (domain_store_list(store, &all, err) < 0)
        return NULL;
    for (guint i = 0; i < all->len; i++) {
        DomainStoreEntry *e = all->pdata[i];
        if (memcmp(e->uuid, uuid, DOMAIN_UUID_LEN) != 0)
            continue;
        if (e->persistent) {
            g_autofree char *rel = g_build_filename(e->name, DOMAIN_DEF_FILE, NULL);
            store_index_set(store, us, store->domains_fd, rel, e->name);
        }
        return g_ptr_array_steal_index(all, i);
    }
    no_domain_uuid(err, uuid, NULL);
    return NULL;
}

/* ---- listing ----------------------------------------------------------------------------- */

static DIR *
dir_reopen(int fd)
{
    int dup = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0)
        return NULL;
    DIR *dir = fdopendir(dup);
    if (!dir)
        close(dup);
    return dir;
}

static bool
dirent_is_name(const struct dirent *de)
{
    return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
           (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
}

/* A file the uuid index links, as stat saw it. */
typedef struct {
    gint64 ino; /* first: the key of the table */
    dev_t dev;
    struct timespec ctim;
    bool ambiguous; /* linked under two uuids: trust neither */
    unsigned char uuid[DOMAIN_UUID_LEN];
} IndexedFile;

/* The files of the uuid index by inode number: one readdir and one stat per entry. */
static GHashTable *
store_index_files(DomainStore *store)
{
    GHashTable *files = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    DIR *dir = dir_reopen(store->byuuid_fd);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        unsigned char uuid[DOMAIN_UUID_LEN];
        char canon[DOMAIN_UUID_STRING_LEN];
        struct stat st;
        if (strlen(de->d_name) != DOMAIN_UUID_STRING_LEN - 1 ||
            domain_uuid_parse(de->d_name, uuid) < 0)
            continue;
        domain_uuid_format(uuid, canon);
        if (strcmp(canon, de->d_name) != 0 ||
            fstatat(store->byuuid_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        gint64 ino = (gint64)st.st_ino;
        IndexedFile *f = g_hash_table_lookup(files, &ino);
        if (f) {
            f->ambiguous = true;
            continue;
        }
        f = g_new0(IndexedFile, 1);
        f->ino = ino;
        f->dev = st.st_dev;
        f->ctim = st.st_ctim;
        memcpy(f->uuid, uuid, DOMAIN_UUID_LEN);
        g_hash_table_insert(files, &f->ino, f);
    }
    if (dir)
        closedir(dir);
    return files;
}

/*
 * The uuid of the definition dirfd/rel (of name): without reading it when the index links
 * that very file (same inode and device, same change time: an entry only ever links a file
 * with its uuid, and a file is never rewritten in place); read otherwise. As store_read_uuid.
 */
static int
store_list_uuid(int dirfd, const char *rel, const char *name, GHashTable *indexed,
                unsigned char uuid[DOMAIN_UUID_LEN])
{
    struct stat st;
    if (fstatat(dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
        gint64 ino = (gint64)st.st_ino;
        const IndexedFile *f = g_hash_table_lookup(indexed, &ino);
        if (f && !f->ambiguous && f->dev == st.st_dev && f->ctim.tv_sec == st.st_ctim.tv_sec &&
            f->ctim.tv_nsec == st.st_ctim.tv_nsec) {
            memcpy(uuid, f->uuid, DOMAIN_UUID_LEN);
            return 1;
        }
    }
    return store_read_uuid(dirfd, rel, name, uuid, NULL);
}

/*
 * The list cache of a process that lists more than once (a daemon, a session); a one-shot
 * command lists once and pays for no watches.
 */
static DomainListCache *
store_list_cache(DomainStore *store)
{
    if (g_atomic_int_add(&store->listings, 1) < 1)
        return NULL;
    if (g_once_init_enter(&store->list_cache_once)) {
        DomainListCache *c = domain_list_cache_new(store->domains_path, store->autostart_path);
        g_once_init_leave(&store->list_cache_once, c ? (gsize)c : 1);
    }
    return store->list_cache_once > 1 ? (DomainListCache *)store->list_cache_once : NULL;
}

/* The defined domains, scanned: their names, uuids and autostart flags. */
static int
store_list_defined(DomainStore *store, DomainListCache *cache, GPtrArray *items, CvError **err)
{
    g_autoptr(GHashTable) autostart = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    DIR *dir = dir_reopen(store->autostart_fd);
    struct dirent *de;
    while (dir && (de = readdir(dir))) {
        if (g_str_has_suffix(de->d_name, ".xml"))
            g_hash_table_add(autostart, g_strndup(de->d_name, strlen(de->d_name) - 4));
    }
    if (dir)
        closedir(dir);

    g_autoptr(GHashTable) indexed = store_index_files(store);
    if (!(dir = dir_reopen(store->domains_fd))) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot read directory '%s'",
                           store->domains_path);
        return -1;
    }
    while ((de = readdir(dir))) {
        if (!dirent_is_name(de))
            continue;
        if (cache)
            domain_list_cache_watch(cache, de->d_name);
        DomainListItem *it = g_new0(DomainListItem, 1);
        g_autofree char *rel = g_build_filename(de->d_name, DOMAIN_DEF_FILE, NULL);
        /* A definition that cannot be read is left out of listings, like libvirt does with
         * a config it cannot load; lookups by name report it. */
        if (store_list_uuid(store->domains_fd, rel, de->d_name, indexed, it->uuid) <= 0) {
            domain_list_item_free(it);
            continue;
        }
        it->name = g_strdup(de->d_name);
        it->autostart = g_hash_table_contains(autostart, it->name);
        g_ptr_array_add(items, it);
    }
    closedir(dir);
    return 0;
}

int
domain_store_list(DomainStore *store, GPtrArray **ret_entries, CvError **err)
{
    DomainListCache *cache = store_list_cache(store);
    guint64 gen = 0;
    g_autoptr(GPtrArray) items = cache ? domain_list_cache_get(cache, &gen) : NULL;
    if (!items) {
        items = g_ptr_array_new_with_free_func((GDestroyNotify)domain_list_item_free);
        if (store_list_defined(store, cache, items, err) < 0)
            return -1;
        if (cache)
            domain_list_cache_put(cache, gen, items);
    }

    g_autoptr(GPtrArray) entries =
        g_ptr_array_new_with_free_func((GDestroyNotify)domain_store_entry_free);
    g_autoptr(GHashTable) by_name = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < items->len; i++) {
        DomainListItem *it = g_ptr_array_index(items, i);
        DomainStoreEntry *e = g_new0(DomainStoreEntry, 1);
        domain_status_init(&e->status);
        e->name = g_steal_pointer(&it->name);
        memcpy(e->uuid, it->uuid, DOMAIN_UUID_LEN);
        e->persistent = true;
        e->autostart = it->autostart;
        g_ptr_array_add(entries, e);
        g_hash_table_insert(by_name, e->name, e);
    }
    DIR *dir;
    struct dirent *de;

    /* live state: only domains that ran have a directory here */
    if (!(dir = dir_reopen(store->run_domains_fd)))
        return (*ret_entries = g_steal_pointer(&entries)), 0;
    while ((de = readdir(dir))) {
        if (!dirent_is_name(de))
            continue;
        DomainStoreEntry *e = g_hash_table_lookup(by_name, de->d_name);
        if (e) {
            if (domain_status_load_at(store->run_domains_fd, de->d_name, &e->status, NULL) < 0)
                domain_status_init(&e->status);
            continue;
        }
        DomainStoreEntry *t = NULL;
        if (store_entry_load(store, de->d_name, 0, &t, NULL) > 0)
            g_ptr_array_add(entries, t);
    }
    closedir(dir);
    *ret_entries = g_steal_pointer(&entries);
    return 0;
}

/* ---- definitions ------------------------------------------------------------------------- */

char *
domain_store_read_xml(DomainStore *store, const char *name, bool live, const unsigned char *uuid,
                      CvError **err)
{
    if (domain_store_check_name(name, NULL) < 0) {
        no_domain_name(err, name);
        return NULL;
    }
    g_autofree char *xml = NULL;
    unsigned char found[DOMAIN_UUID_LEN];
    int rc = domain_def_cache_get(store->defs, live, name, &xml, uuid ? found : NULL, err);
    if (rc == 0)
        no_domain_name(err, name);
    if (rc <= 0)
        return NULL;
    if (uuid && memcmp(found, uuid, DOMAIN_UUID_LEN) != 0) {
        no_domain_uuid(err, uuid, name);
        return NULL;
    }
    return g_steal_pointer(&xml);
}

DomainDef *
domain_store_load_def(DomainStore *store, const char *name, bool live, const unsigned char *uuid,
                      CvError **err)
{
    g_autofree char *xml = domain_store_read_xml(store, name, live, uuid, err);
    if (!xml)
        return NULL;
    DomainDef *def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
    if (!def)
        cv_error_prefix(err, "invalid definition of domain '%s': ", name);
    return def;
}

/*
 * Make the index say uuid → name (a link to the file src under srcdir, the new definition of
 * name), refusing when another live definition has the uuid. Caller holds name's lock. A different
 * name in the index is checked under that domain's lock (taken without blocking, retried: the
 * caller's lock is held, so waiting could deadlock two defines that point at each other).
 * *ret_claimed: whether the entry is new.
 */
static int
store_uuid_claim(DomainStore *store, const unsigned char uuid[DOMAIN_UUID_LEN], const char *name,
                 int srcdir, const char *src, bool *ret_claimed, CvError **err)
{
    char us[DOMAIN_UUID_STRING_LEN];
    domain_uuid_format(uuid, us);
    gint64 deadline = g_get_monotonic_time() + CLAIM_WAIT_US;

    for (;;) {
        if (linkat(srcdir, src, store->byuuid_fd, us, 0) == 0) {
            *ret_claimed = true;
            return 0;
        }
        if (errno != EEXIST) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot index uuid '%s'", us);
            return -1;
        }
        g_autofree char *other = store_index_get(store, us);
        if (other && strcmp(other, name) == 0) {
            *ret_claimed = false;
            return 0;
        }
        g_autoptr(CvLock) other_lock = NULL;
        if (other && domain_store_check_name(other, NULL) == 0) {
            CvError *lerr = NULL;
            other_lock = cv_lock_dir_at(store->domains_fd, other, CV_LOCK_NONBLOCK, 0, NULL, &lerr);
            int lerrno = lerr ? lerr->sys_errno : 0;
            cv_error_free(lerr);
            if (!other_lock && lerrno == EWOULDBLOCK) {
                if (g_get_monotonic_time() > deadline) {
                    cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_TIMEOUT,
                                 "cannot acquire the lock of domain '%s'", other);
                    return -1;
                }
                g_usleep(1000 + g_random_int_range(0, 1000));
                continue;
            }
            if (!other_lock && lerrno != ENOENT && lerrno != ENOTDIR) {
                cv_error_set_errno(err, VIR_FROM_CH, lerrno, "cannot lock domain '%s'", other);
                return -1;
            }
        }
        if (other_lock) {
            unsigned char theirs[DOMAIN_UUID_LEN];
            int found = store_read_uuid(other_lock->fd, DOMAIN_DEF_FILE, other, theirs, err);
            if (found < 0)
                return -1;
            if (found && memcmp(theirs, uuid, DOMAIN_UUID_LEN) == 0) {
                cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                             "domain '%s' already exists with uuid %s", other, us);
                return -1;
            }
        }
        /* a stale entry: that name is gone or has another uuid now */
        if (store_index_set(store, us, srcdir, src, NULL) < 0) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot index uuid '%s'", us);
            return -1;
        }
        *ret_claimed = true;
        return 0;
    }
}

int
domain_store_save(DomainStore *store, const char *name, const unsigned char uuid[DOMAIN_UUID_LEN],
                  const char *xml, bool *ret_created, CvError **err)
{
    if (domain_store_check_name(name, err) < 0)
        return -1;
    bool created_dir = false;
    g_autoptr(CvLock) lock =
        cv_lock_dir_at(store->domains_fd, name, CV_LOCK_CREATE, 0700, &created_dir, err);
    if (!lock)
        return -1;

    g_autofree char *dir_path = g_build_filename(store->domains_path, name, NULL);
    g_autofree char *tmp = NULL;
    bool claimed = false;
    unsigned char current[DOMAIN_UUID_LEN];
    int exists = store_read_uuid(lock->fd, DOMAIN_DEF_FILE, name, current, err);
    if (exists < 0)
        goto fail;
    if (exists && memcmp(current, uuid, DOMAIN_UUID_LEN) != 0) {
        char cs[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(current, cs);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                     "domain '%s' is already defined with uuid %s", name, cs);
        goto fail;
    }

    /*
     * One file fsync and one directory fsync. The new domain's directory entry under
     * domains/ and the index link need no fsync of their own: on the journalling file
     * systems we run on (ext4, xfs, btrfs) the fsync of the directory commits every earlier
     * metadata change of the file system with it, the mkdir and the link included.
     */
    if (cv_file_tmp_write_at(lock->fd, dir_path, DOMAIN_DEF_FILE, xml, strlen(xml), 0600, &tmp,
                             err) < 0)
        goto fail;
    if (store_uuid_claim(store, uuid, name, lock->fd, tmp, &claimed, err) < 0)
        goto fail;
    int rc = cv_file_tmp_commit_at(lock->fd, dir_path, tmp, DOMAIN_DEF_FILE, 0, err);
    g_clear_pointer(&tmp, g_free); /* renamed, or removed by the failed commit */
    domain_def_cache_forget(store->defs, name);
    if (rc < 0)
        goto fail;
    if (ret_created)
        *ret_created = !exists;
    return 0;

fail:
    cv_file_tmp_abort_at(lock->fd, tmp);
    if (claimed) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(uuid, us);
        unlinkat(store->byuuid_fd, us, 0);
    }
    if (!exists || created_dir)
        unlinkat(store->domains_fd, name, AT_REMOVEDIR); /* only if still empty */
    return -1;
}

/* Lock the persistent domain name and check it has a definition (with uuid when given). */
static CvLock *
store_lock_existing(DomainStore *store, const char *name, const unsigned char *uuid, CvError **err)
{
    if (domain_store_check_name(name, NULL) < 0) {
        no_domain_name(err, name);
        return NULL;
    }
    CvError *lerr = NULL;
    g_autoptr(CvLock) lock = cv_lock_dir_at(store->domains_fd, name, CV_LOCK_NONE, 0, NULL, &lerr);
    if (!lock) {
        if (lerr->sys_errno == ENOENT || lerr->sys_errno == ENOTDIR) {
            cv_error_free(lerr);
            no_domain_name(err, name);
        } else {
            error_pass(err, lerr);
        }
        return NULL;
    }
    unsigned char current[DOMAIN_UUID_LEN];
    int exists = store_read_uuid(lock->fd, DOMAIN_DEF_FILE, name, current, err);
    if (exists < 0)
        return NULL;
    if (!exists) {
        no_domain_name(err, name);
        return NULL;
    }
    if (uuid && memcmp(current, uuid, DOMAIN_UUID_LEN) != 0) {
        no_domain_uuid(err, uuid, name);
        return NULL;
    }
    return g_steal_pointer(&lock);
}

int
domain_store_delete(DomainStore *store, const char *name, const unsigned char *uuid, CvError **err)
{
    g_autoptr(CvLock) lock = store_lock_existing(store, name, uuid, err);
    if (!lock)
        return -1;

    g_autofree char *link = autostart_link_name(name);
    bool had_autostart = unlinkat(store->autostart_fd, link, 0) == 0;

    unsigned char current[DOMAIN_UUID_LEN];
    if (store_read_uuid(lock->fd, DOMAIN_DEF_FILE, name, current, NULL) > 0) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(current, us);
        g_autofree char *indexed = store_index_get(store, us);
        if (indexed && strcmp(indexed, name) == 0)
            unlinkat(store->byuuid_fd, us, 0);
    }

    /* Move the directory aside in one rename: from here on the name is free, and whoever
     * waits for our lock finds the name gone (cv_lock_dir_at checks) instead of resurrecting
     * what we remove. */
    /* atomic: two daemon workers removing in the same microsecond (a race TSan found) */
    static gint counter;
    g_autofree char *trash =
        g_strdup_printf("%d-%" G_GINT64_FORMAT "-%d", (int)getpid(), g_get_real_time(),
                        g_atomic_int_add(&counter, 1));
    if (renameat(store->domains_fd, name, store->trash_fd, trash) < 0) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot remove domain '%s'", name);
        return -1;
    }
    domain_def_cache_forget(store->defs, name);
    if (cv_dir_sync(store->domains_fd, store->domains_path, err) < 0)
        return -1;
    if (had_autostart)
        fsync(store->autostart_fd);
    g_clear_pointer(&lock, cv_lock_release);
    /* best effort: domain_store_open empties the trash of an interrupted removal */
    cv_dir_remove_tree_at(store->trash_fd, trash, NULL);
    return 0;
}

int
domain_store_set_autostart(DomainStore *store, const char *name, const unsigned char *uuid,
                           bool autostart, CvError **err)
{
    g_autoptr(CvLock) lock = store_lock_existing(store, name, uuid, err);
    if (!lock)
        return -1;
    g_autofree char *link = autostart_link_name(name);
    if (autostart) {
        if (domain_store_get_autostart(store, name))
            return 0;
        g_autofree char *target = g_build_filename("..", "domains", name, DOMAIN_DEF_FILE, NULL);
        if (symlinkat(target, store->autostart_fd, link) < 0 && errno != EEXIST) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot set autostart of domain '%s'",
                               name);
            return -1;
        }
    } else if (unlinkat(store->autostart_fd, link, 0) < 0) {
        if (errno == ENOENT)
            return 0;
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot unset autostart of domain '%s'", name);
        return -1;
    }
    g_autofree char *dir = g_build_filename(store->root, "autostart", NULL);
    return cv_dir_sync(store->autostart_fd, dir, err);
}

int
domain_store_status(DomainStore *store, const char *name, DomainStatus *ret_st, CvError **err)
{
    return domain_status_load_at(store->run_domains_fd, name, ret_st, err);
}

bool
domain_store_has_snapshots(DomainStore *store, const char *name)
{
    g_autofree char *rel = g_build_filename(name, "snapshots", NULL);
    int fd = openat(store->domains_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    bool any = false;
    struct dirent *de;
    while (!any && (de = readdir(dir)))
        /* staging folders (".tmp-…") and the "current" file are no snapshot */
        any = de->d_name[0] != '.' && strcmp(de->d_name, "current") != 0;
    closedir(dir);
    return any;
}

/* ---- live state -------------------------------------------------------------------------- */

CvLock *
domain_store_lock_live(DomainStore *store, const char *name, CvError **err)
{
    if (domain_store_check_name(name, NULL) < 0) {
        no_domain_name(err, name);
        return NULL;
    }
    CvLock *lock = cv_lock_dir_at(store->run_domains_fd, name, CV_LOCK_CREATE, 0700, NULL, err);
    if (!lock)
        cv_error_prefix(err, "cannot lock domain '%s': ", name);
    return lock;
}

void
domain_store_live_drop_empty(DomainStore *store, const char *name)
{
    if (domain_store_check_name(name, NULL) == 0)
        unlinkat(store->run_domains_fd, name, AT_REMOVEDIR); /* only if empty */
}

#define NEXT_ID_FILE "next-id"

int
domain_store_next_id(DomainStore *store, int *ret_id, CvError **err)
{
    g_autoptr(CvLock) lock = cv_lock_dir_at(store->run_domains_fd, ".", CV_LOCK_NONE, 0, NULL,
                                            err);
    if (!lock)
        return -1;
    char buf[32] = "";
    ssize_t n = cv_file_read_head_at(store->run_domains_fd, NEXT_ID_FILE, buf, sizeof(buf) - 1);
    guint64 id = 1;
    if (n > 0) {
        buf[n] = '\0';
        g_strstrip(buf);
        if (!g_ascii_string_to_unsigned(buf, 10, 1, G_MAXINT - 1, &id, NULL))
            id = 1;
    }
    g_autofree char *next = g_strdup_printf("%" G_GUINT64_FORMAT "\n", id + 1);
    g_autofree char *dir = g_build_filename(store->run, "domains", NULL);
    if (cv_file_write_atomic_at(store->run_domains_fd, dir, NEXT_ID_FILE, next, strlen(next), 0600,
                                CV_FILE_WRITE_VOLATILE, err) < 0)
        return -1;
    *ret_id = (int)id;
    return 0;
}
