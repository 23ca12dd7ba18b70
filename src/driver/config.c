#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_GROUP "hypervisors"

const char *
cocoon_config_default_path(void)
{
    const char *env = g_getenv("COCOON_CONFIG");
    return env && *env ? env : "/etc/cocoon/cocoon.conf";
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

CocoonConfig *
cocoon_config_load(const char *path, CvError **err)
{
    g_autoptr(CocoonConfig) cfg = g_new0(CocoonConfig, 1);
    cfg->default_kind = BACKEND_FIRECRACKER;
    if (!path)
        path = cocoon_config_default_path();

    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
        if (g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT))
            return g_steal_pointer(&cfg);
        cv_error_set(err, VIR_FROM_CONF, VIR_ERR_CONFIG_UNSUPPORTED,
                     "cannot read configuration file '%s': %s", path, gerr->message);
        return NULL;
    }
    cfg->path = g_strdup(path);

    g_autofree char *def = g_key_file_get_string(kf, CONFIG_GROUP, "default", NULL);
    if (def) {
        g_strstrip(def);
        const CocoonBackend *b = backend_by_name(def);
        if (!b) {
            cv_error_set(err, VIR_FROM_CONF, VIR_ERR_CONFIG_UNSUPPORTED,
                         "default hypervisor '%s' in '%s' is not firecracker or "
                         "cloud-hypervisor",
                         def, path);
            return NULL;
        }
        cfg->default_kind = b->kind;
    }
    for (int k = 0; k < BACKEND_LAST; k++) {
        char *bin = g_key_file_get_string(kf, CONFIG_GROUP, backend_by_kind(k)->name, NULL);
        if (bin && !*g_strstrip(bin))
            g_clear_pointer(&bin, g_free);
        cfg->binaries[k] = bin;
    }
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
    g_free(cfg);
}

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
    cv_error_set_errno(err, VIR_FROM_CONF, ENOENT,
                       "cannot find the %s binary (tried %s, <emulator> '%s', %s in '%s', "
                       "and PATH)",
                       backend->name, backend->env_override, emulator ? emulator : "",
                       backend->name, cfg->path ? cfg->path : cocoon_config_default_path());
    return NULL;
}

const CocoonBackend *
cocoon_config_backend_for_def(CocoonConfig *cfg, DomainDef *def, CvError **err)
{
    if (def->emulator) {
        const CocoonBackend *b = backend_for_emulator(def->emulator);
        if (!b)
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                         "emulator '%s' is not firecracker or cloud-hypervisor", def->emulator);
        return b;
    }
    const CocoonBackend *b = cocoon_config_default_backend(cfg);
    def->emulator = g_strdup(cocoon_config_default_emulator(cfg, b));
    return b;
}
