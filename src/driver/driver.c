#include "driver.h"

#include <string.h>
#include <unistd.h>

#include "driver/driver_nowait.h"
#include "driver/config.h"
#include "driver/driver_remote.h"
#include "driver/local.h"
#include "util/cv_paths.h"

/*
 * cocoon_conn_open: which driver serves a URI (DESIGN.md "URIs"), and the CocoonDomain
 * reference helpers every driver uses.
 */

static CocoonRemoteOpenFunc remote_opener;

/* 0: outside a bracket; 1: inside; 2: inside, and a call gave up (driver_nowait.h) */
static __thread int nowait_state;

void
cocoon_nowait_begin(void)
{
    nowait_state = 1;
}

bool
cocoon_nowait_end(void)
{
    bool gave_up = nowait_state == 2;
    nowait_state = 0;
    return gave_up;
}

bool
cocoon_nowait_give_up(void)
{
    if (!nowait_state)
        return false;
    nowait_state = 2;
    return true;
}

void
cocoon_conn_set_remote_opener(CocoonRemoteOpenFunc fn)
{
    remote_opener = fn;
}

static CocoonConn *
conn_open_remote(const char *uri, unsigned int flags, CvError **err)
{
    if (remote_opener)
        return remote_opener(uri, flags, err);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_CONNECT, "%s", uri);
    return NULL;
}

static char *
path_absolute(const char *path)
{
    return g_canonicalize_filename(path, NULL);
}

/* The embedded driver over root (and run, NULL: root/run), named by its canonical URI. */
static CocoonConn *
conn_open_embed(const char *root_in, const char *run_in, CvError **err)
{
    g_autofree char *root = path_absolute(root_in);
    g_autofree char *run_default = g_build_filename(root, "run", NULL);
    g_autofree char *run = run_in ? path_absolute(run_in) : g_strdup(run_default);
    g_autofree char *root_esc = g_uri_escape_string(root, "/", FALSE);
    g_autofree char *uri = NULL;
    if (strcmp(run, run_default) == 0) {
        uri = g_strconcat("cocoon:///embed?root=", root_esc, NULL);
    } else {
        g_autofree char *run_esc = g_uri_escape_string(run, "/", FALSE);
        uri = g_strconcat("cocoon:///embed?root=", root_esc, "&run=", run_esc, NULL);
    }
    return local_conn_open(uri, root, run, err);
}

static CocoonConn *conn_open_uri(const char *uri, unsigned int flags, CvError **err);

static CocoonConn *
conn_open_default(unsigned int flags, CvError **err)
{
    const char *env = g_getenv("COCOON_DEFAULT_URI");
    if (env && *env)
        return conn_open_uri(env, flags, err);

    g_autofree char *sock = cv_paths_daemon_socket();
    if (remote_opener && cv_paths_socket_answers(sock))
        return remote_opener(geteuid() == 0 ? "cocoon:///system" : "cocoon:///session", flags, err);

    g_autofree char *root = NULL, *run = NULL;
    if (cocoon_config_paths(&root, &run, err) < 0)
        return NULL;
    return conn_open_embed(root, run, err);
}

static CocoonConn *
conn_open_embed_uri(const char *uri, const char *query, CvError **err)
{
    g_autoptr(GHashTable) params = NULL;
    if (query) {
        g_autoptr(GError) gerr = NULL;
        params = g_uri_parse_params(query, -1, "&", G_URI_PARAMS_NONE, &gerr);
        if (!params) {
            cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "malformed URI '%s': %s", uri,
                         gerr->message);
            return NULL;
        }
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, params);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
            if (strcmp(key, "root") != 0 && strcmp(key, "run") != 0) {
                cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                             "unknown parameter '%s' in URI '%s'", (const char *)key, uri);
                return NULL;
            }
        }
    }
    const char *root = params ? g_hash_table_lookup(params, "root") : NULL;
    const char *run = params ? g_hash_table_lookup(params, "run") : NULL;
    if (!root || !*root) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                     "URI '%s' needs a root directory: cocoon:///embed?root=DIR", uri);
        return NULL;
    }
    if (run && !*run)
        run = NULL;
    return conn_open_embed(root, run, err);
}

static CocoonConn *
conn_open_uri(const char *uri, unsigned int flags, CvError **err)
{
    g_autoptr(GError) gerr = NULL;
    g_autoptr(GUri) parsed = g_uri_parse(uri, G_URI_FLAGS_ENCODED_QUERY, &gerr);
    if (!parsed) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG, "malformed URI '%s': %s", uri,
                     gerr->message);
        return NULL;
    }
    const char *scheme = g_uri_get_scheme(parsed);
    const char *host = g_uri_get_host(parsed);
    const char *path = g_uri_get_path(parsed);
    bool plain = g_ascii_strcasecmp(scheme, "cocoon") == 0;
    bool unix_transport = g_ascii_strcasecmp(scheme, "cocoon+unix") == 0;

    /* another hypervisor, or a transport we do not have (tcp, ssh, tls) */
    if ((!plain && !unix_transport) || (host && *host)) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_NO_CONNECT, "%s", uri);
        return NULL;
    }
    if (plain && strcmp(path, "/embed") == 0)
        return conn_open_embed_uri(uri, g_uri_get_query(parsed), err);
    if (strcmp(path, "/system") == 0 || strcmp(path, "/session") == 0)
        return conn_open_remote(uri, flags, err);
    cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INVALID_ARG,
                 "unexpected cocoon URI path '%s' in '%s', try cocoon:///system, "
                 "cocoon:///session or cocoon:///embed?root=DIR",
                 path, uri);
    return NULL;
}

CocoonConn *
cocoon_conn_open(const char *uri, unsigned int flags, CvError **err)
{
    if (!uri || !*uri)
        return conn_open_default(flags, err);
    return conn_open_uri(uri, flags, err);
}

void
cocoon_conn_close(CocoonConn *conn)
{
    if (!conn)
        return;
    if (conn->driver && conn->driver->connectClose)
        conn->driver->connectClose(conn); /* frees conn->priv */
    g_free(conn->uri);
    g_free(conn);
}

CocoonDomain *
cocoon_domain_new(CocoonConn *conn, const char *name, const unsigned char *uuid, int id)
{
    CocoonDomain *dom = g_new0(CocoonDomain, 1);
    dom->conn = conn;
    dom->name = g_strdup(name);
    if (uuid)
        memcpy(dom->uuid, uuid, DOMAIN_UUID_LEN);
    dom->id = id;
    return dom;
}

void
cocoon_domain_free(CocoonDomain *dom)
{
    if (!dom)
        return;
    g_free(dom->name);
    g_free(dom);
}

void
cocoon_domain_list_free(CocoonDomain **doms)
{
    if (!doms)
        return;
    for (CocoonDomain **d = doms; *d; d++)
        cocoon_domain_free(*d);
    g_free(doms);
}

CocoonDomainSnapshot *
cocoon_domain_snapshot_new(const CocoonDomain *dom, const char *name)
{
    CocoonDomainSnapshot *snap = g_new0(CocoonDomainSnapshot, 1);
    snap->dom = cocoon_domain_new(dom->conn, dom->name, dom->uuid, dom->id);
    snap->name = g_strdup(name);
    return snap;
}

void
cocoon_domain_snapshot_free(CocoonDomainSnapshot *snap)
{
    if (!snap)
        return;
    cocoon_domain_free(snap->dom);
    g_free(snap->name);
    g_free(snap);
}

void
cocoon_domain_snapshot_list_free(CocoonDomainSnapshot **snaps)
{
    if (!snaps)
        return;
    for (CocoonDomainSnapshot **s = snaps; *s; s++)
        cocoon_domain_snapshot_free(*s);
    g_free(snaps);
}
