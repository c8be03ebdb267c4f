/* Registry v2 pull with libcurl. The manifest is fetched with the easy
 * interface (it negotiates auth: anonymous, Basic, or a Bearer token from the
 * WWW-Authenticate challenge); blobs then stream concurrently through the
 * multi interface straight into digest-checking blob writers, resuming with a
 * Range request when a connection drops. Memory stays flat whatever the
 * layer size: nothing is buffered beyond curl's own receive buffer. */
#include "image.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIES 4

struct reg
{
  const struct ch_pull_opts *opts;
  char *host, *repo, *base; /* base = scheme://host */
  char *user, *pass;
  char *auth_hdr;           /* "Authorization: ..." once negotiated */
  char *ca;                 /* <root>/certs.d/HOST/ca.crt or --ca-file */
  bool verify;
};

struct resp
{
  long status;
  struct ch_buf body;
  char *www_auth, *digest, *content_type;
};

static void
resp_free (struct resp *r)
{
  free (r->body.data);
  free (r->www_auth);
  free (r->digest);
  free (r->content_type);
  memset (r, 0, sizeof (*r));
}

static void
reg_free (struct reg *g)
{
  free (g->host);
  free (g->repo);
  free (g->base);
  free (g->user);
  free (g->pass);
  free (g->auth_hdr);
  free (g->ca);
}

static size_t
body_cb (char *p, size_t sz, size_t n, void *ud)
{
  struct resp *r = ud;
  if (r->body.len + sz * n > CH_MAX_JSON_BLOB)
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
  v = line + nl + 1;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
    e--;
  return xstrndup (v, e - v);
}

static size_t
header_cb (char *p, size_t sz, size_t n, void *ud)
{
  struct resp *r = ud;
  size_t len = sz * n;
  char *v;

  if ((v = header_value (p, len, "WWW-Authenticate")))
    {
      free (r->www_auth);
      r->www_auth = v;
    }
  else if ((v = header_value (p, len, "Docker-Content-Digest")))
    {
      free (r->digest);
      r->digest = v;
    }
  else if ((v = header_value (p, len, "Content-Type")))
    {
      free (r->content_type);
      r->content_type = v;
    }
  return len;
}

static void
common_setup (struct reg *g, CURL *h, const char *url)
{
  curl_easy_setopt (h, CURLOPT_URL, url);
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "chuted/1");
  curl_easy_setopt (h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (h, CURLOPT_CONNECTTIMEOUT, 15L);
  /* a connection that stalls for 30 s is dropped and resumed */
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt (h, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt (h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (g->ca)
    curl_easy_setopt (h, CURLOPT_CAINFO, g->ca);
  if (!g->verify)
    {
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* One GET; AUTH_HDR (may be NULL) as is. */
static int
get_once (struct reg *g, const char *url, const char *accept, const char *auth, struct resp *r, ch_error_t *err)
{
  CURL *h = curl_easy_init ();
  struct curl_slist *hl = NULL;
  char eb[CURL_ERROR_SIZE] = "";
  CURLcode c;

  if (h == NULL)
    return ch_error (err, ENOMEM, "curl init");
  common_setup (g, h, url);
  if (accept)
    hl = curl_slist_append (hl, accept);
  if (auth)
    hl = curl_slist_append (hl, auth);
  curl_easy_setopt (h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt (h, CURLOPT_WRITEFUNCTION, body_cb);
  curl_easy_setopt (h, CURLOPT_WRITEDATA, r);
  curl_easy_setopt (h, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt (h, CURLOPT_HEADERDATA, r);
  curl_easy_setopt (h, CURLOPT_ERRORBUFFER, eb);
  c = curl_easy_perform (h);
  curl_easy_getinfo (h, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all (hl);
  curl_easy_cleanup (h);
  if (c == CURLE_WRITE_ERROR)
    return ch_error (err, EFBIG, "GET %s: response larger than %u bytes", url, CH_MAX_JSON_BLOB);
  if (c != CURLE_OK)
    return ch_error (err, ECONNREFUSED, "GET %s: %s", url, *eb ? eb : curl_easy_strerror (c));
  return 0;
}

static char *
basic_header (const char *user, const char *pass)
{
  cleanup_free char *plain = xasprintf ("%s:%s", user, pass);
  cleanup_free char *enc = xzalloc (4 * (strlen (plain) / 3 + 1) + 1);
  EVP_EncodeBlock_wrapper:;
  {
    extern int EVP_EncodeBlock (unsigned char *, const unsigned char *, int);
    EVP_EncodeBlock ((unsigned char *) enc, (const unsigned char *) plain, strlen (plain));
  }
  return xasprintf ("Authorization: Basic %s", enc);
}

/* Answer a 401 challenge: Basic with stored credentials, or a Bearer token. */
static int
negotiate (struct reg *g, const char *challenge, ch_error_t *err)
{
  cleanup_free char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL, *url = NULL;
  cleanup_free char *basic = NULL;
  cleanup_json json_t *j = NULL;
  struct resp r = { 0 };
  const char *tok;
  CURL *h;

  if (challenge == NULL || ch_auth_parse_challenge (challenge, &scheme, &realm, &service, &scope) < 0)
    return ch_error (err, EACCES, "%s: unauthorized, and no usable WWW-Authenticate challenge", g->host);
  if (g->user)
    basic = basic_header (g->user, g->pass);
  if (strcasecmp (scheme, "Basic") == 0)
    {
      if (basic == NULL)
        return ch_error (err, EACCES, "%s: authentication required (chuted login %s)", g->host, g->host);
      free (g->auth_hdr);
      g->auth_hdr = steal_pointer (&basic);
      return 0;
    }
  if (strcasecmp (scheme, "Bearer") != 0 || realm == NULL)
    return ch_error (err, EACCES, "%s: unsupported authentication scheme `%s`", g->host, scheme);
  if (!ch_has_prefix (realm, "https://") && !ch_has_prefix (realm, "http://"))
    return ch_error (err, EACCES, "%s: token realm `%s` is not http(s)", g->host, realm);
  h = curl_easy_init ();
  {
    char *es = service ? curl_easy_escape (h, service, 0) : NULL;
    cleanup_free char *sc = scope ? NULL : xasprintf ("repository:%s:pull", g->repo);
    char *esc = curl_easy_escape (h, scope ? scope : sc, 0);
    url = xasprintf ("%s%sscope=%s%s%s", realm, strchr (realm, '?') ? "&" : "?", esc, es ? "&service=" : "",
                     es ? es : "");
    curl_free (es);
    curl_free (esc);
  }
  curl_easy_cleanup (h);
  if (get_once (g, url, NULL, basic, &r, err) < 0)
    return -1;
  if (r.status != 200)
    {
      long st = r.status;
      resp_free (&r);
      return ch_error (err, EACCES, "%s: token server answered %ld%s", g->host, st,
                       st == 401 ? " (wrong credentials? chuted login)" : "");
    }
  if (ch_json_load_buf ("token response", r.body.data ? r.body.data : "", r.body.len, &j, err) < 0)
    {
      resp_free (&r);
      return -1;
    }
  resp_free (&r);
  tok = json_string_value (json_object_get (j, "token"));
  if (tok == NULL)
    tok = json_string_value (json_object_get (j, "access_token"));
  if (tok == NULL || *tok == '\0' || strpbrk (tok, "\r\n"))
    return ch_error (err, EACCES, "%s: token server gave no token", g->host);
  free (g->auth_hdr);
  g->auth_hdr = xasprintf ("Authorization: Bearer %s", tok);
  return 0;
}

/* GET with auth negotiation (one retry after a 401). */
static int
get (struct reg *g, const char *path, const char *accept, struct resp *r, ch_error_t *err)
{
  cleanup_free char *url = xasprintf ("%s%s", g->base, path);
  int tries;

  for (tries = 0; tries < 2; tries++)
    {
      resp_free (r);
      if (get_once (g, url, accept, g->auth_hdr, r, err) < 0)
        return -1;
      if (r->status != 401)
        return 0;
      if (tries == 0 && negotiate (g, r->www_auth, err) < 0)
        return -1;
    }
  return ch_error (err, EACCES, "GET %s: unauthorized%s", url, g->user ? " (wrong credentials?)" : " (chuted login?)");
}

static bool
is_loopback (const char *host)
{
  return ch_has_prefix (host, "127.") || ch_has_prefix (host, "localhost") || ch_has_prefix (host, "[::1]");
}

/* Pick https or http by pinging /v2/: https first; plain http only for
 * --insecure-registry or loopback registries (as docker does). */
static int
connect_registry (struct reg *g, const char *host, ch_error_t *err)
{
  struct resp r = { 0 };
  cleanup_error ch_error_t first = NULL;
  const char *schemes[] = { "https", "http" };
  int i;

  g->host = xstrdup (host);
  g->verify = !g->opts->insecure;
  if (g->opts->ca_file)
    g->ca = xstrdup (g->opts->ca_file);
  else
    {
      cleanup_free char *ca = xasprintf ("%s/certs.d/%s/ca.crt", g->opts->root, host);
      if (access (ca, R_OK) == 0)
        g->ca = steal_pointer (&ca);
    }
  if (ch_auth_lookup (g->opts->root, host, &g->user, &g->pass, err) < 0)
    return -1;
  for (i = 0; i < 2; i++)
    {
      cleanup_free char *url = xasprintf ("%s://%s/v2/", schemes[i], host);
      cleanup_error ch_error_t e = NULL;
      if (i == 1 && !g->opts->insecure && !is_loopback (host))
        break;
      resp_free (&r);
      if (get_once (g, url, NULL, NULL, &r, &e) < 0)
        {
          if (first == NULL)
            first = steal_pointer (&e);
          continue;
        }
      g->base = xasprintf ("%s://%s", schemes[i], host);
      if (r.status == 401)
        {
          int ret = negotiate (g, r.www_auth, err);
          resp_free (&r);
          return ret;
        }
      resp_free (&r);
      return 0;
    }
  resp_free (&r);
  *err = steal_pointer (&first);
  return ch_error_prefix (err, "registry %s", host);
}

/* ---- blobs through curl multi ---- */

struct xfer
{
  struct reg *g;
  const char *digest;
  int64_t size;
  struct ch_blob_writer *w;
  CURL *h;
  struct curl_slist *hl;
  char *url;
  char eb[CURL_ERROR_SIZE];
  int tries;
  bool first_write;   /* of this attempt */
  ch_error_t werr;    /* a write error (size overflow, disk) ends the blob */
  bool done;
};

static size_t
blob_cb (char *p, size_t sz, size_t n, void *ud)
{
  struct xfer *x = ud;
  long code = 0;

  if (x->first_write)
    {
      x->first_write = false;
      curl_easy_getinfo (x->h, CURLINFO_RESPONSE_CODE, &code);
      /* asked to resume, got the whole blob again: start over */
      if (code == 200 && ch_blob_writer_size (x->w) > 0)
        {
          ch_blob_writer_free (x->w);
          x->w = NULL;
          if (ch_blob_writer_new_for (x) < 0)
            return 0;
        }
    }
  if (ch_blob_writer_write (x->w, p, sz * n, &x->werr) < 0)
    return 0;
  return sz * n;
}
