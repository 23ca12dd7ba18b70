/*
 * Real TAPs, in a network namespace of this process's own so the host is never touched:
 * create, adopt, <target managed='no'>, bridge attach, host addresses and routes (read back
 * through netlink), removal, rollback after a failure, flag compatibility with the way the
 * VMMs open their TAPs, and names. Needs root and /dev/net/tun (else skipped with 77).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/host_net.h"
#include "../driver_test.h"

#define BRIDGE "cvtestbr0"

static struct nl_sock *sk;

static struct rtnl_link *
link_get(const char *name)
{
    struct rtnl_link *link = NULL;
    if (rtnl_link_get_kernel(sk, 0, name, &link) < 0)
        return NULL;
    return link;
}

static bool
link_exists(const char *name)
{
    struct rtnl_link *link = link_get(name);
    if (link)
        rtnl_link_put(link);
    return link != NULL;
}

/* Open TAP name the way a VMM does (FC: no multi-queue; CH with queue pairs: multi-queue). */
static int
vmm_open(const char *name, bool multi_queue)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ifreq ifr = {0};
    g_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (multi_queue ? IFF_MULTI_QUEUE : 0);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static gint
cmp_strp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "local[ peer P]" of every address on ifindex, sorted, ";"-joined (IPv6 link-local left out). */
static char *
addrs_of(int ifindex)
{
    struct nl_cache *cache = NULL;
    g_assert(rtnl_addr_alloc_cache(sk, &cache) == 0);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_addr *a = (struct rtnl_addr *)o;
        if (rtnl_addr_get_ifindex(a) != ifindex)
            continue;
        char buf[128], pbuf[128];
        nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf));
        if (g_str_has_prefix(buf, "fe80:"))
            continue;
        if (rtnl_addr_get_peer(a) && nl_addr_cmp(rtnl_addr_get_peer(a), rtnl_addr_get_local(a)))
            g_ptr_array_add(
                out, g_strdup_printf("%s peer %s", buf,
                                     nl_addr2str(rtnl_addr_get_peer(a), pbuf, sizeof(pbuf))));
        else
            g_ptr_array_add(out, g_strdup(buf));
    }
    nl_cache_free(cache);
    g_ptr_array_sort(out, cmp_strp);
    g_ptr_array_add(out, NULL);
    return g_strjoinv(";", (char **)out->pdata);
}

/* "dst[ via gw]" of every main-table route we could have added through ifindex, sorted. */
static char *
routes_of(int ifindex)
{
    struct nl_cache *cache = NULL;
    g_assert(rtnl_route_alloc_cache(sk, AF_UNSPEC, 0, &cache) == 0);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_protocol(r) != RTPROT_BOOT ||
            rtnl_route_get_nnexthops(r) != 1)
            continue;
        struct rtnl_nexthop *nh = rtnl_route_nexthop_n(r, 0);
        if (rtnl_route_nh_get_ifindex(nh) != ifindex)
            continue;
        char dst[128], gw[128];
        nl_addr2str(rtnl_route_get_dst(r), dst, sizeof(dst));
        if (rtnl_route_nh_get_gateway(nh))
            g_ptr_array_add(
                out, g_strdup_printf("%s via %s", dst,
                                     nl_addr2str(rtnl_route_nh_get_gateway(nh), gw, sizeof(gw))));
        else
            g_ptr_array_add(out, g_strdup(dst));
    }
    nl_cache_free(cache);
    g_ptr_array_sort(out, cmp_strp);
    g_ptr_array_add(out, NULL);
    return g_strjoinv(";", (char **)out->pdata);
}

static void
test_names(void)
{
    g_autofree char *a0 = host_tap_name("web1", 0);
    g_autofree char *a0b = host_tap_name("web1", 0);
    g_autofree char *a1 = host_tap_name("web1", 1);
    g_autofree char *b0 = host_tap_name("web2", 0);
    g_autofree char *big = host_tap_name("web1", 9999);
    g_autofree char *huge = host_tap_name("web1", 123456);
    g_autofree char *longname = host_tap_name("a-domain-name-far-longer-than-fifteen-chars", 3);
    CHECK(strcmp(a0, a0b) == 0);
    CHECK(g_str_has_prefix(a0, "cv") && g_str_has_suffix(a0, "n0") && strlen(a0) == 12);
    CHECK(strcmp(a0, a1) != 0 && strncmp(a0, a1, 10) == 0);
    CHECK(strcmp(a0, b0) != 0);
    CHECK(strlen(big) == 15 && strncmp(big, a0, 10) == 0);
    CHECK(strlen(huge) <= 15 && g_str_has_suffix(huge, "n123456"));
    CHECK(strlen(longname) == 12);

    /* a name the kernel would refuse is refused before anything is made */
    DomainNetDef net = {.type = DOMAIN_NET_TYPE_ETHERNET};
    g_autoptr(CvError) err = NULL;
    bool created = false;
    CHECK(host_tap_prepare(&net, "cv0123456789abcd", false, &created, &err) < 0);
    CHECK_ERR(
        err, VIR_ERR_CONFIG_UNSUPPORTED,
        "unsupported configuration: TAP name 'cv0123456789abcd' is longer than 15 characters");
    CHECK(!link_exists("cv0123456789abc"));
    CHECK(host_tap_prepare(&net, "bad/name", false, &created, &err) < 0);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED,
              "unsupported configuration: invalid TAP name 'bad/name'");
}

/* Bridge type with MTU, three addresses and two routes; adopt; remove. */
static void
test_bridge_full(int bridge_ifindex)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *tap = host_tap_name("web1", 0);
    DomainNetIPDef ips[] = {
        {.address = "10.20.0.1", .prefix = 24},
        {.address = "10.30.0.1", .prefix = 32, .peer = "10.30.0.2"},
        {.address = "fd00:20::1", .prefix = 64, .is_ipv6 = true},
        {.address = "172.16.5.1"}, /* class B: /16 as libvirt assumes */
    };
    DomainNetRouteDef routes[] = {
        {.address = "192.168.50.0", .prefix = 24, .gateway = "10.20.0.254"},
        {.address = "10.40.0.0", .prefix = 16},
    };
    DomainNetDef net = {
        .type = DOMAIN_NET_TYPE_BRIDGE,
        .bridge = BRIDGE,
        .mtu = 1400,
        .ips = ips,
        .nips = G_N_ELEMENTS(ips),
        .routes = routes,
        .nroutes = G_N_ELEMENTS(routes),
    };
    bool created = false;
    CHECK_OK(host_tap_prepare(&net, tap, false, &created, &err) == 0, err);
    CHECK(created);

    struct rtnl_link *link = link_get(tap);
    CHECK(link != NULL);
    if (!link)
        return;
    int ifindex = rtnl_link_get_ifindex(link);
    CHECK(g_strcmp0(rtnl_link_get_type(link), "tun") == 0);
    CHECK(rtnl_link_get_flags(link) & IFF_UP);
    CHECK(rtnl_link_get_mtu(link) == 1400);
    CHECK(rtnl_link_get_master(link) == bridge_ifindex);
    rtnl_link_put(link);

    g_autofree char *addrs = addrs_of(ifindex);
    const char *want_addrs = "10.20.0.1/24;10.30.0.1 peer 10.30.0.2;172.16.5.1/16;fd00:20::1/64";
    if (strcmp(addrs, want_addrs) != 0) {
        fprintf(stderr, "addresses: got '%s', want '%s'\n", addrs, want_addrs);
        failures++;
    }
    g_autofree char *rts = routes_of(ifindex);
    const char *want_routes = "10.40.0.0/16;192.168.50.0/24 via 10.20.0.254";
    if (strcmp(rts, want_routes) != 0) {
        fprintf(stderr, "routes: got '%s', want '%s'\n", rts, want_routes);
        failures++;
    }

    /* FC opens it single-queue with a vnet header: the persistent TAP must accept that */
    int fd = vmm_open(tap, false);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK(vmm_open(tap, true) < 0 && errno == EINVAL);

    /* prepared again (a restart): adopted, nothing doubled */
    created = true;
    CHECK_OK(host_tap_prepare(&net, tap, false, &created, &err) == 0, err);
    CHECK(!created);
    g_autofree char *addrs2 = addrs_of(ifindex);
    g_autofree char *rts2 = routes_of(ifindex);
    CHECK(strcmp(addrs2, want_addrs) == 0);
    CHECK(strcmp(rts2, want_routes) == 0);

    CHECK_OK(host_tap_remove(tap, &err) == 0, err);
    CHECK(!link_exists(tap));
    g_autofree char *rts3 = routes_of(ifindex);
    CHECK(strcmp(rts3, "") == 0);
    /* already gone: fine */
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);
    /* never deletes what is not a TAP */
    CHECK(host_tap_remove(BRIDGE, &err) < 0);
    CHECK_ERR(err, VIR_ERR_OPERATION_INVALID,
              "Requested operation is not valid: interface '" BRIDGE "' is a bridge, not a TAP: "
              "not deleting it");
    CHECK(link_exists(BRIDGE));
}

static void
test_multi_queue(void)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *tap = host_tap_name("mq", 0);
    DomainNetDef net = {.type = DOMAIN_NET_TYPE_ETHERNET};
    bool created = false;
    CHECK_OK(host_tap_prepare(&net, tap, true, &created, &err) == 0, err);
    CHECK(created);
    /* CH with two queue pairs opens it twice, multi-queue */
    int q0 = vmm_open(tap, true), q1 = vmm_open(tap, true);
    CHECK(q0 >= 0 && q1 >= 0);
    if (q0 >= 0)
        close(q0);
    if (q1 >= 0)
        close(q1);
    /* adopting it for a single-queue user is refused with the kernel's reason */
    CHECK(host_tap_prepare(&net, tap, false, &created, &err) < 0);
    g_autofree char *want = g_strdup_printf("cannot use existing interface '%s': it is not a TAP, "
                                            "or not one without multi-queue: Invalid argument",
                                            tap);
    CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR, want);
    CHECK(link_exists(tap)); /* not ours to remove */
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);
    CHECK(!link_exists(tap));

    /* an existing interface that is no TAP at all */
    CHECK(host_tap_prepare(&net, BRIDGE, false, &created, &err) < 0);
    CHECK(err && err->sys_errno == EINVAL);
    g_clear_pointer(&err, cv_error_free);
    CHECK(link_exists(BRIDGE));
}

static void
test_unmanaged(void)
{
    g_autoptr(CvError) err = NULL;
    const char *tap = "cvtestpre0";
    DomainNetDef net = {
        .type = DOMAIN_NET_TYPE_BRIDGE, .bridge = BRIDGE, .mtu = 1300, .target_managed_no = true};
    bool created = true;
    CHECK(host_tap_prepare(&net, tap, false, &created, &err) < 0);
    CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR,
              "TAP 'cvtestpre0' of <target managed='no'> is not usable: No such device");
    CHECK(!link_exists(tap));

    /* made by the admin: used as it is (not brought up, MTU and bridge untouched) */
    int fd = vmm_open(tap, false);
    CHECK(fd >= 0 && ioctl(fd, TUNSETPERSIST, 1) == 0);
    if (fd >= 0)
        close(fd);
    CHECK_OK(host_tap_prepare(&net, tap, false, &created, &err) == 0, err);
    CHECK(!created);
    struct rtnl_link *link = link_get(tap);
    CHECK(link && !(rtnl_link_get_flags(link) & IFF_UP) && rtnl_link_get_mtu(link) == 1500 &&
          rtnl_link_get_master(link) == 0);
    if (link)
        rtnl_link_put(link);
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);
}

static void
test_rollback(void)
{
    g_autoptr(CvError) err = NULL;
    g_autofree char *tap = host_tap_name("web3", 1);
    bool created = false;

    /* no such bridge: the new TAP goes again */
    DomainNetDef net = {.type = DOMAIN_NET_TYPE_BRIDGE, .bridge = "nosuchbr"};
    CHECK(host_tap_prepare(&net, tap, false, &created, &err) < 0);
    g_autofree char *want =
        g_strdup_printf("cannot attach TAP '%s' to bridge 'nosuchbr': no such bridge: No such "
                        "device",
                        tap);
    CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR, want);
    CHECK(!link_exists(tap));

    /* a "bridge" that is not one */
    int fd = vmm_open("cvtestnb0", false);
    CHECK(fd >= 0 && ioctl(fd, TUNSETPERSIST, 1) == 0);
    if (fd >= 0)
        close(fd);
    net.bridge = "cvtestnb0";
    CHECK(host_tap_prepare(&net, tap, false, &created, &err) < 0);
    g_free(want);
    want = g_strdup_printf("unsupported configuration: cannot attach TAP '%s' to 'cvtestnb0': it "
                           "is not a bridge",
                           tap);
    CHECK_ERR(err, VIR_ERR_CONFIG_UNSUPPORTED, want);
    CHECK(!link_exists(tap));
    CHECK_OK(host_tap_remove("cvtestnb0", &err) == 0, err);

    /* a route the kernel refuses, after an address went in: all gone again */
    DomainNetIPDef ips[] = {{.address = "10.50.0.1", .prefix = 24}};
    DomainNetRouteDef routes[] = {{.address = "10.60.0.0", .prefix = 16, .gateway = "192.0.2.1"}};
    DomainNetDef eth = {
        .type = DOMAIN_NET_TYPE_ETHERNET, .ips = ips, .nips = 1, .routes = routes, .nroutes = 1};
    CHECK(host_tap_prepare(&eth, tap, false, &created, &err) < 0);
    g_free(want);
    want = g_strdup_printf("cannot add route to '10.60.0.0/16' via '192.0.2.1' on TAP '%s': "
                           "Network is unreachable",
                           tap);
    CHECK_ERR(err, VIR_ERR_SYSTEM_ERROR, want);
    CHECK(!link_exists(tap));

    /* the same on a TAP that existed before: it stays, but loses what this call added */
    fd = vmm_open(tap, false);
    CHECK(fd >= 0 && ioctl(fd, TUNSETPERSIST, 1) == 0);
    if (fd >= 0)
        close(fd);
    struct rtnl_link *link = link_get(tap);
    int ifindex = link ? rtnl_link_get_ifindex(link) : -1;
    if (link)
        rtnl_link_put(link);
    eth.type = DOMAIN_NET_TYPE_BRIDGE;
    eth.bridge = BRIDGE;
    CHECK(host_tap_prepare(&eth, tap, false, &created, &err) < 0);
    CHECK(err && err->sys_errno == ENETUNREACH);
    g_clear_pointer(&err, cv_error_free);
    CHECK(link_exists(tap));
    g_autofree char *addrs = addrs_of(ifindex);
    CHECK(strcmp(addrs, "") == 0);
    link = link_get(tap);
    CHECK(link && rtnl_link_get_master(link) == 0);
    if (link)
        rtnl_link_put(link);
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);

    /* type bridge without a bridge name */
    DomainNetDef nobr = {.type = DOMAIN_NET_TYPE_BRIDGE};
    CHECK(host_tap_prepare(&nobr, tap, false, &created, &err) < 0);
    CHECK(err && err->code == VIR_ERR_CONFIG_UNSUPPORTED);
    g_clear_pointer(&err, cv_error_free);
    CHECK(!link_exists(tap));
}

/* Without <mtu>, a TAP on a bridge takes the bridge's MTU (and so leaves the bridge's alone). */
static void
test_bridge_mtu(void)
{
    g_autoptr(CvError) err = NULL;
    struct rtnl_link *br = link_get(BRIDGE), *change = rtnl_link_alloc();
    g_assert(br && change);
    unsigned int old_mtu = rtnl_link_get_mtu(br);
    rtnl_link_set_mtu(change, 9000);
    g_assert(rtnl_link_change(sk, br, change, 0) == 0);
    rtnl_link_put(change);
    rtnl_link_put(br);

    g_autofree char *tap = host_tap_name("jumbo", 0);
    bool created = false;
    DomainNetDef net = {.type = DOMAIN_NET_TYPE_BRIDGE, .bridge = BRIDGE};
    CHECK_OK(host_tap_prepare(&net, tap, false, &created, &err) == 0, err);
    struct rtnl_link *link = link_get(tap);
    CHECK(link && rtnl_link_get_mtu(link) == 9000);
    if (link)
        rtnl_link_put(link);
    br = link_get(BRIDGE);
    CHECK(br && rtnl_link_get_mtu(br) == 9000);
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);

    /* an explicit <mtu> wins over the bridge's */
    net.mtu = 1400;
    CHECK_OK(host_tap_prepare(&net, tap, false, &created, &err) == 0, err);
    link = link_get(tap);
    CHECK(link && rtnl_link_get_mtu(link) == 1400);
    if (link)
        rtnl_link_put(link);
    CHECK_OK(host_tap_remove(tap, &err) == 0, err);

    change = rtnl_link_alloc();
    rtnl_link_set_mtu(change, old_mtu);
    g_assert(br && rtnl_link_change(sk, br, change, 0) == 0);
    rtnl_link_put(change);
    rtnl_link_put(br);
}

/* A name an interface of another kind has, and no permission: clear errors, no TAP made. */
static void
test_name_taken_and_permission(void)
{
    g_autoptr(CvError) err = NULL;
    bool created = false;
    DomainNetDef eth = {.type = DOMAIN_NET_TYPE_ETHERNET};
    /* the bridge's own name: not a TAP, refused, the bridge untouched */
    CHECK(host_tap_prepare(&eth, BRIDGE, false, &created, &err) < 0);
    CHECK(err && strstr(err->message, "cannot use existing interface '" BRIDGE "'") &&
          strstr(err->message, "it is not a TAP"));
    g_clear_pointer(&err, cv_error_free);
    struct rtnl_link *br = link_get(BRIDGE);
    CHECK(br && g_strcmp0(rtnl_link_get_type(br), "bridge") == 0);
    if (br)
        rtnl_link_put(br);

    /* without CAP_NET_ADMIN (a user other than root, in a child) */
    g_autofree char *tap = host_tap_name("noperm", 0);
    pid_t pid = fork();
    g_assert(pid >= 0);
    if (pid == 0) {
        if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
            _exit(3);
        CvError *e = NULL;
        bool c = false;
        if (host_tap_prepare(&eth, tap, false, &c, &e) == 0)
            _exit(1);
        g_autofree char *want = g_strdup_printf("cannot create TAP '%s': ", tap);
        bool clear = e && g_str_has_prefix(e->message, want) &&
                     (e->sys_errno == EPERM || e->sys_errno == EACCES);
        if (!clear)
            fprintf(stderr, "unprivileged: %s\n", e ? e->message : "(no error)");
        _exit(clear ? 0 : 2);
    }
    int status = 0;
    g_assert(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(!link_exists(tap));
}

int
main(void)
{
    if (geteuid() != 0) {
        printf("SKIP: TAPs need root (CAP_NET_ADMIN)\n");
        return 77;
    }
    int tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tun < 0) {
        printf("SKIP: cannot open /dev/net/tun: %s\n", g_strerror(errno));
        return 77;
    }
    close(tun);
    /* a namespace of our own: nothing of this test is ever visible on the host */
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "cannot make a network namespace: %s\n", g_strerror(errno));
        return EXIT_FAILURE;
    }

    sk = nl_socket_alloc();
    g_assert(sk && nl_connect(sk, NETLINK_ROUTE) == 0);
    struct rtnl_link *br = rtnl_link_bridge_alloc();
    rtnl_link_set_name(br, BRIDGE);
    g_assert(rtnl_link_add(sk, br, NLM_F_CREATE | NLM_F_EXCL) == 0);
    rtnl_link_put(br);
    br = link_get(BRIDGE);
    g_assert(br);
    int bridge_ifindex = rtnl_link_get_ifindex(br);
    rtnl_link_put(br);

    test_names();
    test_bridge_full(bridge_ifindex);
    test_multi_queue();
    test_unmanaged();
    test_rollback();
    test_bridge_mtu();
    test_name_taken_and_permission();

    nl_socket_free(sk);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
