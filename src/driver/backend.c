#include "backend.h"

#include <string.h>

const CocoonBackend *
backend_by_kind(BackendKind kind)
{
    switch (kind) {
    case BACKEND_FIRECRACKER: return &fc_backend;
    case BACKEND_CLOUD_HYPERVISOR: return &ch_backend;
    case BACKEND_LAST: break;
    }
    return NULL;
}

const CocoonBackend *
backend_for_emulator(const char *path)
{
    if (!path)
        return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strcmp(base, "firecracker") == 0)
        return &fc_backend;
    if (strcmp(base, "cloud-hypervisor") == 0 || strcmp(base, "cloud-hypervisor-static") == 0)
        return &ch_backend;
    return NULL;
}

const CocoonBackend *
backend_for_native_format(const char *format)
{
    for (int k = 0; k < BACKEND_LAST; k++) {
        const CocoonBackend *b = backend_by_kind(k);
        for (const char *const *f = b->native_formats; *f; f++) {
            if (strcmp(*f, format) == 0)
                return b;
        }
    }
    return NULL;
}

void
backend_vm_clear(BackendVm *vm)
{
    if (!vm)
        return;
    g_clear_pointer(&vm->api_socket, g_free);
    g_clear_pointer(&vm->console_path, g_free);
    vm->pid = 0;
    vm->start_time = 0;
    vm->waiter_pid = 0;
}
