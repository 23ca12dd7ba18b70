#include "fc_snapshot.h"

#include "fc_api.h"
#include "fc_jail.h"

static int
fc_snapshot_check(const BackendSnapshotFiles *files, CvError **err)
{
    if (!files->vmstate || !files->memory) {
        cv_error_set(err, VIR_FROM_DOMAIN_SNAPSHOT, VIR_ERR_INTERNAL_ERROR,
                     "a firecracker snapshot needs a state file and a memory file");
        return -1;
    }
    return 0;
}

int
fc_snapshot_save(const BackendVm *vm, const BackendSnapshotFiles *files, CvError **err)
{
    if (fc_snapshot_check(files, err) < 0)
        return -1;
    /* under the jailer FC can write nowhere but inside its chroot */
    int jailed = fc_jail_snapshot_save(vm, files, err);
    if (jailed != 0)
        return jailed < 0 ? -1 : 0;
    return fc_api_snapshot_create(vm->api_socket, files->vmstate, files->memory, err);
}

int
fc_snapshot_load(const char *sock, const BackendSnapshotFiles *files, bool paused, CvError **err)
{
    if (fc_snapshot_check(files, err) < 0)
        return -1;
    return fc_api_snapshot_load(sock, files->vmstate, files->memory, !paused, err);
}
