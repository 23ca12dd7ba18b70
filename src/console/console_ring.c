#include "console/console_ring.h"

#include <stdint.h>
#include <string.h>

#include "util/cv_mem.h"

/* Memory grows on demand up to capacity, so a viewer queue that is mostly empty stays small. */
#define CONSOLE_RING_INITIAL (64 * 1024)

struct ConsoleRing {
    uint8_t *buf;
    size_t alloc; /* bytes allocated: ≤ capacity */
    size_t capacity;
    size_t head; /* index of the oldest byte */
    size_t length;
};

ConsoleRing *
console_ring_new(size_t capacity)
{
    if (capacity == 0)
        return NULL;
    ConsoleRing *ring = cv_xcalloc(1, sizeof(*ring));
    ring->alloc = CV_MIN(capacity, CONSOLE_RING_INITIAL);
    ring->buf = cv_xmalloc(ring->alloc);
    ring->capacity = capacity;
    return ring;
}

void
console_ring_free(ConsoleRing *ring)
{
    if (!ring)
        return;
    free(ring->buf);
    free(ring);
}

size_t
console_ring_capacity(const ConsoleRing *ring)
{
    return ring->capacity;
}

size_t
console_ring_length(const ConsoleRing *ring)
{
    return ring->length;
}

size_t
console_ring_space(const ConsoleRing *ring)
{
    return ring->capacity - ring->length;
}

/* Grow the allocation to hold at least want bytes (≤ capacity), keeping the order. */
static void
console_ring_grow(ConsoleRing *ring, size_t want)
{
    size_t alloc = ring->alloc;

    while (alloc < want)
        alloc *= 2;
    alloc = CV_MIN(alloc, ring->capacity);
    if (alloc == ring->alloc)
        return;
    uint8_t *buf = cv_xmalloc(alloc);
    size_t first = CV_MIN(ring->length, ring->alloc - ring->head);
    memcpy(buf, ring->buf + ring->head, first);
    memcpy(buf + first, ring->buf, ring->length - first);
    free(ring->buf);
    ring->buf = buf;
    ring->alloc = alloc;
    ring->head = 0;
}

void
console_ring_append(ConsoleRing *ring, const void *data, size_t len)
{
    const uint8_t *src = data;

    if (len >= ring->capacity) {
        /* Only the tail survives: lay it out from index 0. */
        console_ring_grow(ring, ring->capacity);
        memcpy(ring->buf, src + (len - ring->capacity), ring->capacity);
        ring->head = 0;
        ring->length = ring->capacity;
        return;
    }
    if (len > console_ring_space(ring))
        console_ring_consume(ring, len - console_ring_space(ring));
    if (ring->length + len > ring->alloc)
        console_ring_grow(ring, ring->length + len);

    size_t tail = (ring->head + ring->length) % ring->alloc;
    size_t first = CV_MIN(len, ring->alloc - tail);
    memcpy(ring->buf + tail, src, first);
    memcpy(ring->buf, src + first, len - first);
    ring->length += len;
}

int
console_ring_peek(const ConsoleRing *ring, struct iovec ret_iov[2])
{
    if (ring->length == 0)
        return 0;
    size_t first = CV_MIN(ring->length, ring->alloc - ring->head);
    ret_iov[0].iov_base = ring->buf + ring->head;
    ret_iov[0].iov_len = first;
    if (first == ring->length)
        return 1;
    ret_iov[1].iov_base = ring->buf;
    ret_iov[1].iov_len = ring->length - first;
    return 2;
}

void
console_ring_consume(ConsoleRing *ring, size_t n)
{
    if (n > ring->length)
        return;
    ring->length -= n;
    ring->head = ring->length ? (ring->head + n) % ring->alloc : 0;
}

void
console_ring_copy_to(const ConsoleRing *ring, ConsoleRing *dst)
{
    struct iovec iov[2];
    int n = console_ring_peek(ring, iov);

    for (int i = 0; i < n; i++)
        console_ring_append(dst, iov[i].iov_base, iov[i].iov_len);
}

void
console_ring_clear(ConsoleRing *ring)
{
    ring->head = 0;
    ring->length = 0;
}
