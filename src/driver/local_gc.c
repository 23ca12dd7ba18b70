#include "local_cocoon.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver/backend.h"
#include "driver/config.h"
#include "driver/kernel_image.h"
#include "driver/launch_strays.h"
#include "local_lifecycle.h"
#include "snapshot/snapshot_meta.h"
#include "util/cv_file.h"
#include "util/cv_lock.h"

/*
 * gc: remove what no domain and no snapshot refers to, on both backends:
 *
 *   <root>/domains/<d>/            with no domain.xml: a definition that never completed, or
 *                                  the snapshots of a domain no longer defined
 *   <root>/domains/<d>/.*.tmp-*    atomic writes cut short (a define killed midway)
 *   <root>/domains/<d>/snapshots/.tmp-*   snapshots never finished (or deletes cut short)
 *   <run>/domains/<d>/             of a domain neither defined nor running
 *   <run>/domains/<d>/ overlays, temporary files, sockets  of a domain that is not running (an
 *                                  overlay of a running one only when its boot did not make it)
 *   <root>/cache/kernels/vmlinux-…  extracted kernels no defined or running domain boots
 *   <root>/staging/…, <root>/trash/…     imports and removals cut short
 *   <root>/by-uuid/<uuid>          index links to a file no definition is any more
 *
 * Everything that can be in use is removed only under the lock its users hold (taken without
 * waiting: a busy domain is left for the next run); what no lock guards (a temporary file of
 * the kernel cache) only once it has not changed for a minute.
 */

#define GC_TMP_AGE_S 60

typedef struct {
    LocalDriverPriv *priv;
    bool dry_run;
    GPtrArray *items;  /* "PATH (why)" */
    GHashTable *kernels; /* cache entry names to keep */
} Gc;

/* Record path and remove it (all below it, too) unless dry-run. */
static void
gc_take(Gc *gc, int dirfd, const char *name, const char *path, const char *why)
{
    if (!gc->dry_run) {
        g_autoptr(CvError) err = NULL;
        if (cv_dir_remove_tree_at(dirfd, name, &err) < 0)
            return;
    }
    g_ptr_array_add(gc->items, g_strdup_printf("%s (%s)", path, why));
}

static bool
is_tmp_name(const char *name)
{
    return name[0] == '.' && strstr(name, ".tmp-") != NULL;
}

static bool
old_enough(int dirfd, const char *name)
{
    struct stat st;
    return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           time(NULL) - st.st_mtime >= GC_TMP_AGE_S;
}

/* The names in dirfd (no "." / ".."), sorted; none when it cannot be read. */
static GPtrArray *
dir_names_sorted(int dirfd)
{
    GPtrArray *names = cv_dir_names_at(dirfd, ".");
    return names ? names : g_ptr_array_new_with_free_func(g_free);
}

/* Open base/sub (NULL: base) and list it: the fd (-1 when it is not there), its path into
 * *ret_path and its names into *ret_names. */
static int
gc_dir(const char *base, const char *sub, char **ret_path, GPtrArray **ret_names)
{
    char *path = g_build_filename(base, sub, NULL);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        g_free(path);
        return -1;
    }
    *ret_path = path;
    *ret_names = dir_names_sorted(fd);
    return fd;
}

/* ---- persistent state ------------------------------------------------------------------------ */

/* The kernel a definition boots, as a cache entry name to keep. */
static void
gc_keep_kernel(Gc *gc, const char *xml)
{
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_FLAGS_NONE, NULL);
    if (!def || !def->os.kernel)
        return;
    const CocoonBackend *b = cocoon_config_backend_for_def(gc->priv->config, def, NULL);
    if (!b || b->kind != BACKEND_FIRECRACKER)
        return;
    char *name = kernel_image_cache_name(def->os.kernel);
    if (name)
        g_hash_table_add(gc->kernels, name);
}

/* The unfinished snapshots of a defined domain, under its live lock. */
static void
gc_snapshots(Gc *gc, const char *name)
{
    const char *root = domain_store_root(gc->priv->store);
    g_autofree char *dir = snapshot_meta_dir(root, name);
    int sfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sfd < 0)
        return;
    g_autofree char *run_domains = g_build_filename(domain_store_run(gc->priv->store), "domains",
                                                    NULL);
    int rfd = open(run_domains, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_autoptr(CvLock) lock =
        rfd >= 0 ? cv_lock_dir_at(rfd, name, CV_LOCK_CREATE | CV_LOCK_NONBLOCK, 0700, NULL, NULL)
                 : NULL;
    if (rfd >= 0)
        close(rfd);
    if (lock) {
        g_autoptr(GPtrArray) names = dir_names_sorted(sfd);
        for (guint i = 0; i < names->len; i++) {
            const char *n = names->pdata[i];
            if (g_str_has_prefix(n, SNAPSHOT_TMP_PREFIX) || is_tmp_name(n)) {
                g_autofree char *path = g_build_filename(dir, n, NULL);
                gc_take(gc, sfd, n, path, "unfinished snapshot data");
            }
        }
    }
    close(sfd);
}

static void
gc_domains(Gc *gc, const char *root)
{
    g_autofree char *domains = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int dfd = gc_dir(root, "domains", &domains, &names);
    if (dfd < 0)
        return;
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *path = g_build_filename(domains, name, NULL);
        /* the lock define and undefine hold */
        g_autoptr(CvLock) lock = cv_lock_dir_at(dfd, name, CV_LOCK_NONBLOCK, 0, NULL, NULL);
        if (!lock)
            continue;
        g_autofree char *xml = NULL;
        if (cv_file_read_at(lock->fd, "domain.xml", 16 * 1024 * 1024, &xml, NULL, NULL) < 0) {
            gc_take(gc, dfd, name, path,
                    domain_store_has_snapshots(gc->priv->store, name)
                        ? "snapshots of a domain that is not defined"
                        : "no domain definition");
            continue;
        }
        gc_keep_kernel(gc, xml);
        g_autoptr(GPtrArray) files = dir_names_sorted(lock->fd);
        for (guint j = 0; j < files->len; j++) {
            const char *f = files->pdata[j];
            if (is_tmp_name(f)) {
                g_autofree char *fpath = g_build_filename(path, f, NULL);
                gc_take(gc, lock->fd, f, fpath, "temporary file of an interrupted write");
            }
        }
        g_clear_pointer(&lock, cv_lock_release);
        gc_snapshots(gc, name);
    }
    close(dfd);
}

/* ---- live state ------------------------------------------------------------------------------ */

static bool
strv_has(char **v, const char *s)
{
    for (size_t i = 0; v && v[i]; i++) {
        if (strcmp(v[i], s) == 0)
            return true;
    }
    return false;
}

static void
gc_live(Gc *gc, const char *root)
{
    const char *run = domain_store_run(gc->priv->store);
    g_autofree char *live = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int lfd = gc_dir(run, "domains", &live, &names);
    if (lfd < 0)
        return;
    /* the lock domain ids are handed out under (domain_store_next_id) */
    g_autoptr(CvLock) ids = cv_lock_dir_at(lfd, ".", CV_LOCK_NONBLOCK, 0, NULL, NULL);
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        g_autofree char *path = g_build_filename(live, name, NULL);
        if (name[0] == '.') {
            if (ids && is_tmp_name(name))
                gc_take(gc, lfd, name, path, "temporary file of an interrupted write");
            continue;
        }
        g_autoptr(CvLock) lock = cv_lock_dir_at(lfd, name, CV_LOCK_NONBLOCK, 0, NULL, NULL);
        if (!lock)
            continue;
        DomainStatus st;
        if (domain_status_load_at(lfd, name, &st, NULL) < 0)
            domain_status_init(&st);
        bool active = domain_status_is_active(&st);
        g_autofree char *def = g_build_filename(root, "domains", name, "domain.xml", NULL);
        bool persistent = access(def, F_OK) == 0;
        if (!active) {
            unsigned int n = launch_strays_stop(path, gc->dry_run);
            if (n > 0)
                g_ptr_array_add(gc->items, g_strdup_printf("%s (stopped %u process%s of a "
                                                           "start cut short)", path, n, n == 1 ? "" : "es"));
            /* and what such a start made outside the folder (FC's jail: its chroot, mounts,
             * cgroups, the owners it changed); each backend's release finds its own notes */
            for (int k = 0; k < BACKEND_LAST && !gc->dry_run; k++) {
                const CocoonBackend *b = backend_by_kind(k);
                if (b->release)
                    b->release(path, NULL);
            }
        }
        if (!active && !persistent) {
            gc_take(gc, lfd, name, path, "live folder of a domain that is not defined");
            domain_status_clear(&st);
            continue;
        }
        if (active) {
            g_autofree char *xml = NULL;
            if (cv_file_read_at(lock->fd, "domain.xml", 16 * 1024 * 1024, &xml, NULL, NULL) == 0)
                gc_keep_kernel(gc, xml);
        }
        g_autoptr(GPtrArray) files = dir_names_sorted(lock->fd);
        for (guint j = 0; j < files->len; j++) {
            const char *f = files->pdata[j];
            g_autofree char *fpath = g_build_filename(path, f, NULL);
            if (is_tmp_name(f))
                gc_take(gc, lock->fd, f, fpath, "temporary file of an interrupted write");
            else if (g_str_has_suffix(f, ".overlay") && !strv_has(st.overlays, fpath))
                gc_take(gc, lock->fd, f, fpath, "transient-disk overlay of an earlier boot");
            else if (!active && g_str_has_suffix(f, ".sock"))
                gc_take(gc, lock->fd, f, fpath, "socket of a VMM that is gone");
        }
        domain_status_clear(&st);
    }
    close(lfd);
}

/* ---- caches and leftovers of the store ------------------------------------------------------- */

static void
gc_kernels(Gc *gc, const char *root)
{
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int kfd = gc_dir(root, "cache/kernels", &dir, &names);
    if (kfd < 0)
        return;
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        g_autofree char *path = g_build_filename(dir, n, NULL);
        if (is_tmp_name(n) && old_enough(kfd, n))
            gc_take(gc, kfd, n, path, "temporary file of an interrupted kernel extraction");
        else if (g_str_has_prefix(n, "vmlinux-") && !g_hash_table_contains(gc->kernels, n))
            gc_take(gc, kfd, n, path, "extracted kernel no domain boots");
    }
    close(kfd);
}

static void
gc_staging(Gc *gc, const char *root, const char *sub, const char *why)
{
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int fd = gc_dir(root, sub, &dir, &names);
    if (fd < 0)
        return;
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        g_autofree char *path = g_build_filename(dir, n, NULL);
        struct stat st;
        if (fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        /* an import in progress holds its folder's lock */
        g_autoptr(CvLock) lock =
            S_ISDIR(st.st_mode) ? cv_lock_dir_at(fd, n, CV_LOCK_NONBLOCK, 0, NULL, NULL) : NULL;
        if (S_ISDIR(st.st_mode) && !lock)
            continue;
        gc_take(gc, fd, n, path, why);
    }
    close(fd);
}

static void
gc_uuid_index(Gc *gc, const char *root)
{
    g_autofree char *dir = NULL;
    g_autoptr(GPtrArray) names = NULL;
    int fd = gc_dir(root, "by-uuid", &dir, &names);
    if (fd < 0)
        return;
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        struct stat st;
        /* a link of a definition has a second name: the domain's domain.xml */
        if (fstatat(fd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            st.st_nlink == 1) {
            g_autofree char *path = g_build_filename(dir, n, NULL);
            gc_take(gc, fd, n, path, "uuid index entry of no definition");
        }
    }
    close(fd);
}

int
local_garbage_collect(CocoonConn *conn, unsigned int flags, char ***ret_items, CvError **err)
{
    if (local_check_flags(flags, COCOON_GC_DRY_RUN, __func__, err) < 0)
        return -1;
    Gc gc = {
        .priv = conn->priv,
        .dry_run = flags & COCOON_GC_DRY_RUN,
        .items = g_ptr_array_new_with_free_func(g_free),
        .kernels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
    };
    const char *root = domain_store_root(gc.priv->store);
    /* VMMs that died behind our back are shut off first: their folders are then free */
    local_lifecycle_check_all(conn);
    gc_domains(&gc, root);
    gc_live(&gc, root);
    gc_kernels(&gc, root);
    gc_staging(&gc, root, "staging", "unfinished snapshot import");
    gc_staging(&gc, root, "trash", "removal cut short");
    gc_uuid_index(&gc, root);
    g_hash_table_unref(gc.kernels);
    g_ptr_array_add(gc.items, NULL);
    *ret_items = (char **)g_ptr_array_free(gc.items, FALSE);
    return 0;
}
