#include "ch_snapshot.h"

#include "ch_api.h"

static int
ch_snapshot_check(const BackendSnapshotFiles *files, CvError **err)
{
    if (!files->ch_dir) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INTERNAL_ERROR,
                     "a cloud-hypervisor snapshot needs a folder");
        return -1;
    }
    return 0;
}

int
ch_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err)
{
    if (ch_snapshot_check(files, err) < 0)
        return -1;
    return ch_api_vm_snapshot(vm->api_socket, files->ch_dir, err);
}

int
ch_snapshot_restore(const char *sock, const BackendSnapshotFiles *files, bool paused,
                    CvError **err)
{
    if (ch_snapshot_check(files, err) < 0)
        return -1;
    return ch_api_vm_restore(sock, files->ch_dir, !paused, err);
}
