#include "local.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * domblkinfo: a disk's capacity (what the guest sees: a raw image's size, a qcow2 image's
 * virtual size from its header, a block device's size), its allocation (the blocks the file
 * uses on the host) and its physical size (the file's or device's length).
 */

#define QCOW2_MAGIC 0x514649fbU /* "QFI\xfb" */

/* The virtual size of a qcow2 image (header bytes 24..31, big-endian), or 0. */
static unsigned long long
qcow2_virtual_size(int fd)
{
    unsigned char h[32];
    if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return 0;
    unsigned int magic = (unsigned int)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
    if (magic != QCOW2_MAGIC)
        return 0;
    unsigned long long size = 0;
    for (int i = 24; i < 32; i++)
        size = size << 8 | h[i];
    return size;
}

int
local_domain_get_block_info(CocoonDomain *dom, const char *path, CocoonBlockInfo *ret_info,
                            unsigned int flags, CvError **err)
{
    if (local_check_flags(flags, 0, "virDomainGetBlockInfo", err) < 0)
        return -1;
    g_autoptr(DomainDef) def = local_domain_read_def(dom, false, NULL, err);
    if (!def)
        return -1;
    const DomainDiskDef *disk = NULL;
    for (size_t i = 0; i < def->ndisks && !disk; i++)
        if (g_strcmp0(def->disks[i]->target_dev, path) == 0 ||
            g_strcmp0(def->disks[i]->source, path) == 0)
            disk = def->disks[i];
    if (!disk) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_INVALID_ARG, "invalid path %s not assigned to domain",
                     path);
        return -1;
    }
    int fd = open(disk->source, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot stat file '%s'", disk->source);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    CocoonBlockInfo info = {0};
    if (S_ISBLK(st.st_mode)) {
        unsigned long long bytes = 0;
        if (ioctl(fd, BLKGETSIZE64, &bytes) < 0) {
            cv_error_set_errno(err, VIR_FROM_CH, errno, "cannot get the size of '%s'",
                               disk->source);
            close(fd);
            return -1;
        }
        info = (CocoonBlockInfo){.capacity = bytes, .allocation = bytes, .physical = bytes};
    } else {
        unsigned long long virt =
            g_strcmp0(disk->format, "qcow2") == 0 ? qcow2_virtual_size(fd) : 0;
        info = (CocoonBlockInfo){.capacity = virt ? virt : (unsigned long long)st.st_size,
                                 .allocation = (unsigned long long)st.st_blocks * 512,
                                 .physical = (unsigned long long)st.st_size};
    }
    close(fd);
    *ret_info = info;
    return 0;
}
