/* The settings every HTTP request of chuted's takes (registry pulls, ADD of
 * a URL): redirects, timeouts that drop a stalled connection, http(s) only. */
#ifndef CH_IMAGE_HTTP_H
#define CH_IMAGE_HTTP_H

#include "common/util.h"

#include <curl/curl.h>

void ch_http_setup (CURL *h, const char *url);

/* A response as the registry v2 protocol reads it; CURLOPT_WRITEDATA and
 * CURLOPT_HEADERDATA point at it, ch_http_body_cb and ch_http_header_cb
 * fill it (a body past 4 MiB fails the transfer). */
struct ch_http_resp
{
  long status;
  struct ch_buf body;
  char *www_auth, *digest, *content_type, *location;
};
void ch_http_resp_clear (struct ch_http_resp *r);
size_t ch_http_body_cb (char *p, size_t sz, size_t n, void *resp);
size_t ch_http_header_cb (char *p, size_t sz, size_t n, void *resp);
/* Perform H with HEADERS into R (ERRBUF: CURL_ERROR_SIZE bytes, filled on a
 * failure); H and HEADERS are freed whatever happens. */
CURLcode ch_http_perform (CURL *h, struct curl_slist *headers, struct ch_http_resp *r, char *errbuf);

#endif
