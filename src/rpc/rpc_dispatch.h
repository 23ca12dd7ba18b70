#pragma once

#include <stddef.h>

#include "rpc_message.h"
#include "rpc_server_priv.h"

/*
 * The procedure tables. Each area (connect/host, domain, lifecycle, console streams, events)
 * has one table of RpcProcedure; the dispatcher decodes the arguments, checks that the
 * connection is open and allowed to write, calls the handler on a worker thread (or on the loop
 * thread: RPC_PROC_INLINE) and sends its answer or its error. A handler only translates between
 * the wire and driver.h.
 */

typedef struct {
    RpcServer *srv;
    RpcClient *client;
    CocoonConn *conn;
    const cvr_message_header *hdr;
    const char *api; /* libvirt's name of the API, for NO_SUPPORT and read-only errors */
} RpcCall;

/* 0: send ret; RPC_HANDLER_REPLIED: the handler sent the reply itself; -1: *err. */
typedef int (*RpcHandler)(RpcCall *call, void *args, void *ret, CvError **err);
#define RPC_HANDLER_REPLIED 1

typedef struct {
    int proc;
    const char *api;
    xdrproc_t args_filter; /* NULL: no arguments */
    size_t args_size;
    xdrproc_t ret_filter;  /* NULL: empty answer */
    size_t ret_size;
    RpcHandler handler;    /* NULL: not supported */
    unsigned int flags;
} RpcProcedure;

#define RPC_PROC_WRITE (1u << 0)   /* refused on read-only connections */
#define RPC_PROC_NO_OPEN (1u << 1) /* may be called before CONNECT_OPEN */
/* Read-only, never waits for a lock or a VMM, bounded work: answered on the loop thread when
 * the client has nothing in flight (the driver gives up where it would wait after all:
 * driver_nowait.h). Its handler must not reply itself. */
#define RPC_PROC_INLINE (1u << 2)

#define RPC_XDR(type) (xdrproc_t) xdr_##type, sizeof(type)
#define RPC_NONE NULL, 0

extern const RpcProcedure rpc_connect_procedures[];
extern const size_t rpc_connect_procedures_len;
extern const RpcProcedure rpc_domain_procedures[];
extern const size_t rpc_domain_procedures_len;
extern const RpcProcedure rpc_lifecycle_procedures[];
extern const size_t rpc_lifecycle_procedures_len;
extern const RpcProcedure rpc_stream_procedures[];
extern const size_t rpc_stream_procedures_len;
extern const RpcProcedure rpc_event_procedures[];
extern const size_t rpc_event_procedures_len;
extern const RpcProcedure rpc_save_procedures[];
extern const size_t rpc_save_procedures_len;
extern const RpcProcedure rpc_snapshot_procedures[];
extern const size_t rpc_snapshot_procedures_len;
extern const RpcProcedure rpc_node_procedures[];
extern const size_t rpc_node_procedures_len;
extern const RpcProcedure rpc_stats_procedures[];
extern const size_t rpc_stats_procedures_len;
extern const RpcProcedure rpc_cocoon_procedures[];
extern const size_t rpc_cocoon_procedures_len;
extern const RpcProcedure rpc_cocoon_ext_procedures[]; /* rpc_dispatch_cocoon.c */
extern const size_t rpc_cocoon_ext_procedures_len;
extern const RpcProcedure rpc_archive_procedures[]; /* rpc_dispatch_archive.c */
extern const size_t rpc_archive_procedures_len;

/** rpc_no_support: set *err to NO_SUPPORT for call's API; returns -1. */
int rpc_no_support(RpcCall *call, CvError **err);

/** rpc_domain_from_wire: a driver reference for d on call's connection. */
CocoonDomain *rpc_domain_from_wire(RpcCall *call, const cvr_nonnull_domain *d);

/** rpc_domain_to_wire: fill ret from dom (ret->name is a new string). */
void rpc_domain_to_wire(const CocoonDomain *dom, cvr_nonnull_domain *ret);

/* A driver member that acts on a domain, with flags or without. */
typedef int (*RpcDomainFlagsFunc)(CocoonDomain *dom, unsigned int flags, CvError **err);
typedef int (*RpcDomainFunc)(CocoonDomain *dom, CvError **err);

/**
 * rpc_domain_call_flags: the body of a handler that passes a domain and flags to one driver
 * member fn and answers nothing. fn NULL: NO_SUPPORT. Returns fn's result (0 or -1).
 */
int rpc_domain_call_flags(RpcCall *call, RpcDomainFlagsFunc fn, const cvr_nonnull_domain *d,
                          unsigned int flags, CvError **err);

/** rpc_domain_call: as rpc_domain_call_flags, for a driver member that takes no flags. */
int rpc_domain_call(RpcCall *call, RpcDomainFunc fn, const cvr_nonnull_domain *d,
                    CvError **err);

/** rpc_typed_params_to_wire: p as a new wire array (*ret_val, *ret_len); freed by xdr_free. */
void rpc_typed_params_to_wire(const CocoonTypedParams *p, cvr_typed_param **ret_val,
                              u_int *ret_len);

/** rpc_call_reply_header: the header of call's REPLY with status OK. */
cvr_message_header rpc_call_reply_header(const RpcCall *call);

/**
 * rpc_stream_register: make s (its fields but client set) the stream of call: the call's
 * REPLY is queued, then s goes into the client's table, its fd polled for events (0: not
 * polled). -1 with *err when the client is gone or the serial is taken (s is not kept then:
 * the caller frees it).
 */
int rpc_stream_register(RpcCall *call, RpcStream *s, guint32 events, CvError **err);

/** rpc_names_remote_api: libvirt's API name for a REMOTE_PROGRAM procedure, or NULL. */
const char *rpc_names_remote_api(int proc);

/* Call driver member m of call's connection, or fail with NO_SUPPORT. */
#define RPC_DRIVER(call, m) ((call)->conn->driver->m)
#define RPC_REQUIRE(call, m, err)                                                              \
    do {                                                                                       \
        if (!RPC_DRIVER(call, m))                                                              \
            return rpc_no_support(call, err);                                                  \
    } while (0)
