/*
 * libFuzzer target: what snapshots read back. The first byte picks the reader, the rest is its
 * input: 0, a <domainsnapshot> document as snapshot-create reads it (snapshot_xml_parse);
 * 1, a snapshot folder's meta.json (snapshot_meta_from_json), which must then survive its own
 * round trip (to_json, from_json, to_json: the same text) and format as snapshot-dumpxml
 * prints it. Seeded with files of snapshots taken on the simulator.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fail.h"
#include "snapshot/snapshot_meta.h"
#include "snapshot/snapshot_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    g_autofree char *text = g_strndup((const char *)data + 1, size - 1);
    g_autoptr(CvError) err = NULL;
    if (data[0] & 1) {
        SnapshotMeta *m = snapshot_meta_from_json("fuzz", text, &err);
        if (!m) {
            if (!err)
                FUZZ_FAIL("meta.json refused without an error");
            return 0;
        }
        g_autofree char *json = snapshot_meta_to_json(m);
        g_autoptr(CvError) err2 = NULL;
        SnapshotMeta *again = snapshot_meta_from_json("fuzz", json, &err2);
        if (!again)
            FUZZ_FAIL("meta.json written by us does not read back: %s\n%s", err2->message, json);
        g_autofree char *json2 = snapshot_meta_to_json(again);
        if (strcmp(json, json2) != 0)
            FUZZ_FAIL("meta.json is not stable:\n%s\n---\n%s", json, json2);
        g_free(snapshot_xml_format(m));
        snapshot_meta_free(again);
        snapshot_meta_free(m);
        return 0;
    }
    g_autoptr(SnapshotXmlRequest) req = snapshot_xml_parse(text, &err);
    if (!req && !err)
        FUZZ_FAIL("snapshot XML refused without an error");
    return 0;
}
