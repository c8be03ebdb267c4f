/* Registry v2 pull with libcurl. The manifest is fetched with the easy
 * interface (it negotiates auth: anonymous, Basic, or a Bearer token from the
 * WWW-Authenticate challenge); blobs then stream concurrently through the
 * multi interface straight into digest-checking blob writers, resuming with a
 * Range request when a connection drops. Memory stays flat whatever the
 * layer size: nothing is buffered beyond curl's own receive buffer. */
#include "internal.h"
#include "image/http.h"
#include "image/registry_int.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRIES 4
#define SYSTEM_CA_DIR "/etc/ssl/certs"

void
ch_reg_free (struct reg *g)
{
  free (g->host);
  free (g->repo);
  free (g->base);
  free (g->user);
  free (g->pass);
  free (g->auth_hdr);
  free (g->ca);
}

static void
common_setup (struct reg *g, CURL *h, const char *url)
{
  ch_http_setup (h, url);
  if (g->ca)
    curl_easy_setopt (h, CURLOPT_CAINFO, g->ca);
  else if (g->capath)
    {
      curl_easy_setopt (h, CURLOPT_CAINFO, NULL);
      curl_easy_setopt (h, CURLOPT_CAPATH, g->capath);
    }
  if (!g->verify)
    {
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt (h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* One GET; AUTH_HDR (may be NULL) as is. */
static int
get_once (struct reg *g, const char *url, const char *accept, const char *auth, struct ch_http_resp *r, ch_error_t *err)
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
  c = ch_http_perform (h, hl, r, eb);
  if (c == CURLE_WRITE_ERROR)
    return ch_image_error (err, EFBIG, "GET %s: response larger than %u bytes", url, CH_MAX_JSON_BLOB);
  if (c != CURLE_OK)
    return ch_image_error (err, c == CURLE_PEER_FAILED_VERIFICATION ? EPROTO : ECONNREFUSED, "GET %s: %s", url,
                        *eb ? eb : curl_easy_strerror (c));
  return 0;
}

static char *
basic_header (const char *user, const char *pass)
{
  cleanup_free char *plain = xasprintf ("%s:%s", user, pass);
  cleanup_free char *enc = xzalloc (4 * (strlen (plain) / 3 + 1) + 1);
  EVP_EncodeBlock ((unsigned char *) enc, (const unsigned char *) plain, strlen (plain));
  return xasprintf ("Authorization: Basic %s", enc);
}

/* Answer a 401 challenge: Basic with stored credentials, or a Bearer token. */
static int
negotiate (struct reg *g, const char *challenge, ch_error_t *err)
{
  cleanup_free char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL, *url = NULL;
  cleanup_free char *basic = NULL;
  cleanup_json json_t *j = NULL;
  struct ch_http_resp r = { 0 };
  const char *tok;
  CURL *h;

  if (challenge == NULL || ch_auth_parse_challenge (challenge, &scheme, &realm, &service, &scope) < 0)
    return ch_image_error (err, EACCES, "%s: unauthorized, and no usable WWW-Authenticate challenge", g->host);
  if (g->user)
    basic = basic_header (g->user, g->pass);
  if (strcasecmp (scheme, "Basic") == 0)
    {
      if (basic == NULL)
        return ch_image_error (err, EACCES, "%s: authentication required (chuted login %s)", g->host, g->host);
      free (g->auth_hdr);
      g->auth_hdr = steal_pointer (&basic);
      return 0;
    }
  if (strcasecmp (scheme, "Bearer") != 0 || realm == NULL)
    return ch_image_error (err, EACCES, "%s: unsupported authentication scheme `%s`", g->host, scheme);
  if (!ch_has_prefix (realm, "https://") && !ch_has_prefix (realm, "http://"))
    return ch_image_error (err, EACCES, "%s: token realm `%s` is not http(s)", g->host, realm);
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
      ch_http_resp_clear (&r);
      return ch_image_error (err, EACCES, "%s: token server answered %ld%s", g->host, st,
                       st == 401 ? " (wrong credentials? chuted login)" : "");
    }
  if (ch_json_load_buf ("token response", r.body.data ? r.body.data : "", r.body.len, &j, err) < 0)
    {
      ch_http_resp_clear (&r);
      return -1;
    }
  ch_http_resp_clear (&r);
  tok = json_string_value (json_object_get (j, "token"));
  if (tok == NULL)
    tok = json_string_value (json_object_get (j, "access_token"));
  if (tok == NULL || *tok == '\0' || strpbrk (tok, "\r\n"))
    return ch_image_error (err, EACCES, "%s: token server gave no token", g->host);
  free (g->auth_hdr);
  g->auth_hdr = xasprintf ("Authorization: Bearer %s", tok);
  return 0;
}

/* GET with auth negotiation (one retry after a 401). */
static int
get (struct reg *g, const char *path, const char *accept, struct ch_http_resp *r, ch_error_t *err)
{
  cleanup_free char *url = xasprintf ("%s%s", g->base, path);
  int tries;

  for (tries = 0; tries < 2; tries++)
    {
      ch_http_resp_clear (r);
      if (get_once (g, url, accept, g->auth_hdr, r, err) < 0)
        return -1;
      if (r->status != 401)
        return 0;
      if (tries == 0 && negotiate (g, r->www_auth, err) < 0)
        return -1;
    }
  return ch_image_error (err, EACCES, "GET %s: unauthorized%s", url, g->user ? " (wrong credentials?)" : " (chuted login?)");
}

static bool
is_loopback (const char *host)
{
  return ch_has_prefix (host, "127.") || ch_has_prefix (host, "localhost") || ch_has_prefix (host, "[::1]");
}

/* Pick https or http by pinging /v2/: https first; plain http only for
 * --insecure-registry or loopback registries (as docker does). */
int
ch_reg_connect (struct reg *g, const char *host, ch_error_t *err)
{
  struct ch_http_resp r = { 0 };
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
  /* The hashed directory rather than curl's default, Debian's bundle:
   * OpenSSL then reads only the CA that signed the registry, where the
   * bundle parses ~140 certificates (~0.6 MB of heap) for every handshake,
   * even the one that probes a plain-http registry. */
  if (g->ca == NULL && access (SYSTEM_CA_DIR, R_OK | X_OK) == 0)
    g->capath = SYSTEM_CA_DIR;
  if (ch_auth_lookup (g->opts->root, host, &g->user, &g->pass, err) < 0)
    return -1;
  for (i = 0; i < 2; i++)
    {
      cleanup_free char *url = xasprintf ("%s://%s/v2/", schemes[i], host);
      cleanup_error ch_error_t e = NULL;
      if (i == 1 && !g->opts->insecure && !is_loopback (host))
        break;
      ch_http_resp_clear (&r);
      if (get_once (g, url, NULL, NULL, &r, &e) < 0)
        {
          /* a TLS server whose certificate we don't trust is not a reason to try plain http */
          if (e->status == EPROTO)
            {
              *err = steal_pointer (&e);
              ch_http_resp_clear (&r);
              return ch_error_prefix (err, "registry %s (trust its CA with --ca-file or %s/certs.d/%s/ca.crt)",
                                      host, g->opts->root, host);
            }
          if (first == NULL)
            first = steal_pointer (&e);
          continue;
        }
      g->base = xasprintf ("%s://%s", schemes[i], host);
      if (r.status == 401)
        {
          int ret = negotiate (g, r.www_auth, err);
          ch_http_resp_clear (&r);
          return ret;
        }
      ch_http_resp_clear (&r);
      return 0;
    }
  ch_http_resp_clear (&r);
  *err = steal_pointer (&first);
  return ch_error_prefix (err, "registry %s", host);
}

/* ---- blobs through curl multi ---- */

struct xfer
{
  struct reg *g;
  struct ch_store *s;
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
          if (ch_blob_writer_new (x->s, x->digest, x->size, &x->w, &x->werr) < 0)
            return 0;
        }
    }
  if (ch_blob_writer_write (x->w, p, sz * n, &x->werr) < 0)
    return 0;
  return sz * n;
}

static int
xfer_start (struct xfer *x, CURLM *m, ch_error_t *err)
{
  uint64_t have = ch_blob_writer_size (x->w);

  if (x->h)
    {
      curl_multi_remove_handle (m, x->h);
      curl_easy_cleanup (x->h);
    }
  x->h = curl_easy_init ();
  if (x->h == NULL)
    return ch_error (err, ENOMEM, "curl init");
  common_setup (x->g, x->h, x->url);
  curl_easy_setopt (x->h, CURLOPT_HTTPHEADER, x->hl);
  curl_easy_setopt (x->h, CURLOPT_WRITEFUNCTION, blob_cb);
  curl_easy_setopt (x->h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (x->h, CURLOPT_ERRORBUFFER, x->eb);
  curl_easy_setopt (x->h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt (x->h, CURLOPT_PRIVATE, x);
  curl_easy_setopt (x->h, CURLOPT_BUFFERSIZE, 65536L);
  if (have > 0)
    {
      char range[32];
      snprintf (range, sizeof (range), "%llu-", (unsigned long long) have);
      curl_easy_setopt (x->h, CURLOPT_RANGE, range);
    }
  x->first_write = true;
  x->eb[0] = '\0';
  curl_multi_add_handle (m, x->h);
  return 0;
}

static void
progress (const struct ch_pull_opts *o, struct xfer *xs, size_t n, bool final)
{
  static const char *const spin = "|/-\\";
  uint64_t got = 0, total = 0;
  size_t i, done = 0;

  for (i = 0; i < n; i++)
    {
      total += xs[i].size;
      /* a blob past the concurrent transfers has no writer yet */
      got += xs[i].done ? (uint64_t) xs[i].size : xs[i].w ? ch_blob_writer_size (xs[i].w) : 0;
      done += xs[i].done;
    }
  if (o->on_progress)
    o->on_progress (o->progress_data, got, total);
  if (!o->progress)
    return;
  fprintf (stderr, "\r%c %zu/%zu blobs  %.1f/%.1f MB   ", final ? ' ' : spin[(got >> 16) & 3], done, n, got / 1e6,
           total / 1e6);
  if (final)
    fputc ('\n', stderr);
}

int
ch_reg_fetch_blobs (struct reg *g, struct ch_store *s, const struct ch_layer *want, size_t n, ch_error_t *err)
{
  struct xfer *xs = xzalloc (sizeof (*xs) * (n + 1));
  CURLM *m = curl_multi_init ();
  size_t i, next = 0, running = 0;
  int ret = 0, still;
  int jobs = g->opts->jobs > 0 ? g->opts->jobs : 3;
  struct timespec last = { 0 }, now;

  curl_multi_setopt (m, CURLMOPT_MAX_HOST_CONNECTIONS, (long) jobs);
  for (i = 0; i < n; i++)
    {
      xs[i].g = g;
      xs[i].s = s;
      xs[i].digest = want[i].digest;
      xs[i].size = want[i].size;
      xs[i].url = xasprintf ("%s/v2/%s/blobs/%s", g->base, g->repo, want[i].digest);
      if (g->auth_hdr)
        xs[i].hl = curl_slist_append (NULL, g->auth_hdr);
    }
  while (ret == 0 && (next < n || running > 0))
    {
      CURLMsg *msg;
      int left;

      while (ret == 0 && next < n && running < (size_t) jobs)
        {
          struct xfer *x = &xs[next++];
          if (ch_blob_writer_new (s, x->digest, x->size, &x->w, err) < 0 || xfer_start (x, m, err) < 0)
            ret = -1;
          else
            running++;
        }
      if (ret < 0)
        break;
      curl_multi_perform (m, &still);
      while ((msg = curl_multi_info_read (m, &left)))
        {
          struct xfer *x = NULL;
          if (msg->msg != CURLMSG_DONE)
            continue;
          curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &x);
          if (x->werr)
            {
              *err = steal_pointer (&x->werr);
              ret = ch_error_prefix (err, "pull blob %s", x->digest);
              break;
            }
          if (msg->data.result != CURLE_OK)
            {
              long code = 0;
              curl_easy_getinfo (x->h, CURLINFO_RESPONSE_CODE, &code);
              /* 4xx will not get better; a dropped connection or 5xx may */
              if ((code >= 400 && code < 500) || ++x->tries >= MAX_TRIES)
                {
                  ret = ch_image_error (err, code == 404 ? ENOENT : EIO, "pull blob %s: %s", x->digest,
                                  *x->eb ? x->eb : curl_easy_strerror (msg->data.result));
                  break;
                }
              if (xfer_start (x, m, err) < 0)
                ret = -1;
              continue;
            }
          if (ch_blob_writer_commit (x->w, NULL, err) < 0)
            {
              ret = ch_error_prefix (err, "pull");
              break;
            }
          x->done = true;
          running--;
        }
      if (g->opts->progress || g->opts->on_progress)
        {
          clock_gettime (CLOCK_MONOTONIC, &now);
          if (now.tv_sec * 10 + now.tv_nsec / 100000000 != last.tv_sec * 10 + last.tv_nsec / 100000000)
            progress (g->opts, xs, n, false);
          last = now;
        }
      if (ret == 0 && running > 0)
        curl_multi_poll (m, NULL, 0, 500, NULL);
    }
  if ((g->opts->progress || g->opts->on_progress) && n > 0)
    progress (g->opts, xs, n, true);
  for (i = 0; i < n; i++)
    {
      if (xs[i].h)
        {
          curl_multi_remove_handle (m, xs[i].h);
          curl_easy_cleanup (xs[i].h);
        }
      ch_blob_writer_free (xs[i].w);
      ch_error_release (&xs[i].werr);
      curl_slist_free_all (xs[i].hl);
      free (xs[i].url);
    }
  free (xs);
  curl_multi_cleanup (m);
  return ret;
}

static const char accept_hdr[] = "Accept: " CH_MT_OCI_MANIFEST ", " CH_MT_DOCKER_MANIFEST ", " CH_MT_OCI_INDEX
                                 ", " CH_MT_DOCKER_LIST;

/* What a registry said of a refused request, from its distribution-spec
 * error body ({"errors":[{"code":..,"message":"manifest unknown"}]}), else
 * just its HTTP status. */
static char *
registry_says (const struct ch_http_resp *r)
{
  cleanup_json json_t *j = r->body.len ? json_loadb (r->body.data, r->body.len, 0, NULL) : NULL;
  const char *m = json_string_value (json_object_get (json_array_get (json_object_get (j, "errors"), 0), "message"));

  return m && *m ? xasprintf ("%s (registry answered %ld)", m, r->status) : xasprintf ("registry answered %ld", r->status);
}

/* Fetch a manifest (or index) by tag or digest, checked against its digest. */
int
ch_reg_get_manifest (struct reg *g, const char *what, const char *expect, char **buf, size_t *len, char **digest,
              ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("/v2/%s/manifests/%s", g->repo, what), *got = NULL;
  struct ch_http_resp r = { 0 };

  if (get (g, path, accept_hdr, &r, err) < 0)
    return -1;
  if (r.status != 200)
    {
      cleanup_free char *says = registry_says (&r);
      long st = r.status;
      ch_http_resp_clear (&r);
      return ch_image_error (err, st == 404 ? ENOENT : EIO, "manifest %s:%s: %s", g->repo, what, says);
    }
  got = ch_digest_buf (r.body.data ? r.body.data : "", r.body.len);
  if ((expect && strcmp (got, expect) != 0) || (r.digest && ch_digest_valid (r.digest) && strcmp (got, r.digest) != 0))
    {
      cleanup_free char *want = xstrdup (expect ? expect : r.digest);
      ch_http_resp_clear (&r);
      return ch_image_error (err, EBADMSG, "manifest %s: digest mismatch (content is %s)", want, got);
    }
  *len = r.body.len;
  ch_buf_append (&r.body, "", 1);
  *buf = ch_buf_steal (&r.body);
  *digest = steal_pointer (&got);
  ch_http_resp_clear (&r);
  return 0;
}

int
ch_pull (struct ch_store *s, const char *ref, const struct ch_pull_opts *opts, char **manifest_digest,
         ch_error_t *err)
{
  struct reg g = { .opts = opts };
  struct ch_ref pr;
  cleanup_free char *buf = NULL, *digest = NULL, *mt = NULL, *plat = NULL;
  struct ch_manifest *m = NULL;
  struct ch_layer *want = NULL;
  struct ch_image *img = NULL;
  size_t len, n = 0, i;
  int ret = -1;

  if (ch_ref_parse (ref, &pr, err) < 0)
    return -1;
  g.repo = xstrdup (pr.repo);
  if (ch_reg_connect (&g, pr.registry, err) < 0)
    goto out;
  if (ch_reg_get_manifest (&g, pr.digest ? pr.digest : pr.tag, pr.digest, &buf, &len, &digest, err) < 0
      || ch_manifest_kind (buf, len, &mt, err) < 0)
    goto out;
  if (ch_mt_is_index (mt))
    {
      cleanup_free char *d = NULL, *mmt = NULL;
      int64_t sz;
      const char *platform = opts->platform ? opts->platform : (plat = ch_platform_default ());
      if (ch_index_select (buf, len, platform, &d, &sz, &mmt, err) < 0)
        goto out;
      free (buf);
      free (digest);
      buf = digest = NULL;
      if (ch_reg_get_manifest (&g, d, d, &buf, &len, &digest, err) < 0)
        goto out;
      free (mt);
      mt = NULL;
      if (ch_manifest_kind (buf, len, &mt, err) < 0)
        goto out;
    }
  if (ch_manifest_parse (buf, len, &m, err) < 0)
    goto out;
  want = xzalloc (sizeof (*want) * (m->n_layers + 1));
  if (!ch_store_has_blob (s, m->config_digest, m->config_size))
    want[n++] = (struct ch_layer){ m->config_digest, NULL, m->config_size };
  for (i = 0; i < m->n_layers; i++)
    if (!ch_store_has_blob (s, m->layers[i].digest, m->layers[i].size))
      want[n++] = m->layers[i];
  {
    /* what the manifest declares is all that will be read (the blob writer
     * stops at it): refuse before downloading what could never be unpacked */
    uint64_t total = 0;
    for (i = 0; i < n; i++)
      total += (uint64_t) want[i].size;
    if (m->config_size > CH_MAX_JSON_BLOB)
      {
        ch_image_error (err, EFBIG, "config %s: %lld bytes, more than a config may be", m->config_digest,
                        (long long) m->config_size);
        goto out;
      }
    if (total > CH_DEFAULT_DISK_LIMIT)
      {
        ch_image_error (err, EFBIG, "the image declares %llu bytes of blobs, more than the disk limit of %llu bytes",
                        (unsigned long long) total, (unsigned long long) CH_DEFAULT_DISK_LIMIT);
        goto out;
      }
  }
  if (ch_reg_fetch_blobs (&g, s, want, n, err) < 0)
    goto out;
  {
    cleanup_free char *stored = NULL;
    if (ch_store_put_blob (s, buf, len, &stored, err) < 0)
      goto out;
  }
  if (ch_image_load (s, digest, &img, err) < 0)
    goto out;
  {
    struct ch_unpack_opts uo = { 0 };
    if (ch_store_unpack_image (s, img, &uo, err) < 0)
      goto out;
  }
  /* visible only now, with every blob verified and every layer unpacked */
  if (ch_store_tag (s, pr.name, digest, len, mt, err) < 0)
    goto out;
  *manifest_digest = steal_pointer (&digest);
  ret = 0;
out:
  ch_image_free (img);
  ch_manifest_free (m);
  free (want);
  ch_reg_free (&g);
  if (ret < 0)
    ch_error_prefix (err, "pull %s", ref);
  ch_ref_free (&pr);
  return ret;
}

int
ch_login (const struct ch_pull_opts *opts, const char *registry, const char *user, const char *pass, ch_error_t *err)
{
  struct reg g = { .opts = opts };
  struct ch_http_resp r = { 0 };
  int ret = -1;

  if (strchr (registry, '/') || *registry == '\0')
    return ch_error (err, 0, "login: `%s` is not a registry host[:port]", registry);
  g.repo = xstrdup ("chuted-login-check");
  if (ch_reg_connect (&g, registry, err) < 0 && g.base == NULL)
    goto out;
  ch_error_release (err);
  free (g.user);
  free (g.pass);
  g.user = xstrdup (user);
  g.pass = xstrdup (pass);
  free (g.auth_hdr);
  g.auth_hdr = NULL;
  if (get (&g, "/v2/", NULL, &r, err) < 0)
    goto out;
  if (r.status != 200)
    {
      ch_image_error (err, EACCES, "registry answered %ld", r.status);
      goto out;
    }
  ret = ch_auth_store (opts->root, registry, user, pass, err);
out:
  ch_http_resp_clear (&r);
  ch_reg_free (&g);
  if (ret < 0)
    return ch_error_prefix (err, "login %s", registry);
  return 0;
}
