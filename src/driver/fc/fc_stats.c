#include "fc_stats.h"

#include <json-c/json.h>

#include "fc_api.h"

/*
 * Firecracker's memory statistics come from its balloon: GET /balloon/statistics when the
 * balloon polls the guest (<stats period>), else GET /balloon for its size only. Without a
 * balloon the guest has all of its memory. Firecracker keeps per-disk counters only in its
 * metrics stream, which Cocoon does not configure: no block statistics here.
 */

static long long
json_ll(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v))
        return -1;
    return json_object_get_int64(v);
}

static long long
bytes_to_kib(long long v)
{
    return v < 0 ? -1 : v / 1024;
}

int
fc_stats_memory(const BackendVm *vm, const DomainDef *def, BackendMemoryStats *ret,
                CvError **err)
{
    BackendMemoryStats st = {.actual = (long long)def->memory_kib, .unused = -1,
                             .available = -1, .usable = -1, .swap_in = -1, .swap_out = -1,
                             .major_fault = -1, .minor_fault = -1, .disk_caches = -1};
    if (def->memballoon && !def->memballoon->none) {
        bool polled = def->memballoon->stats_period > 0;
        json_object *reply = NULL;
        if (fc_api_request(vm->api_socket, "GET", polled ? "/balloon/statistics" : "/balloon",
                           NULL, &reply, err) < 0)
            return -1;
        long long held_mib = json_ll(reply, polled ? "actual_mib" : "amount_mib");
        if (held_mib >= 0)
            st.actual = (long long)def->memory_kib - held_mib * 1024;
        if (polled) {
            st.unused = bytes_to_kib(json_ll(reply, "free_memory"));
            st.available = bytes_to_kib(json_ll(reply, "total_memory"));
            st.usable = bytes_to_kib(json_ll(reply, "available_memory"));
            st.swap_in = bytes_to_kib(json_ll(reply, "swap_in"));
            st.swap_out = bytes_to_kib(json_ll(reply, "swap_out"));
            st.major_fault = json_ll(reply, "major_faults");
            st.minor_fault = json_ll(reply, "minor_faults");
            st.disk_caches = bytes_to_kib(json_ll(reply, "disk_caches"));
        }
        json_object_put(reply);
    }
    *ret = st;
    return 0;
}
