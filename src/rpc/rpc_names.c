#include <stddef.h>

#include "rpc_dispatch.h"
#include "rpc_names_table.h"

/*
 * libvirt's API names of REMOTE_PROGRAM procedures, so a NO_SUPPORT error for one we do not
 * serve reads as libvirtd's does ("… not supported by the connection driver:
 * virNetworkCreateXML"). The table is generated from libvirt's own procedure list
 * (remote_procedures.txt); numbers past it are reported by number.
 */

const char *
rpc_names_remote_api(int proc)
{
    if (proc <= 0 || proc >= rpc_names_table_len)
        return NULL;
    return rpc_names_table[proc];
}
