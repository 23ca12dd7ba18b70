#include <string.h>

#include "fc_stats.h"
#include "driver/backend.h"
#include "fc_jail.h"
#include "fc_lower.h"
#include "fc_paths.h"
#include "fc_process.h"
#include "fc_snapshot.h"
#include "fc_validate.h"

/* The Firecracker backend's ops table. */

static const char *const fc_native_formats[] = {
    "firecracker-api",  /* a shell script of curl calls against the API socket */
    "firecracker-json", /* the call plan as a JSON array of {method, path, body} */
    NULL,
};

static char *
fc_backend_to_native(const DomainDef *def, const char *format, const BackendLowerCtx *ctx,
                     CvError **err)
{
    bool curl = format && strcmp(format, "firecracker-api") == 0;
    if (!format || (!curl && strcmp(format, "firecracker-json") != 0)) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_INVALID_ARG,
                     "unsupported native format '%s' for the firecracker backend",
                     format ? format : "");
        return NULL;
    }
    /* fc_lower validates first. */
    g_autoptr(FcCallPlan) plan = fc_lower(def, ctx, err);
    if (!plan)
        return NULL;
    if (!curl)
        return fc_call_plan_to_json(plan);
    g_autofree char *sock = fc_api_socket_path(ctx->run_dir);
    return fc_call_plan_to_curl(plan, sock);
}

const CocoonBackend fc_backend = {
    .kind = BACKEND_FIRECRACKER,
    .name = "firecracker",
    .env_override = "COCOON_FIRECRACKER",
    .native_formats = fc_native_formats,
    .validate = fc_validate,
    .to_native = fc_backend_to_native,
    .launch = fc_process_launch,
    .query = fc_process_query,
    .suspend = fc_process_suspend,
    .resume = fc_process_resume,
    .shutdown = fc_process_shutdown,
    .reboot = NULL, /* FC exits on guest reset: the driver restarts the process */
    .exit_crashed = fc_process_exit_crashed,
    .snapshot_save = fc_snapshot_save,
    .release = fc_jail_release,
    .max_vcpus = FC_MAX_VCPUS,
    .vcpu_thread_name = "fc_vcpu ",
    .domcaps_format = fc_domcaps_format,
    .memory_stats = fc_stats_memory,
    .set_memory = fc_tune_set_memory,
    .send_ctrl_alt_del = fc_tune_send_ctrl_alt_del,
    .set_vcpus = NULL, /* no vCPU hotplug */
    .block_stats = NULL, /* per-disk counters only in the metrics stream, not configured */
};
