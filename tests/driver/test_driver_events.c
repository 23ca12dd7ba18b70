/* The local driver's events beyond lifecycle, in-process, on the Firecracker simulator (its
 * path is the argument): a live setmem raises BALLOON_CHANGE with the new size, a reboot
 * REBOOT, a save JOB_COMPLETED with the save operation and its elapsed time; registering an
 * id past libvirt's gets libvirtd's error; events of other ids never reach a callback. */

#include <unistd.h>

#include "driver_test.h"

typedef struct {
    GMutex lock;
    GCond cond;
    GString *seen;
} Seen;

static void
on_event(CocoonConn *conn, const CocoonDomain *dom, const CocoonDomainEvent *ev, void *opaque)
{
    Seen *s = opaque;
    g_mutex_lock(&s->lock);
    g_string_append_printf(s->seen, "%d:%s", ev->event_id, dom->name);
    if (ev->event_id == VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE)
        g_string_append_printf(s->seen, ":%llu", ev->actual_kib);
    for (size_t i = 0; ev->params && i < ev->params->n; i++)
        if (strcmp(ev->params->params[i].field, VIR_DOMAIN_JOB_OPERATION) == 0)
            g_string_append_printf(s->seen, ":op%d", ev->params->params[i].value.i);
        else if (strcmp(ev->params->params[i].field, VIR_DOMAIN_JOB_TIME_ELAPSED) == 0)
            g_string_append(s->seen, ":elapsed");
    g_string_append_c(s->seen, ';');
    g_cond_broadcast(&s->cond);
    g_mutex_unlock(&s->lock);
}

/* Wait until s->seen holds want; true when it does. */
static bool
seen_wait(Seen *s, const char *want)
{
    gint64 deadline = g_get_monotonic_time() + 20 * G_TIME_SPAN_SECOND;
    g_mutex_lock(&s->lock);
    bool found;
    while (!(found = strstr(s->seen->str, want) != NULL))
        if (!g_cond_wait_until(&s->cond, &s->lock, deadline))
            break;
    g_mutex_unlock(&s->lock);
    if (!found)
        fprintf(stderr, "events seen '%s', wanted '%s'\n", s->seen->str, want);
    return found;
}

int
main(int argc, char **argv)
{
    if (argc != 2 || access(argv[1], X_OK) != 0) {
        printf("SKIP: the Firecracker simulator is not built\n");
        return 77;
    }
    g_autofree char *root = test_root_new("cocoon-events-XXXXXX");
    g_setenv("COCOON_FIRECRACKER", argv[1], TRUE);
    g_autofree char *conf = g_build_filename(root, "none.conf", NULL);
    g_setenv("COCOON_CONFIG", conf, TRUE);
    g_autofree char *kernel = g_build_filename(root, "vmlinux", NULL);
    g_autofree char *disk = g_build_filename(root, "root.raw", NULL);
    g_assert(g_file_set_contents(kernel, "\x7f" "ELF\x02\x01\x01", 7, NULL));
    g_assert(truncate(kernel, 1 << 20) == 0 && g_file_set_contents(disk, "", 0, NULL) &&
             truncate(disk, 8 << 20) == 0);
    g_autofree char *xml = g_strdup_printf(
        "<domain type='kvm'><name>ev</name><memory unit='MiB'>128</memory>"
        "<currentMemory unit='MiB'>128</currentMemory><vcpu>1</vcpu>"
        "<os><type arch='x86_64'>hvm</type><kernel>%s</kernel>"
        "<cmdline>console=ttyS0 reboot=k panic=1</cmdline></os>"
        "<devices><emulator>/usr/bin/firecracker</emulator>"
        "<disk type='file' device='disk'><source file='%s'/><target dev='vda' bus='virtio'/>"
        "</disk><serial type='pty'><target port='0'/></serial>"
        "<memballoon model='virtio'/></devices></domain>",
        kernel, disk);

    CvError *err = NULL;
    CocoonConn *conn = test_root_open(root);
    Seen s = {.seen = g_string_new(NULL)};
    g_mutex_init(&s.lock);
    g_cond_init(&s.cond);

    /* every id libvirt 9.0 knows registers; one past them is libvirtd's own error */
    int ids[3];
    int n = 0;
    for (int id = VIR_DOMAIN_EVENT_ID_LIFECYCLE; id <= VIR_DOMAIN_EVENT_ID_MEMORY_DEVICE_SIZE_CHANGE;
         id++) {
        if (id != VIR_DOMAIN_EVENT_ID_REBOOT && id != VIR_DOMAIN_EVENT_ID_BALLOON_CHANGE &&
            id != VIR_DOMAIN_EVENT_ID_JOB_COMPLETED) {
            int cb = conn->driver->connectDomainEventRegisterAny(conn, NULL, id, on_event, &s,
                                                                 NULL, &err);
            CHECK_OK(cb >= 0, err);
            if (id != VIR_DOMAIN_EVENT_ID_LIFECYCLE)
                CHECK_OK(conn->driver->connectDomainEventDeregisterAny(conn, cb, &err) == 0, err);
            continue;
        }
        ids[n] = conn->driver->connectDomainEventRegisterAny(conn, NULL, id, on_event, &s, NULL,
                                                             &err);
        CHECK_OK(ids[n] >= 0, err);
        n++;
    }
    CHECK(conn->driver->connectDomainEventRegisterAny(conn, NULL, 99, on_event, &s, NULL,
                                                      &err) < 0);
    CHECK_ERR(err, VIR_ERR_INTERNAL_ERROR, "internal error: unsupported event ID 99");

    g_autoptr(CocoonDomain) dom = conn->driver->domainDefineXMLFlags(conn, xml, 0, &err);
    CHECK_OK(dom, err);
    if (dom) {
        CHECK_OK(conn->driver->domainCreateWithFlags(dom, 0, &err) == 0, err);
        CHECK_OK(conn->driver->domainSetMemoryFlags(dom, 96 * 1024, VIR_DOMAIN_AFFECT_LIVE,
                                                    &err) == 0,
                 err);
        CHECK(seen_wait(&s, "13:ev:98304;"));
        CHECK_OK(conn->driver->domainReboot(dom, 0, &err) == 0, err);
        CHECK(seen_wait(&s, "1:ev;"));
        g_autofree char *save = g_build_filename(root, "ev.save", NULL);
        CHECK_OK(conn->driver->domainSaveFlags(dom, save, NULL, 0, &err) == 0, err);
        CHECK(seen_wait(&s, "21:ev:op2:elapsed;")); /* 2: VIR_DOMAIN_JOB_OPERATION_SAVE */
        CHECK_OK(conn->driver->domainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE, &err) == 0,
                 err);
    }
    for (int i = 0; i < n; i++)
        CHECK_OK(conn->driver->connectDomainEventDeregisterAny(conn, ids[i], &err) == 0, err);
    cocoon_conn_close(conn);
    g_string_free(s.seen, TRUE);
    test_root_remove(root);
    return failures ? 1 : 0;
}
