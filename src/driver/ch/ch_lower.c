/*
 * ChPlan → cloud-hypervisor command line, and ChPlan → VmConfig (the body of vm.create).
 * Both are pure and render the same plan, so they describe the same VM.
 */
#include "ch_lower.h"

#include <string.h>

#include "ch_plan.h"

char *
ch_api_socket_path(const char *run_dir)
{
    return g_build_filename(run_dir, "ch-api.sock", NULL);
}

/* ---- command line ------------------------------------------------------------------------ */

/*
 * One "key=value,key=value" option value. CH's option parser splits on commas outside double
 * quotes and square brackets, drops the quotes and trims each value, with no escape for a
 * quote. So a value holding a comma is passed in double quotes, and one it cannot carry
 * (a double quote, unbalanced brackets, edge blanks) is refused rather than passed on mangled.
 */
typedef struct {
    GString *text;
    const char *bad; /* first value CH's parser would mangle */
} ChOpt;

static bool
opt_value_passes(const char *value)
{
    int depth = 0;
    if (g_ascii_isspace(value[0]) || (*value && g_ascii_isspace(value[strlen(value) - 1])))
        return false;
    for (const char *p = value; *p; p++) {
        if (*p == '"')
            return false;
        if (*p == '[')
            depth++;
        else if (*p == ']' && --depth < 0)
            return false;
    }
    return depth == 0;
}

static void
opt_add(ChOpt *opt, const char *key, const char *value)
{
    if (!value)
        return;
    if (!opt_value_passes(value) && !opt->bad)
        opt->bad = value;
    if (opt->text->len)
        g_string_append_c(opt->text, ',');
    if (key)
        g_string_append_printf(opt->text, "%s=", key);
    if (strchr(value, ','))
        g_string_append_printf(opt->text, "\"%s\"", value);
    else
        g_string_append(opt->text, value);
}

static void
opt_add_uint(ChOpt *opt, const char *key, unsigned long long value)
{
    g_autofree char *text = g_strdup_printf("%llu", value);
    opt_add(opt, key, text);
}

/* A size as CH's CLI takes it: MiB when whole, else KiB. */
static void
opt_add_size(ChOpt *opt, const char *key, unsigned long long kib)
{
    g_autofree char *text = kib % 1024 == 0 ? g_strdup_printf("%lluM", kib / 1024)
                                            : g_strdup_printf("%lluK", kib);
    opt_add(opt, key, text);
}

/* Append "--flag" and the option built so far; -1 (with *err) when a value held a comma. */
static int
opt_flush(GPtrArray *argv, const char *flag, ChOpt *opt, CvError **err)
{
    g_autoptr(GString) text = opt->text;
    opt->text = NULL;
    if (opt->bad) {
        cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_CONFIG_UNSUPPORTED,
                     "'%s' cannot be passed to cloud-hypervisor %s: it holds a double quote, "
                     "unbalanced brackets or edge blanks",
                     opt->bad, flag);
        return -1;
    }
    g_ptr_array_add(argv, g_strdup(flag));
    g_ptr_array_add(argv, g_string_free(g_steal_pointer(&text), FALSE));
    return 0;
}

#define OPT_INIT { g_string_new(NULL), NULL }

static void
argv_add(GPtrArray *argv, const char *flag, const char *value)
{
    g_ptr_array_add(argv, g_strdup(flag));
    g_ptr_array_add(argv, g_strdup(value));
}

static int
argv_add_chr(GPtrArray *argv, const char *flag, const ChChrPlan *chr, CvError **err)
{
    ChOpt opt = OPT_INIT;
    switch (chr->mode) {
    case CH_CHR_OFF: opt_add(&opt, NULL, "off"); break;
    case CH_CHR_PTY: opt_add(&opt, NULL, "pty"); break;
    case CH_CHR_FILE: opt_add(&opt, "file", chr->path); break;
    case CH_CHR_SOCKET: opt_add(&opt, "socket", chr->path); break;
    case CH_CHR_TTY: opt_add(&opt, NULL, "tty"); break;
    }
    return opt_flush(argv, flag, &opt, err);
}

static int
argv_add_devices(GPtrArray *argv, const ChPlan *plan, CvError **err)
{
    for (size_t i = 0; i < plan->ndisks; i++) {
        const ChDiskPlan *d = &plan->disks[i];
        ChOpt opt = OPT_INIT;
        opt_add(&opt, "path", d->path);
        if (d->readonly)
            opt_add(&opt, "readonly", "on");
        if (d->direct)
            opt_add(&opt, "direct", "on");
        opt_add(&opt, "serial", d->serial);
        opt_add(&opt, "image_type", d->image_type);
        opt_add(&opt, "id", d->id);
        if (opt_flush(argv, "--disk", &opt, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < plan->nnets; i++) {
        const ChNetPlan *n = &plan->nets[i];
        ChOpt opt = OPT_INIT;
        opt_add(&opt, "tap", n->tap);
        opt_add(&opt, "mac", n->mac);
        opt_add(&opt, "ip", n->ip);
        opt_add(&opt, "mask", n->mask);
        if (n->mtu)
            opt_add_uint(&opt, "mtu", n->mtu);
        if (n->num_queues)
            opt_add_uint(&opt, "num_queues", n->num_queues);
        opt_add(&opt, "id", n->id);
        if (opt_flush(argv, "--net", &opt, err) < 0)
            return -1;
    }
    if (plan->rng_src) {
        ChOpt opt = OPT_INIT;
        opt_add(&opt, "src", plan->rng_src);
        if (opt_flush(argv, "--rng", &opt, err) < 0)
            return -1;
    }
    if (argv_add_chr(argv, "--serial", &plan->serial, err) < 0 ||
        argv_add_chr(argv, "--console", &plan->console, err) < 0)
        return -1;
    if (plan->balloon) {
        ChOpt opt = OPT_INIT;
        opt_add_size(&opt, "size", plan->balloon_kib);
        if (plan->deflate_on_oom)
            opt_add(&opt, "deflate_on_oom", "on");
        if (plan->free_page_reporting)
            opt_add(&opt, "free_page_reporting", "on");
        if (opt_flush(argv, "--balloon", &opt, err) < 0)
            return -1;
    }
    if (plan->vsock) {
        ChOpt opt = OPT_INIT;
        opt_add_uint(&opt, "cid", plan->vsock_cid);
        opt_add(&opt, "socket", plan->vsock_socket);
        if (opt_flush(argv, "--vsock", &opt, err) < 0)
            return -1;
    }
    for (size_t i = 0; i < plan->nfss; i++) {
        ChOpt opt = OPT_INIT;
        opt_add(&opt, "tag", plan->fss[i].tag);
        opt_add(&opt, "socket", plan->fss[i].socket);
        opt_add_uint(&opt, "num_queues", 1);
        opt_add_uint(&opt, "queue_size", plan->fss[i].queue_size);
        if (opt_flush(argv, "--fs", &opt, err) < 0)
            return -1;
    }
    for (char **dev = plan->devices; *dev; dev++) {
        ChOpt opt = OPT_INIT;
        opt_add(&opt, "path", *dev);
        if (opt_flush(argv, "--device", &opt, err) < 0)
            return -1;
    }
    return 0;
}

static GStrv
ch_lower_argv_plan(const ChPlan *plan, CvError **err)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(argv, g_strdup("cloud-hypervisor"));

    ChOpt api = OPT_INIT;
    opt_add(&api, "path", plan->api_socket);
    if (opt_flush(argv, "--api-socket", &api, err) < 0)
        return NULL;

    ChOpt cpus = OPT_INIT;
    opt_add_uint(&cpus, "boot", plan->boot_vcpus);
    opt_add_uint(&cpus, "max", plan->max_vcpus);
    if (opt_flush(argv, "--cpus", &cpus, err) < 0)
        return NULL;

    ChOpt mem = OPT_INIT;
    opt_add_size(&mem, "size", plan->memory_kib);
    if (plan->shared)
        opt_add(&mem, "shared", "on");
    if (plan->hugepages) {
        opt_add(&mem, "hugepages", "on");
        if (plan->hugepage_kib)
            opt_add(&mem, "hugepage_size", plan->hugepage_kib == 2048 ? "2M" : "1G");
    }
    if (opt_flush(argv, "--memory", &mem, err) < 0)
        return NULL;

    /* --kernel, --firmware, --initramfs and --cmdline take their value whole. */
    if (plan->kernel)
        argv_add(argv, "--kernel", plan->kernel);
    if (plan->firmware)
        argv_add(argv, "--firmware", plan->firmware);
    if (plan->initramfs)
        argv_add(argv, "--initramfs", plan->initramfs);
    if (plan->cmdline)
        argv_add(argv, "--cmdline", plan->cmdline);

    if (argv_add_devices(argv, plan, err) < 0)
        return NULL;

    g_ptr_array_add(argv, NULL);
    return (GStrv)g_ptr_array_free(g_steal_pointer(&argv), FALSE);
}

GStrv
ch_lower_argv(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err)
{
    g_autoptr(ChPlan) plan = ch_plan_new(def, ctx, err);
    if (!plan)
        return NULL;
    return ch_lower_argv_plan(plan, err);
}

/* ---- VmConfig ---------------------------------------------------------------------------- */

static void
obj_add_str(json_object *obj, const char *key, const char *value)
{
    if (value)
        json_object_object_add(obj, key, json_object_new_string(value));
}

static void
obj_add_int(json_object *obj, const char *key, long long value)
{
    json_object_object_add(obj, key, json_object_new_int64(value));
}

static void
obj_add_bool(json_object *obj, const char *key, bool value)
{
    json_object_object_add(obj, key, json_object_new_boolean(value));
}

static json_object *
vmconfig_chr(const ChChrPlan *chr)
{
    static const char *const modes[] = {
        [CH_CHR_OFF] = "Off", [CH_CHR_PTY] = "Pty", [CH_CHR_FILE] = "File",
        [CH_CHR_SOCKET] = "Socket", [CH_CHR_TTY] = "Tty",
    };
    json_object *obj = json_object_new_object();
    obj_add_str(obj, "mode", modes[chr->mode]);
    if (chr->mode == CH_CHR_FILE)
        obj_add_str(obj, "file", chr->path);
    else if (chr->mode == CH_CHR_SOCKET)
        obj_add_str(obj, "socket", chr->path);
    return obj;
}

static const char *
vmconfig_image_type(const char *cli)
{
    if (strcmp(cli, "qcow2") == 0)
        return "Qcow2";
    if (strcmp(cli, "vhd") == 0)
        return "FixedVhd";
    if (strcmp(cli, "vhdx") == 0)
        return "Vhdx";
    return "Raw";
}

static void
vmconfig_add_disks_nets(json_object *cfg, const ChPlan *plan)
{
    if (plan->ndisks) {
        json_object *disks = json_object_new_array();
        for (size_t i = 0; i < plan->ndisks; i++) {
            const ChDiskPlan *d = &plan->disks[i];
            json_object *disk = json_object_new_object();
            obj_add_str(disk, "path", d->path);
            obj_add_bool(disk, "readonly", d->readonly);
            if (d->direct)
                obj_add_bool(disk, "direct", true);
            obj_add_str(disk, "serial", d->serial);
            obj_add_str(disk, "image_type", vmconfig_image_type(d->image_type));
            obj_add_str(disk, "id", d->id);
            json_object_array_add(disks, disk);
        }
        json_object_object_add(cfg, "disks", disks);
    }
    if (plan->nnets) {
        json_object *nets = json_object_new_array();
        for (size_t i = 0; i < plan->nnets; i++) {
            const ChNetPlan *n = &plan->nets[i];
            json_object *net = json_object_new_object();
            obj_add_str(net, "tap", n->tap);
            obj_add_str(net, "mac", n->mac);
            obj_add_str(net, "ip", n->ip);
            obj_add_str(net, "mask", n->mask);
            if (n->mtu)
                obj_add_int(net, "mtu", n->mtu);
            if (n->num_queues)
                obj_add_int(net, "num_queues", n->num_queues);
            obj_add_str(net, "id", n->id);
            json_object_array_add(nets, net);
        }
        json_object_object_add(cfg, "net", nets);
    }
}

static void
vmconfig_add_devices(json_object *cfg, const ChPlan *plan)
{
    if (plan->rng_src) {
        json_object *rng = json_object_new_object();
        obj_add_str(rng, "src", plan->rng_src);
        json_object_object_add(cfg, "rng", rng);
    }
    json_object_object_add(cfg, "serial", vmconfig_chr(&plan->serial));
    json_object_object_add(cfg, "console", vmconfig_chr(&plan->console));
    if (plan->balloon) {
        json_object *balloon = json_object_new_object();
        obj_add_int(balloon, "size", (long long)(plan->balloon_kib * 1024));
        obj_add_bool(balloon, "deflate_on_oom", plan->deflate_on_oom);
        obj_add_bool(balloon, "free_page_reporting", plan->free_page_reporting);
        json_object_object_add(cfg, "balloon", balloon);
    }
    if (plan->vsock) {
        json_object *vsock = json_object_new_object();
        obj_add_int(vsock, "cid", plan->vsock_cid);
        obj_add_str(vsock, "socket", plan->vsock_socket);
        json_object_object_add(cfg, "vsock", vsock);
    }
    if (plan->nfss) {
        json_object *fss = json_object_new_array();
        for (size_t i = 0; i < plan->nfss; i++) {
            json_object *fs = json_object_new_object();
            obj_add_str(fs, "tag", plan->fss[i].tag);
            obj_add_str(fs, "socket", plan->fss[i].socket);
            obj_add_int(fs, "num_queues", 1);
            obj_add_int(fs, "queue_size", plan->fss[i].queue_size);
            json_object_array_add(fss, fs);
        }
        json_object_object_add(cfg, "fs", fss);
    }
    if (plan->devices[0]) {
        json_object *devs = json_object_new_array();
        for (char **dev = plan->devices; *dev; dev++) {
            json_object *d = json_object_new_object();
            obj_add_str(d, "path", *dev);
            json_object_array_add(devs, d);
        }
        json_object_object_add(cfg, "devices", devs);
    }
}

static json_object *
ch_lower_vmconfig_plan(const ChPlan *plan)
{
    json_object *cfg = json_object_new_object();

    json_object *payload = json_object_new_object();
    obj_add_str(payload, "kernel", plan->kernel);
    obj_add_str(payload, "firmware", plan->firmware);
    obj_add_str(payload, "cmdline", plan->cmdline);
    obj_add_str(payload, "initramfs", plan->initramfs);
    json_object_object_add(cfg, "payload", payload);

    json_object *cpus = json_object_new_object();
    obj_add_int(cpus, "boot_vcpus", plan->boot_vcpus);
    obj_add_int(cpus, "max_vcpus", plan->max_vcpus);
    json_object_object_add(cfg, "cpus", cpus);

    json_object *mem = json_object_new_object();
    obj_add_int(mem, "size", (long long)(plan->memory_kib * 1024));
    obj_add_bool(mem, "shared", plan->shared);
    obj_add_bool(mem, "hugepages", plan->hugepages);
    if (plan->hugepage_kib)
        obj_add_int(mem, "hugepage_size", (long long)(plan->hugepage_kib * 1024));
    json_object_object_add(cfg, "memory", mem);

    vmconfig_add_disks_nets(cfg, plan);
    vmconfig_add_devices(cfg, plan);
    return cfg;
}

json_object *
ch_lower_vmconfig(const DomainDef *def, const BackendLowerCtx *ctx, CvError **err)
{
    g_autoptr(ChPlan) plan = ch_plan_new(def, ctx, err);
    if (!plan)
        return NULL;
    return ch_lower_vmconfig_plan(plan);
}
