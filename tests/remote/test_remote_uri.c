/* remote_uri_parse: the socket a daemon URI names and the name CONNECT_OPEN carries (§4). */

#include <stdlib.h>
#include <unistd.h>

#include "rpc/client/remote_uri.h"
#include "util/cv_paths.h"

typedef struct {
    const char *uri;
    bool read_only;
    const char *socket; /* NULL: the daemon's default socket (+ "-ro" when read_only) */
    const char *name;
} UriCase;

static const UriCase cases[] = {
    {"cocoon+unix:///system?socket=/tmp/x.sock", false, "/tmp/x.sock", "cocoon:///system"},
    {"cocoon+unix:///system?socket=/tmp/x.sock", true, "/tmp/x.sock", "cocoon:///system"},
    {"cocoon+unix:///session?socket=/a%20b/s", false, "/a b/s", "cocoon:///session"},
    {"cocoon+unix:///system?socket=/s&foo=1", false, "/s", "cocoon:///system?foo=1"},
    {"cocoon+unix:///system?mode=direct&socket=/s", false, "/s", "cocoon:///system"},
    {"cocoon+unix:///system?socket=/s&name=cocoon:///session", false, "/s", "cocoon:///session"},
    {"cocoon:///system", false, NULL, "cocoon:///system"},
    {"cocoon:///system", true, NULL, "cocoon:///system"},
    {"cocoon:///session", false, NULL, "cocoon:///session"},
};

static void
test_uri_cases(void)
{
    g_autofree char *def = cv_paths_daemon_socket();
    g_autofree char *def_ro = g_strconcat(def, "-ro", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const UriCase *c = &cases[i];
        g_autoptr(CvError) err = NULL;
        g_autoptr(RemoteUri) ru = remote_uri_parse(c->uri, c->read_only, &err);
        g_assert_null(err);
        g_assert_nonnull(ru);
        const char *want = c->socket ? c->socket : c->read_only ? def_ro : def;
        g_assert_cmpstr(ru->socket_path, ==, want);
        g_assert_cmpstr(ru->name, ==, c->name);
    }
}

static void
test_uri_other_transport(void)
{
    g_autoptr(CvError) err = NULL;
    g_autoptr(RemoteUri) ru = remote_uri_parse("cocoon+ssh:///system", false, &err);
    g_assert_null(ru);
    g_assert_nonnull(err);
    g_assert_cmpint(err->code, ==, VIR_ERR_NO_CONNECT);
    g_assert_cmpstr(err->message, ==, "no connection driver available for cocoon+ssh:///system");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/remote/uri/cases", test_uri_cases);
    g_test_add_func("/remote/uri/other-transport", test_uri_other_transport);
    return g_test_run();
}
