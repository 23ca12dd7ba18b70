#include "ch_clone.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "ch_api.h"
#include "driver/backend_common.h"
#include "util/cv_file.h"

#define CH_CLONE_DIR "clone-restore"

/* Set key of the i-th object of array key_array in cfg to value (when there is one). */
static void
cfg_set(json_object *cfg, const char *array, size_t i, const char *key, const char *value)
{
    json_object *list, *item;
    if (!value || !json_object_object_get_ex(cfg, array, &list) ||
        !json_object_is_type(list, json_type_array) || i >= json_object_array_length(list))
        return;
    item = json_object_array_get_idx(list, i);
    if (json_object_is_type(item, json_type_object))
        json_object_object_add(item, key, json_object_new_string(value));
}

static int
clone_config(const char *src_dir, const char *dir, const DomainDef *def,
             const BackendLowerCtx *lower, CvError **err)
{
    g_autofree char *src = g_build_filename(src_dir, "config.json", NULL);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(src, &text, NULL, NULL)) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot read '%s'", src);
        return -1;
    }
    json_object *cfg = json_tokener_parse(text);
    if (!cfg) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "invalid '%s'", src);
        return -1;
    }
    for (size_t i = 0; i < def->ndisks; i++)
        cfg_set(cfg, "disks", i, "path", backend_common_disk_path(def, lower, i));
    for (size_t i = 0; i < def->nnets; i++) {
        g_autofree char *tap = backend_common_tap_name(def, lower, i);
        cfg_set(cfg, "net", i, "tap", tap);
    }
    const char *out = json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN);
    g_autofree char *dst = g_build_filename(dir, "config.json", NULL);
    int rc = cv_file_write_atomic(dst, out, strlen(out), 0600, err);
    json_object_put(cfg);
    return rc;
}

int
ch_clone_restore(const char *sock, const BackendSnapshotFiles *files, const DomainDef *def,
                 const BackendLowerCtx *lower, bool paused, CvError **err)
{
    g_autofree char *dir = g_build_filename(lower->run_dir, CH_CLONE_DIR, NULL);
    int rfd = cv_dir_open(lower->run_dir, err);
    if (rfd < 0)
        return -1;
    int rc = cv_dir_remove_tree_at(rfd, CH_CLONE_DIR, err);
    close(rfd);
    if (rc < 0 || cv_dir_ensure(dir, 0700, err) < 0 ||
        clone_config(files->ch_dir, dir, def, lower, err) < 0)
        return -1;
    g_autofree char *state_src = g_build_filename(files->ch_dir, "state.json", NULL);
    g_autofree char *state_dst = g_build_filename(dir, "state.json", NULL);
    g_autofree char *state = NULL;
    gsize len = 0;
    if (!g_file_get_contents(state_src, &state, &len, NULL)) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot read '%s'", state_src);
        return -1;
    }
    if (cv_file_write_atomic(state_dst, state, len, 0600, err) < 0)
        return -1;
    g_autofree char *mem_src = g_build_filename(files->ch_dir, "memory-ranges", NULL);
    g_autofree char *mem_dst = g_build_filename(dir, "memory-ranges", NULL);
    if (symlink(mem_src, mem_dst) < 0) {
        cv_error_set_errno(err, VIR_FROM_NONE, errno, "cannot link '%s'", mem_dst);
        return -1;
    }
    return ch_api_vm_restore(sock, dir, !paused, err);
}
