/*
 * libFuzzer target: a domain XML document as a user (or a client over RPC) gives it to define
 * and domxml-to-native: parsed, then for each backend validated and lowered into every native
 * format it writes, with tap, disk and kernel overrides as the driver passes them at start.
 * A parsed definition must also survive dumpxml: its canonical XML parses again and formats to
 * the same text (what define → dumpxml → define relies on); a difference aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fail.h"
#include "driver/backend.h"
#include "xml/domain_def.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
lower_all(const DomainDef *def)
{
    const char *taps[] = {"vnet-fuzz0", NULL, "vnet-fuzz2", NULL};
    const char *disks[] = {NULL, "/run/cocoon/overlay1", NULL, NULL};
    bool enough = def->nnets < G_N_ELEMENTS(taps) && def->ndisks < G_N_ELEMENTS(disks);
    BackendLowerCtx ctxs[] = {
        {.run_dir = "/run/cocoon/domains/fuzz"},
        {.run_dir = "/run/cocoon/domains/fuzz", .tap_names = enough ? taps : NULL,
         .disk_paths = enough ? disks : NULL, .kernel_path = "/run/cocoon/vmlinux"},
    };
    for (int b = 0; b < BACKEND_LAST; b++) {
        const CocoonBackend *be = backend_by_kind((BackendKind)b);
        g_autoptr(CvError) verr = NULL;
        be->validate(def, &verr);
        for (size_t c = 0; c < G_N_ELEMENTS(ctxs); c++) {
            for (const char *const *f = be->native_formats; *f; f++) {
                g_autoptr(CvError) err = NULL;
                g_autofree char *out = be->to_native(def, *f, &ctxs[c], &err);
                if (!out && !err)
                    FUZZ_FAIL("%s: %s failed without an error", be->name, *f);
                if (out && verr)
                    FUZZ_FAIL("%s: %s lowered what validate refused: %s", be->name, *f,
                            verr->message);
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *xml = g_strndup((const char *)data, size);
    g_autoptr(CvError) err = NULL;
    g_autoptr(DomainDef) def = domain_def_parse_string(xml, 0, &err);
    if (!def) {
        if (!err || !err->message)
            FUZZ_FAIL("parse failed without an error");
        return 0;
    }
    lower_all(def);

    g_autofree char *canon = domain_def_format(def, -1);
    g_autoptr(CvError) err2 = NULL;
    g_autoptr(DomainDef) again = domain_def_parse_string(canon, 0, &err2);
    if (!again)
        FUZZ_FAIL("dumpxml output does not parse again: %s\n%s", err2->message, canon);
    g_autofree char *canon2 = domain_def_format(again, -1);
    if (strcmp(canon, canon2) != 0)
        FUZZ_FAIL("dumpxml is not stable:\n%s\n---\n%s", canon, canon2);
    return 0;
}
