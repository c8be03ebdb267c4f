/* The settings every HTTP request of chuted's takes (registry pulls, ADD of
 * a URL): redirects, timeouts that drop a stalled connection, http(s) only. */
#ifndef CH_IMAGE_HTTP_H
#define CH_IMAGE_HTTP_H

#include <curl/curl.h>

void ch_http_setup (CURL *h, const char *url);

#endif
