#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

/*
 * A fixed-capacity byte ring. The relay uses it twice: as the console scrollback (appending
 * past capacity forgets the oldest bytes) and as each viewer's bounded output queue (the
 * caller checks console_ring_space() first and drops a viewer that does not fit). Memory is
 * allocated as the ring fills (64 KiB first, doubling), so a large, mostly empty queue is cheap.
 */
typedef struct ConsoleRing ConsoleRing;

/** console_ring_new: an empty ring holding at most capacity bytes (capacity > 0). */
ConsoleRing *console_ring_new(size_t capacity);

/** console_ring_free: release the ring; NULL is accepted. */
void console_ring_free(ConsoleRing *ring);
#if __has_include(<glib.h>)
#include <glib.h>
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ConsoleRing, console_ring_free)
#endif

/** console_ring_capacity: the capacity given at creation. */
size_t console_ring_capacity(const ConsoleRing *ring);

/** console_ring_length: the number of bytes held. */
size_t console_ring_length(const ConsoleRing *ring);

/** console_ring_space: capacity − length. */
size_t console_ring_space(const ConsoleRing *ring);

/**
 * console_ring_append: add len bytes at the end. When they do not fit, the oldest bytes are
 * forgotten, so the ring always holds the last min(total, capacity) bytes appended.
 */
void console_ring_append(ConsoleRing *ring, const void *data, size_t len);

/**
 * console_ring_peek: describe the held bytes, oldest first, as up to two segments (borrowed,
 * valid until the next append/consume). Returns the number of segments filled (0, 1 or 2).
 */
int console_ring_peek(const ConsoleRing *ring, struct iovec ret_iov[2]);

/** console_ring_consume: forget the oldest n bytes (n ≤ length). */
void console_ring_consume(ConsoleRing *ring, size_t n);

/** console_ring_copy_to: append every byte held in ring to dst, oldest first. */
void console_ring_copy_to(const ConsoleRing *ring, ConsoleRing *dst);

/** console_ring_clear: forget everything. */
void console_ring_clear(ConsoleRing *ring);
