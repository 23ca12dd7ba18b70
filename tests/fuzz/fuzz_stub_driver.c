#include "fuzz_stub_driver.h"

#include <string.h>

typedef struct {
    int id;
    CocoonDomainEventFunc cb;
    void *opaque;
    GDestroyNotify free_opaque;
} StubReg;

static GMutex stub_lock;
static GPtrArray *stub_regs; /* StubReg *, under stub_lock */
static int stub_next_id;

static const unsigned char stub_uuid[DOMAIN_UUID_LEN] = {0xc0, 0xc0, 0x01, 0x02, 0x03, 0x04,
                                                         0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                                         0x0b, 0x0c, 0x0d, 0x0e};

static bool
stub_fails(const char *name, CvError **err)
{
    if (name && name[0] != 'e')
        return false;
    cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                 name ? name : "(null)");
    return true;
}

static CocoonDomain *
stub_domain(CocoonConn *conn, const char *name, CvError **err)
{
    if (stub_fails(name, err))
        return NULL;
    return cocoon_domain_new(conn, name, stub_uuid, name[0] == 'r' ? 7 : -1);
}

static void
stub_fire(CocoonConn *conn, const CocoonDomain *dom, int event)
{
    g_mutex_lock(&stub_lock);
    for (guint i = 0; stub_regs && i < stub_regs->len; i++) {
        StubReg *r = stub_regs->pdata[i];
        CocoonDomainEvent ev = {.event_id = VIR_DOMAIN_EVENT_ID_LIFECYCLE, .event = event};
        r->cb(conn, dom, &ev, r->opaque);
    }
    g_mutex_unlock(&stub_lock);
}

static int
stub_version(CocoonConn *conn, unsigned long long *ret_version, CvError **err)
{
    *ret_version = 1016001;
    return 0;
}

static char *
stub_hostname(CocoonConn *conn, CvError **err)
{
    return g_strdup("fuzzhost");
}

static char *
stub_capabilities(CocoonConn *conn, CvError **err)
{
    return g_strdup("<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>\n");
}

static int
stub_node_info(CocoonConn *conn, CocoonNodeInfo *ret_info, CvError **err)
{
    *ret_info = (CocoonNodeInfo){.model = g_strdup("x86_64"), .memory_kib = 1 << 20, .cpus = 2,
                                 .mhz = 2000, .nodes = 1, .sockets = 1, .cores = 2, .threads = 1};
    return 0;
}

static int
stub_list_all(CocoonConn *conn, CocoonDomain ***ret_doms, size_t *ret_n, unsigned int flags,
              CvError **err)
{
    if (flags & (1u << 31)) {
        stub_fails(NULL, err);
        return -1;
    }
    CocoonDomain **doms = g_new0(CocoonDomain *, 3);
    doms[0] = cocoon_domain_new(conn, "run1", stub_uuid, 7);
    doms[1] = cocoon_domain_new(conn, "web1", stub_uuid, -1);
    *ret_doms = doms;
    *ret_n = 2;
    return 0;
}

static int
stub_num(CocoonConn *conn, CvError **err)
{
    return 1;
}

static CocoonDomain *
stub_by_name(CocoonConn *conn, const char *name, CvError **err)
{
    return stub_domain(conn, name, err);
}

static CocoonDomain *
stub_by_uuid(CocoonConn *conn, const unsigned char *uuid, CvError **err)
{
    return stub_domain(conn, uuid[0] == 0xee ? "e" : "web1", err);
}

static CocoonDomain *
stub_by_id(CocoonConn *conn, int id, CvError **err)
{
    return stub_domain(conn, id == 7 ? "run1" : NULL, err);
}

static CocoonDomain *
stub_define(CocoonConn *conn, const char *xml, unsigned int flags, CvError **err)
{
    const char *name = strstr(xml, "<name>");
    g_autofree char *n = g_strndup(name ? name + 6 : "web1", 16);
    CocoonDomain *dom = stub_domain(conn, n, err);
    if (dom)
        stub_fire(conn, dom, VIR_DOMAIN_EVENT_DEFINED);
    return dom;
}

static int
stub_dom_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    stub_fire(dom->conn, dom, VIR_DOMAIN_EVENT_STOPPED);
    return 0;
}

static int
stub_dom(CocoonDomain *dom, CvError **err)
{
    return stub_dom_flags(dom, 0, err);
}

static char *
stub_xml(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (stub_fails(dom->name, err))
        return NULL;
    return g_strdup_printf("<domain type='kvm'><name>%s</name></domain>\n", dom->name);
}

static int
stub_state(CocoonDomain *dom, int *ret_state, int *ret_reason, unsigned int flags,
           CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    *ret_state = dom->id > 0 ? VIR_DOMAIN_RUNNING : VIR_DOMAIN_SHUTOFF;
    *ret_reason = 1;
    return 0;
}

static int
stub_info(CocoonDomain *dom, CocoonDomainInfo *ret_info, CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    *ret_info = (CocoonDomainInfo){.state = VIR_DOMAIN_SHUTOFF, .max_mem_kib = 262144,
                                   .memory_kib = 262144, .nr_virt_cpu = 2};
    return 0;
}

static int
stub_bool(CocoonDomain *dom, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : dom->id > 0;
}

static int
stub_get_autostart(CocoonDomain *dom, int *ret_autostart, CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    *ret_autostart = 1;
    return 0;
}

static int
stub_set_autostart(CocoonDomain *dom, int autostart, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

static char *
stub_to_native(CocoonConn *conn, const char *format, const char *xml, unsigned int flags,
               CvError **err)
{
    if (stub_fails(format, err))
        return NULL;
    return g_strdup_printf("# %s\n", format);
}

static CocoonDomain *
stub_create_xml(CocoonConn *conn, const char *xml, unsigned int flags, CvError **err)
{
    return stub_define(conn, xml, flags, err);
}

static ssize_t
stream_recv(CocoonStream *st, char *buf, size_t n, CvError **err)
{
    return -2;
}

static ssize_t
stream_send(CocoonStream *st, const char *buf, size_t n, CvError **err)
{
    if (n && buf[0] == 'e') {
        cv_error_set(err, VIR_FROM_STREAMS, VIR_ERR_OPERATION_FAILED, "console is gone");
        return -1;
    }
    return (ssize_t)n;
}

static int
stream_end(CocoonStream *st, CvError **err)
{
    return 0;
}

static int
stream_fd(CocoonStream *st)
{
    return -1;
}

static const CocoonStreamOps stub_stream_ops = {
    .recv = stream_recv,
    .send = stream_send,
    .finish = stream_end,
    .abort = stream_end,
    .get_fd = stream_fd,
    .free_priv = g_free,
};

static int
stub_console(CocoonDomain *dom, const char *dev_name, CocoonStream *st, unsigned int flags,
             CvError **err)
{
    if (stub_fails(dom->name, err) || stub_fails(dev_name ? dev_name : "serial0", err))
        return -1;
    cocoon_stream_bind(st, &stub_stream_ops, g_strdup(dom->name));
    return 0;
}

static int
stub_register(CocoonConn *conn, CocoonDomain *dom, int event_id,
              CocoonDomainEventFunc cb, void *opaque, GDestroyNotify free_opaque,
              CvError **err)
{
    if (dom && stub_fails(dom->name, err))
        return -1;
    StubReg *r = g_new0(StubReg, 1);
    r->cb = cb;
    r->opaque = opaque;
    r->free_opaque = free_opaque;
    g_mutex_lock(&stub_lock);
    if (!stub_regs)
        stub_regs = g_ptr_array_new();
    r->id = stub_next_id++;
    g_ptr_array_add(stub_regs, r);
    g_mutex_unlock(&stub_lock);
    return r->id;
}

static int
stub_deregister(CocoonConn *conn, int callback_id, CvError **err)
{
    StubReg *found = NULL;
    g_mutex_lock(&stub_lock);
    for (guint i = 0; stub_regs && i < stub_regs->len; i++) {
        StubReg *r = stub_regs->pdata[i];
        if (r->id == callback_id) {
            found = g_ptr_array_steal_index(stub_regs, i);
            break;
        }
    }
    g_mutex_unlock(&stub_lock);
    if (!found) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "callback %d is not registered",
                     callback_id);
        return -1;
    }
    if (found->free_opaque)
        found->free_opaque(found->opaque);
    g_free(found);
    return 0;
}

static char *
stub_os_type(CocoonDomain *dom, CvError **err)
{
    return stub_fails(dom->name, err) ? NULL : g_strdup("hvm");
}

static int
stub_managed_save(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

/* ---- snapshots: 's1' (the current one) and its child 's2'; a name starting with 'e' fails */

static CocoonDomainSnapshot *
stub_snap(const CocoonDomain *dom, const char *name, CvError **err)
{
    if (stub_fails(dom->name, err) || stub_fails(name, err))
        return NULL;
    return cocoon_domain_snapshot_new(dom, name);
}

static CocoonDomainSnapshot *
stub_snap_create(CocoonDomain *dom, const char *xml, unsigned int flags, CvError **err)
{
    return stub_snap(dom, strstr(xml, "<name>e") ? "e" : "s3", err);
}

static int
stub_snap_list(const CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
               CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    CocoonDomainSnapshot **snaps = g_new0(CocoonDomainSnapshot *, 3);
    snaps[0] = cocoon_domain_snapshot_new(dom, "s1");
    snaps[1] = cocoon_domain_snapshot_new(dom, "s2");
    *ret_snaps = snaps;
    *ret_n = 2;
    return 0;
}

static int
stub_snap_list_all(CocoonDomain *dom, CocoonDomainSnapshot ***ret_snaps, size_t *ret_n,
                   unsigned int flags, CvError **err)
{
    return stub_snap_list(dom, ret_snaps, ret_n, err);
}

static int
stub_snap_children(CocoonDomainSnapshot *snap, CocoonDomainSnapshot ***ret_snaps,
                   size_t *ret_n, unsigned int flags, CvError **err)
{
    if (stub_fails(snap->name, err))
        return -1;
    return stub_snap_list(snap->dom, ret_snaps, ret_n, err);
}

static CocoonDomainSnapshot *
stub_snap_lookup(CocoonDomain *dom, const char *name, unsigned int flags, CvError **err)
{
    return stub_snap(dom, name, err);
}

static char *
stub_snap_xml(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (stub_fails(snap->name, err))
        return NULL;
    return g_strdup_printf("<domainsnapshot><name>%s</name></domainsnapshot>\n", snap->name);
}

static CocoonDomainSnapshot *
stub_snap_parent(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    if (strcmp(snap->name, "s1") == 0) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_NO_DOMAIN_SNAPSHOT,
                     "snapshot 's1' does not have a parent");
        return NULL;
    }
    return stub_snap(snap->dom, "s1", err);
}

static CocoonDomainSnapshot *
stub_snap_current(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return stub_snap(dom, "s1", err);
}

static int
stub_dom_has_current(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 1;
}

static int
stub_snap_bool(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    return stub_fails(snap->name, err) ? -1 : strcmp(snap->name, "s1") == 0;
}

static int
stub_snap_act(CocoonDomainSnapshot *snap, unsigned int flags, CvError **err)
{
    return stub_fails(snap->name, err) ? -1 : 0;
}

/* ---- host and vCPU/memory calls ---- */

static int
stub_max_vcpus(CocoonConn *conn, const char *type, CvError **err)
{
    return stub_fails(type ? type : "firecracker", err) ? -1 : 32;
}

static int
stub_free_memory(CocoonConn *conn, unsigned long long *ret_bytes, CvError **err)
{
    *ret_bytes = 1ULL << 30;
    return 0;
}

static int
stub_cpu_map(CocoonConn *conn, unsigned char **ret_map, unsigned int *ret_online,
             CvError **err)
{
    if (ret_map)
        *ret_map = g_memdup2("\x03", 1);
    if (ret_online)
        *ret_online = 2;
    return 2;
}

static int
stub_cells_free(CocoonConn *conn, unsigned long long *cells, int start, int max,
                CvError **err)
{
    if (start != 0 || max < 1) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "no cell %d", start);
        return -1;
    }
    cells[0] = 1ULL << 30;
    return 1;
}

static char *
stub_dom_caps(CocoonConn *conn, const char *emulatorbin, const char *arch, const char *machine,
              const char *virttype, unsigned int flags, CvError **err)
{
    if (stub_fails(emulatorbin ? emulatorbin : "firecracker", err))
        return NULL;
    return g_strdup("<domainCapabilities><path>/usr/bin/firecracker</path>"
                    "</domainCapabilities>\n");
}

static int
stub_max_memory(CocoonDomain *dom, unsigned long long *ret_kib, CvError **err)
{
    if (stub_fails(dom->name, err))
        return -1;
    *ret_kib = 262144;
    return 0;
}

static int
stub_vcpus_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 2;
}

static int
stub_set_memory(CocoonDomain *dom, unsigned long long kib, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

static int
stub_set_vcpus(CocoonDomain *dom, unsigned int n, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

/* ---- save / restore / managed save, keys ---- */

static int
stub_save(CocoonDomain *dom, const char *to, const char *dxml, unsigned int flags,
          CvError **err)
{
    return stub_fails(dom->name, err) || stub_fails(to, err) ? -1 : 0;
}

static int
stub_restore(CocoonConn *conn, const char *from, const char *dxml, unsigned int flags,
             CvError **err)
{
    return stub_fails(from, err) ? -1 : 0;
}

static int
stub_dom_flags_only(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

static int
stub_send_key(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
              const unsigned int *keycodes, int nkeycodes, unsigned int flags, CvError **err)
{
    return stub_fails(dom->name, err) ? -1 : 0;
}

unsigned int
fuzz_stub_registrations(void)
{
    g_mutex_lock(&stub_lock);
    unsigned int n = stub_regs ? stub_regs->len : 0;
    g_mutex_unlock(&stub_lock);
    return n;
}

const CocoonDriver fuzz_stub_driver = {
    .name = "cocoon-fuzz-stub",
    .connectGetVersion = stub_version,
    .connectGetHostname = stub_hostname,
    .connectGetCapabilities = stub_capabilities,
    .nodeGetInfo = stub_node_info,
    .connectListAllDomains = stub_list_all,
    .connectNumOfDomains = stub_num,
    .domainLookupByName = stub_by_name,
    .domainLookupByUUID = stub_by_uuid,
    .domainLookupByID = stub_by_id,
    .domainDefineXMLFlags = stub_define,
    .domainUndefineFlags = stub_dom_flags,
    .domainGetXMLDesc = stub_xml,
    .domainGetState = stub_state,
    .domainGetInfo = stub_info,
    .domainIsActive = stub_bool,
    .domainIsPersistent = stub_bool,
    .domainGetAutostart = stub_get_autostart,
    .domainSetAutostart = stub_set_autostart,
    .connectDomainXMLToNative = stub_to_native,
    .domainCreateWithFlags = stub_dom_flags,
    .domainCreateXML = stub_create_xml,
    .domainShutdownFlags = stub_dom_flags,
    .domainDestroyFlags = stub_dom_flags,
    .domainReboot = stub_dom_flags,
    .domainSuspend = stub_dom,
    .domainResume = stub_dom,
    .domainOpenConsole = stub_console,
    .connectDomainEventRegisterAny = stub_register,
    .connectDomainEventDeregisterAny = stub_deregister,
    .domainGetOSType = stub_os_type,
    .domainHasManagedSaveImage = stub_managed_save,
    .domainSnapshotCreateXML = stub_snap_create,
    .domainListAllSnapshots = stub_snap_list_all,
    .domainSnapshotListAllChildren = stub_snap_children,
    .domainSnapshotLookupByName = stub_snap_lookup,
    .domainSnapshotGetXMLDesc = stub_snap_xml,
    .domainSnapshotGetParent = stub_snap_parent,
    .domainSnapshotCurrent = stub_snap_current,
    .domainHasCurrentSnapshot = stub_dom_has_current,
    .domainSnapshotIsCurrent = stub_snap_bool,
    .domainSnapshotHasMetadata = stub_snap_bool,
    .domainRevertToSnapshot = stub_snap_act,
    .domainSnapshotDelete = stub_snap_act,
    .connectGetMaxVcpus = stub_max_vcpus,
    .nodeGetFreeMemory = stub_free_memory,
    .nodeGetCPUMap = stub_cpu_map,
    .nodeGetCellsFreeMemory = stub_cells_free,
    .connectGetDomainCapabilities = stub_dom_caps,
    .domainGetMaxMemory = stub_max_memory,
    .domainGetVcpusFlags = stub_vcpus_flags,
    .domainSetMemoryFlags = stub_set_memory,
    .domainSetVcpusFlags = stub_set_vcpus,
    .domainSaveFlags = stub_save,
    .domainRestoreFlags = stub_restore,
    .domainManagedSave = stub_dom_flags_only,
    .domainManagedSaveRemove = stub_dom_flags_only,
    .domainSendKey = stub_send_key,
};
