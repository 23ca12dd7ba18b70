/*
 * The Cloud Hypervisor backend's ops table, and its domxml-to-native renderings:
 * "cloud-hypervisor-argv" (a runnable shell command, one option per line) and
 * "cloud-hypervisor-json" (the VmConfig of vm.create).
 */
#include <string.h>

#include "ch_stats.h"
#include "ch_lower.h"
#include "ch_process.h"
#include "ch_snapshot.h"
#include "ch_validate.h"

static const char *const ch_native_formats[] = {
    "cloud-hypervisor-argv",
    "cloud-hypervisor-json",
    NULL,
};

/* Append word to out, single-quoted when the shell would otherwise split or expand it. */
static void
shell_quote_append(GString *out, const char *word)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "@%+=:,./_-";
    if (*word && strspn(word, safe) == strlen(word)) {
        g_string_append(out, word);
        return;
    }
    g_string_append_c(out, '\'');
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            g_string_append(out, "'\\''");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\'');
}

/* argv[0], then each "--flag value" pair (ch_lower_argv emits only pairs) on a line of its
 * own, joined by backslash-newlines. */
static char *
ch_backend_render_argv(const char *const *argv)
{
    GString *out = g_string_new(NULL);
    shell_quote_append(out, argv[0]);
    for (size_t i = 1; argv[i]; i += 2) {
        g_string_append(out, " \\\n");
        shell_quote_append(out, argv[i]);
        if (!argv[i + 1])
            break;
        g_string_append_c(out, ' ');
        shell_quote_append(out, argv[i + 1]);
    }
    g_string_append_c(out, '\n');
    return g_string_free(out, FALSE);
}

static char *
ch_backend_to_native(const DomainDef *def, const char *format, const BackendLowerCtx *ctx,
                     CvError **err)
{
    if (g_strcmp0(format, "cloud-hypervisor-argv") == 0) {
        g_auto(GStrv) argv = ch_lower_argv(def, ctx, err);
        if (!argv)
            return NULL;
        return ch_backend_render_argv((const char *const *)argv);
    }
    if (g_strcmp0(format, "cloud-hypervisor-json") == 0) {
        json_object *cfg = ch_lower_vmconfig(def, ctx, err);
        if (!cfg)
            return NULL;
        const char *text = json_object_to_json_string_ext(
            cfg, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                     JSON_C_TO_STRING_NOSLASHESCAPE);
        char *ret = g_strconcat(text, "\n", NULL);
        json_object_put(cfg);
        return ret;
    }
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INVALID_ARG,
                 "unsupported native format '%s' for the cloud-hypervisor backend",
                 format ? format : "");
    return NULL;
}

const CocoonBackend ch_backend = {
    .kind = BACKEND_CLOUD_HYPERVISOR,
    .name = "cloud-hypervisor",
    .env_override = "COCOON_CLOUD_HYPERVISOR",
    .native_formats = ch_native_formats,
    .validate = ch_validate,
    .to_native = ch_backend_to_native,
    .launch = ch_process_launch,
    .query = ch_process_query,
    .suspend = ch_process_suspend,
    .resume = ch_process_resume,
    .shutdown = ch_process_shutdown,
    .reboot = ch_process_reboot,
    .exit_crashed = ch_process_exit_crashed,
    .snapshot_save = ch_snapshot_save,
    .max_vcpus = CH_MAX_VCPUS_X86_64,
    .vcpu_thread_name = "vcpu",
    .domcaps_format = ch_domcaps_format,
    .memory_stats = ch_stats_memory,
    .set_memory = ch_tune_set_memory,
    .send_ctrl_alt_del = NULL, /* no keyboard: the power button is vm.power-button */
    .set_vcpus = ch_tune_set_vcpus,
    .block_stats = ch_stats_block,
};
