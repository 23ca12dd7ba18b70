/*
 * Decoding of call arguments (rpc_message_decode_body) on inputs the fuzzer found: arguments
 * cut short after a string, or with bytes left over, are refused with VIR_ERR_RPC, leave the
 * body zeroed, and free what the decoder had allocated before it failed (the ASan build's
 * leak check fails this test otherwise: tests/fuzz/regress/rpc/leak-partial-decode).
 */
#include <stdio.h>
#include <string.h>

#include "rpc/rpc_message.h"

static int failures;

static void
check(bool cond, const char *what)
{
    printf("%s - %s\n", cond ? "ok" : "FAIL", what);
    if (!cond)
        failures++;
}

/* The XDR encoding of define_xml_flags_args {xml, flags}. */
static GBytes *
encode_define(const char *xml, unsigned int flags)
{
    cvr_domain_define_xml_flags_args args = {.xml = (char *)xml, .flags = flags};
    cvr_message_header h = {.prog = CVR_REMOTE_PROGRAM, .vers = CVR_REMOTE_VERSION,
                            .proc = CVR_PROC_DOMAIN_DEFINE_XML_FLAGS};
    return rpc_message_encode(&h, (xdrproc_t)xdr_cvr_domain_define_xml_flags_args, &args, NULL);
}

static void
decode_case(const char *what, const guint8 *body, size_t len, bool want_ok)
{
    cvr_domain_define_xml_flags_args args;
    g_autoptr(CvError) err = NULL;
    int rc = rpc_message_decode_body(body, len, (xdrproc_t)xdr_cvr_domain_define_xml_flags_args,
                                     &args, sizeof(args), &err);
    if (want_ok) {
        check(rc == 0 && args.xml && strcmp(args.xml, "<domain/>") == 0 && args.flags == 5,
              what);
        if (rc == 0)
            xdr_free((xdrproc_t)xdr_cvr_domain_define_xml_flags_args, &args);
        return;
    }
    check(rc < 0 && err && err->code == VIR_ERR_RPC &&
              g_str_has_prefix(err->message, "RPC error: cannot decode the arguments"),
          what);
    check(args.xml == NULL && args.flags == 0, "and the body is left zeroed");
}

int
main(void)
{
    g_autoptr(GBytes) msg = encode_define("<domain/>", 5);
    gsize size;
    const guint8 *data = g_bytes_get_data(msg, &size);
    const guint8 *body = data + RPC_MESSAGE_LEN_MIN;
    size_t len = size - RPC_MESSAGE_LEN_MIN;

    decode_case("whole arguments decode", body, len, true);
    decode_case("arguments cut after the string are refused", body, len - 4, false);
    decode_case("arguments cut inside the string are refused", body, 6, false);
    g_autofree guint8 *longer = g_malloc0(len + 4);
    memcpy(longer, body, len);
    decode_case("arguments with bytes left over are refused", longer, len + 4, false);
    return failures ? 1 : 0;
}
