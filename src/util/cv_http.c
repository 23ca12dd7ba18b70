#include "cv_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* A VMM reply is a few KiB at most; refuse to buffer anything absurd. */
#define CV_HTTP_MAX_REPLY (16 * 1024 * 1024)

static gsize cv_http_global_once;

static void
cv_http_global_init(void)
{
    if (g_once_init_enter(&cv_http_global_once)) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        g_once_init_leave(&cv_http_global_once, 1);
    }
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

    curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
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
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
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

    cv_http_global_init();
    curl = curl_easy_init();
    if (!curl) {
        cv_error_set(err, VIR_FROM_NONE, VIR_ERR_INTERNAL_ERROR, "cannot initialise libcurl");
        return -1;
    }

    /* "Expect:" with no value stops curl from waiting for a 100-continue the VMMs never send. */
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    else
        headers = curl_slist_append(headers, "Content-Type:");

    curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
#endif
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (sends_body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
    } else {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cv_http_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    /* Safe in threaded callers: no SIGALRM-based resolver timeouts. */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);

    rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        cv_http_error_from_curl(curl, rc, errbuf, socket_path, timeout_ms, err);
        curl_slist_free_all(headers);
        curl_easy_cleanup(curl);
        return -1;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);

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
