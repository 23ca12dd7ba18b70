#include "fc_clone.h"

#include "driver/backend_common.h"
#include "fc_api.h"
#include "fc_lower.h"
#include "util/cv_paths.h"

GStrv
fc_clone_argv(const char *const *argv, const char *const *binds, CvError **err)
{
    g_autofree char *helper = cv_paths_helper_find("cocoon-vmm-ns", "VMM namespace launcher",
                                                   "COCOON_VMM_NS", "tools/vmmns", err);
    if (!helper)
        return NULL;
    GPtrArray *v = g_ptr_array_new();
    g_ptr_array_add(v, g_strdup(helper));
    for (size_t i = 0; binds && binds[i] && binds[i + 1]; i += 2) {
        g_ptr_array_add(v, g_strdup("--bind"));
        g_ptr_array_add(v, g_strdup(binds[i]));
        g_ptr_array_add(v, g_strdup(binds[i + 1]));
    }
    g_ptr_array_add(v, g_strdup("--"));
    for (size_t i = 0; argv[i]; i++)
        g_ptr_array_add(v, g_strdup(argv[i]));
    g_ptr_array_add(v, NULL);
    return (GStrv)g_ptr_array_free(v, FALSE);
}

int
fc_clone_load(const char *sock, const BackendSnapshotFiles *files, const DomainDef *def,
              const BackendLowerCtx *lower, bool paused, CvError **err)
{
    /* paused until the drives are the clone's own: the guest must not run on borrowed paths */
    json_object *body = fc_api_snapshot_load_body(files->vmstate, files->memory, false);
    if (def->nnets) {
        json_object *overrides = json_object_new_array();
        for (size_t i = 0; i < def->nnets; i++) {
            g_autofree char *id = g_strdup_printf("net%zu", i);
            g_autofree char *tap = backend_common_tap_name(def, lower, i);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "iface_id", json_object_new_string(id));
            json_object_object_add(o, "host_dev_name", json_object_new_string(tap));
            json_object_array_add(overrides, o);
        }
        json_object_object_add(body, "network_overrides", overrides);
    }
    int rc = fc_api_request(sock, "PUT", "/snapshot/load", body, NULL, err);
    json_object_put(body);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < def->ndisks; i++) {
        const char *path = backend_common_disk_path(def, lower, i);
        if (!path)
            continue;
        g_autofree char *id = fc_drive_id(def, i);
        g_autofree char *url = g_strdup_printf("/drives/%s", id);
        json_object *d = json_object_new_object();
        json_object_object_add(d, "drive_id", json_object_new_string(id));
        json_object_object_add(d, "path_on_host", json_object_new_string(path));
        rc = fc_api_request(sock, "PATCH", url, d, NULL, err);
        json_object_put(d);
        if (rc < 0)
            return -1;
    }
    return paused ? 0 : fc_api_vm_patch(sock, "Resumed", err);
}
