#include "fc_stats.h"

#include <json-c/json.h>

#include "fc_api.h"

/*
 * Live changes Firecracker can make: the balloon's size (PATCH /balloon {amount_mib}), so
 * the guest keeps the rest of its memory; its i8042 keyboard's one key sequence,
 * Ctrl+Alt+Del (PUT /actions SendCtrlAltDel). It has no vCPU hotplug (no set_vcpus).
 */

int
fc_tune_send_ctrl_alt_del(const BackendVm *vm, CvError **err)
{
    return fc_api_action(vm->api_socket, "SendCtrlAltDel", err);
}

int
fc_tune_set_memory(const BackendVm *vm, const DomainDef *def, unsigned long long kib,
                   CvError **err)
{
    if (kib % 1024 != 0) {
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_CONFIG_UNSUPPORTED,
                     "memory of %llu KiB is not supported by firecracker: the balloon is set in "
                     "whole MiB",
                     kib);
        return -1;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "amount_mib",
                           json_object_new_int64((int64_t)((def->memory_kib - kib) / 1024)));
    int rc = fc_api_request(vm->api_socket, "PATCH", "/balloon", body, NULL, err);
    json_object_put(body);
    return rc;
}
