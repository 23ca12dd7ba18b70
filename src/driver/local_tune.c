#include "local_lifecycle.h"

#include <string.h>

#include "driver/backend.h"

/*
 * setmem / setmaxmem / setvcpus: live where the VMM can (its balloon; CH's vCPU hotplug),
 * in the persistent definition with VIR_DOMAIN_AFFECT_CONFIG (re-validated by the backend, as
 * a define is). VIR_DOMAIN_AFFECT_CURRENT is live for a running domain, config otherwise.
 */

/* Which of live / config flags asks for, for a domain whose activity is active. */
static int
affect_resolve(unsigned int flags, bool active, bool *ret_live, bool *ret_config, CvError **err)
{
    bool live = flags & VIR_DOMAIN_AFFECT_LIVE, config = flags & VIR_DOMAIN_AFFECT_CONFIG;
    if (!live && !config) {
        live = active;
        config = !active;
    }
    if (live && !active) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        return -1;
    }
    *ret_live = live;
    *ret_config = config;
    return 0;
}

/* Change the persistent definition with edit, and define it again (validated, DEFINED). */
static int
config_edit(CocoonDomain *dom, void (*edit)(DomainDef *def, unsigned long long v),
            unsigned long long v, CvError **err)
{
    g_autoptr(DomainStoreEntry) e = NULL;
    g_autoptr(DomainDef) def = local_domain_read_def(dom, true, &e, err);
    if (!def)
        return -1;
    if (!e->persistent) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                     "transient domains do not have any persistent config");
        return -1;
    }
    edit(def, v);
    g_autofree char *xml = domain_def_format(def, -1);
    g_autoptr(CocoonDomain) again = dom->conn->driver->domainDefineXMLFlags(dom->conn, xml, 0, err);
    return again ? 0 : -1;
}

static void
edit_current_memory(DomainDef *def, unsigned long long kib)
{
    def->current_memory_kib = kib;
}

static void
edit_max_memory(DomainDef *def, unsigned long long kib)
{
    def->memory_kib = kib;
    if (def->current_memory_kib > kib)
        def->current_memory_kib = kib;
}

static void
edit_vcpus_current(DomainDef *def, unsigned long long n)
{
    def->vcpus_current = (unsigned int)n;
}

static void
edit_vcpus_max(DomainDef *def, unsigned long long n)
{
    def->vcpus = (unsigned int)n;
    if (def->vcpus_current > n)
        def->vcpus_current = (unsigned int)n;
}

/* The live half: under the domain's job, the backend acts, then the running definition is
 * updated with edit. */
typedef int (*LiveAct)(const CocoonBackend *b, const BackendVm *vm, const DomainDef *def,
                       unsigned long long v, CvError **err);

static int
live_change(CocoonDomain *dom, LiveAct act, void (*edit)(DomainDef *, unsigned long long),
            unsigned long long v, bool balloon_event, CvError **err)
{
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    int rc = -1;
    g_autoptr(DomainDef) def = NULL;
    const CocoonBackend *b = NULL;
    if (job.st.state == VIR_DOMAIN_SHUTOFF) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        goto out;
    }
    if (!(b = local_job_backend(&job, err)) ||
        !(def = domain_store_load_def(job.priv->store, job.name, true, job.uuid, err)))
        goto out;
    BackendVm vm = local_job_vm(&job);
    if (act(b, &vm, def, v, err) < 0)
        goto out;
    edit(def, v);
    if (local_job_write_live_def(&job, def, job.st.id, err) < 0)
        goto out;
    if (balloon_event)
        local_events_emit_balloon_change(dom->conn, job.name, job.uuid, job.st.id, v);
    rc = 0;
out:
    local_job_end(&job);
    return rc;
}

static int
act_memory(const CocoonBackend *b, const BackendVm *vm, const DomainDef *def,
           unsigned long long kib, CvError **err)
{
    if (!def->memballoon || def->memballoon->none) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "a live memory change needs a <memballoon model='virtio'> on %s", b->name);
        return -1;
    }
    if (kib > def->memory_kib) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG,
                     "cannot set memory higher than max memory");
        return -1;
    }
    return b->set_memory(vm, def, kib, err);
}

static int
act_vcpus(const CocoonBackend *b, const BackendVm *vm, const DomainDef *def,
          unsigned long long n, CvError **err)
{
    if (!b->set_vcpus) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "%s cannot change the vCPUs of a running VM: no vCPU hotplug", b->name);
        return -1;
    }
    if (n < 1 || n > def->vcpus) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG,
                     "requested vcpus is greater than max allowable vcpus for the live domain: "
                     "%llu > %u",
                     n, def->vcpus);
        return -1;
    }
    return b->set_vcpus(vm, (unsigned int)n, err);
}

int
local_domain_set_memory_flags(CocoonDomain *dom, unsigned long long kib, unsigned int flags,
                              CvError **err)
{
    if (local_check_flags(flags,
                          VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG |
                              VIR_DOMAIN_MEM_MAXIMUM,
                          "virDomainSetMemoryFlags", err) < 0)
        return -1;
    int active = dom->conn->driver->domainIsActive(dom, err);
    bool live, config;
    if (active < 0 || affect_resolve(flags, active, &live, &config, err) < 0)
        return -1;
    if (flags & VIR_DOMAIN_MEM_MAXIMUM) {
        if (live) {
            cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID,
                         "cannot resize the maximum memory on an active domain");
            return -1;
        }
        return config_edit(dom, edit_max_memory, kib, err);
    }
    if (live && live_change(dom, act_memory, edit_current_memory, kib, true, err) < 0)
        return -1;
    return config ? config_edit(dom, edit_current_memory, kib, err) : 0;
}

int
local_domain_set_vcpus_flags(CocoonDomain *dom, unsigned int n, unsigned int flags,
                             CvError **err)
{
    if (local_check_flags(flags,
                          VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG |
                              VIR_DOMAIN_VCPU_MAXIMUM,
                          "virDomainSetVcpusFlags", err) < 0)
        return -1;
    if (n == 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "%s",
                     "argument unsupported: vcpus must be greater than zero");
        return -1;
    }
    int active = dom->conn->driver->domainIsActive(dom, err);
    bool live, config;
    if (active < 0 || affect_resolve(flags, active, &live, &config, err) < 0)
        return -1;
    if (flags & VIR_DOMAIN_VCPU_MAXIMUM) {
        if (live) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                         "changing the maximum vCPU count of a running domain is not supported");
            return -1;
        }
        return config_edit(dom, edit_vcpus_max, n, err);
    }
    if (live && live_change(dom, act_vcpus, edit_vcpus_current, n, false, err) < 0)
        return -1;
    return config ? config_edit(dom, edit_vcpus_current, n, err) : 0;
}

/* Linux key codes (VIR_KEYCODE_SET_LINUX) of the keys a Ctrl+Alt+Del is made of. */
#define KEY_LEFTCTRL 29
#define KEY_LEFTALT 56
#define KEY_RIGHTCTRL 97
#define KEY_RIGHTALT 100
#define KEY_DELETE 111

static bool
is_ctrl_alt_del(unsigned int codeset, const unsigned int *keys, int n)
{
    if (codeset != VIR_KEYCODE_SET_LINUX || n != 3)
        return false;
    bool ctrl = false, alt = false, del = false;
    for (int i = 0; i < n; i++) {
        ctrl |= keys[i] == KEY_LEFTCTRL || keys[i] == KEY_RIGHTCTRL;
        alt |= keys[i] == KEY_LEFTALT || keys[i] == KEY_RIGHTALT;
        del |= keys[i] == KEY_DELETE;
    }
    return ctrl && alt && del;
}

int
local_domain_send_key(CocoonDomain *dom, unsigned int codeset, unsigned int holdtime,
                      const unsigned int *keycodes, int nkeycodes, unsigned int flags,
                      CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainSendKey", err) < 0)
        return -1;
    LocalJob job;
    if (local_job_begin(dom->conn, dom->name, dom->uuid, false, &job, err) < 0)
        return -1;
    int rc = -1;
    const CocoonBackend *b = NULL;
    if (job.st.state == VIR_DOMAIN_SHUTOFF) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_INVALID, "domain is not running");
        goto out;
    }
    if (!(b = local_job_backend(&job, err)))
        goto out;
    if (!b->send_ctrl_alt_del) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "%s has no keyboard to send keys to", b->name);
        goto out;
    }
    if (!is_ctrl_alt_del(codeset, keycodes, nkeycodes)) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_UNSUPPORTED,
                     "%s sends only Ctrl+Alt+Del (KEY_LEFTCTRL KEY_LEFTALT KEY_DELETE)", b->name);
        goto out;
    }
    BackendVm vm = local_job_vm(&job);
    rc = b->send_ctrl_alt_del(&vm, err);
out:
    local_job_end(&job);
    return rc;
}
