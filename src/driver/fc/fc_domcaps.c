#include "fc_stats.h"

/*
 * What Firecracker boots and which devices it takes, in domcapabilities form: a direct kernel
 * boot (no firmware, no loader), virtio-blk disks, virtio-net, a balloon, vsock, entropy;
 * no graphics, video, host devices or shared filesystems.
 */

void
fc_domcaps_format(GString *xml)
{
    g_string_append(xml,
                    "  <os supported='yes'>\n"
                    "    <enum name='firmware'/>\n"
                    "    <loader supported='no'/>\n"
                    "  </os>\n"
                    "  <cpu>\n"
                    "    <mode name='host-passthrough' supported='yes'/>\n"
                    "    <mode name='maximum' supported='no'/>\n"
                    "    <mode name='host-model' supported='no'/>\n"
                    "    <mode name='custom' supported='no'/>\n"
                    "  </cpu>\n"
                    "  <memoryBacking supported='yes'>\n"
                    "    <enum name='sourceType'>\n"
                    "      <value>anonymous</value>\n"
                    "    </enum>\n"
                    "  </memoryBacking>\n"
                    "  <devices>\n"
                    "    <disk supported='yes'>\n"
                    "      <enum name='diskDevice'>\n"
                    "        <value>disk</value>\n"
                    "      </enum>\n"
                    "      <enum name='bus'>\n"
                    "        <value>virtio</value>\n"
                    "      </enum>\n"
                    "      <enum name='model'>\n"
                    "        <value>virtio</value>\n"
                    "      </enum>\n"
                    "    </disk>\n"
                    "    <graphics supported='no'/>\n"
                    "    <video supported='no'/>\n"
                    "    <hostdev supported='no'/>\n"
                    "    <rng supported='yes'>\n"
                    "      <enum name='model'>\n"
                    "        <value>virtio</value>\n"
                    "      </enum>\n"
                    "      <enum name='backendModel'>\n"
                    "        <value>random</value>\n"
                    "      </enum>\n"
                    "    </rng>\n"
                    "    <filesystem supported='no'/>\n"
                    "    <tpm supported='no'/>\n"
                    "    <redirdev supported='no'/>\n"
                    "    <channel supported='no'/>\n"
                    "  </devices>\n"
                    "  <features>\n"
                    "    <gic supported='no'/>\n"
                    "    <vmcoreinfo supported='no'/>\n"
                    "    <genid supported='no'/>\n"
                    "    <sev supported='no'/>\n"
                    "  </features>\n");
}
