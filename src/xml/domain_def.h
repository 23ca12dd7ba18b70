#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/cv_error.h"

/*
 * The internal form of a libvirt domain definition: everything Cocoon honours, nothing else.
 * The parser (domain_parse.c) refuses any element or attribute that has no field here; the
 * formatter (domain_format.c) writes every field back in libvirt's canonical order, so
 * parse → format is a fixed point. Backends read a DomainDef, they never see XML.
 *
 * Strings are owned (g_free), NULL when absent. Memory sizes are KiB, as in libvirt.
 */

#define DOMAIN_UUID_LEN 16
#define DOMAIN_UUID_STRING_LEN 37 /* 36 characters + NUL */

typedef enum {
    DOMAIN_LIFECYCLE_ACTION_DEFAULT = 0, /* not given: the formatter prints libvirt's default */
    DOMAIN_LIFECYCLE_ACTION_DESTROY,
    DOMAIN_LIFECYCLE_ACTION_RESTART,
    DOMAIN_LIFECYCLE_ACTION_RESTART_RENAME,
    DOMAIN_LIFECYCLE_ACTION_PRESERVE,
    DOMAIN_LIFECYCLE_ACTION_COREDUMP_DESTROY,
    DOMAIN_LIFECYCLE_ACTION_COREDUMP_RESTART,
    DOMAIN_LIFECYCLE_ACTION_LAST
} DomainLifecycleAction;

typedef enum {
    DOMAIN_DISK_TYPE_FILE,
    DOMAIN_DISK_TYPE_BLOCK,
    DOMAIN_DISK_TYPE_LAST
} DomainDiskType;

typedef enum {
    DOMAIN_DISK_BUS_DEFAULT = 0, /* not given; formatted as virtio */
    DOMAIN_DISK_BUS_VIRTIO,
    DOMAIN_DISK_BUS_LAST
} DomainDiskBus;

typedef struct {
    DomainDiskType type;
    char *driver_name;  /* <driver name='…'>, e.g. "qemu"; NULL when absent */
    char *format;       /* <driver type='…'>: "raw", "qcow2", …; NULL when absent (= raw) */
    char *source;       /* <source file='…'> or <source dev='…'> */
    char *target_dev;   /* <target dev='vda'> */
    DomainDiskBus bus;  /* <target bus='virtio'> */
    bool readonly;      /* <readonly/> */
    bool transient;     /* <transient/>: per-boot copy-on-write overlay */
    bool shareable;     /* <shareable/> */
    char *serial;       /* <serial> */
    char *cache;        /* <driver cache='none|writeback|unsafe|…'>, NULL when absent */
    char *io;           /* <driver io='io_uring|threads|native'>, NULL when absent */
} DomainDiskDef;

typedef enum {
    DOMAIN_NET_TYPE_ETHERNET,
    DOMAIN_NET_TYPE_BRIDGE,
    DOMAIN_NET_TYPE_LAST
} DomainNetType;

typedef struct {
    char *address;      /* "10.0.0.2" or an IPv6 address */
    unsigned int prefix; /* 0 when not given */
    char *peer;         /* <ip peer='…'>, NULL when absent */
    bool is_ipv6;       /* family='ipv6' (also set when the address contains ':') */
} DomainNetIPDef;

typedef struct {
    bool is_ipv6;
    char *address;
    unsigned int prefix;
    char *gateway;
} DomainNetRouteDef;

typedef struct {
    DomainNetType type;
    char *bridge;        /* <source bridge='…'> (type bridge) */
    char *target_dev;    /* <target dev='…'>: the TAP name; NULL: chosen at start */
    bool target_managed_no; /* <target managed='no'>: the TAP exists already, Cocoon must not create it */
    char *mac;           /* "52:54:00:12:34:56", lower case; always set after parse */
    bool mac_generated;  /* the XML had no <mac>: parse derived it (driver/host_net_mac.h) */
    char *model;         /* <model type='virtio'>; NULL when absent */
    unsigned int queues; /* <driver queues='N'> (queue pairs); 0 when absent */
    unsigned int mtu;    /* <mtu size='N'>; 0 when absent */
    DomainNetIPDef *ips;
    size_t nips;
    DomainNetRouteDef *routes;
    size_t nroutes;
} DomainNetDef;

typedef enum {
    DOMAIN_CHR_TYPE_PTY,
    DOMAIN_CHR_TYPE_FILE,
    DOMAIN_CHR_TYPE_UNIX,
    DOMAIN_CHR_TYPE_LAST
} DomainChrType;

typedef enum {
    DOMAIN_CHR_TARGET_DEFAULT = 0, /* serial: isa-serial; console: serial */
    DOMAIN_CHR_TARGET_SERIAL,      /* console target type='serial' (the same device as <serial>) */
    DOMAIN_CHR_TARGET_VIRTIO,      /* console target type='virtio' (hvc0) */
    DOMAIN_CHR_TARGET_LAST
} DomainChrTargetType;

typedef struct {
    DomainChrType type;
    char *path;          /* file: <source path>; unix: <source path> (mode bind); pty: NULL */
    DomainChrTargetType target_type;
    unsigned int port;   /* <target port='N'> */
} DomainChrDef;

typedef struct {
    char *backend;       /* <backend model='random'>PATH</backend>: the host source, e.g. /dev/urandom */
    unsigned int rate_bytes;  /* <rate bytes='…' period='…'/>; 0 when absent */
    unsigned int rate_period_ms;
} DomainRNGDef;

typedef struct {
    bool none;           /* model='none' */
    bool autodeflate;    /* autodeflate='on' */
    bool free_page_reporting; /* freePageReporting='on' */
    unsigned int stats_period; /* <stats period='N'/> seconds, 0 when absent */
} DomainMemballoonDef;

typedef struct {
    bool cid_auto;       /* <cid auto='yes'> */
    unsigned int cid;    /* <cid address='N'>, 0 when absent */
} DomainVsockDef;

typedef struct {
    char *socket;        /* <source socket='…'>: an externally run virtiofsd */
    char *source_dir;    /* <source dir='…'> */
    char *target;        /* <target dir='TAG'>: the mount tag */
    unsigned int queue_size; /* <driver type='virtiofs' queue='N'>; 0 when absent */
    bool readonly;
} DomainFSDef;

typedef struct {
    unsigned int domain; /* PCI address of the host device */
    unsigned int bus;
    unsigned int slot;
    unsigned int function;
    bool managed;        /* managed='yes' */
} DomainHostdevDef;

typedef struct {
    char *type;          /* <type>: "hvm" */
    char *arch;          /* <type arch='…'>, NULL when absent */
    char *machine;       /* <type machine='…'>, NULL when absent */
    bool firmware_efi;   /* <os firmware='efi'> */
    char *loader;        /* <loader>PATH</loader> */
    bool loader_readonly; /* <loader readonly='yes'> */
    char *loader_secure; /* <loader secure='yes|no'>, NULL when absent */
    char *loader_type;   /* <loader type='rom|pflash'>, NULL when absent */
    char *kernel;
    char *initrd;
    char *cmdline;
} DomainOSDef;

/* <clock><timer name='…' tickpolicy='…' present='…'/> */
typedef struct {
    char *name;       /* "rtc", "pit", "hpet", "kvmclock", "tsc" */
    char *tickpolicy; /* NULL when absent */
    int present;      /* -1 absent, 0 present='no', 1 present='yes' */
} DomainTimerDef;

typedef struct {
    char *name;
    unsigned char uuid[DOMAIN_UUID_LEN];
    char *title;
    char *description;
    char *metadata;      /* the <metadata> element serialised verbatim, NULL when absent */

    unsigned long long memory_kib;         /* <memory> */
    unsigned long long current_memory_kib; /* <currentMemory>; equals memory_kib when absent */

    unsigned int vcpus;         /* <vcpu>N</vcpu>: the maximum */
    unsigned int vcpus_current; /* <vcpu current='…'>; equals vcpus when absent */
    char *vcpu_placement;       /* "static" | "auto"; NULL when absent (static) */

    bool hugepages;                 /* <memoryBacking><hugepages/> */
    unsigned long long hugepage_kib; /* <page size='…'>, 0 = host default */
    bool memory_shared;             /* <memoryBacking><access mode='shared'/> */
    char *memory_source;            /* <memoryBacking><source type='memfd|file|anonymous'/> */

    DomainOSDef os;

    /* <cputune> / <memtune>: limits the host applies (FC under its jailer: cgroups); 0 when
     * absent (quota: a value below 0 means unlimited, as libvirt's -1) */
    unsigned int cpu_shares;           /* <cputune><shares> */
    unsigned long long cpu_period_us;  /* <cputune><period> */
    long long cpu_quota_us;            /* <cputune><quota> */
    unsigned long long mem_hard_limit_kib; /* <memtune><hard_limit> */

    /* <features>: what the machine offers the guest (each an empty element) */
    bool feature_acpi;
    bool feature_apic;
    bool feature_pae;
    /* <clock offset='utc'> (the only offset parsed); NULL: no <clock> */
    char *clock_offset;
    DomainTimerDef *timers;
    size_t ntimers;

    DomainLifecycleAction on_poweroff;
    DomainLifecycleAction on_reboot;
    DomainLifecycleAction on_crash;

    char *emulator;      /* <devices><emulator>; NULL when absent (the driver resolves it) */

    DomainDiskDef **disks;
    size_t ndisks;
    DomainNetDef **nets;
    size_t nnets;
    /*
     * Serial/console pairing, as libvirt: a console whose target_type is
     * DOMAIN_CHR_TARGET_SERIAL is NOT a device of its own, it is the serial with the same port
     * (serials[0] in practice) seen as the console. After parsing, a definition with serials
     * and no console has such a mirror in consoles[0]; a lone serial-targeted console has been
     * copied into serials[0]. Backends create devices from serials[] and from consoles whose
     * target_type is DOMAIN_CHR_TARGET_VIRTIO only, so nothing is counted twice.
     */
    DomainChrDef **serials;
    size_t nserials;
    DomainChrDef **consoles;
    size_t nconsoles;
    DomainRNGDef **rngs;
    size_t nrngs;
    DomainMemballoonDef *memballoon; /* NULL when absent */
    DomainVsockDef *vsock;           /* NULL when absent */
    DomainFSDef **fss;
    size_t nfss;
    DomainHostdevDef **hostdevs;
    size_t nhostdevs;
} DomainDef;

typedef enum {
    DOMAIN_DEF_PARSE_FLAGS_NONE = 0,
    /* keep the uuid and MACs empty when absent instead of generating them */
    DOMAIN_DEF_PARSE_NO_GENERATE = 1 << 0,
} DomainDefParseFlags;

/* Largest domain XML document accepted, in bytes. */
#define DOMAIN_XML_MAX_SIZE (10 * 1024 * 1024)

/**
 * domain_def_parse_string: parse libvirt domain XML.
 * Refuses malformed XML (the parser's line and message, VIR_ERR_XML_DETAIL), anything Cocoon
 * does not honour (VIR_ERR_CONFIG_UNSUPPORTED naming the element), bad values (VIR_ERR_XML_ERROR
 * or VIR_ERR_CONFIG_UNSUPPORTED). No network, no DTD, no entity expansion, size-limited.
 * Generates the uuid and the interface MACs when absent (MACs derive from the uuid, so a
 * definition with a uuid always yields the same MACs).
 * Returns a new definition owned by the caller, or NULL with *err set.
 */
DomainDef *domain_def_parse_string(const char *xml, unsigned int flags, CvError **err);

/**
 * domain_def_format: the canonical XML of a definition (2-space indent, libvirt's element
 * order, trailing newline). `id` is the running domain's id, or -1 to omit it.
 * Returns a new string owned by the caller.
 */
char *domain_def_format(const DomainDef *def, int id);

/** domain_def_copy: a deep copy, via format and parse. */
DomainDef *domain_def_copy(const DomainDef *def, CvError **err);

void domain_def_free(DomainDef *def);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainDef, domain_def_free)

/** domain_uuid_format: write the 36-character form of uuid into buf (DOMAIN_UUID_STRING_LEN). */
void domain_uuid_format(const unsigned char uuid[DOMAIN_UUID_LEN], char buf[DOMAIN_UUID_STRING_LEN]);

/** domain_uuid_parse: parse the 36-character (or 32 hex digit) form; 0 or -1. */
int domain_uuid_parse(const char *str, unsigned char uuid[DOMAIN_UUID_LEN]);

/** domain_lifecycle_action_to_string: libvirt's spelling ("destroy", "restart", …). */
const char *domain_lifecycle_action_to_string(DomainLifecycleAction action);
