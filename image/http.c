/* What every HTTP request of chuted's shares (registry pulls and pushes,
 * ADD of a URL): its settings and the answer's record. */
#include "image/http.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_BODY_MAX (4U << 20) /* manifests, tokens and error bodies are small */

void
ch_http_resp_clear (struct ch_http_resp *r)
{
  free (r->body.data);
  free (r->www_auth);
  free (r->digest);
  free (r->content_type);
  free (r->location);
  memset (r, 0, sizeof (*r));
}

size_t
ch_http_body_cb (char *p, size_t sz, size_t n, void *ud)
{
  struct ch_http_resp *r = ud;

  if (r->body.len + sz * n > HTTP_BODY_MAX)
    return 0;
  ch_buf_append (&r->body, p, sz * n);
  return sz * n;
}

static char *
header_value (const char *line, size_t len, const char *name)
{
  size_t nl = strlen (name);
  const char *v, *e = line + len;

  if (len <= nl + 1 || strncasecmp (line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  for (v = line + nl + 1; v < e && (*v == ' ' || *v == '\t'); v++)
    ;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
    e--;
  return xstrndup (v, (size_t) (e - v));
}

size_t
ch_http_header_cb (char *p, size_t sz, size_t n, void *ud)
{
  static const char *const names[] = { "WWW-Authenticate", "Docker-Content-Digest", "Content-Type", "Location" };
  struct ch_http_resp *r = ud;
  char **slots[] = { &r->www_auth, &r->digest, &r->content_type, &r->location };
  size_t i, len = sz * n;
  char *v;

  for (i = 0; i < sizeof (names) / sizeof (names[0]); i++)
    if ((v = header_value (p, len, names[i])))
      {
        free (*slots[i]);
        *slots[i] = v;
        break;
      }
  return len;
}

void
ch_http_setup (CURL *h, const char *url)
{
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "chuted/1");
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 15L);
  /* a connection that stalls for 30 s is dropped (a pull resumes it) */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}


CURLcode
ch_http_perform (CURL *h, struct curl_slist *headers, struct ch_http_resp *r, char *errbuf)
{
  CURLcode c;

  curl_easy_setopt (h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, ch_http_body_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, ch_http_header_cb);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, errbuf);
  c = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all (headers);
  curl_easy_cleanup (h);
  return c;
}
