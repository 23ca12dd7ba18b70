#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Test harness for the console relay: a real PTY pair whose slave side stands in for the VMM,
 * and the real cocoon-console-relay binary serving its master.
 */
typedef struct {
    char *dir;    /* temporary directory holding the socket */
    char *socket; /* the console socket */
    int slave;    /* the "VMM" end; -1 once closed */
    pid_t relay;  /* the relay's pid (the spawned process; with --daemon it has exited) */
} Harness;

/**
 * harness_start: PTY + relay (argv extra appended, NULL-terminated); waits for its ready byte.
 * The relay gets the master as --pty-fd 3 (Firecracker's case) and the harness keeps the slave;
 * with by_path, the relay opens the slave by --pty PATH (Cloud Hypervisor's case) and the
 * harness keeps the master. Either way h->slave is the VMM's end.
 */
Harness *harness_start_full(const char *relay_path, const char *const *extra, bool by_path);

/** harness_start: harness_start_full(relay_path, extra, false). */
Harness *harness_start(const char *relay_path, const char *const *extra);

/** harness_wait_relay: wait up to timeout_ms for the relay to exit; its wait status or -1. */
int harness_wait_relay(Harness *h, int timeout_ms);

/** harness_free: kill the relay if still running, remove the directory. */
void harness_free(Harness *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Harness, harness_free)

/** read_some: read up to max bytes within timeout_ms; appends to out; returns bytes or -1 EOF. */
gssize test_read_some(int fd, GByteArray *out, gsize max, int timeout_ms);

/** test_read_exact: read exactly len bytes within timeout_ms. false on EOF/timeout. */
bool test_read_exact(int fd, GByteArray *out, gsize len, int timeout_ms);

/** test_read_to_eof: read until EOF within timeout_ms; false on timeout. */
bool test_read_to_eof(int fd, GByteArray *out, int timeout_ms);

/** test_write_all: blocking write of len bytes. */
void test_write_all(int fd, const void *data, gsize len);
