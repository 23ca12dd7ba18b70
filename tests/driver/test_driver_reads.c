/*
 * The local driver's read path: the definition cache never answers with a definition that
 * changed (redefined through another connection, replaced or rewritten by hand, live and
 * persistent apart), and reads made under cocoon_nowait_begin never wait for a domain's lock:
 * they give up on a domain whose VMM died (that needs the lock to reconcile) and answer at once
 * otherwise; the same read made where waiting is allowed then shows the domain crashed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/domain_status.h"
#include "driver/driver.h"
#include "driver/driver_nowait.h"
#include "driver_test.h"

#define U1 "11111111-2222-3333-4444-5555555555a1"
#define U2 "11111111-2222-3333-4444-5555555555a2"

/* Longer than the time after which the cache keeps a file (DEF_CACHE_SETTLE_NS). */
#define SETTLE_US (120 * 1000)

static char *
dom_xml(const char *name, const char *uuid, unsigned int mib)
{
    return g_strdup_printf("<domain type='kvm'>\n"
                           "  <name>%s</name>\n"
                           "  <uuid>%s</uuid>\n"
                           "  <memory unit='MiB'>%u</memory>\n"
                           "  <vcpu>1</vcpu>\n"
                           "  <os>\n"
                           "    <type arch='x86_64'>hvm</type>\n"
                           "    <kernel>/boot/vmlinux</kernel>\n"
                           "  </os>\n"
                           "  <devices>\n"
                           "    <emulator>/usr/bin/firecracker</emulator>\n"
                           "  </devices>\n"
                           "</domain>\n",
                           name, uuid, mib);
}

static bool
has_memory(const char *xml, unsigned long kib)
{
    g_autofree char *want = g_strdup_printf("<memory unit='KiB'>%lu</memory>", kib);
    return xml && strstr(xml, want) != NULL;
}

/* Replace path with text the way an editor saving a copy does (new file, rename). */
static void
replace_file(const char *path, const char *text)
{
    g_autofree char *tmp = g_strconcat(path, ".new", NULL);
    g_assert(g_file_set_contents(tmp, text, -1, NULL));
    g_assert(rename(tmp, path) == 0);
}

/* Rewrite path in place (same inode), as an editor that truncates and writes does. */
static void
rewrite_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    g_assert(fd >= 0);
    size_t len = strlen(text);
    g_assert(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

static void
test_cache_sees_changes(void)
{
    g_autofree char *root = test_root_new("cocoon-reads-XXXXXX");
    CocoonConn *a = test_root_open(root);
    CocoonConn *b = test_root_open(root); /* another store, as another process has */
    CvError *err = NULL;
    g_autofree char *path = g_build_filename(root, "domains", "c1", "domain.xml", NULL);

    /* sizes chosen so that every version has the same length */
    g_autofree char *v1 = dom_xml("c1", U1, 101);
    CocoonDomain *dom = a->driver->domainDefineXMLFlags(a, v1, 0, &err);
    CHECK(dom && !err);
    cocoon_domain_free(dom);
    g_usleep(SETTLE_US);
    for (int i = 0; i < 3; i++) {
        g_autofree char *x = test_dumpxml(a, "c1", 0);
        CHECK(has_memory(x, 101 * 1024));
    }

    /* redefined through the other connection: seen at once by the first */
    g_autofree char *v2 = dom_xml("c1", U1, 102);
    dom = b->driver->domainDefineXMLFlags(b, v2, 0, &err);
    CHECK(dom && !err);
    cocoon_domain_free(dom);
    g_autofree char *x2 = test_dumpxml(a, "c1", 0);
    CHECK(has_memory(x2, 102 * 1024));
    g_autofree char *x2i = test_dumpxml(a, "c1", VIR_DOMAIN_XML_INACTIVE);
    CHECK(has_memory(x2i, 102 * 1024));

    /* replaced by hand (new file, same length), read again at once, and after settling */
    g_usleep(SETTLE_US);
    g_autofree char *x2again = test_dumpxml(a, "c1", 0);
    CHECK(has_memory(x2again, 102 * 1024));
    g_autofree char *canon = g_strdup(x2again);
    g_autofree char *v3 = NULL;
    {
        /* the canonical text with another memory size of the same length */
        char *p = strstr(canon, "<memory unit='KiB'>104448</memory>");
        CHECK(p != NULL);
        if (p)
            memcpy(p, "<memory unit='KiB'>105472</memory>", 34);
        v3 = g_strdup(canon);
    }
    replace_file(path, v3);
    g_autofree char *x3 = test_dumpxml(a, "c1", 0);
    CHECK(has_memory(x3, 103 * 1024));

    /* rewritten in place (same inode, same length) */
    g_usleep(SETTLE_US);
    g_autofree char *x3b = test_dumpxml(a, "c1", 0);
    CHECK(has_memory(x3b, 103 * 1024));
    char *p = strstr(canon, "<memory unit='KiB'>105472</memory>");
    CHECK(p != NULL);
    if (p)
        memcpy(p, "<memory unit='KiB'>106496</memory>", 34);
    rewrite_file(path, canon);
    g_autofree char *x4 = test_dumpxml(a, "c1", 0);
    CHECK(has_memory(x4, 104 * 1024));

    /* undefined through the other connection: gone for the first at once */
    dom = b->driver->domainLookupByName(b, "c1", &err);
    CHECK(dom && !err);
    if (dom) {
        CHECK(b->driver->domainUndefineFlags(dom, 0, &err) == 0 && !err);
        cocoon_domain_free(dom);
    }
    g_clear_pointer(&err, cv_error_free);
    CHECK(test_dumpxml(a, "c1", 0) == NULL);
    dom = a->driver->domainLookupByName(a, "c1", &err);
    CHECK(!dom);
    CHECK_ERR(err, VIR_ERR_NO_DOMAIN, "Domain not found: no domain with matching name 'c1'");

    /* a new domain of that name with another uuid: the old handle no longer matches */
    g_autofree char *v5 = dom_xml("c1", U2, 101);
    dom = b->driver->domainDefineXMLFlags(b, v5, 0, &err);
    CHECK(dom && !err);
    cocoon_domain_free(dom);
    unsigned char u1[DOMAIN_UUID_LEN];
    domain_uuid_parse(U1, u1);
    g_autoptr(CocoonDomain) old = cocoon_domain_new(a, "c1", u1, -1);
    char *x5 = a->driver->domainGetXMLDesc(old, 0, &err);
    CHECK(x5 == NULL);
    g_free(x5);
    CHECK(err && err->code == VIR_ERR_NO_DOMAIN);
    g_clear_pointer(&err, cv_error_free);

    cocoon_conn_close(a);
    cocoon_conn_close(b);
    test_root_remove(root);
}

/* A pid that is certainly not running any more: a child that exited and was reaped. */
static pid_t
dead_pid(void)
{
    pid_t pid = fork();
    g_assert(pid >= 0);
    if (pid == 0)
        _exit(0);
    g_assert(waitpid(pid, NULL, 0) == pid);
    return pid;
}

typedef struct {
    CocoonConn *conn;
    const char *name;
    int state;
    int reason;
    gint64 done_at;
} StateCall;

static gpointer
state_thread(gpointer data)
{
    StateCall *sc = data;
    CvError *err = NULL;
    g_autoptr(CocoonDomain) dom = sc->conn->driver->domainLookupByName(sc->conn, sc->name, &err);
    if (!dom || sc->conn->driver->domainGetState(dom, &sc->state, &sc->reason, 0, &err) < 0)
        sc->state = -1;
    cv_error_free(err);
    sc->done_at = g_get_monotonic_time();
    return NULL;
}

static void
test_nowait_reads(void)
{
    g_autofree char *root = test_root_new("cocoon-reads-XXXXXX");
    CocoonConn *conn = test_root_open(root);
    const CocoonDriver *drv = conn->driver;
    CvError *err = NULL;

    g_autofree char *xa = dom_xml("alive", U1, 64);
    g_autofree char *xd = dom_xml("dead", U2, 64);
    cocoon_domain_free(drv->domainDefineXMLFlags(conn, xa, 0, &err));
    cocoon_domain_free(drv->domainDefineXMLFlags(conn, xd, 0, &err));
    CHECK(!err);

    /* "dead" is recorded as running, its VMM long gone; its live definition is there */
    g_autofree char *live = g_build_filename(root, "run", "domains", "dead", NULL);
    g_assert(g_mkdir_with_parents(live, 0700) == 0);
    DomainStatus st;
    domain_status_init(&st);
    st.state = VIR_DOMAIN_RUNNING;
    st.reason = VIR_DOMAIN_RUNNING_BOOTED;
    st.id = 7;
    st.pid = dead_pid();
    st.start_time = 1;
    st.backend = g_strdup("firecracker");
    st.persistent = true;
    CHECK_OK(domain_status_save(live, &st, &err) == 0, err);
    domain_status_clear(&st);
    g_autofree char *live_def = g_build_filename(live, "domain.xml", NULL);
    g_assert(g_file_set_contents(live_def, xd, -1, NULL));

    /* the locks of both domains are held, as a start in progress holds them */
    g_autofree char *live_alive = g_build_filename(root, "run", "domains", "alive", NULL);
    g_assert(g_mkdir_with_parents(live_alive, 0700) == 0);
    int lock_dead = open(live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int lock_alive = open(live_alive, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    g_assert(lock_dead >= 0 && lock_alive >= 0);
    g_assert(flock(lock_dead, LOCK_EX) == 0 && flock(lock_alive, LOCK_EX) == 0);

    /* reads that need no lock answer at once, and are not given up */
    gint64 t0 = g_get_monotonic_time();
    cocoon_nowait_begin();
    g_autofree char *xml = test_dumpxml(conn, "alive", 0);
    CocoonDomain *dom = drv->domainLookupByName(conn, "alive", &err);
    int state = -1, reason = -1;
    if (dom)
        drv->domainGetState(dom, &state, &reason, 0, &err);
    bool gave_up = cocoon_nowait_end();
    cocoon_domain_free(dom);
    g_clear_pointer(&err, cv_error_free);
    CHECK(!gave_up);
    CHECK(xml && strstr(xml, "<name>alive</name>"));
    CHECK(state == VIR_DOMAIN_SHUTOFF);

    /* a read of the domain whose VMM died gives up instead of waiting for its lock */
    cocoon_nowait_begin();
    dom = drv->domainLookupByName(conn, "dead", &err);
    if (dom)
        drv->domainGetState(dom, &state, &reason, 0, &err);
    gave_up = cocoon_nowait_end();
    cocoon_domain_free(dom);
    g_clear_pointer(&err, cv_error_free);
    CHECK(gave_up);
    CHECK(g_get_monotonic_time() - t0 < 2 * G_USEC_PER_SEC);
    /* the bracket is over: later calls are not given up */
    CHECK(!cocoon_nowait_end());

    /* where waiting is allowed, the same read waits for the lock, then reconciles */
    StateCall sc = {.conn = conn, .name = "dead", .state = -2};
    GThread *th = g_thread_new("state", state_thread, &sc);
    g_usleep(300 * 1000);
    gint64 released_at = g_get_monotonic_time();
    flock(lock_dead, LOCK_UN);
    g_thread_join(th);
    CHECK(sc.done_at >= released_at);
    CHECK(sc.state == VIR_DOMAIN_SHUTOFF);
    CHECK(sc.reason == VIR_DOMAIN_SHUTOFF_CRASHED);

    /* reconciled: the read no longer needs the lock */
    cocoon_nowait_begin();
    dom = drv->domainLookupByName(conn, "dead", &err);
    state = -1;
    if (dom)
        drv->domainGetState(dom, &state, &reason, 0, &err);
    gave_up = cocoon_nowait_end();
    cocoon_domain_free(dom);
    g_clear_pointer(&err, cv_error_free);
    CHECK(!gave_up);
    CHECK(state == VIR_DOMAIN_SHUTOFF && reason == VIR_DOMAIN_SHUTOFF_CRASHED);

    close(lock_dead);
    close(lock_alive);
    cocoon_conn_close(conn);
    test_root_remove(root);
}

int
main(void)
{
    g_setenv("COCOON_CONFIG", "/nonexistent/cocoon.conf", TRUE);
    g_unsetenv("COCOON_DEFAULT_URI");

    test_cache_sees_changes();
    test_nowait_reads();

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all read path checks passed\n");
    return 0;
}
