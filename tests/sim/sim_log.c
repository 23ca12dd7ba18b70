/* Request log and human-readable log lines for the hypervisor simulators. */
#include "sim_log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static void
sim_log_write_all(int fd, const char *buf, gsize len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (gsize)n;
    }
}

void
sim_log_request(const char *method, const char *path, const char *body, int status)
{
    const char *file = g_getenv("COCOON_SIM_REQUEST_LOG");
    json_object *o, *b = NULL;
    const char *s;
    int fd;

    if (!file || !*file)
        return;
    if (body) {
        b = json_tokener_parse(body);
        if (!b)
            b = json_object_new_string(body);
    }
    o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_object_add(o, "body", b);
    json_object_object_add(o, "status", json_object_new_int(status));
    s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
        g_autofree char *line = g_strdup_printf("%s\n", s);
        sim_log_write_all(fd, line, strlen(line));
        close(fd);
    }
    json_object_put(o);
}

int
sim_log_open(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC, 0644);
}

int
sim_log_open_overwrite(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
}

void
sim_log_line(int fd, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;
    g_autofree char *line = NULL;

    if (fd < 0)
        return;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strdup_printf("%s\n", msg);
    sim_log_write_all(fd, line, strlen(line));
}
