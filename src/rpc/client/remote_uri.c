#include "remote_uri.h"

#include <string.h>

#include "util/cv_paths.h"

/* Parameters libvirt's remote driver keeps for itself (never sent to the server). */
static const char *const consumed_params[] = {
    "name",    "command",    "socket",   "auth",         "sshauth",          "netcat",
    "keyfile", "pkipath",    "known_hosts", "known_hosts_verify", "tls_priority", "mode",
    "proxy",   "no_sanity",  "no_verify", "no_tty",      "authfile",         NULL,
};

static bool
uri_param_consumed(const char *key)
{
    for (const char *const *p = consumed_params; *p; p++)
        if (g_ascii_strcasecmp(key, *p) == 0)
            return true;
    return false;
}

void
remote_uri_free(RemoteUri *ru)
{
    if (!ru)
        return;
    g_free(ru->socket_path);
    g_free(ru->name);
    g_free(ru);
}

RemoteUri *
remote_uri_parse(const char *uri, bool read_only, CvError **err)
{
    g_autoptr(GError) gerr = NULL;
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, &gerr);
    if (!parsed) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "malformed URI '%s': %s", uri,
                     gerr->message);
        return NULL;
    }
    const char *scheme = g_uri_get_scheme(parsed);
    const char *plus = strchr(scheme, '+');
    g_autofree char *driver = plus ? g_strndup(scheme, (gsize)(plus - scheme)) : g_strdup(scheme);
    if (plus && g_ascii_strcasecmp(plus + 1, "unix") != 0) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_CONNECT, "%s", uri);
        return NULL;
    }

    g_autofree char *socket_path = NULL;
    g_autofree char *name_override = NULL;
    g_autoptr(GString) kept = g_string_new(NULL);
    const char *query = g_uri_get_query(parsed);
    if (query && *query) {
        g_auto(GStrv) pairs = g_strsplit(query, "&", -1);
        for (char **p = pairs; *p; p++) {
            if (!**p)
                continue;
            const char *eq = strchr(*p, '=');
            g_autofree char *key = eq ? g_strndup(*p, (gsize)(eq - *p)) : g_strdup(*p);
            g_autofree char *value = eq ? g_uri_unescape_string(eq + 1, NULL) : g_strdup("");
            if (!value) {
                cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                             "malformed URI '%s': bad escape in '%s'", uri, *p);
                return NULL;
            }
            if (g_ascii_strcasecmp(key, "socket") == 0) {
                g_free(socket_path);
                socket_path = g_steal_pointer(&value);
            } else if (g_ascii_strcasecmp(key, "name") == 0) {
                g_free(name_override);
                name_override = g_steal_pointer(&value);
            } else if (!uri_param_consumed(key)) {
                g_string_append_printf(kept, "%s%s", kept->len ? "&" : "", *p);
            }
        }
    }

    RemoteUri *ru = g_new0(RemoteUri, 1);
    if (name_override) {
        ru->name = g_steal_pointer(&name_override);
    } else {
        const char *fragment = g_uri_get_fragment(parsed);
        const char *host = g_uri_get_host(parsed);
        ru->name = g_strdup_printf("%s://%s%s%s%s%s%s", driver, host ? host : "",
                                   g_uri_get_path(parsed), kept->len ? "?" : "", kept->str,
                                   fragment ? "#" : "", fragment ? fragment : "");
    }
    if (socket_path) {
        ru->socket_path = g_steal_pointer(&socket_path);
    } else {
        g_autofree char *def = cv_paths_daemon_socket();
        ru->socket_path = read_only ? g_strconcat(def, "-ro", NULL) : g_steal_pointer(&def);
    }
    return ru;
}
