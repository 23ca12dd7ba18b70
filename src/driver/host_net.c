#include "host_net.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "host_net_priv.h"

/*
 * TAP flags. A persistent TAP made here is opened again by the VMM with its own flags: FC
 * with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, CH the same plus IFF_MULTI_QUEUE when it runs
 * more than one queue pair. The kernel lets every open choose IFF_NO_PI and IFF_VNET_HDR
 * afresh, but refuses (EINVAL) an open whose IFF_MULTI_QUEUE differs from the device's, so
 * the caller's multi_queue must match what the VMM will ask for.
 */
#define HOST_TAP_FLAGS (IFF_TAP | IFF_NO_PI)

char *
host_tap_name(const char *domain_name, size_t index)
{
    g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, domain_name, -1);
    g_autofree char *idx = g_strdup_printf("%zu", index);
    /* "cv" + 8 hex + "n" + index fits IFNAMSIZ - 1 up to index 9999; past that the hash shrinks */
    size_t fixed = strlen("cvn") + strlen(idx);
    size_t room = fixed < IFNAMSIZ - 1 ? IFNAMSIZ - 1 - fixed : 0;
    return g_strdup_printf("cv%.*sn%s", (int)MIN(room, 8), sum, idx);
}

static int
host_tap_name_check(const char *name, CvError **err)
{
    size_t len = strlen(name);
    if (len == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        strpbrk(name, "/:% \t\n") != NULL) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED, "invalid TAP name '%s'", name);
        return -1;
    }
    if (len > IFNAMSIZ - 1) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "TAP name '%s' is longer than %d characters", name, IFNAMSIZ - 1);
        return -1;
    }
    return 0;
}

/* Open /dev/net/tun and bind it to TAP name (created if missing). fd, or -1 with errno. */
static int
host_tap_open(const char *name, bool multi_queue, bool exclusive)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr = {0};
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    ifr.ifr_flags = HOST_TAP_FLAGS;
    if (multi_queue)
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    if (exclusive)
        ifr.ifr_flags |= IFF_TUN_EXCL;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/*
 * Create TAP name as a persistent device, or, when an interface of that name exists, check
 * the VMM will be able to open it as a TAP with these flags. *ret_created says which.
 */
static int
host_tap_create_or_adopt(const char *name, bool multi_queue, bool *ret_created, CvError **err)
{
    /* IFF_TUN_EXCL: create or fail with EBUSY, so "created" is never a guess */
    int fd = host_tap_open(name, multi_queue, true);
    if (fd >= 0) {
        if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
            /* closing the only fd of a non-persistent TAP deletes it: nothing is left */
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot make TAP '%s' persistent", name);
            close(fd);
            return -1;
        }
        close(fd);
        *ret_created = true;
        return 0;
    }
    if (errno != EBUSY) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot create TAP '%s'", name);
        return -1;
    }
    fd = host_tap_open(name, multi_queue, false);
    if (fd < 0) {
        if (errno == EINVAL)
            cv_error_set_errno(err, VIR_FROM_NONE, errno,
                               "cannot use existing interface '%s': it is not a TAP, or not one "
                               "%s multi-queue",
                               name, multi_queue ? "with" : "without");
        else
            cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open existing TAP '%s'", name);
        return -1;
    }
    close(fd); /* the device was there before us and stays */
    *ret_created = false;
    return 0;
}

/* Look up TAP name; *ret_link is new. 0, or -1 with *err (sys_errno ENODEV when missing). */
static int
host_link_get(HostNl *nl, const char *name, HostNlLink **ret_link, CvError **err)
{
    HostNlLink *link = NULL;
    host_nl_begin(nl);
    int rc = rtnl_link_get_kernel(nl->sk, 0, name, &link);
    if (rc < 0) {
        host_nl_error(nl, rc, err, "cannot find TAP '%s'", name);
        return -1;
    }
    *ret_link = link;
    return 0;
}

/* Apply changes to link; on failure, an error "cannot <action> …" naming the TAP. */
static int host_link_change(HostNl *nl, HostNlLink *link, HostNlLink *changes, CvError **err,
                            const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static int
host_link_change(HostNl *nl, HostNlLink *link, HostNlLink *changes, CvError **err, const char *fmt,
                 ...)
{
    host_nl_begin(nl);
    int rc = rtnl_link_change(nl->sk, link, changes, 0);
    if (rc < 0) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *text = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        host_nl_error(nl, rc, err, "%s", text);
        return -1;
    }
    return 0;
}

static HostNlLink *
host_link_new_change(void)
{
    HostNlLink *change = rtnl_link_alloc();
    if (!change)
        g_error("out of memory");
    return change;
}

/* Look up bridge for TAP name; *ret_br is new. 0, or -1 with *err naming both. */
static int
host_bridge_get(HostNl *nl, const char *name, const char *bridge, HostNlLink **ret_br,
                CvError **err)
{
    g_autoptr(HostNlLink) br = NULL;
    host_nl_begin(nl);
    int rc = rtnl_link_get_kernel(nl->sk, 0, bridge, &br);
    if (host_nl_is_errno(nl, rc, ENODEV)) {
        cv_error_set_errno(err, VIR_FROM_NONE, ENODEV,
                           "cannot attach TAP '%s' to bridge '%s': no such bridge", name, bridge);
        return -1;
    }
    if (rc < 0) {
        host_nl_error(nl, rc, err, "cannot attach TAP '%s' to bridge '%s'", name, bridge);
        return -1;
    }
    const char *type = rtnl_link_get_type(br);
    if (!type || strcmp(type, "bridge") != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "cannot attach TAP '%s' to '%s': it is not a bridge", name, bridge);
        return -1;
    }
    *ret_br = g_steal_pointer(&br);
    return 0;
}

/* Attach TAP link to bridge br; *ret_old_master is its master before (0: none). */
static int
host_tap_attach_bridge(HostNl *nl, HostNlLink *link, const char *name, HostNlLink *br,
                       int *ret_old_master, CvError **err)
{
    const char *bridge = rtnl_link_get_name(br);
    int old_master = rtnl_link_get_master(link);
    if (old_master != rtnl_link_get_ifindex(br)) {
        g_autoptr(HostNlLink) change = host_link_new_change();
        rtnl_link_set_master(change, rtnl_link_get_ifindex(br));
        if (host_link_change(nl, link, change, err, "cannot attach TAP '%s' to bridge '%s'", name,
                             bridge) < 0)
            return -1;
    }
    *ret_old_master = old_master;
    return 0;
}

/*
 * MTU, bridge, link up, addresses, routes. What is changed on a TAP that existed before is
 * recorded (undo, *ret_old_master: -1 when the master was not touched) for the rollback.
 */
static int
host_tap_configure(HostNl *nl, const DomainNetDef *net, const char *name, HostNetUndo *undo,
                   int *ret_old_master, CvError **err)
{
    g_autoptr(HostNlLink) link = NULL;
    if (host_link_get(nl, name, &link, err) < 0)
        return -1;
    int ifindex = rtnl_link_get_ifindex(link);

    g_autoptr(HostNlLink) br = NULL;
    if (net->type == DOMAIN_NET_TYPE_BRIDGE && host_bridge_get(nl, name, net->bridge, &br, err) < 0)
        return -1;
    /* without <mtu>, a TAP on a bridge takes the bridge's: a smaller port would lower it */
    unsigned int mtu = net->mtu ? net->mtu : br ? rtnl_link_get_mtu(br) : 0;
    if (mtu && rtnl_link_get_mtu(link) != mtu) {
        g_autoptr(HostNlLink) change = host_link_new_change();
        rtnl_link_set_mtu(change, mtu);
        if (host_link_change(nl, link, change, err, "cannot set MTU %u on TAP '%s'", mtu, name) < 0)
            return -1;
    }
    if (br && host_tap_attach_bridge(nl, link, name, br, ret_old_master, err) < 0)
        return -1;
    if (!(rtnl_link_get_flags(link) & IFF_UP)) {
        g_autoptr(HostNlLink) change = host_link_new_change();
        rtnl_link_set_flags(change, IFF_UP);
        if (host_link_change(nl, link, change, err, "cannot bring up TAP '%s'", name) < 0)
            return -1;
    }
    if (host_net_addrs_apply(nl, name, ifindex, net, undo, err) < 0 ||
        host_net_routes_apply(nl, name, ifindex, net, undo, err) < 0)
        return -1;
    return 0;
}

/* Delete interface name; a missing one is fine. Only TAPs are deleted. */
static int
host_tap_delete(HostNl *nl, const char *name, CvError **err)
{
    g_autoptr(HostNlLink) link = NULL;
    host_nl_begin(nl);
    int rc = rtnl_link_get_kernel(nl->sk, 0, name, &link);
    if (host_nl_is_errno(nl, rc, ENODEV))
        return 0;
    if (rc < 0) {
        host_nl_error(nl, rc, err, "cannot find TAP '%s'", name);
        return -1;
    }
    const char *type = rtnl_link_get_type(link);
    if (type && strcmp(type, "tun") != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_INVALID,
                     "interface '%s' is a %s, not a TAP: not deleting it", name, type);
        return -1;
    }
    host_nl_begin(nl);
    rc = rtnl_link_delete(nl->sk, link);
    if (rc < 0 && !host_nl_is_errno(nl, rc, ENODEV)) {
        host_nl_error(nl, rc, err, "cannot delete TAP '%s'", name);
        return -1;
    }
    return 0;
}

/* <target managed='no'>: the TAP must be there; it is used as it is. */
static int
host_tap_check_unmanaged(HostNl *nl, const char *name, CvError **err)
{
    g_autoptr(HostNlLink) link = NULL;
    host_nl_begin(nl);
    int rc = rtnl_link_get_kernel(nl->sk, 0, name, &link);
    if (rc < 0) {
        host_nl_error(nl, rc, err, "TAP '%s' of <target managed='no'> is not usable", name);
        return -1;
    }
    const char *type = rtnl_link_get_type(link);
    if (type && strcmp(type, "tun") != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "interface '%s' of <target managed='no'> is a %s, not a TAP", name, type);
        return -1;
    }
    return 0;
}

static int
host_tap_setup(HostNl *nl, const DomainNetDef *net, const char *name, bool multi_queue,
               bool *ret_created, CvError **err)
{
    bool created = false;
    if (host_tap_create_or_adopt(name, multi_queue, &created, err) < 0)
        return -1;

    HostNetUndo undo;
    host_net_undo_init(&undo);
    int old_master = -1;
    int ret = host_tap_configure(nl, net, name, &undo, &old_master, err);
    if (ret < 0) {
        if (created) {
            host_tap_delete(nl, name, NULL);
        } else {
            host_net_undo_run(nl, &undo);
            g_autoptr(HostNlLink) link = NULL;
            if (old_master >= 0 && rtnl_link_get_kernel(nl->sk, 0, name, &link) == 0 &&
                rtnl_link_get_master(link) != old_master) {
                g_autoptr(HostNlLink) change = host_link_new_change();
                rtnl_link_set_master(change, old_master);
                host_link_change(nl, link, change, NULL, "restore master");
            }
        }
    } else {
        *ret_created = created;
    }
    host_net_undo_clear(&undo);
    return ret;
}

int
host_tap_prepare(const DomainNetDef *net, const char *name, bool multi_queue, bool *ret_created,
                 CvError **err)
{
    if (host_tap_name_check(name, err) < 0)
        return -1;
    if (net->type == DOMAIN_NET_TYPE_BRIDGE && !net->target_managed_no &&
        (!net->bridge || !*net->bridge)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_CONFIG_UNSUPPORTED,
                     "interface '%s' of type 'bridge' has no <source bridge>", name);
        return -1;
    }
    HostNl nl = {0};
    if (host_nl_open(&nl, err) < 0)
        return -1;
    bool created = false;
    int ret = net->target_managed_no ? host_tap_check_unmanaged(&nl, name, err)
                                     : host_tap_setup(&nl, net, name, multi_queue, &created, err);
    host_nl_close(&nl);
    if (ret == 0)
        *ret_created = created;
    return ret;
}

int
host_tap_remove(const char *name, CvError **err)
{
    if (host_tap_name_check(name, err) < 0)
        return -1;
    HostNl nl = {0};
    if (host_nl_open(&nl, err) < 0)
        return -1;
    int ret = host_tap_delete(&nl, name, err);
    host_nl_close(&nl);
    return ret;
}

int
host_netns_enter(const char *path, int *ret_self, CvError **err)
{
    *ret_self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (*ret_self < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot enter network namespace '%s'",
                           path);
        if (target >= 0)
            close(target);
        if (*ret_self >= 0)
            close(*ret_self);
        *ret_self = -1;
        return -1;
    }
    close(target);
    return 0;
}

void
host_netns_leave(int self)
{
    if (self < 0)
        return;
    if (setns(self, CLONE_NEWNET) < 0)
        g_warning("cannot return to the network namespace of this thread: %s", g_strerror(errno));
    close(self);
}

int
host_tap_set_owner(const char *name, long uid, long gid, const char *netns, CvError **err)
{
    if (host_tap_name_check(name, err) < 0)
        return -1;
    int self = -1;
    if (netns && host_netns_enter(netns, &self, err) < 0)
        return -1;
    int ret = -1;
    int fd = host_tap_open(name, false, false);
    if (fd < 0 && errno == EINVAL)
        fd = host_tap_open(name, true, false);
    if (fd < 0)
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot open TAP '%s'", name);
    else if (ioctl(fd, TUNSETOWNER, uid) < 0 || ioctl(fd, TUNSETGROUP, gid) < 0)
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot give TAP '%s' to %ld:%ld", name,
                           uid, gid);
    else
        ret = 0;
    if (fd >= 0)
        close(fd);
    host_netns_leave(self);
    return ret;
}
