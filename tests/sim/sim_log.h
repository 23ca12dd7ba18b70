/* Request log and human-readable log lines for the hypervisor simulators. */
#pragma once

#include <glib.h>

/**
 * sim_log_request:
 * Appends {"method","path","body","status"} as one JSON line to the file named by the
 * environment variable COCOON_SIM_REQUEST_LOG (nothing when unset). @body is the raw request
 * body (NULL: none); it is logged as JSON when it parses, as a string otherwise.
 */
void sim_log_request(const char *method, const char *path, const char *body, int status);

/**
 * sim_log_open:
 * Opens (creating, appending, non-blocking so a FIFO without reader does not hang) a log file.
 * Returns: an O_CLOEXEC fd or -1 with errno set.
 */
int sim_log_open(const char *path);

/**
 * sim_log_open_overwrite:
 * As sim_log_open, but without appending: writes begin at the start of the file, over what an
 * earlier process left there, as Firecracker's --log-path and PUT /logger do.
 */
int sim_log_open_overwrite(const char *path);

/** sim_log_line: writes one formatted line (a newline is added) to @fd; ignores fd < 0. */
void sim_log_line(int fd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
