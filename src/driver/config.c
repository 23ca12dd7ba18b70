#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>

#include "util/cv_paths.h"

/*
 * cocoon.conf is read line by line rather than with GKeyFile: its errors must name the line,
 * and GKeyFile neither says where a key was nor refuses a key it does not know.
 */

char *
cocoon_config_default_path(void)
{
    const char *env = g_getenv("COCOON_CONFIG");
    if (env && *env)
        return g_strdup(env);
    if (geteuid() != 0) {
        g_autofree char *user = cv_paths_user_config();
        if (g_file_test(user, G_FILE_TEST_EXISTS))
            return g_steal_pointer(&user);
    }
    return cv_paths_system_config();
}

static const CocoonBackend *
backend_by_name(const char *name)
{
    for (int k = 0; k < BACKEND_LAST; k++) {
        const CocoonBackend *b = backend_by_kind(k);
        if (strcmp(b->name, name) == 0)
            return b;
    }
    return NULL;
}

/* ---- the keys ------------------------------------------------------------------------------ */

typedef struct {
    const char *path;
    unsigned int line;
    CvError **err;
} ConfLine;

static int conf_fail(const ConfLine *at, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int
conf_fail(const ConfLine *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    cv_error_set(at->err, VIR_FROM_CONF, VIR_ERR_CONF_SYNTAX, "configuration file '%s' line %u: %s",
                 at->path, at->line, text);
    return -1;
}

static int
set_backend(CocoonConfig *cfg, const char *key, const char *value, const ConfLine *at)
{
    const CocoonBackend *b = backend_by_name(value);
    if (!b)
        return conf_fail(at, "%s '%s' is not firecracker or cloud-hypervisor", key, value);
    cfg->default_kind = b->kind;
    return 0;
}

static int
set_path(char **slot, const char *key, const char *value, const ConfLine *at)
{
    if (!g_path_is_absolute(value))
        return conf_fail(at, "%s '%s' is not an absolute path", key, value);
    g_free(*slot);
    *slot = g_canonicalize_filename(value, NULL);
    return 0;
}

static int
set_seconds(unsigned int *slot, const char *key, const char *value, const ConfLine *at)
{
    guint64 s = 0;
    /* a day at most: a longer wait is a typo, and the milliseconds must fit */
    if (!g_ascii_string_to_unsigned(value, 10, 1, 86400, &s, NULL))
        return conf_fail(at, "%s '%s' is not a number of seconds from 1 to 86400", key, value);
    *slot = (unsigned int)s * 1000;
    return 0;
}

static int
set_group(char **slot, const char *key, const char *value, const ConfLine *at)
{
    if (!getgrnam(value))
        return conf_fail(at, "%s '%s' is not a group of this host", key, value);
    g_free(*slot);
    *slot = g_strdup(value);
    return 0;
}

static int
set_id(unsigned int *slot, const char *key, const char *value, const ConfLine *at)
{
    guint64 v = 0;
    /* root would defeat the jail; (uid_t)-1 means "unchanged" to the kernel */
    if (!g_ascii_string_to_unsigned(value, 10, 1, 4294967294ULL, &v, NULL))
        return conf_fail(at, "%s '%s' is not a number from 1 to 4294967294", key, value);
    *slot = (unsigned int)v;
    return 0;
}

static int
set_bool(bool *slot, const char *key, const char *value, const ConfLine *at)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
        *slot = strcmp(value, "yes") == 0;
        return 0;
    }
    return conf_fail(at, "%s '%s' is not yes or no", key, value);
}

static int
set_cgroup_version(unsigned int *slot, const char *key, const char *value, const ConfLine *at)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "2") == 0) {
        *slot = (unsigned int)(value[0] - '0');
        return 0;
    }
    return conf_fail(at, "%s '%s' is not 1 or 2", key, value);
}

typedef enum {
    KEY_BACKEND,
    KEY_PATH,
    KEY_SECONDS,
    KEY_GROUP,
    KEY_ID,
    KEY_BOOL,
    KEY_CGROUP
} KeyKind;

typedef struct {
    const char *group, *key;
    KeyKind kind;
    size_t offset; /* of the field in CocoonConfig */
} ConfKey;

#define FIELD(f) G_STRUCT_OFFSET(CocoonConfig, f)

static const ConfKey conf_keys[] = {
    {"hypervisors", "default", KEY_BACKEND, FIELD(default_kind)},
    {"hypervisors", "firecracker", KEY_PATH, FIELD(binaries[BACKEND_FIRECRACKER])},
    {"hypervisors", "cloud-hypervisor", KEY_PATH, FIELD(binaries[BACKEND_CLOUD_HYPERVISOR])},
    {"hypervisors", "jailer", KEY_PATH, FIELD(jailer)},
    {"paths", "root", KEY_PATH, FIELD(root)},
    {"paths", "run", KEY_PATH, FIELD(run)},
    {"timeouts", "start", KEY_SECONDS, FIELD(start_timeout_ms)},
    {"timeouts", "shutdown", KEY_SECONDS, FIELD(shutdown_timeout_ms)},
    {"timeouts", "stop", KEY_SECONDS, FIELD(stop_timeout_ms)},
    {"daemon", "socket-group", KEY_GROUP, FIELD(socket_group)},
    {"jailer", "uid", KEY_ID, FIELD(jail_uid)},
    {"jailer", "gid", KEY_ID, FIELD(jail_gid)},
    {"jailer", "chroot-base", KEY_PATH, FIELD(jail_chroot_base)},
    {"jailer", "cgroup-version", KEY_CGROUP, FIELD(jail_cgroup_version)},
    {"jailer", "new-pid-ns", KEY_BOOL, FIELD(jail_new_pid_ns)},
    {"jailer", "netns", KEY_PATH, FIELD(jail_netns)},
    {"jailer", "seccomp-filter", KEY_PATH, FIELD(jail_seccomp_filter)},
};

static int
conf_set(CocoonConfig *cfg, const char *group, const char *key, const char *value,
         GHashTable *seen, const ConfLine *at)
{
    const ConfKey *k = NULL;
    bool group_known = false;
    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++) {
        if (strcmp(conf_keys[i].group, group) != 0)
            continue;
        group_known = true;
        if (strcmp(conf_keys[i].key, key) == 0)
            k = &conf_keys[i];
    }
    if (!group_known)
        return conf_fail(at, "key '%s' outside a known group (expected [hypervisors], [paths], "
                             "[timeouts], [daemon] or [jailer])",
                         key);
    if (!k)
        return conf_fail(at, "unknown key '%s' in [%s]", key, group);
    if (!g_hash_table_add(seen, g_strdup_printf("%s.%s", group, key)))
        return conf_fail(at, "key '%s' given twice in [%s]", key, group);
    if (!*value)
        return conf_fail(at, "key '%s' has no value", key);
    void *field = G_STRUCT_MEMBER_P(cfg, k->offset);
    switch (k->kind) {
    case KEY_BACKEND:
        return set_backend(cfg, key, value, at);
    case KEY_PATH:
        return set_path(field, key, value, at);
    case KEY_SECONDS:
        return set_seconds(field, key, value, at);
    case KEY_GROUP:
        return set_group(field, key, value, at);
    case KEY_ID:
        if (strcmp(key, "uid") == 0)
            cfg->jail_uid_set = true;
        else
            cfg->jail_gid_set = true;
        return set_id(field, key, value, at);
    case KEY_BOOL:
        return set_bool(field, key, value, at);
    case KEY_CGROUP:
        return set_cgroup_version(field, key, value, at);
    }
    return 0;
}

static bool
conf_group_known(const char *group)
{
    for (size_t i = 0; i < G_N_ELEMENTS(conf_keys); i++)
        if (strcmp(conf_keys[i].group, group) == 0)
            return true;
    return false;
}

/* Parse text (the contents of path) into cfg. 0, or -1 with *err naming the line. */
static int
conf_parse(CocoonConfig *cfg, const char *path, const char *text, CvError **err)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autofree char *group = NULL;
    ConfLine at = {path, 0, err};
    for (size_t i = 0; lines[i]; i++) {
        at.line = (unsigned int)i + 1;
        char *line = g_strstrip(lines[i]);
        if (!*line || *line == '#' || *line == ';')
            continue;
        if (*line == '[') {
            size_t len = strlen(line);
            if (len < 3 || line[len - 1] != ']')
                return conf_fail(&at, "malformed group header '%s'", line);
            line[len - 1] = '\0';
            char *name = g_strstrip(line + 1);
            if (!conf_group_known(name))
                return conf_fail(&at, "unknown group [%s] (expected [hypervisors], [paths], "
                                      "[timeouts], [daemon] or [jailer])",
                                 name);
            g_free(group);
            group = g_strdup(name);
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq)
            return conf_fail(&at, "expected 'key = value' or '[group]', found '%s'", line);
        *eq = '\0';
        char *key = g_strstrip(line);
        char *value = g_strstrip(eq + 1);
        if (!*key)
            return conf_fail(&at, "a value without a key");
        if (conf_set(cfg, group ? group : "", key, value, seen, &at) < 0)
            return -1;
    }
    return 0;
}

CocoonConfig *
cocoon_config_load(const char *path, CvError **err)
{
    g_autoptr(CocoonConfig) cfg = g_new0(CocoonConfig, 1);
    cfg->default_kind = BACKEND_FIRECRACKER;
    g_autofree char *default_path = path ? NULL : cocoon_config_default_path();
    if (!path)
        path = default_path;

    g_autofree char *text = NULL;
    g_autoptr(GError) gerr = NULL;
    if (!g_file_get_contents(path, &text, NULL, &gerr)) {
        if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&cfg);
        cv_error_set(err, VIR_FROM_CONF, VIR_ERR_CONF_SYNTAX,
                     "cannot read configuration file '%s': %s", path, gerr->message);
        return NULL;
    }
    cfg->path = g_strdup(path);
    if (conf_parse(cfg, path, text, err) < 0)
        return NULL;
    return g_steal_pointer(&cfg);
}

void
cocoon_config_free(CocoonConfig *cfg)
{
    if (!cfg)
        return;
    g_free(cfg->path);
    for (int k = 0; k < BACKEND_LAST; k++) {
        g_free(cfg->binaries[k]);
        g_free(cfg->emulator_cache[k]);
    }
    g_free(cfg->jailer);
    g_free(cfg->root);
    g_free(cfg->run);
    g_free(cfg->socket_group);
    g_free(cfg->jail_chroot_base);
    g_free(cfg->jail_netns);
    g_free(cfg->jail_seccomp_filter);
    g_free(cfg);
}

/* ---- what the keys decide ------------------------------------------------------------------ */

const CocoonBackend *
cocoon_config_default_backend(const CocoonConfig *cfg)
{
    return backend_by_kind(cfg->default_kind);
}

const char *
cocoon_config_default_emulator(CocoonConfig *cfg, const CocoonBackend *backend)
{
    BackendKind k = backend->kind;
    char *cached = g_atomic_pointer_get(&cfg->emulator_cache[k]);
    if (cached)
        return cached;

    char *found = cfg->binaries[k] ? g_strdup(cfg->binaries[k])
                                   : g_find_program_in_path(backend->name);
    if (!found)
        found = g_build_filename("/usr/bin", backend->name, NULL);
    /* The daemon's workers may race here: the first to publish wins, the others drop theirs. */
    if (!g_atomic_pointer_compare_and_exchange(&cfg->emulator_cache[k], NULL, found))
        g_free(found);
    return g_atomic_pointer_get(&cfg->emulator_cache[k]);
}

static bool
is_executable(const char *path)
{
    return path && access(path, X_OK) == 0 && !g_file_test(path, G_FILE_TEST_IS_DIR);
}

char *
cocoon_config_resolve_binary(const CocoonConfig *cfg, const CocoonBackend *backend,
                             const char *emulator, CvError **err)
{
    const char *env = g_getenv(backend->env_override);
    if (env && *env) {
        if (is_executable(env))
            return g_strdup(env);
        cv_error_set_errno(err, VIR_FROM_CONF, errno ? errno : ENOENT, "cannot use %s='%s'",
                           backend->env_override, env);
        return NULL;
    }
    if (is_executable(emulator))
        return g_strdup(emulator);
    if (is_executable(cfg->binaries[backend->kind]))
        return g_strdup(cfg->binaries[backend->kind]);
    char *found = g_find_program_in_path(backend->name);
    if (found)
        return found;
    g_autofree char *conf = cfg->path ? NULL : cocoon_config_default_path();
    cv_error_set_errno(err, VIR_FROM_CONF, ENOENT,
                       "cannot find the %s binary (tried %s, <emulator> '%s', %s in '%s', "
                       "and PATH)",
                       backend->name, backend->env_override, emulator ? emulator : "",
                       backend->name, cfg->path ? cfg->path : conf);
    return NULL;
}

char *
cocoon_config_resolve_jailer(const CocoonConfig *cfg)
{
    const char *env = g_getenv("COCOON_JAILER");
    if (env && *env)
        return is_executable(env) ? g_strdup(env) : NULL;
    if (cfg->jailer)
        return is_executable(cfg->jailer) ? g_strdup(cfg->jailer) : NULL;
    return g_find_program_in_path("jailer");
}

static bool
is_jailer_path(const char *path)
{
    if (!path)
        return false;
    g_autofree char *base = g_path_get_basename(path);
    return strstr(base, "jailer") != NULL;
}

int
cocoon_config_jail(const CocoonConfig *cfg, const char *emulator, const char *run,
                   CocoonJail *ret, CvError **err)
{
    bool by_emulator = is_jailer_path(emulator);
    if (!by_emulator && !cfg->jailer)
        return 0;
    const char *env = g_getenv("COCOON_JAILER");
    char *jailer = NULL;
    if (env && *env)
        jailer = is_executable(env) ? g_strdup(env) : NULL;
    else if (by_emulator)
        jailer = is_executable(emulator) ? g_strdup(emulator) : NULL;
    else
        jailer = is_executable(cfg->jailer) ? g_strdup(cfg->jailer) : NULL;
    if (!jailer) {
        const char *tried = env && *env ? env : by_emulator ? emulator : cfg->jailer;
        cv_error_set_errno(err, VIR_FROM_CONF, errno ? errno : ENOENT,
                           "cannot use the jailer '%s'", tried);
        return -1;
    }
    char *fc = cocoon_config_resolve_binary(cfg, &fc_backend, NULL, err);
    if (!fc) {
        g_free(jailer);
        return -1;
    }
    memset(ret, 0, sizeof(*ret));
    ret->jailer = jailer;
    ret->firecracker = fc;
    ret->chroot_base = cfg->jail_chroot_base ? g_strdup(cfg->jail_chroot_base)
                                             : g_build_filename(run, "jail", NULL);
    unsigned int version = cfg->jail_cgroup_version;
    if (!version)
        version = g_file_test("/sys/fs/cgroup/cgroup.controllers", G_FILE_TEST_EXISTS) ? 2 : 1;
    ret->jail = (BackendJail){
        .jailer = ret->jailer,
        .chroot_base = ret->chroot_base,
        .uid = cfg->jail_uid_set ? cfg->jail_uid : COCOON_JAIL_DEFAULT_ID,
        .gid = cfg->jail_gid_set ? cfg->jail_gid : COCOON_JAIL_DEFAULT_ID,
        .cgroup_version = (int)version,
        .new_pid_ns = cfg->jail_new_pid_ns,
        .netns = cfg->jail_netns,
        .seccomp_filter = cfg->jail_seccomp_filter,
    };
    return 1;
}

void
cocoon_config_jail_clear(CocoonJail *jail)
{
    g_clear_pointer(&jail->jailer, g_free);
    g_clear_pointer(&jail->firecracker, g_free);
    g_clear_pointer(&jail->chroot_base, g_free);
}

int
cocoon_config_paths(char **ret_root, char **ret_run, CvError **err)
{
    g_autoptr(CocoonConfig) cfg = cocoon_config_load(NULL, err);
    if (!cfg)
        return -1;
    *ret_root = cfg->root ? g_strdup(cfg->root) : cv_paths_default_root();
    *ret_run = cfg->run ? g_strdup(cfg->run) : cv_paths_default_run();
    return 0;
}

const CocoonBackend *
cocoon_config_backend_for_def(CocoonConfig *cfg, DomainDef *def, CvError **err)
{
    if (def->emulator) {
        /* a jailer execs firecracker */
        const CocoonBackend *b =
            is_jailer_path(def->emulator) ? &fc_backend : backend_for_emulator(def->emulator);
        if (!b)
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                         "emulator '%s' is not firecracker or cloud-hypervisor", def->emulator);
        return b;
    }
    const CocoonBackend *b = cocoon_config_default_backend(cfg);
    def->emulator = g_strdup(cocoon_config_default_emulator(cfg, b));
    return b;
}
