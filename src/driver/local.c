#include "local.h"
#include "local_cocoon.h"
#include "local_console.h"

#include <string.h>

#include "domain_events.h"
#include "domain_watch.h"
#include "host_net_mac.h"
#include "local_lifecycle.h"
#include "local_save.h"
#include "local_snapshot.h"
#include "util/cv_process.h"

/*
 * The local driver's domain entry points. Each one: check flags, find the domain in the
 * store (by name, checking the reference's uuid), act, answer. The store does the locking
 * and durability; backends validate and lower; nothing here knows a hypervisor.
 * The lifecycle members live in local_lifecycle.c; every lookup here first checks that a
 * domain recorded as running still has its VMM (local_lifecycle_check).
 */

static LocalDriverPriv *
priv_of(CocoonConn *conn)
{
    return conn->priv;
}

int
local_check_flags(unsigned int flags, unsigned int allowed, const char *func, CvError **err)
{
    if (flags & ~allowed) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG,
                     "unsupported flags (0x%x) in function %s", flags & ~allowed, func);
        return -1;
    }
    return 0;
}

static int
entry_id(const DomainStoreEntry *e)
{
    return domain_status_is_active(&e->status) ? e->status.id : -1;
}

/* Which definition answers for e: the running one (written by the lifecycle code at start)
 * unless the caller asks for the persistent one with VIR_DOMAIN_XML_INACTIVE. */
static bool
entry_use_live(const DomainStoreEntry *e, unsigned int flags)
{
    if (!domain_status_is_active(&e->status))
        return false;
    return !e->persistent || !(flags & VIR_DOMAIN_XML_INACTIVE);
}

/* The definition of dom that answers for flags; a persistent domain whose live definition is
 * missing answers with its persistent one. */
static char *
entry_read_xml(CocoonDomain *dom, const DomainStoreEntry *e, unsigned int flags, CvError **err)
{
    DomainStore *store = priv_of(dom->conn)->store;
    if (entry_use_live(e, flags)) {
        CvError *lerr = NULL;
        char *xml = domain_store_read_xml(store, dom->name, true, dom->uuid, &lerr);
        if (xml)
            return xml;
        if (!e->persistent || lerr->code != VIR_ERR_NO_DOMAIN) {
            if (err && !*err)
                *err = lerr;
            else
                cv_error_free(lerr);
            return NULL;
        }
        cv_error_free(lerr);
    }
    return domain_store_read_xml(store, dom->name, false, dom->uuid, err);
}

static CocoonDomain *
domain_from_entry(CocoonConn *conn, const DomainStoreEntry *e)
{
    return cocoon_domain_new(conn, e->name, e->uuid, entry_id(e));
}

/* The store's view of dom, which must still be the domain the reference was made for
 * (lookup: DomainStoreLookupFlags). */
bool
local_domain_refresh_name(CocoonDomain *dom)
{
    g_autoptr(DomainStoreEntry) e =
        domain_store_lookup_uuid(priv_of(dom->conn)->store, dom->uuid, NULL);
    if (!e || strcmp(e->name, dom->name) == 0)
        return false;
    g_free(dom->name);
    dom->name = g_strdup(e->name);
    return true;
}

static DomainStoreEntry *
entry_of_flags(CocoonDomain *dom, unsigned int lookup, CvError **err)
{
    CvError *lerr = NULL;
    g_autoptr(DomainStoreEntry) e =
        domain_store_lookup_handle(priv_of(dom->conn)->store, dom->name, dom->uuid, lookup, &lerr);
    /* libvirt finds a domain by its uuid: a handle whose name is stale still works */
    if (!e && lerr->code == VIR_ERR_NO_DOMAIN && local_domain_refresh_name(dom)) {
        cv_error_free(g_steal_pointer(&lerr));
        e = domain_store_lookup_handle(priv_of(dom->conn)->store, dom->name, dom->uuid, lookup,
                                       &lerr);
    }
    if (!e) {
        if (err && !*err)
            *err = lerr;
        else
            cv_error_free(lerr);
        return NULL;
    }
    if (!local_lifecycle_check(dom->conn, e)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                     dom->name);
        return NULL;
    }
    if (memcmp(e->uuid, dom->uuid, DOMAIN_UUID_LEN) != 0) {
        char us[DOMAIN_UUID_STRING_LEN];
        domain_uuid_format(dom->uuid, us);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching uuid '%s' (%s)",
                     us, dom->name);
        return NULL;
    }
    return g_steal_pointer(&e);
}

static DomainStoreEntry *
entry_of(CocoonDomain *dom, CvError **err)
{
    return entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NONE, err);
}

DomainDef *
local_domain_read_def(CocoonDomain *dom, bool inactive, DomainStoreEntry **ret_entry,
                      CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return NULL;
    g_autofree char *xml = entry_read_xml(dom, e, inactive ? VIR_DOMAIN_XML_INACTIVE : 0, err);
    if (!xml)
        return NULL;
    DomainDef *def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
    if (def && ret_entry)
        *ret_entry = g_steal_pointer(&e);
    return def;
}

/* ---- connection -------------------------------------------------------------------------- */

static void
local_connect_close(CocoonConn *conn)
{
    LocalDriverPriv *priv = conn->priv;
    if (!priv)
        return;
    domain_watch_stop(priv);
    domain_events_free(priv->events);
    g_mutex_clear(&priv->watch_lock);
    domain_store_free(priv->store);
    cocoon_config_free(priv->config);
    g_free(priv);
    conn->priv = NULL;
}

CocoonConn *
local_conn_open(const char *uri, const char *root, const char *run, CvError **err)
{
    g_autoptr(CocoonConfig) config = cocoon_config_load(NULL, err);
    if (!config)
        return NULL;
    g_autoptr(DomainStore) store = domain_store_open(root, run, err);
    if (!store)
        return NULL;
    /* one configuration per process: the daemon and the CLI open one connection */
    cv_process_set_start_timeout_default(config->start_timeout_ms);
    LocalDriverPriv *priv = g_new0(LocalDriverPriv, 1);
    priv->store = g_steal_pointer(&store);
    priv->config = g_steal_pointer(&config);
    priv->events = domain_events_new();
    g_mutex_init(&priv->watch_lock);
    CocoonConn *conn = g_new0(CocoonConn, 1);
    conn->driver = &local_driver;
    conn->uri = g_strdup(uri);
    conn->priv = priv;
    return conn;
}

/* ---- lists and lookups ------------------------------------------------------------------- */

/* Does e pass a filter group: neither flag of the group given, or the one e satisfies? */
static bool
group_ok(unsigned int flags, unsigned int yes_flag, unsigned int no_flag, bool value)
{
    if (!(flags & (yes_flag | no_flag)))
        return true;
    return value ? (flags & yes_flag) : (flags & no_flag);
}

static bool
entry_matches(DomainStore *store, const DomainStoreEntry *e, unsigned int flags)
{
    bool active = domain_status_is_active(&e->status);
    int state = e->status.state;
    if (!group_ok(flags, VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_DOMAINS_INACTIVE,
                  active) ||
        !group_ok(flags, VIR_CONNECT_LIST_DOMAINS_PERSISTENT, VIR_CONNECT_LIST_DOMAINS_TRANSIENT,
                  e->persistent) ||
        !group_ok(flags, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART,
                  e->autostart) ||
        /* no managed save and no checkpoints exist in Cocoon */
        !group_ok(flags, VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE,
                  VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, false) ||
        !group_ok(flags, VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT,
                  VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, false))
        return false;

    unsigned int state_flags = VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |
                               VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER;
    if (flags & state_flags) {
        unsigned int mine = state == VIR_DOMAIN_RUNNING   ? VIR_CONNECT_LIST_DOMAINS_RUNNING
                            : state == VIR_DOMAIN_PAUSED  ? VIR_CONNECT_LIST_DOMAINS_PAUSED
                            : state == VIR_DOMAIN_SHUTOFF ? VIR_CONNECT_LIST_DOMAINS_SHUTOFF
                                                          : VIR_CONNECT_LIST_DOMAINS_OTHER;
        if (!(flags & mine))
            return false;
    }
    if (flags & (VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT)) {
        bool snaps = e->persistent && domain_store_has_snapshots(store, e->name);
        if (!group_ok(flags, VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT,
                      VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, snaps))
            return false;
    }
    return true;
}

/* Running domains first by id, then the others by name. */
static gint
entry_order(gconstpointer a, gconstpointer b)
{
    const DomainStoreEntry *x = *(DomainStoreEntry *const *)a;
    const DomainStoreEntry *y = *(DomainStoreEntry *const *)b;
    int ix = entry_id(x), iy = entry_id(y);
    if ((ix >= 0) != (iy >= 0))
        return ix >= 0 ? -1 : 1;
    if (ix >= 0 && ix != iy)
        return ix < iy ? -1 : 1;
    return strcmp(x->name, y->name);
}

#define LIST_FLAGS_ALL                                                                             \
    (VIR_CONNECT_LIST_DOMAINS_ACTIVE | VIR_CONNECT_LIST_DOMAINS_INACTIVE |                         \
     VIR_CONNECT_LIST_DOMAINS_PERSISTENT | VIR_CONNECT_LIST_DOMAINS_TRANSIENT |                    \
     VIR_CONNECT_LIST_DOMAINS_RUNNING | VIR_CONNECT_LIST_DOMAINS_PAUSED |                          \
     VIR_CONNECT_LIST_DOMAINS_SHUTOFF | VIR_CONNECT_LIST_DOMAINS_OTHER |                           \
     VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE | VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE |              \
     VIR_CONNECT_LIST_DOMAINS_AUTOSTART | VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART |                  \
     VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT | VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT |                \
     VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT | VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT)

static int
local_connect_list_all_domains(CocoonConn *conn, CocoonDomain ***ret_doms, size_t *ret_n,
                               unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, LIST_FLAGS_ALL, __func__, err) < 0)
        return -1;
    DomainStore *store = priv_of(conn)->store;
    g_autoptr(GPtrArray) entries = NULL;
    if (domain_store_list(store, &entries, err) < 0)
        return -1;

    for (guint i = entries->len; i-- > 0;)
        if (!local_lifecycle_check(conn, entries->pdata[i]))
            g_ptr_array_remove_index(entries, i);
    g_ptr_array_sort(entries, entry_order);

    CocoonDomain **doms = g_new0(CocoonDomain *, entries->len + 1);
    size_t n = 0;
    for (guint i = 0; i < entries->len; i++) {
        const DomainStoreEntry *e = entries->pdata[i];
        if (entry_matches(store, e, flags))
            doms[n++] = domain_from_entry(conn, e);
    }
    if (ret_doms)
        *ret_doms = doms;
    else
        cocoon_domain_list_free(doms);
    if (ret_n)
        *ret_n = n;
    return 0;
}

static int
local_connect_num_of_domains(CocoonConn *conn, CvError **err)
{
    size_t n = 0;
    if (local_connect_list_all_domains(conn, NULL, &n, VIR_CONNECT_LIST_DOMAINS_ACTIVE, err) < 0)
        return -1;
    return (int)n;
}

/* local_lifecycle_check on a looked-up e; false with NO_DOMAIN when it went meanwhile. */
static bool
entry_still_there(CocoonConn *conn, DomainStoreEntry *e, CvError **err)
{
    if (local_lifecycle_check(conn, e))
        return true;
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching name '%s'",
                 e->name);
    return false;
}

static CocoonDomain *
local_domain_lookup_by_name(CocoonConn *conn, const char *name, CvError **err)
{
    g_autoptr(DomainStoreEntry) e =
        domain_store_lookup_name(priv_of(conn)->store, name, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    return e && entry_still_there(conn, e, err) ? domain_from_entry(conn, e) : NULL;
}

static CocoonDomain *
local_domain_lookup_by_uuid(CocoonConn *conn, const unsigned char *uuid, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = domain_store_lookup_uuid(priv_of(conn)->store, uuid, err);
    return e && entry_still_there(conn, e, err) ? domain_from_entry(conn, e) : NULL;
}

static CocoonDomain *
local_domain_lookup_by_id(CocoonConn *conn, int id, CvError **err)
{
    g_autoptr(GPtrArray) entries = NULL;
    if (id >= 0 && domain_store_list(priv_of(conn)->store, &entries, err) < 0)
        return NULL;
    for (guint i = 0; entries && i < entries->len; i++) {
        DomainStoreEntry *e = entries->pdata[i];
        if (local_lifecycle_check(conn, e) && entry_id(e) == id)
            return domain_from_entry(conn, e);
    }
    cv_error_set(err, VIR_FROM_CH, VIR_ERR_NO_DOMAIN, "no domain with matching id %d", id);
    return NULL;
}

/* ---- definitions ------------------------------------------------------------------------- */

static CocoonDomain *
local_domain_define_xml_flags(CocoonConn *conn, const char *xml, unsigned int flags, CvError **err)
{
    /* we always validate against what the backend can honour */
    if (local_check_flags(flags, VIR_DOMAIN_DEFINE_VALIDATE, __func__, err) < 0)
        return NULL;
    LocalDriverPriv *priv = priv_of(conn);
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err);
    if (!def)
        return NULL;
    if (domain_store_check_name(def->name, err) < 0)
        return NULL;
    const CocoonBackend *backend = cocoon_config_backend_for_def(priv->config, def, err);
    if (!backend || backend->validate(def, err) < 0)
        return NULL;
    /* a generated MAC another domain has is derived again, then stored with the definition */
    if (host_net_macs_unique(priv->store, def, err) < 0)
        return NULL;
    g_autofree char *canonical = domain_def_format(def, -1);
    bool created = false;
    if (domain_store_save(priv->store, def->name, def->uuid, canonical, &created, err) < 0)
        return NULL;

    DomainStatus st;
    if (domain_store_status(priv->store, def->name, &st, NULL) < 0)
        domain_status_init(&st);
    int id = domain_status_is_active(&st) ? st.id : -1;
    domain_status_clear(&st);
    local_lifecycle_emit(conn, def->name, def->uuid, id, VIR_DOMAIN_EVENT_DEFINED,
                         created ? VIR_DOMAIN_EVENT_DEFINED_ADDED : VIR_DOMAIN_EVENT_DEFINED_UPDATED);
    return cocoon_domain_new(conn, def->name, def->uuid, id);
}

#define UNDEFINE_FLAGS_ALL                                                                         \
    (VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |                   \
     VIR_DOMAIN_UNDEFINE_NVRAM | VIR_DOMAIN_UNDEFINE_KEEP_NVRAM |                                  \
     VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_TPM |                          \
     VIR_DOMAIN_UNDEFINE_KEEP_TPM)

/* The checks and the removal of undefine, under the domain's job: a start in progress (it
 * holds the job from before it reads the definition until its status is written) finishes
 * first, so that the domain is running (and goes on transient) or not, never both (found by
 * tests/hostile/test_concurrency.py: lookups said "no domain" while the start went on, then
 * the domain came back running). */
static int
undefine_locked(CocoonDomain *dom, LocalJob *job, unsigned int flags, CvError **err)
{
    if (!job->persistent) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "cannot undefine transient domain");
        return -1;
    }
    if (local_managed_save_exists(job->priv, dom->name) &&
        !(flags & VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "Refusing to undefine while domain managed save image exists");
        return -1;
    }
    int nsnaps = local_snapshot_count(dom->conn, dom->name, err);
    if (nsnaps < 0)
        return -1;
    if (nsnaps > 0 && !(flags & VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "cannot delete inactive domain with %d snapshots", nsnaps);
        return -1;
    }
    if (domain_store_delete(job->priv->store, dom->name, dom->uuid, err) < 0)
        return -1;
    bool active = domain_status_is_active(&job->st);
    local_lifecycle_emit(dom->conn, dom->name, dom->uuid, active ? job->st.id : -1,
                         VIR_DOMAIN_EVENT_UNDEFINED, VIR_DOMAIN_EVENT_UNDEFINED_REMOVED);
    if (!active) {
        /* a domain that never ran leaves nothing behind here, not even its lock's folder
         * (every listing would look into it); one with logs keeps them for gc */
        domain_store_live_drop_empty(job->priv->store, dom->name);
        return 0;
    }
    /* as libvirt: a running domain loses its definition and runs on as transient */
    job->st.persistent = false;
    job->persistent = false;
    return local_job_save(job, err);
}

static int
local_domain_undefine_flags(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, UNDEFINE_FLAGS_ALL, __func__, err) < 0)
        return -1;
    g_autoptr(DomainStoreEntry) e = entry_of(dom, err);
    if (!e)
        return -1;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    int rc = undefine_locked(dom, &job, flags, err);
    local_job_end(&job);
    return rc;
}

static char *
local_domain_get_xml_desc(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags,
                    VIR_DOMAIN_XML_SECURE | VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_UPDATE_CPU |
                        VIR_DOMAIN_XML_MIGRATABLE,
                    __func__, err) < 0)
        return NULL;
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return NULL;
    return entry_read_xml(dom, e, flags, err);
}

static int
local_domain_get_state(CocoonDomain *dom, int *ret_state, int *ret_reason, unsigned int flags,
                       CvError **err)
{
    if (local_check_flags(flags, 0, __func__, err) < 0)
        return -1;
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return -1;
    if (ret_state)
        *ret_state = e->status.state;
    if (ret_reason)
        *ret_reason = e->status.reason;
    return 0;
}

static int
local_domain_get_info(CocoonDomain *dom, CocoonDomainInfo *ret_info, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return -1;
    g_autofree char *xml = entry_read_xml(dom, e, 0, err);
    if (!xml)
        return -1;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
    if (!def)
        return -1;
    *ret_info = (CocoonDomainInfo){
        .state = e->status.state,
        .max_mem_kib = def->memory_kib,
        .memory_kib = def->current_memory_kib ? def->current_memory_kib : def->memory_kib,
        .nr_virt_cpu = def->vcpus_current ? def->vcpus_current : def->vcpus,
    };
    /* libvirt's measure: what the hypervisor process has used, all its threads */
    if (domain_status_is_active(&e->status) && e->status.pid > 0 &&
        cv_process_cpu_time(e->status.pid, e->status.start_time, &ret_info->cpu_time_ns) < 0)
        ret_info->cpu_time_ns = 0;
    return 0;
}

static char *
local_domain_get_os_type(CocoonDomain *dom, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return NULL;
    g_autofree char *xml = entry_read_xml(dom, e, 0, err);
    if (!xml)
        return NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_NO_GENERATE, err);
    if (!def)
        return NULL;
    return g_strdup(def->os.type ? def->os.type : "hvm");
}

static int
local_domain_has_managed_save_image(CocoonDomain *dom, unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainHasManagedSaveImage", err) < 0)
        return -1;
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    if (!e)
        return -1;
    return local_managed_save_exists(priv_of(dom->conn), dom->name) ? 1 : 0;
}

static int
local_domain_is_active(CocoonDomain *dom, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    return e ? domain_status_is_active(&e->status) : -1;
}

static int
local_domain_is_persistent(CocoonDomain *dom, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of_flags(dom, DOMAIN_STORE_LOOKUP_NO_AUTOSTART, err);
    return e ? e->persistent : -1;
}

static int
local_domain_get_autostart(CocoonDomain *dom, int *ret_autostart, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of(dom, err);
    if (!e)
        return -1;
    *ret_autostart = e->autostart;
    return 0;
}

static int
local_domain_set_autostart(CocoonDomain *dom, int autostart, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = entry_of(dom, err);
    if (!e)
        return -1;
    if (!e->persistent) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "cannot set autostart for transient domain");
        return -1;
    }
    return domain_store_set_autostart(priv_of(dom->conn)->store, dom->name, dom->uuid,
                                      autostart != 0, err);
}

static char *
local_connect_domain_xml_to_native(CocoonConn *conn, const char *format, const char *xml,
                                   unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, __func__, err) < 0)
        return NULL;
    LocalDriverPriv *priv = priv_of(conn);
    const CocoonBackend *backend = format ? backend_for_native_format(format) : NULL;
    if (!backend) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED, "unsupported native format '%s'",
                     format ? format : "");
        return NULL;
    }
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, DOMAIN_DEF_PARSE_FLAGS_NONE, err);
    if (!def)
        return NULL;
    if (def->emulator) {
        const CocoonBackend *own = cocoon_config_backend_for_def(priv->config, def, err);
        if (!own)
            return NULL;
        if (own != backend) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                         "native format '%s' is for %s, but domain '%s' uses %s", format,
                         backend->name, def->name, own->name);
            return NULL;
        }
    } else {
        /* no <emulator>: the format names the hypervisor */
        def->emulator = g_strdup(cocoon_config_default_emulator(priv->config, backend));
    }
    g_autofree char *run_dir = domain_store_live_dir(priv->store, def->name);
    BackendLowerCtx ctx = {.run_dir = run_dir};
    return backend->to_native(def, format, &ctx, err);
}

/* ---- consoles (local_console.c) ---------------------------------------------------------- */

static int
local_domain_open_console(CocoonDomain *dom, const char *dev_name, CocoonStream *st,
                          unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, VIR_DOMAIN_CONSOLE_FORCE | VIR_DOMAIN_CONSOLE_SAFE,
                    "virDomainOpenConsole", err) < 0)
        return -1;
    g_autoptr(DomainStoreEntry) e = entry_of(dom, err);
    if (!e)
        return -1;
    if (!domain_status_is_active(&e->status)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        return -1;
    }
    /* one console per domain: the first <console>/<serial>, by either alias */
    if (dev_name && strcmp(dev_name, "console0") != 0 && strcmp(dev_name, "serial0") != 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INTERNAL_ERROR, "cannot find character device %s",
                     dev_name);
        return -1;
    }
    g_autofree char *live = domain_store_live_dir(priv_of(dom->conn)->store, dom->name);
    return local_console_open(live, flags, st, err);
}

const CocoonDriver local_driver = {
    .name = "cocoon-local",
    .connectClose = local_connect_close,
    .connectGetVersion = local_connect_get_version,
    .connectGetHostname = local_connect_get_hostname,
    .connectGetCapabilities = local_connect_get_capabilities,
    .nodeGetInfo = local_node_get_info,
    .connectListAllDomains = local_connect_list_all_domains,
    .connectNumOfDomains = local_connect_num_of_domains,
    .domainLookupByName = local_domain_lookup_by_name,
    .domainLookupByUUID = local_domain_lookup_by_uuid,
    .domainLookupByID = local_domain_lookup_by_id,
    .domainDefineXMLFlags = local_domain_define_xml_flags,
    .domainUndefineFlags = local_domain_undefine_flags,
    .domainGetXMLDesc = local_domain_get_xml_desc,
    .domainGetState = local_domain_get_state,
    .domainGetInfo = local_domain_get_info,
    .domainIsActive = local_domain_is_active,
    .domainIsPersistent = local_domain_is_persistent,
    .domainGetAutostart = local_domain_get_autostart,
    .domainSetAutostart = local_domain_set_autostart,
    .connectDomainXMLToNative = local_connect_domain_xml_to_native,
    .domainGetOSType = local_domain_get_os_type,
    .domainHasManagedSaveImage = local_domain_has_managed_save_image,
    .domainOpenConsole = local_domain_open_console,
    .connectGetMaxVcpus = local_connect_get_max_vcpus,
    .nodeGetFreeMemory = local_node_get_free_memory,
    .nodeGetCPUMap = local_node_get_cpu_map,
    .nodeGetCellsFreeMemory = local_node_get_cells_free_memory,
    .connectGetDomainCapabilities = local_connect_get_domain_capabilities,
    .domainGetMaxMemory = local_domain_get_max_memory,
    .domainGetVcpusFlags = local_domain_get_vcpus_flags,
    .domainGetVcpus = local_domain_get_vcpus,
    .domainGetCPUStats = local_domain_get_cpu_stats,
    .domainMemoryStats = local_domain_memory_stats,
    .domainBlockStats = local_domain_block_stats,
    .domainInterfaceStats = local_domain_interface_stats,
    .connectGetAllDomainStats = local_connect_get_all_domain_stats,
    .domainSetMemoryFlags = local_domain_set_memory_flags,
    .domainSetVcpusFlags = local_domain_set_vcpus_flags,
    .domainGetBlockInfo = local_domain_get_block_info,
    .domainSendKey = local_domain_send_key,
    .domainCreateWithFlags = local_domain_create_with_flags,
    .domainCreateXML = local_domain_create_xml,
    .domainShutdownFlags = local_domain_shutdown_flags,
    .domainDestroyFlags = local_domain_destroy_flags,
    .domainReboot = local_domain_reboot,
    .domainSuspend = local_domain_suspend,
    .domainResume = local_domain_resume,
    .connectDomainEventRegisterAny = local_connect_domain_event_register_any,
    .connectDomainEventDeregisterAny = local_connect_domain_event_deregister_any,
    .domainSnapshotCreateXML = local_domain_snapshot_create_xml,
    .domainListAllSnapshots = local_domain_list_all_snapshots,
    .domainSnapshotListAllChildren = local_domain_snapshot_list_all_children,
    .domainSnapshotLookupByName = local_domain_snapshot_lookup_by_name,
    .domainSnapshotGetXMLDesc = local_domain_snapshot_get_xml_desc,
    .domainSnapshotGetParent = local_domain_snapshot_get_parent,
    .domainSnapshotCurrent = local_domain_snapshot_current,
    .domainHasCurrentSnapshot = local_domain_has_current_snapshot,
    .domainSnapshotIsCurrent = local_domain_snapshot_is_current,
    .domainSnapshotHasMetadata = local_domain_snapshot_has_metadata,
    .domainRevertToSnapshot = local_domain_revert_to_snapshot,
    .domainSnapshotDelete = local_domain_snapshot_delete,
    .domainSaveFlags = local_domain_save_flags,
    .domainRestoreFlags = local_domain_restore_flags,
    .domainManagedSave = local_domain_managed_save,
    .domainManagedSaveRemove = local_domain_managed_save_remove,
    .cocoonSnapshotExport = local_snapshot_export,
    .cocoonSnapshotImport = local_snapshot_import,
    .cocoonGarbageCollect = local_garbage_collect,
    .cocoonDomainCloneFromSnapshot = local_domain_clone_from_snapshot,
};
