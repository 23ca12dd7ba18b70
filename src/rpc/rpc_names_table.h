#pragma once

/* libvirt's API name of each REMOTE_PROGRAM procedure, by number (NULL: none); generated from
 * remote_procedures.txt by rpc_names_gen.py at build time. */
extern const char *const rpc_names_table[];
extern const int rpc_names_table_len;
