#pragma once

#include <glib.h>

/*
 * GLib's locks as ThreadSanitizer sees them. GLib 2.74's GMutex and GCond wait on futexes,
 * and a GThreadPool hands its jobs over through a queue locked the same way: TSan (which
 * follows pthread calls and atomics, not futex system calls in an uninstrumented library)
 * sees no order between the threads and reports every access a lock protects as a race. Our
 * code takes and releases GLib's locks through these, which tell TSan what the lock does
 * (acquire after the lock, release before the unlock); a hand-over to a pool worker is
 * cv_sync_handover before the push and cv_sync_taken in the worker. Without TSan they are
 * the plain GLib calls.
 */

#if defined(__SANITIZE_THREAD__)
#define CV_SYNC_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CV_SYNC_TSAN 1
#endif
#endif

#ifdef CV_SYNC_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define CV_SYNC_ACQUIRE(p) __tsan_acquire((void *)(p))
#define CV_SYNC_RELEASE(p) __tsan_release((void *)(p))
#else
#define CV_SYNC_ACQUIRE(p) ((void)(p))
#define CV_SYNC_RELEASE(p) ((void)(p))
#endif

static inline void
cv_mutex_lock(GMutex *m)
{
    g_mutex_lock(m);
    CV_SYNC_ACQUIRE(m);
}

static inline void
cv_mutex_unlock(GMutex *m)
{
    CV_SYNC_RELEASE(m);
    g_mutex_unlock(m);
}

static inline void
cv_cond_wait(GCond *c, GMutex *m)
{
    CV_SYNC_RELEASE(m);
    g_cond_wait(c, m);
    CV_SYNC_ACQUIRE(m);
}

static inline gboolean
cv_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
    CV_SYNC_RELEASE(m);
    gboolean signalled = g_cond_wait_until(c, m, end_time);
    CV_SYNC_ACQUIRE(m);
    return signalled;
}

/* What the thread that made p did happens before what the thread that takes p does. */
static inline void
cv_sync_handover(const void *p)
{
    CV_SYNC_RELEASE(p);
}

static inline void
cv_sync_taken(const void *p)
{
    CV_SYNC_ACQUIRE(p);
}
