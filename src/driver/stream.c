#include "stream.h"

#include <libvirt/libvirt.h>

CocoonStream *
cocoon_stream_new(unsigned int flags)
{
    CocoonStream *st = g_new0(CocoonStream, 1);
    st->nonblock = (flags & VIR_STREAM_NONBLOCK) != 0;
    return st;
}

void
cocoon_stream_bind(CocoonStream *st, const CocoonStreamOps *ops, void *priv)
{
    st->ops = ops;
    st->priv = priv;
}

static bool
stream_check_bound(CocoonStream *st, CvError **err)
{
    if (st && st->ops)
        return true;
    cv_error_set(err, VIR_FROM_STREAMS, VIR_ERR_OPERATION_INVALID, "stream is not open");
    return false;
}

ssize_t
cocoon_stream_recv(CocoonStream *st, char *buf, size_t n, CvError **err)
{
    return stream_check_bound(st, err) ? st->ops->recv(st, buf, n, err) : -1;
}

ssize_t
cocoon_stream_send(CocoonStream *st, const char *buf, size_t n, CvError **err)
{
    return stream_check_bound(st, err) ? st->ops->send(st, buf, n, err) : -1;
}

int
cocoon_stream_finish(CocoonStream *st, CvError **err)
{
    return stream_check_bound(st, err) ? st->ops->finish(st, err) : -1;
}

int
cocoon_stream_abort(CocoonStream *st, CvError **err)
{
    return stream_check_bound(st, err) ? st->ops->abort(st, err) : -1;
}

int
cocoon_stream_get_fd(CocoonStream *st)
{
    return st && st->ops && st->ops->get_fd ? st->ops->get_fd(st) : -1;
}

void
cocoon_stream_free(CocoonStream *st)
{
    if (!st)
        return;
    if (st->ops && st->ops->free_priv)
        st->ops->free_priv(st->priv);
    g_free(st);
}
