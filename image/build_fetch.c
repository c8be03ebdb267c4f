/* `chuted-image-pull fetch-url URL`: ADD's http(s) sources, downloaded by the
 * one program that links libcurl, with the pull's rules: http and https
 * only (redirects too, at most 5), the system's CA directory, a stalled
 * connection dropped after 30 s, and a size bound checked as the body
 * arrives. The body goes to an fd (the builder's temp file). */
#include "image/dockerfile.h"
#include "image/http.h"
#include "common/file.h"
#include "common/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define SYSTEM_CA_DIR "/etc/ssl/certs"

struct sink
{
  int fd;
  uint64_t got, limit;
  ch_error_t *err;
  bool failed;
};

static size_t
body_cb (char *p, size_t sz, size_t n, void *ud)
{
  struct sink *s = ud;
  size_t len = sz * n;

  if (s->got + len > s->limit)
    {
      ch_error (s->err, EFBIG, "more than the limit of %llu bytes", (unsigned long long) s->limit);
      s->failed = true;
      return 0;
    }
  if (ch_write_all (s->fd, p, len, s->err) < 0)
    {
      s->failed = true;
      return 0;
    }
  s->got += len;
  return len;
}

int
ch_url_fetch (const char *url, int fd, uint64_t limit, ch_error_t *err)
{
  CURL *h;
  struct sink s = { .fd = fd, .limit = limit ? limit : CH_DOCKERFILE_URL_MAX, .err = err };
  char eb[CURL_ERROR_SIZE] = "";
  long code = 0;
  CURLcode c;

  if (!ch_has_prefix (url, "http://") && !ch_has_prefix (url, "https://"))
    return ch_error (err, 0, "`%s`: only http:// and https:// URLs are fetched", url);
  if (curl_global_init (CURL_GLOBAL_DEFAULT) != 0 || (h = curl_easy_init ()) == NULL)
    return ch_error (err, ENOMEM, "curl init");
  ch_http_setup (h, url);
  if (access (SYSTEM_CA_DIR, R_OK | X_OK) == 0)
    curl_easy_setopt (h, CURLOPT_CAPATH, SYSTEM_CA_DIR);
  curl_easy_setopt (h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) s.limit);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, eb);
  c = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup (h);
  if (s.failed)
    return ch_error_prefix (err, "fetch %s", url);
  if (c != CURLE_OK)
    return ch_error (err, c == CURLE_COULDNT_CONNECT ? ECONNREFUSED : 0, "fetch %s: %s", url,
                     *eb ? eb : curl_easy_strerror (c));
  return 0;
}
