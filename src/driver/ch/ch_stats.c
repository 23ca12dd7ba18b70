#include "ch_stats.h"

#include <json-c/json.h>

#include "ch_api.h"

/*
 * Cloud Hypervisor's statistics: vm.info's memory_actual_size (the guest's memory less the
 * balloon, in bytes) and vm.counters, an object of device ids (the lowering names disks by
 * their target, "vda") whose counters are read_bytes, write_bytes, read_ops, write_ops.
 * CH has no balloon statistics of the guest's own (free, available): those stay unknown.
 */

static long long
json_ll(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return -1;
    return json_object_get_int64(v);
}

int
ch_stats_memory(const BackendVm *vm, const DomainDef *def, BackendMemoryStats *ret,
                CvError **err)
{
    json_object *info = NULL;
    if (ch_api_vm_info(vm->api_socket, &info, NULL, err) < 0)
        return -1;
    long long actual = json_ll(info, "memory_actual_size");
    json_object_put(info);
    *ret = (BackendMemoryStats){.actual = actual >= 0 ? actual / 1024 : (long long)def->memory_kib,
                                .unused = -1, .available = -1, .usable = -1, .swap_in = -1,
                                .swap_out = -1, .major_fault = -1, .minor_fault = -1,
                                .disk_caches = -1};
    return 0;
}

int
ch_stats_block(const BackendVm *vm, const DomainDef *def, size_t disk, BackendBlockStats *ret,
               CvError **err)
{
    json_object *counters = NULL, *dev = NULL;
    if (ch_api_request(vm->api_socket, "GET", "vm.counters", NULL, &counters, NULL, err) < 0)
        return -1;
    const char *id = def->disks[disk]->target_dev;
    if (!counters || !json_object_object_get_ex(counters, id, &dev)) {
        json_object_put(counters);
        cv_error_set(err, VIR_FROM_CH, VIR_ERR_OPERATION_FAILED,
                     "vm.counters: no counters for disk '%s'", id);
        return -1;
    }
    *ret = (BackendBlockStats){.rd_req = json_ll(dev, "read_ops"),
                               .rd_bytes = json_ll(dev, "read_bytes"),
                               .wr_req = json_ll(dev, "write_ops"),
                               .wr_bytes = json_ll(dev, "write_bytes")};
    json_object_put(counters);
    return 0;
}
