#include "rpc_message.h"

#include <libvirt/virterror.h>
#include <stdbool.h>
#include <string.h>

guint32
rpc_message_length(const guint8 *buf)
{
    return ((guint32)buf[0] << 24) | ((guint32)buf[1] << 16) | ((guint32)buf[2] << 8) |
           (guint32)buf[3];
}

static void
message_put_length(guint8 *buf, guint32 len)
{
    buf[0] = (guint8)(len >> 24);
    buf[1] = (guint8)(len >> 16);
    buf[2] = (guint8)(len >> 8);
    buf[3] = (guint8)len;
}

/* The header and body after the length word in a new buffer of exactly the right size. */
static GBytes *
message_encode_xdr(const cvr_message_header *hdr, xdrproc_t filter, const void *body,
                   CvError **err)
{
    unsigned long body_len = filter ? xdr_sizeof(filter, (void *)body) : 0;
    if (filter && body_len == 0) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot size the message payload");
        return NULL;
    }
    if (body_len > CVR_MESSAGE_PAYLOAD_MAX) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC,
                     "message payload of %lu bytes exceeds the maximum of %d bytes", body_len,
                     CVR_MESSAGE_PAYLOAD_MAX);
        return NULL;
    }
    size_t total = RPC_MESSAGE_LEN_MIN + body_len;
    guint8 *buf = g_malloc(total);
    message_put_length(buf, (guint32)total);

    XDR xdr;
    xdrmem_create(&xdr, (char *)buf + CVR_MESSAGE_LEN_SIZE, (u_int)(total - CVR_MESSAGE_LEN_SIZE),
                  XDR_ENCODE);
    bool ok = xdr_cvr_message_header(&xdr, (cvr_message_header *)hdr) &&
              (!filter || filter(&xdr, (void *)body));
    ok = ok && xdr_getpos(&xdr) == total - CVR_MESSAGE_LEN_SIZE;
    xdr_destroy(&xdr);
    if (!ok) {
        g_free(buf);
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot encode message (procedure %d)",
                     hdr->proc);
        return NULL;
    }
    return g_bytes_new_take(buf, total);
}

GBytes *
rpc_message_encode(const cvr_message_header *hdr, xdrproc_t filter, const void *body,
                   CvError **err)
{
    return message_encode_xdr(hdr, filter, body, err);
}

GBytes *
rpc_message_encode_pong(void)
{
    cvr_message_header pong = {.prog = CVR_KEEPALIVE_PROGRAM,
                               .vers = CVR_KEEPALIVE_VERSION,
                               .proc = CVR_KEEPALIVE_PROC_PONG,
                               .type = CVR_MESSAGE,
                               .serial = 0,
                               .status = CVR_OK};
    return rpc_message_encode(&pong, NULL, NULL, NULL);
}

GBytes *
rpc_message_encode_raw(const cvr_message_header *hdr, const void *data, size_t len)
{
    g_return_val_if_fail(len <= CVR_MESSAGE_PAYLOAD_MAX, NULL);
    size_t total = RPC_MESSAGE_LEN_MIN + len;
    guint8 *buf = g_malloc(total);
    message_put_length(buf, (guint32)total);
    XDR xdr;
    xdrmem_create(&xdr, (char *)buf + CVR_MESSAGE_LEN_SIZE, CVR_MESSAGE_HEADER_SIZE, XDR_ENCODE);
    bool ok = xdr_cvr_message_header(&xdr, (cvr_message_header *)hdr);
    xdr_destroy(&xdr);
    g_assert(ok); /* six ints always fit in 24 bytes */
    if (len)
        memcpy(buf + RPC_MESSAGE_LEN_MIN, data, len);
    return g_bytes_new_take(buf, total);
}

GBytes *
rpc_message_encode_error(const cvr_message_header *hdr, const CvError *err)
{
    cvr_message_header h = *hdr;
    h.status = CVR_ERROR;
    char *message = (err && err->message) ? err->message : (char *)"unknown error";
    cvr_error body = {
        .code = err ? err->code : VIR_ERR_INTERNAL_ERROR,
        .domain = err ? err->domain : VIR_FROM_NONE,
        .message = &message,
        .level = VIR_ERR_ERROR,
        .str1 = &message,
        .int1 = -1,
        .int2 = -1,
    };
    g_autoptr(CvError) again = NULL;
    GBytes *msg = message_encode_xdr(&h, (xdrproc_t)xdr_cvr_error, &body, &again);
    if (!msg) {
        /* an error text too long for one message: send its code with a short text */
        char *fallback = (char *)"error message too long";
        body.message = body.str1 = &fallback;
        msg = message_encode_xdr(&h, (xdrproc_t)xdr_cvr_error, &body, NULL);
    }
    return msg;
}

int
rpc_message_decode_header(const guint8 *buf, size_t len, cvr_message_header *ret_hdr,
                          CvError **err)
{
    if (len < CVR_MESSAGE_HEADER_SIZE) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "message of %zu bytes has no header", len);
        return -1;
    }
    XDR xdr;
    cvr_message_header hdr;
    xdrmem_create(&xdr, (char *)buf, CVR_MESSAGE_HEADER_SIZE, XDR_DECODE);
    bool ok = xdr_cvr_message_header(&xdr, &hdr);
    xdr_destroy(&xdr);
    if (!ok) {
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot decode message header");
        return -1;
    }
    *ret_hdr = hdr;
    return 0;
}

int
rpc_message_decode_body(const guint8 *buf, size_t len, xdrproc_t filter, void *body,
                        size_t body_size, CvError **err)
{
    memset(body, 0, body_size);
    XDR xdr;
    xdrmem_create(&xdr, (char *)buf, (u_int)len, XDR_DECODE);
    bool ok = filter(&xdr, body);
    bool exact = ok && xdr_getpos(&xdr) == len;
    xdr_destroy(&xdr);
    if (!exact) {
        /* a decode that failed half-way keeps what it allocated before: the members are
         * zeroed first, so freeing the partial result is safe */
        xdr_free(filter, body);
        memset(body, 0, body_size);
        cv_error_set(err, VIR_FROM_RPC, VIR_ERR_RPC, "cannot decode the arguments (%zu bytes)",
                     len);
        return -1;
    }
    return 0;
}
