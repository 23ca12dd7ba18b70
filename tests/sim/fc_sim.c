/* fc-sim: a Firecracker v1.16.1 simulator for tests (never installed): command line, main loop. */
#include "fc_sim.h"

#include "sim_http.h"
#include "sim_log.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FC_EXIT_BAD_CONFIG 152
#define FC_EXIT_ARG_PARSING 153

static const int fc_level_rank_default = 3; /* Info */

static int
fc_level_rank(const char *level)
{
    static const char *const names[] = { "Off", "Error", "Warning", "Info", "Debug", "Trace" };

    for (int i = 0; level && i < (int)G_N_ELEMENTS(names); i++)
        if (g_ascii_strcasecmp(names[i], level) == 0)
            return i;
    return fc_level_rank_default;
}

void
fc_sim_log(FcSim *s, const char *level, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *ts = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S");
    g_autofree char *lvl = NULL;

    if (fc_level_rank(level) > fc_level_rank(s->level) || fc_level_rank(s->level) == 0)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    lvl = s->show_level ? g_strdup_printf(":%s", level) : g_strdup("");
    sim_log_line(s->log_fd >= 0 ? s->log_fd : 1, "%s.%09d [%s:main%s%s] %s", ts,
                 g_date_time_get_microsecond(now) * 1000, s->id, lvl,
                 s->show_origin ? ":fc_sim.c" : "", msg);
}

void
fc_sim_quit(FcSim *s, int code)
{
    s->exit_code = code;
    g_main_loop_quit(s->loop);
}

static void
fc_usage(void)
{
    printf("fc-sim: a Firecracker v" FC_SIM_VERSION " simulator for tests\n"
           "Usage: fc-sim [--api-sock PATH] [--id ID] [--config-file FILE] [--no-api]\n"
           "              [--log-path PATH] [--level LEVEL] [--show-level] [--show-log-origin]\n"
           "              [--metrics-path PATH] [--seccomp-filter FILE | --no-seccomp]\n"
           "              [--boot-timer] [--http-api-max-payload-size N] [--version]\n");
}

typedef struct {
    const char *name;
    gboolean takes_value;
} FcArg;

static const FcArg fc_args[] = {
    { "api-sock", TRUE }, { "id", TRUE }, { "config-file", TRUE }, { "no-api", FALSE },
    { "log-path", TRUE }, { "level", TRUE }, { "module", TRUE }, { "show-level", FALSE },
    { "show-log-origin", FALSE }, { "metrics-path", TRUE }, { "seccomp-filter", TRUE },
    { "no-seccomp", FALSE }, { "boot-timer", FALSE }, { "metadata", TRUE },
    { "http-api-max-payload-size", TRUE }, { "mmds-size-limit", TRUE }, { "enable-pci", FALSE },
    { "start-time-us", TRUE }, { "start-time-cpu-us", TRUE }, { "parent-cpu-time-us", TRUE },
    { "version", FALSE }, { "snapshot-version", FALSE }, { "describe-snapshot", TRUE },
    { "help", FALSE },
};

static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2)
fc_arg_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "Arguments parsing error: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n\nFor more information try --help.\n");
    exit(FC_EXIT_ARG_PARSING);
}

static GHashTable *
fc_parse_args(int argc, char **argv)
{
    GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        g_autofree char *name = NULL;
        const char *val = NULL;
        const FcArg *spec = NULL;

        if (!g_str_has_prefix(a, "--"))
            fc_arg_error("Found argument '%s' which wasn't expected, or isn't valid in this "
                         "context.", a);
        name = g_strdup(a + 2);
        if (strchr(name, '=')) {
            val = strchr(a, '=') + 1;
            *strchr(name, '=') = '\0';
        }
        for (gsize j = 0; j < G_N_ELEMENTS(fc_args); j++)
            if (g_str_equal(fc_args[j].name, name))
                spec = &fc_args[j];
        if (!spec)
            fc_arg_error("Found argument '%s' which wasn't expected, or isn't valid in this "
                         "context.", a);
        if (g_hash_table_contains(h, name))
            fc_arg_error("The argument '--%s' was provided more than once.", name);
        if (spec->takes_value && !val) {
            if (i + 1 >= argc || g_str_has_prefix(argv[i + 1], "--"))
                fc_arg_error("The argument '--%s' requires a value but none was supplied", name);
            val = argv[++i];
        } else if (!spec->takes_value && val) {
            fc_arg_error("The argument '--%s' does not take a value", name);
        }
        g_hash_table_insert(h, g_strdup(name), g_strdup(val ? val : ""));
    }
    return h;
}

static gboolean
fc_id_valid(const char *id)
{
    gsize len = strlen(id);

    if (len < 1 || len > 64)
        return FALSE;
    for (const char *p = id; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-')
            return FALSE;
    return TRUE;
}

static int
fc_apply_json(FcSim *s, const char *kind, FcSetter setter, json_object *body, char **ret_msg)
{
    g_autofree char *err = sim_json_check(body, fc_res_schema(kind), TRUE);

    if (err) {
        *ret_msg = g_strconcat(FC_MSG_DESERIALIZE, err, NULL);
        return -1;
    }
    return setter(s, body, ret_msg);
}

/* --config-file: the same resources as the API, in the usual order, then InstanceStart. */
static int
fc_apply_config_file(FcSim *s, const char *file, char **ret_msg)
{
    static const struct { const char *key, *kind; FcSetter setter; gboolean array; } order[] = {
        { "logger", "logger", fc_res_logger, FALSE },
        { "metrics", "metrics", fc_res_metrics, FALSE },
        { "boot-source", "boot-source", fc_res_boot_source, FALSE },
        { "machine-config", "machine-config", fc_res_machine_config_put, FALSE },
        { "cpu-config", "cpu-config", fc_res_cpu_config, FALSE },
        { "drives", "drive", fc_res_drive_put, TRUE },
        { "network-interfaces", "net", fc_res_net_put, TRUE },
        { "vsock", "vsock", fc_res_vsock, FALSE },
        { "balloon", "balloon", fc_res_balloon_put, FALSE },
        { "entropy", "entropy", fc_res_entropy, FALSE },
        { "mmds-config", "mmds-config", fc_res_mmds_config, FALSE },
    };
    g_autofree char *text = NULL;
    g_autofree char *perr = NULL;
    g_autoptr(GError) gerr = NULL;
    json_object *cfg;
    int ret = -1;

    if (!g_file_get_contents(file, &text, NULL, &gerr)) {
        *ret_msg = g_strdup_printf("Unable to read the configuration file: %s", gerr->message);
        return -1;
    }
    if (!(cfg = sim_json_parse(text, &perr))) {
        *ret_msg = g_strdup_printf("Invalid configuration file: %s", perr);
        return -1;
    }
    json_object_object_foreach(cfg, key, val) {
        gboolean known = g_str_equal(key, "pmem") || g_str_equal(key, "memory-hotplug");
        (void)val;
        for (gsize i = 0; i < G_N_ELEMENTS(order); i++)
            known |= g_str_equal(order[i].key, key);
        if (!known) {
            *ret_msg = g_strdup_printf("Invalid configuration file: unknown field `%s`", key);
            goto out;
        }
    }
    for (gsize i = 0; i < G_N_ELEMENTS(order); i++) {
        json_object *v = sim_json_get(cfg, order[i].key);
        if (!v)
            continue;
        if (order[i].array) {
            if (!json_object_is_type(v, json_type_array)) {
                *ret_msg = g_strdup_printf("Invalid configuration file: `%s` must be an array",
                                           order[i].key);
                goto out;
            }
            for (size_t j = 0; j < json_object_array_length(v); j++) {
                json_object *e = json_object_array_get_idx(v, j);
                const char *id = sim_json_get_str(e, g_str_equal(order[i].kind, "drive")
                                                         ? "drive_id" : "iface_id");
                const char *m = fc_sim_check_resource_id(id);
                if (m) {
                    *ret_msg = g_strdup(m);
                    goto out;
                }
                if (fc_apply_json(s, order[i].kind, order[i].setter, e, ret_msg) < 0)
                    goto out;
            }
        } else if (fc_apply_json(s, order[i].kind, order[i].setter, v, ret_msg) < 0) {
            goto out;
        }
    }
    ret = fc_vm_instance_start(s, ret_msg);
out:
    json_object_put(cfg);
    return ret;
}

static void G_GNUC_NORETURN
fc_panic(const char *msg)
{
    struct rlimit no_core = { 0, 0 };

    /* Firecracker panics (panic = "abort"), which ends the process with SIGABRT. */
    fprintf(stderr, "thread 'main' panicked: %s\n", msg);
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGABRT, SIG_DFL);
    abort();
}

static void
fc_sim_free(FcSim *s)
{
    sim_guest_free(s->guest);
    json_object_put(s->boot_source);
    json_object_put(s->drives);
    json_object_put(s->nets);
    json_object_put(s->balloon);
    json_object_put(s->vsock);
    json_object_put(s->entropy);
    json_object_put(s->serial);
    json_object_put(s->logger);
    json_object_put(s->metrics);
    json_object_put(s->mmds_config);
    json_object_put(s->mmds);
    json_object_put(s->cpu_config);
    for (int *fd = (int[]){ s->log_fd, s->metrics_fd, s->vsock_fd, s->serial_fd }, n = 0; n < 4;
         n++)
        if (fd[n] >= 0)
            close(fd[n]);
    g_free(s->id);
    g_free(s->level);
    g_free(s->huge_pages);
    g_free(s->cpu_template);
    g_main_loop_unref(s->loop);
}

int
main(int argc, char **argv)
{
    g_autoptr(GHashTable) args = fc_parse_args(argc, argv);
    const char *sock = g_hash_table_lookup(args, "api-sock");
    const char *v;
    FcSim s = { 0 };
    SimHttpServer *srv = NULL;
    int lfd = -1;

    if (g_hash_table_contains(args, "help")) {
        fc_usage();
        return 0;
    }
    if (g_hash_table_contains(args, "version")) {
        printf("Firecracker v" FC_SIM_VERSION "\n");
        return 0;
    }
    if (g_hash_table_contains(args, "snapshot-version")) {
        printf("v8.0.0\n");
        return 0;
    }
    if (g_hash_table_contains(args, "seccomp-filter") && g_hash_table_contains(args, "no-seccomp"))
        fc_arg_error("The argument '--seccomp-filter' cannot be used with '--no-seccomp'");
    if (g_hash_table_contains(args, "no-api") && !g_hash_table_contains(args, "config-file"))
        fc_arg_error("The argument '--no-api' requires '--config-file'");
    s.id = g_strdup(g_hash_table_lookup(args, "id") ?: "anonymous-instance");
    if (!fc_id_valid(s.id))
        fc_panic("Invalid instance ID: the ID must have 1 to 64 alphanumeric or '-' characters");
    s.loop = g_main_loop_new(NULL, FALSE);
    s.vcpus = 1;
    s.mem_mib = 128;
    s.huge_pages = g_strdup("None");
    s.drives = json_object_new_array();
    s.nets = json_object_new_array();
    s.log_fd = s.metrics_fd = s.vsock_fd = s.serial_fd = -1;
    s.max_payload = 51200;
    s.level = g_strdup(g_hash_table_lookup(args, "level") ?: "Info");
    s.show_level = g_hash_table_contains(args, "show-level");
    s.show_origin = g_hash_table_contains(args, "show-log-origin");
    s.guest = sim_guest_new(fc_vm_guest_event, &s);
    if ((v = g_hash_table_lookup(args, "http-api-max-payload-size")))
        s.max_payload = (gsize)g_ascii_strtoull(v, NULL, 10);
    if ((v = g_hash_table_lookup(args, "log-path")) && (s.log_fd = sim_log_open_overwrite(v)) < 0) {
        fprintf(stderr, "Logger error: Failed to open target file: %s\n", g_strerror(errno));
        return 1;
    }
    if ((v = g_hash_table_lookup(args, "metrics-path")) && (s.metrics_fd = sim_log_open(v)) < 0) {
        fprintf(stderr, "Metrics initialization error: %s\n", g_strerror(errno));
        return 1;
    }
    if ((v = g_hash_table_lookup(args, "metadata"))) {
        g_autofree char *text = NULL;
        g_autofree char *perr = NULL;
        if (!g_file_get_contents(v, &text, NULL, NULL) || !(s.mmds = sim_json_parse(text, &perr))) {
            fprintf(stderr, "Unable to load the MMDS metadata file '%s'\n", v);
            return FC_EXIT_BAD_CONFIG;
        }
    }
    fc_sim_log(&s, "Info", "Running Firecracker v" FC_SIM_VERSION);
    if (!g_hash_table_contains(args, "no-api")) {
        if (!sock)
            sock = "/run/firecracker.socket";
        lfd = sim_http_listen_unix(sock);
        if (lfd < 0) {
            fc_sim_log(&s, "Error", "Failed to open the API socket at: %s. Check that it is not "
                       "already used.", sock);
            fprintf(stderr, "Failed to open the API socket at: %s. Check that it is not already "
                    "used.\n", sock);
            fc_sim_free(&s);
            return 1;
        }
    }
    sim_console_tty_raw(0);
    if ((v = g_hash_table_lookup(args, "config-file"))) {
        g_autofree char *msg = NULL;
        if (fc_apply_config_file(&s, v, &msg) < 0) {
            fc_sim_log(&s, "Error", "Building VMM configured from cmdline json failed: %s", msg);
            fprintf(stderr, "Building VMM configured from cmdline json failed: %s\n", msg);
            sim_console_tty_restore();
            if (lfd >= 0)
                close(lfd);
            fc_sim_free(&s);
            return FC_EXIT_BAD_CONFIG;
        }
    }
    if (lfd >= 0)
        srv = sim_http_server_new(lfd, "Firecracker API", fc_api_handle, &s);
    sim_guest_watch_signals(s.guest);
    g_main_loop_run(s.loop);
    fc_sim_log(&s, "Info", "Firecracker exiting %s. exit_code=%d",
               s.exit_code == 0 ? "successfully" : "with error", s.exit_code);
    sim_console_tty_restore();
    sim_http_server_free(srv);
    fc_sim_free(&s);
    return s.exit_code;
}
