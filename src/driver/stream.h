#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "util/cv_error.h"

/*
 * A byte stream between a client and a domain's console, like virStreamPtr. The local driver
 * backs it with a connected socket to the console relay; the remote driver backs it with
 * libvirt's STREAM packets. Callers see only these calls.
 */
typedef struct CocoonStream CocoonStream;

typedef struct {
    /* Read up to n bytes: > 0 bytes read, 0 end of stream, -1 error (*err set), -2 would
     * block (non-blocking streams only). */
    ssize_t (*recv)(CocoonStream *st, char *buf, size_t n, CvError **err);
    /* Write n bytes (all of them, or -1). */
    ssize_t (*send)(CocoonStream *st, const char *buf, size_t n, CvError **err);
    /* Orderly end (the client is done), and abnormal end. */
    int (*finish)(CocoonStream *st, CvError **err);
    int (*abort)(CocoonStream *st, CvError **err);
    /* A file descriptor that polls readable when recv has something (or EOF); -1 if none. */
    int (*get_fd)(CocoonStream *st);
    void (*free_priv)(void *priv);
} CocoonStreamOps;

struct CocoonStream {
    const CocoonStreamOps *ops; /* NULL until a driver call (domainOpenConsole) binds it */
    void *priv;
    bool nonblock;
};

/** cocoon_stream_new: an unbound stream; flags: VIR_STREAM_NONBLOCK. */
CocoonStream *cocoon_stream_new(unsigned int flags);

/** cocoon_stream_bind: attach ops and priv (owned by the stream, freed with free_priv). */
void cocoon_stream_bind(CocoonStream *st, const CocoonStreamOps *ops, void *priv);

ssize_t cocoon_stream_recv(CocoonStream *st, char *buf, size_t n, CvError **err);
ssize_t cocoon_stream_send(CocoonStream *st, const char *buf, size_t n, CvError **err);
int cocoon_stream_finish(CocoonStream *st, CvError **err);
int cocoon_stream_abort(CocoonStream *st, CvError **err);
int cocoon_stream_get_fd(CocoonStream *st);

void cocoon_stream_free(CocoonStream *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CocoonStream, cocoon_stream_free)
