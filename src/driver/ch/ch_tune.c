#include "ch_stats.h"

#include <json-c/json.h>

#include "ch_api.h"

/*
 * Live changes Cloud Hypervisor makes through vm.resize: desired_balloon (bytes the balloon
 * holds, so the guest keeps the rest) and desired_vcpus (vCPU hotplug up to max_vcpus).
 */

static int
resize(const BackendVm *vm, const char *key, int64_t value, CvError **err)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, key, json_object_new_int64(value));
    int rc = ch_api_request(vm->api_socket, "PUT", "vm.resize", body, NULL, NULL, err);
    json_object_put(body);
    return rc;
}

int
ch_tune_set_memory(const BackendVm *vm, const DomainDef *def, unsigned long long kib,
                   CvError **err)
{
    return resize(vm, "desired_balloon", (int64_t)((def->memory_kib - kib) * 1024), err);
}

int
ch_tune_set_vcpus(const BackendVm *vm, unsigned int n, CvError **err)
{
    return resize(vm, "desired_vcpus", n, err);
}
