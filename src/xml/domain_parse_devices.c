#include "domain_xml_priv.h"

#include <string.h>

/*
 * <devices> → DomainDef: one function per device kind, each refusing what it does not know,
 * then the console/serial pairing libvirt applies after parsing.
 */

#define XML_ERR(err, ...) cv_error_set(err, VIR_FROM_DOMAIN, VIR_ERR_XML_ERROR, __VA_ARGS__)

static const char *const no_attrs[] = {NULL};

/* ---- disk ----------------------------------------------------------------------------- */

/* libvirt's storage formats (storagecommon.rng), whether or not a backend can open them */
static const char *const disk_formats[] = {
    "raw", "dir",   "bochs", "cloop", "dmg",  "iso",   "vpc", "vdi",  "fat",
    "vhd", "ploop", "luks",  "cow",   "qcow", "qcow2", "qed", "vmdk", NULL,
};

static int
domain_parse_disk_child(DomainDiskDef *disk, const xmlNode *c, bool *seen, CvError **err)
{
    static const char *const driver_attrs[] = {"name", "type", "cache", "io", NULL};
    static const char *const caches[] = {"default", "none",   "writethrough", "writeback",
                                         "directsync", "unsafe", NULL};
    static const char *const ios[] = {"threads", "native", "io_uring", NULL};
    static const char *const file_attrs[] = {"file", NULL};
    static const char *const dev_attrs[] = {"dev", NULL};
    static const char *const target_attrs[] = {"dev", "bus", NULL};

    if (domain_xml_is_element(c, "driver")) {
        if (domain_xml_once(c, &seen[0], err) < 0 ||
            domain_xml_check_leaf(c, driver_attrs, err) < 0)
            return -1;
        disk->driver_name = domain_xml_attr(c, "name");
        disk->format = domain_xml_attr(c, "type");
        if (disk->format && !g_strv_contains(disk_formats, disk->format)) {
            domain_xml_unsupported_value(err, "disk", "driver type", disk->format);
            return -1;
        }
        disk->cache = domain_xml_attr(c, "cache");
        if (disk->cache && !g_strv_contains(caches, disk->cache)) {
            domain_xml_invalid_attr(c, "cache", disk->cache, err);
            return -1;
        }
        disk->io = domain_xml_attr(c, "io");
        if (disk->io && !g_strv_contains(ios, disk->io)) {
            domain_xml_invalid_attr(c, "io", disk->io, err);
            return -1;
        }
        return domain_xml_check_attr_value(c, "name", disk->driver_name,
                                           DOMAIN_XML_VALUE_GENERIC_NAME, err);
    }
    if (domain_xml_is_element(c, "source")) {
        bool file = disk->type == DOMAIN_DISK_TYPE_FILE;
        if (domain_xml_once(c, &seen[1], err) < 0 ||
            domain_xml_check_leaf(c, file ? file_attrs : dev_attrs, err) < 0)
            return -1;
        if (domain_xml_required_attr(c, file ? "file" : "dev", &disk->source, err) < 0)
            return -1;
        return domain_xml_check_attr_value(c, file ? "file" : "dev", disk->source,
                                           DOMAIN_XML_VALUE_ABS_PATH, err);
    }
    if (domain_xml_is_element(c, "target")) {
        if (domain_xml_once(c, &seen[2], err) < 0 ||
            domain_xml_check_leaf(c, target_attrs, err) < 0 ||
            domain_xml_required_attr(c, "dev", &disk->target_dev, err) < 0 ||
            domain_xml_check_attr_value(c, "dev", disk->target_dev, DOMAIN_XML_VALUE_DISK_TARGET,
                                        err) < 0)
            return -1;
        g_autofree char *bus = domain_xml_attr(c, "bus");
        if (bus) {
            if (strcmp(bus, "virtio") != 0) {
                domain_xml_unsupported_value(err, "disk", "bus", bus);
                return -1;
            }
            disk->bus = DOMAIN_DISK_BUS_VIRTIO;
        }
        return 0;
    }
    if (domain_xml_is_element(c, "readonly"))
        return domain_xml_flag(c, &disk->readonly, err);
    if (domain_xml_is_element(c, "transient"))
        return domain_xml_flag(c, &disk->transient, err);
    if (domain_xml_is_element(c, "shareable"))
        return domain_xml_flag(c, &disk->shareable, err);
    if (domain_xml_is_element(c, "serial")) {
        if (domain_xml_once(c, &seen[3], err) < 0 || domain_xml_check_attrs(c, no_attrs, err) < 0)
            return -1;
        if (domain_xml_text(c, &disk->serial, err) < 0)
            return -1;
        return domain_xml_check_text_value(c, disk->serial, DOMAIN_XML_VALUE_DISK_SERIAL, err);
    }
    domain_xml_unknown_element(c, err);
    return -1;
}

static DomainDiskDef *
domain_parse_disk(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"type", "device", NULL};
    g_autoptr(DomainDiskDef) disk = g_new0(DomainDiskDef, 1);
    bool seen[4] = {false};

    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return NULL;
    g_autofree char *type = domain_xml_attr(node, "type");
    if (!type || strcmp(type, "file") == 0) {
        disk->type = DOMAIN_DISK_TYPE_FILE;
    } else if (strcmp(type, "block") == 0) {
        disk->type = DOMAIN_DISK_TYPE_BLOCK;
    } else {
        domain_xml_unsupported_value(err, "disk", "type", type);
        return NULL;
    }
    g_autofree char *device = domain_xml_attr(node, "device");
    if (device && strcmp(device, "disk") != 0) {
        domain_xml_unsupported_value(err, "disk", "device", device);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && domain_parse_disk_child(disk, c, seen, err) < 0)
            return NULL;
    }
    if (!disk->source) {
        domain_xml_missing_element(node, "source", err);
        return NULL;
    }
    if (!disk->target_dev) {
        domain_xml_missing_element(node, "target", err);
        return NULL;
    }
    return g_steal_pointer(&disk);
}

/* ---- rng, memballoon, vsock ----------------------------------------------------------- */

static DomainRNGDef *
domain_parse_rng(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"model", NULL};
    static const char *const backend_attrs[] = {"model", NULL};
    static const char *const rate_attrs[] = {"bytes", "period", NULL};
    g_autoptr(DomainRNGDef) rng = g_new0(DomainRNGDef, 1);
    g_autofree char *model = NULL;
    bool seen_rate = false;

    if (domain_xml_check_attrs(node, attrs, err) < 0 ||
        domain_xml_required_attr(node, "model", &model, err) < 0)
        return NULL;
    if (strcmp(model, "virtio") != 0) {
        domain_xml_unsupported_value(err, "rng", "model", model);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (domain_xml_is_element(c, "backend") && !rng->backend) {
            g_autofree char *bmodel = NULL;
            if (domain_xml_check_attrs(c, backend_attrs, err) < 0 ||
                domain_xml_required_attr(c, "model", &bmodel, err) < 0)
                return NULL;
            if (strcmp(bmodel, "random") != 0) {
                domain_xml_unsupported_value(err, "rng", "backend model", bmodel);
                return NULL;
            }
            if (domain_xml_text(c, &rng->backend, err) < 0)
                return NULL;
            g_strstrip(rng->backend);
            if (rng->backend[0] == '\0') { /* libvirt's default source */
                g_free(rng->backend);
                rng->backend = g_strdup("/dev/urandom");
            }
            if (domain_xml_check_text_value(c, rng->backend, DOMAIN_XML_VALUE_ABS_PATH, err) < 0)
                return NULL;
        } else if (domain_xml_is_element(c, "rate")) {
            if (domain_xml_once(c, &seen_rate, err) < 0 ||
                domain_xml_check_leaf(c, rate_attrs, err) < 0)
                return NULL;
            int rc = domain_xml_attr_uint(c, "bytes", 10, 1, UINT_MAX, &rng->rate_bytes, err);
            if (rc == 0)
                domain_xml_missing_attr(c, "bytes", err);
            if (rc <= 0 ||
                domain_xml_attr_uint(c, "period", 10, 1, UINT_MAX, &rng->rate_period_ms, err) < 0)
                return NULL;
        } else if (domain_xml_is_element(c, "backend")) {
            domain_xml_duplicate_element(c, err);
            return NULL;
        } else {
            domain_xml_unknown_element(c, err);
            return NULL;
        }
    }
    if (!rng->backend) {
        domain_xml_missing_element(node, "backend", err);
        return NULL;
    }
    return g_steal_pointer(&rng);
}

static DomainMemballoonDef *
domain_parse_memballoon(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"model", "autodeflate", "freePageReporting", NULL};
    static const char *const stats_attrs[] = {"period", NULL};
    g_autofree DomainMemballoonDef *balloon = g_new0(DomainMemballoonDef, 1);
    g_autofree char *model = NULL;
    bool seen_stats = false;

    if (domain_xml_check_attrs(node, attrs, err) < 0 ||
        domain_xml_required_attr(node, "model", &model, err) < 0)
        return NULL;
    if (strcmp(model, "none") == 0) {
        balloon->none = true;
    } else if (strcmp(model, "virtio") != 0) {
        domain_xml_unsupported_value(err, "memballoon", "model", model);
        return NULL;
    }
    if (domain_xml_attr_yesno(node, "autodeflate", "on", "off", &balloon->autodeflate, err) < 0 ||
        domain_xml_attr_yesno(node, "freePageReporting", "on", "off", &balloon->free_page_reporting,
                              err) < 0)
        return NULL;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "stats")) {
            domain_xml_unknown_element(c, err);
            return NULL;
        }
        if (domain_xml_once(c, &seen_stats, err) < 0 ||
            domain_xml_check_leaf(c, stats_attrs, err) < 0)
            return NULL;
        int rc = domain_xml_attr_uint(c, "period", 10, 0, UINT_MAX, &balloon->stats_period, err);
        if (rc == 0)
            domain_xml_missing_attr(c, "period", err);
        if (rc <= 0)
            return NULL;
    }
    return g_steal_pointer(&balloon);
}

static DomainVsockDef *
domain_parse_vsock(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"model", NULL};
    static const char *const cid_attrs[] = {"auto", "address", NULL};
    g_autofree DomainVsockDef *vsock = g_new0(DomainVsockDef, 1);
    bool seen_cid = false;

    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return NULL;
    g_autofree char *model = domain_xml_attr(node, "model");
    if (model && strcmp(model, "virtio") != 0) {
        domain_xml_unsupported_value(err, "vsock", "model", model);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "cid")) {
            domain_xml_unknown_element(c, err);
            return NULL;
        }
        /* guest CIDs 0-2 are reserved (hypervisor, local, host) */
        if (domain_xml_once(c, &seen_cid, err) < 0 ||
            domain_xml_check_leaf(c, cid_attrs, err) < 0 ||
            domain_xml_attr_yesno(c, "auto", "yes", "no", &vsock->cid_auto, err) < 0 ||
            domain_xml_attr_uint(c, "address", 10, 3, UINT_MAX, &vsock->cid, err) < 0)
            return NULL;
    }
    return g_steal_pointer(&vsock);
}

/* ---- filesystem, hostdev -------------------------------------------------------------- */

static int
domain_parse_fs_child(DomainFSDef *fs, const xmlNode *c, bool *seen, CvError **err)
{
    static const char *const driver_attrs[] = {"type", "queue", NULL};
    static const char *const source_attrs[] = {"socket", "dir", NULL};
    static const char *const target_attrs[] = {"dir", NULL};

    if (domain_xml_is_element(c, "driver")) {
        if (domain_xml_once(c, &seen[0], err) < 0 ||
            domain_xml_check_leaf(c, driver_attrs, err) < 0)
            return -1;
        g_autofree char *type = domain_xml_attr(c, "type");
        if (!type || strcmp(type, "virtiofs") != 0) {
            domain_xml_unsupported_value(err, "filesystem", "driver type", type ? type : "path");
            return -1;
        }
        return domain_xml_attr_uint(c, "queue", 10, 1, UINT_MAX, &fs->queue_size, err) < 0 ? -1 : 0;
    }
    if (domain_xml_is_element(c, "source")) {
        if (domain_xml_once(c, &seen[1], err) < 0 ||
            domain_xml_check_leaf(c, source_attrs, err) < 0)
            return -1;
        fs->socket = domain_xml_attr(c, "socket");
        fs->source_dir = domain_xml_attr(c, "dir");
        if (fs->socket && fs->source_dir) {
            XML_ERR(err, "<source> in <filesystem> cannot have both 'socket' and 'dir'");
            return -1;
        }
        if (!fs->socket && !fs->source_dir) {
            domain_xml_missing_attr(c, "dir", err);
            return -1;
        }
        if (domain_xml_check_attr_value(c, "socket", fs->socket, DOMAIN_XML_VALUE_ABS_PATH, err) <
            0)
            return -1;
        return domain_xml_check_attr_value(c, "dir", fs->source_dir, DOMAIN_XML_VALUE_ABS_DIR, err);
    }
    if (domain_xml_is_element(c, "target")) {
        if (domain_xml_once(c, &seen[2], err) < 0 ||
            domain_xml_check_leaf(c, target_attrs, err) < 0)
            return -1;
        return domain_xml_required_attr(c, "dir", &fs->target, err);
    }
    if (domain_xml_is_element(c, "readonly"))
        return domain_xml_flag(c, &fs->readonly, err);
    domain_xml_unknown_element(c, err);
    return -1;
}

static DomainFSDef *
domain_parse_fs(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"type", "accessmode", NULL};
    g_autoptr(DomainFSDef) fs = g_new0(DomainFSDef, 1);
    bool seen[3] = {false};

    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return NULL;
    g_autofree char *type = domain_xml_attr(node, "type");
    if (type && strcmp(type, "mount") != 0) {
        domain_xml_unsupported_value(err, "filesystem", "type", type);
        return NULL;
    }
    /* passthrough is the default (and what virtiofs does): it needs no field */
    g_autofree char *mode = domain_xml_attr(node, "accessmode");
    if (mode && strcmp(mode, "passthrough") != 0) {
        domain_xml_unsupported_value(err, "filesystem", "accessmode", mode);
        return NULL;
    }
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && domain_parse_fs_child(fs, c, seen, err) < 0)
            return NULL;
    }
    if (!seen[0]) { /* libvirt's default driver is 9p ('path') */
        domain_xml_unsupported_value(err, "filesystem", "driver type", "path");
        return NULL;
    }
    if (!seen[1]) {
        domain_xml_missing_element(node, "source", err);
        return NULL;
    }
    if (!seen[2]) {
        domain_xml_missing_element(node, "target", err);
        return NULL;
    }
    return g_steal_pointer(&fs);
}

static int
domain_parse_pci_address(DomainHostdevDef *hostdev, const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"domain", "bus", "slot", "function", NULL};
    struct {
        const char *name;
        unsigned long long max;
        unsigned int *field;
        bool required;
    } parts[] = {
        {"domain", 0xffff, &hostdev->domain, false},
        {"bus", 0xff, &hostdev->bus, true},
        {"slot", 0x1f, &hostdev->slot, true},
        {"function", 0x7, &hostdev->function, true},
    };
    if (domain_xml_check_leaf(node, attrs, err) < 0)
        return -1;
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
        /* base 0 as libvirt: "0x03" and "3" are both accepted */
        int rc = domain_xml_attr_uint(node, parts[i].name, 0, 0, parts[i].max, parts[i].field, err);
        if (rc < 0)
            return -1;
        if (rc == 0 && parts[i].required) {
            domain_xml_missing_attr(node, parts[i].name, err);
            return -1;
        }
    }
    return 0;
}

static DomainHostdevDef *
domain_parse_hostdev(const xmlNode *node, CvError **err)
{
    static const char *const attrs[] = {"mode", "type", "managed", NULL};
    g_autoptr(DomainHostdevDef) hostdev = g_new0(DomainHostdevDef, 1);
    g_autofree char *type = NULL;
    bool seen_source = false, seen_address = false;

    if (domain_xml_check_attrs(node, attrs, err) < 0)
        return NULL;
    g_autofree char *mode = domain_xml_attr(node, "mode");
    if (mode && strcmp(mode, "subsystem") != 0) {
        domain_xml_unsupported_value(err, "hostdev", "mode", mode);
        return NULL;
    }
    if (domain_xml_required_attr(node, "type", &type, err) < 0)
        return NULL;
    if (strcmp(type, "pci") != 0) {
        domain_xml_unsupported_value(err, "hostdev", "type", type);
        return NULL;
    }
    if (domain_xml_attr_yesno(node, "managed", "yes", "no", &hostdev->managed, err) < 0)
        return NULL;
    for (const xmlNode *c = node->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!domain_xml_is_element(c, "source")) {
            domain_xml_unknown_element(c, err);
            return NULL;
        }
        if (domain_xml_once(c, &seen_source, err) < 0 ||
            domain_xml_check_attrs(c, no_attrs, err) < 0)
            return NULL;
        for (const xmlNode *a = c->children; a; a = a->next) {
            if (a->type != XML_ELEMENT_NODE)
                continue;
            if (!domain_xml_is_element(a, "address")) {
                domain_xml_unknown_element(a, err);
                return NULL;
            }
            if (domain_xml_once(a, &seen_address, err) < 0 ||
                domain_parse_pci_address(hostdev, a, err) < 0)
                return NULL;
        }
        if (!seen_address) {
            domain_xml_missing_element(c, "address", err);
            return NULL;
        }
    }
    if (!seen_source) {
        domain_xml_missing_element(node, "source", err);
        return NULL;
    }
    return g_steal_pointer(&hostdev);
}

/* ---- <devices> ------------------------------------------------------------------------ */

static int
domain_parse_check_disk_targets(const DomainDef *def, CvError **err)
{
    for (size_t i = 0; i < def->ndisks; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(def->disks[i]->target_dev, def->disks[j]->target_dev) == 0) {
                XML_ERR(err, "target '%s' duplicated for disk sources '%s' and '%s'",
                        def->disks[i]->target_dev, def->disks[j]->source, def->disks[i]->source);
                return -1;
            }
        }
    }
    return 0;
}

static int
domain_parse_device(DomainDef *def, const xmlNode *c, CvError **err)
{
    if (domain_xml_is_element(c, "emulator")) {
        if (def->emulator) {
            domain_xml_duplicate_element(c, err);
            return -1;
        }
        if (domain_xml_check_attrs(c, no_attrs, err) < 0 ||
            domain_xml_text(c, &def->emulator, err) < 0)
            return -1;
        g_strstrip(def->emulator);
        return domain_xml_check_text_value(c, def->emulator, DOMAIN_XML_VALUE_ABS_PATH, err);
    }
    if (domain_xml_is_element(c, "disk")) {
        DomainDiskDef *disk = domain_parse_disk(c, err);
        if (!disk)
            return -1;
        DOMAIN_APPEND(def->disks, def->ndisks, disk);
        return 0;
    }
    if (domain_xml_is_element(c, "interface")) {
        DomainNetDef *net = domain_parse_net(c, err);
        if (!net)
            return -1;
        DOMAIN_APPEND(def->nets, def->nnets, net);
        return 0;
    }
    if (domain_xml_is_element(c, "serial") || domain_xml_is_element(c, "console")) {
        bool console = domain_xml_is_element(c, "console");
        bool port_given = false;
        DomainChrDef *chr = domain_parse_chr(c, console, &port_given, err);
        if (!chr)
            return -1;
        if (!port_given && !console) {
            chr->port = (unsigned int)def->nserials;
        } else if (!port_given && chr->target_type == DOMAIN_CHR_TARGET_VIRTIO) {
            unsigned int n = 0;
            for (size_t i = 0; i < def->nconsoles; i++)
                n += def->consoles[i]->target_type == DOMAIN_CHR_TARGET_VIRTIO;
            chr->port = n;
        }
        if (console)
            DOMAIN_APPEND(def->consoles, def->nconsoles, chr);
        else
            DOMAIN_APPEND(def->serials, def->nserials, chr);
        return 0;
    }
    if (domain_xml_is_element(c, "rng")) {
        DomainRNGDef *rng = domain_parse_rng(c, err);
        if (!rng)
            return -1;
        DOMAIN_APPEND(def->rngs, def->nrngs, rng);
        return 0;
    }
    if (domain_xml_is_element(c, "memballoon")) {
        if (def->memballoon) {
            domain_xml_duplicate_element(c, err);
            return -1;
        }
        def->memballoon = domain_parse_memballoon(c, err);
        return def->memballoon ? 0 : -1;
    }
    if (domain_xml_is_element(c, "vsock")) {
        if (def->vsock) {
            domain_xml_duplicate_element(c, err);
            return -1;
        }
        def->vsock = domain_parse_vsock(c, err);
        return def->vsock ? 0 : -1;
    }
    if (domain_xml_is_element(c, "filesystem")) {
        DomainFSDef *fs = domain_parse_fs(c, err);
        if (!fs)
            return -1;
        DOMAIN_APPEND(def->fss, def->nfss, fs);
        return 0;
    }
    if (domain_xml_is_element(c, "hostdev")) {
        DomainHostdevDef *hostdev = domain_parse_hostdev(c, err);
        if (!hostdev)
            return -1;
        DOMAIN_APPEND(def->hostdevs, def->nhostdevs, hostdev);
        return 0;
    }
    domain_xml_unknown_element(c, err);
    return -1;
}

int
domain_parse_devices(DomainDef *def, const xmlNode *devices, CvError **err)
{
    if (domain_xml_check_attrs(devices, no_attrs, err) < 0)
        return -1;
    for (const xmlNode *c = devices->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && domain_parse_device(def, c, err) < 0)
            return -1;
    }
    if (domain_parse_check_disk_targets(def, err) < 0)
        return -1;
    domain_parse_chr_pairing(def);
    return 0;
}
