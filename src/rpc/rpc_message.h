#pragma once

#include <glib.h>
#include <rpc/rpc.h>
#include <stdbool.h>

#include "cocoon_protocol.h"
#include "util/cv_error.h"

/*
 * libvirt RPC messages (../shared/protocol/libvirt-rpc.md §1): a 4-byte big-endian length that
 * counts the whole message, a 24-byte XDR header, an XDR payload. Encoding and decoding go
 * through the rpcgen routines of cocoon_protocol.x over libtirpc's memory streams; only the
 * length word is written by hand.
 */

/* The smallest and the largest value of the length word. */
#define RPC_MESSAGE_LEN_MIN (CVR_MESSAGE_LEN_SIZE + CVR_MESSAGE_HEADER_SIZE)
#define RPC_MESSAGE_LEN_MAX (CVR_MESSAGE_LEN_SIZE + CVR_MESSAGE_MAX)

/** rpc_message_length: the length word at buf (4 bytes, big-endian). */
guint32 rpc_message_length(const guint8 *buf);

/**
 * rpc_message_encode: a framed message of hdr and body encoded by filter (NULL: no body).
 * Returns new bytes, or NULL with *err (VIR_ERR_RPC) when the body cannot be encoded or the
 * message would exceed the protocol's maximum.
 */
GBytes *rpc_message_encode(const cvr_message_header *hdr, xdrproc_t filter, const void *body,
                           CvError **err);

/** rpc_message_encode_raw: a framed message of hdr and len raw bytes (stream data). */
GBytes *rpc_message_encode_raw(const cvr_message_header *hdr, const void *data, size_t len);

/** rpc_message_encode_pong: the keepalive PONG message, the answer to a PING. */
GBytes *rpc_message_encode_pong(void);

/**
 * rpc_message_encode_error: hdr (its status forced to ERROR) with a remote_error body filled
 * from err: code, domain, message, level 2.
 */
GBytes *rpc_message_encode_error(const cvr_message_header *hdr, const CvError *err);

/**
 * rpc_message_decode_header: the header in the first 24 bytes of buf (the message without
 * its length word). 0, or -1 with *err.
 */
int rpc_message_decode_header(const guint8 *buf, size_t len, cvr_message_header *ret_hdr,
                              CvError **err);

/**
 * rpc_message_decode_body: decode exactly len bytes into body (zeroed first) with filter.
 * On success the caller frees body's members with xdr_free(filter, body). 0, or -1 with *err
 * (nothing to free).
 */
int rpc_message_decode_body(const guint8 *buf, size_t len, xdrproc_t filter, void *body,
                            size_t body_size, CvError **err);
