#include "cv_http.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* A VMM reply is a few KiB at most; refuse to buffer anything absurd. */
#define CV_HTTP_MAX_REPLY (16 * 1024 * 1024)

/*
 * libcurl is loaded on the first request, not linked: with its TLS, GSSAPI and LDAP
 * dependencies it costs ~25 ms of dynamic linking at every process start, which would
 * dominate short commands (`cocoonvirsh list`) that never speak HTTP.
 */
typedef struct {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode rc);
    void (*easy_cleanup)(CURL *curl);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *string);
    void (*slist_free_all)(struct curl_slist *list);
} CvCurl;

static CvCurl cv_curl;
static char *cv_curl_load_error;
static gsize cv_curl_once;

static void
cv_curl_load(void)
{
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        cv_curl_load_error = g_strdup(dlerror());
        return;
    }
    struct {
        const char *name;
        void **slot;
    } symbols[] = {
        {"curl_global_init", (void **)&cv_curl.global_init},
        {"curl_easy_init", (void **)&cv_curl.easy_init},
        {"curl_easy_setopt", (void **)&cv_curl.easy_setopt},
        {"curl_easy_perform", (void **)&cv_curl.easy_perform},
        {"curl_easy_getinfo", (void **)&cv_curl.easy_getinfo},
        {"curl_easy_strerror", (void **)&cv_curl.easy_strerror},
        {"curl_easy_cleanup", (void **)&cv_curl.easy_cleanup},
        {"curl_slist_append", (void **)&cv_curl.slist_append},
        {"curl_slist_free_all", (void **)&cv_curl.slist_free_all},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(symbols); i++) {
        *symbols[i].slot = dlsym(lib, symbols[i].name);
        if (!*symbols[i].slot) {
            cv_curl_load_error = g_strdup_printf("libcurl lacks %s", symbols[i].name);
            return; /* the library stays loaded: harmless, and dlclose races threads */
        }
    }
    cv_curl.global_init(CURL_GLOBAL_DEFAULT);
}

/* 0 once libcurl is usable, else -1 with *err. Thread-safe; loads at most once. */
static int
cv_http_global_init(CvError **err)
{
    if (g_once_init_enter(&cv_curl_once)) {
        cv_curl_load();
        g_once_init_leave(&cv_curl_once, 1);
    }
    if (cv_curl_load_error) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "cannot load libcurl: %s",
                     cv_curl_load_error);
        return -1;
    }
    return 0;
}

static size_t
cv_http_collect(char *data, size_t size, size_t nmemb, void *opaque)
{
    GString *buf = opaque;
    size_t len = size * nmemb;

    if (buf->len + len > CV_HTTP_MAX_REPLY)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    g_string_append_len(buf, data, len);
    return len;
}

static void
cv_http_error_from_curl(CURL *curl, CURLcode rc, const char *errbuf, const char *socket_path,
                        unsigned int timeout_ms, CvError **err)
{
    long os_errno = 0;

    cv_curl.easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        cv_error_set_errno(err, VIR_FROM_NONE, os_errno ? (int)os_errno : ECONNREFUSED,
                           "cannot connect to socket '%s'", socket_path);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_TIMEOUT,
                     "no reply on socket '%s' within %u ms", socket_path, timeout_ms);
        return;
    default:
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_OPERATION_FAILED,
                     "request on socket '%s' failed: %s", socket_path,
                     errbuf[0] ? errbuf : cv_curl.easy_strerror(rc));
        return;
    }
}

int
cv_http_request(const char *socket_path, const char *method, const char *path, const char *body,
                unsigned int timeout_ms, CvHttpReply *ret_reply, CvError **err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    g_autoptr(GString) reply = g_string_new(NULL);
    g_autofree char *url = g_strconcat("http://localhost", path, NULL);
    struct curl_slist *headers = NULL;
    bool sends_body = body || g_strcmp0(method, "GET") != 0;
    long status = 0;
    CURLcode rc;
    CURL *curl;

    if (timeout_ms == 0)
        timeout_ms = CV_HTTP_TIMEOUT_MS;

    if (cv_http_global_init(err) < 0)
        return -1;
    curl = cv_curl.easy_init();
    if (!curl) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "cannot initialise libcurl");
        return -1;
    }

    /* "Expect:" with no value stops curl from waiting for a 100-continue the VMMs never send. */
    headers = cv_curl.slist_append(headers, "Expect:");
    headers = cv_curl.slist_append(headers, "Accept: application/json");
    if (body)
        headers = cv_curl.slist_append(headers, "Content-Type: application/json");
    else
        headers = cv_curl.slist_append(headers, "Content-Type:");

    cv_curl.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    cv_curl.easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    cv_curl.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
#endif
    cv_curl.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    cv_curl.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (sends_body) {
        cv_curl.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        cv_curl.easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    } else {
        cv_curl.easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        cv_curl.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    cv_curl.easy_setopt(curl, CURLOPT_WRITEFUNCTION, cv_http_collect);
    cv_curl.easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    cv_curl.easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    cv_curl.easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    cv_curl.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    /* Safe in threaded callers: no SIGALRM-based resolver timeouts. */
    cv_curl.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    rc = cv_curl.easy_perform(curl);
    if (rc != CURLE_OK) {
        cv_http_error_from_curl(curl, rc, errbuf, socket_path, timeout_ms, err);
        cv_curl.slist_free_all(headers);
        cv_curl.easy_cleanup(curl);
        return -1;
    }
    cv_curl.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    cv_curl.slist_free_all(headers);
    cv_curl.easy_cleanup(curl);

    ret_reply->status = status;
    ret_reply->body_len = reply->len;
    ret_reply->body = g_string_free(g_steal_pointer(&reply), FALSE);
    return 0;
}

void
cv_http_reply_clear(CvHttpReply *reply)
{
    if (!reply)
        return;
    g_clear_pointer(&reply->body, g_free);
    reply->body_len = 0;
    reply->status = 0;
}
