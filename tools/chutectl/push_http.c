/* chutectl's registry v2 client (libcurl): blob uploads (POST then PUT
 * with the digest, skipped when the registry has the blob), manifest PUT
 * and GET, each checked against the digest we computed. */
#include "common/json.h"
#include "common/util.h"
#include "image/http.h"
#include "image/image.h"
#include "tools/chutectl/chutectl.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the registry said of a refused request: its distribution-spec error
 * message, else the status. */
static const char *
says (struct ch_http_resp *r, char *buf, size_t size)
{
  cleanup_json json_t *j = r->body.len ? json_loadb (r->body.data, r->body.len, 0, NULL) : NULL;
  const char *m = json_string_value (json_object_get (json_array_get (json_object_get (j, "errors"), 0), "message"));

  snprintf (buf, size, "%s%sregistry answered %ld%s", m ? m : "", m ? " (" : "", r->status, m ? ")" : "");
  return buf;
}

/* METHOD URL; the body (IN, LEN bytes, CTYPE) when IN. */
static int
request_once (struct ctl_reg *g, const char *method, const char *url, const char *ctype, FILE *in, size_t len,
              struct ch_http_resp *r, ch_error_t *err)
{
  CURL *h = curl_easy_init ();
  struct curl_slist *hl = NULL;
  char eb[CURL_ERROR_SIZE] = "";
  cleanup_free char *ct = ctype ? xasprintf ("Content-Type: %s", ctype) : NULL;
  CURLcode c;

  ch_http_resp_clear (r);
  if (h == NULL)
    return ch_error (err, ENOMEM, "curl init");
  ch_http_setup (h, url);
  /* an upload is not re-sent to wherever a redirect points */
  curl_easy_setopt (h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (h, CURLOPT_USERAGENT, "chutectl/1");
  if (g->ca)
    curl_easy_setopt (h, CURLOPT_CAINFO, g->ca);
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (h, CURLOPT_NOBODY, 1L);
  else if (strcmp (method, "GET") != 0)
    curl_easy_setopt (h, CURLOPT_CUSTOMREQUEST, method);
  if (in)
    {
      curl_easy_setopt (h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt (h, CURLOPT_READDATA, in);
      curl_easy_setopt (h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) len);
    }
  else if (strcmp (method, "POST") == 0)
    curl_easy_setopt (h, CURLOPT_POSTFIELDSIZE, 0L);
  if (ct)
    hl = curl_slist_append (hl, ct);
  if (g->accept)
    hl = curl_slist_append (hl, g->accept);
  if (g->auth_hdr)
    hl = curl_slist_append (hl, g->auth_hdr);
  c = ch_http_perform (h, hl, r, eb);
  if (c != CURLE_OK)
    return ch_error (err, 0, "%s %s: %s", method, url, *eb ? eb : curl_easy_strerror (c));
  return 0;
}

static char *
basic_header (const char *user, const char *pass)
{
  cleanup_free char *plain = xasprintf ("%s:%s", user, pass);
  cleanup_free char *enc = xzalloc (4 * (strlen (plain) / 3 + 1) + 1);

  EVP_EncodeBlock ((unsigned char *) enc, (const unsigned char *) plain, (int) strlen (plain));
  return xasprintf ("Authorization: Basic %s", enc);
}

/* Answer CHALLENGE as a registry's pull does (image/registry.c): Basic with
 * CHUTECTL_REGISTRY_USER/_PASSWORD, or a Bearer token for the scope the
 * registry named, asked of its realm with them (anonymous without). */
static int
negotiate (struct ctl_reg *g, const char *challenge, ch_error_t *err)
{
  cleanup_free char *scheme = NULL, *realm = NULL, *service = NULL, *scope = NULL, *url = NULL, *basic = NULL;
  cleanup_json json_t *j = NULL;
  struct ch_http_resp r = { 0 };
  const char *tok;
  CURL *h;

  if (challenge == NULL || ch_auth_parse_challenge (challenge, &scheme, &realm, &service, &scope) < 0)
    return ch_error (err, 0, "registry %s: unauthorized, and no usable WWW-Authenticate challenge", g->host);
  if (g->user && g->pass)
    basic = basic_header (g->user, g->pass);
  free (g->auth_hdr);
  g->auth_hdr = NULL;
  if (strcasecmp (scheme, "Basic") == 0)
    {
      if (basic == NULL)
        return ch_error (err, 0, "registry %s asks for credentials: set CHUTECTL_REGISTRY_USER and "
                                 "CHUTECTL_REGISTRY_PASSWORD", g->host);
      g->auth_hdr = steal_pointer (&basic);
      return 0;
    }
  if (strcasecmp (scheme, "Bearer") != 0 || realm == NULL
      || !(ch_has_prefix (realm, "https://") || ch_has_prefix (realm, "http://")))
    return ch_error (err, 0, "registry %s: unsupported authentication `%.60s`", g->host, challenge);
  h = curl_easy_init ();
  {
    char *es = service ? curl_easy_escape (h, service, 0) : NULL, *esc = scope ? curl_easy_escape (h, scope, 0) : NULL;
    url = xasprintf ("%s%s%s%s%s%s", realm, strchr (realm, '?') ? "&" : "?", esc ? "scope=" : "", esc ? esc : "",
                     es ? "&service=" : "", es ? es : "");
    curl_free (es);
    curl_free (esc);
  }
  curl_easy_cleanup (h);
  g->auth_hdr = steal_pointer (&basic); /* the token server's own challenge is answered with them */
  if (request_once (g, "GET", url, NULL, NULL, 0, &r, err) < 0)
    return -1;
  free (g->auth_hdr);
  g->auth_hdr = NULL;
  if (r.status != 200)
    {
      long st = r.status;
      ch_http_resp_clear (&r);
      return ch_error (err, 0, "registry %s: its token server answered %ld%s", g->host, st,
                       st == 401 ? " (CHUTECTL_REGISTRY_USER, CHUTECTL_REGISTRY_PASSWORD)" : "");
    }
  j = json_loadb (r.body.data ? r.body.data : "", r.body.len, 0, NULL);
  ch_http_resp_clear (&r);
  tok = json_string_value (json_object_get (j, "token"));
  if (tok == NULL)
    tok = json_string_value (json_object_get (j, "access_token"));
  if (tok == NULL || *tok == '\0' || strpbrk (tok, "\r\n"))
    return ch_error (err, 0, "registry %s: its token server gave no token", g->host);
  g->auth_hdr = xasprintf ("Authorization: Bearer %s", tok);
  return 0;
}

/* A request, once more after answering a 401's challenge (a token for
 * pull only, then one for push too: each as the registry asks). */
static int
request (struct ctl_reg *g, const char *method, const char *url, const char *ctype, FILE *in, size_t len,
         struct ch_http_resp *r, ch_error_t *err)
{
  if (request_once (g, method, url, ctype, in, len, r, err) < 0)
    return -1;
  if (r->status != 401)
    return 0;
  if (negotiate (g, r->www_auth, err) < 0)
    return ch_error_prefix (err, "%s %s", method, url);
  if (in && fseek (in, 0, SEEK_SET) < 0)
    return ch_error (err, errno, "%s %s: rewind the body", method, url);
  if (request_once (g, method, url, ctype, in, len, r, err) < 0)
    return -1;
  if (r->status == 401)
    return ch_error (err, 0, "%s %s: unauthorized (CHUTECTL_REGISTRY_USER, CHUTECTL_REGISTRY_PASSWORD)", method, url);
  return 0;
}

static bool
is_loopback (const char *host)
{
  return ch_has_prefix (host, "127.") || ch_has_prefix (host, "localhost") || ch_has_prefix (host, "[::1]");
}

int
ctl_reg_open (struct ctl_reg *g, const char *registry, ch_error_t *err)
{
  static const char *const schemes[] = { "https", "http" };
  struct ch_http_resp r = { 0 };
  cleanup_error ch_error_t first = NULL;

  memset (g, 0, sizeof (*g));
  if (registry == NULL || *registry == '\0' || strchr (registry, '/'))
    return ch_error (err, 0, "registry `%s`: want HOST[:PORT] (--registry or CHUTECTL_REGISTRY)",
                     registry ? registry : "");
  g->host = xstrdup (registry);
  g->ca = getenv ("CHUTECTL_REGISTRY_CA");
  g->user = getenv ("CHUTECTL_REGISTRY_USER");
  g->pass = getenv ("CHUTECTL_REGISTRY_PASSWORD");
  /* https; plain http only for a registry on this host's loopback, as docker does */
  for (int i = 0; i < 2 && (i == 0 || is_loopback (registry)); i++)
    {
      cleanup_free char *url = xasprintf ("%s://%s/v2/", schemes[i], registry);
      cleanup_error ch_error_t e = NULL;

      if (request_once (g, "GET", url, NULL, NULL, 0, &r, &e) < 0)
        {
          if (first == NULL)
            first = steal_pointer (&e);
          continue;
        }
      g->base = xasprintf ("%s://%s", schemes[i], registry);
      if (r.status == 401 && negotiate (g, r.www_auth, err) < 0)
        {
          ch_http_resp_clear (&r);
          ctl_reg_close (g);
          return -1;
        }
      ch_http_resp_clear (&r);
      return 0;
    }
  ch_http_resp_clear (&r);
  ctl_reg_close (g);
  *err = steal_pointer (&first);
  return ch_error_prefix (err, "registry %s", registry);
}

void
ctl_reg_close (struct ctl_reg *g)
{
  free (g->host);
  free (g->base);
  free (g->auth_hdr);
  memset (g, 0, sizeof (*g));
}

int
ctl_reg_put_blob (struct ctl_reg *g, const char *repo, const char *digest, FILE *in, size_t len, ch_error_t *err)
{
  cleanup_free char *head = xasprintf ("%s/v2/%s/blobs/%s", g->base, repo, digest), *put = NULL;
  struct ch_http_resp r = { 0 };
  char why[256];
  int ret = -1;

  if (request (g, "HEAD", head, NULL, NULL, 0, &r, err) < 0)
    goto out;
  if (r.status == 200)
    {
      ret = 0; /* there already: a push again sends only what changed */
      goto out;
    }
  {
    cleanup_free char *post = xasprintf ("%s/v2/%s/blobs/uploads/", g->base, repo);
    if (request (g, "POST", post, NULL, NULL, 0, &r, err) < 0)
      goto out;
  }
  if (r.status != 202 || r.location == NULL)
    {
      ch_error (err, 0, "blob upload %s: %s", repo, says (&r, why, sizeof (why)));
      goto out;
    }
  /* Location may be relative, and carries its own query (_state=...) */
  put = xasprintf ("%s%s%sdigest=%s", r.location[0] == '/' ? g->base : "", r.location,
                   strchr (r.location, '?') ? "&" : "?", digest);
  if (request (g, "PUT", put, "application/octet-stream", in, len, &r, err) < 0)
    goto out;
  if (r.status != 201)
    {
      ch_error (err, 0, "blob %s: %s", digest, says (&r, why, sizeof (why)));
      goto out;
    }
  ret = 0;
out:
  ch_http_resp_clear (&r);
  return ret;
}

int
ctl_reg_put_manifest (struct ctl_reg *g, const char *repo, const char *tag, const char *buf, const char *digest,
                      ch_error_t *err)
{
  cleanup_free char *url = xasprintf ("%s/v2/%s/manifests/%s", g->base, repo, tag);
  struct ch_http_resp r = { 0 };
  char why[256];
  FILE *in = fmemopen ((void *) buf, strlen (buf), "r");
  int ret = -1;

  if (in == NULL)
    return ch_error (err, errno, "fmemopen");
  if (request (g, "PUT", url, CTL_MT_OCI_MANIFEST, in, strlen (buf), &r, err) == 0)
    {
      if (r.status != 201)
        ch_error (err, 0, "manifest %s:%s: %s", repo, tag, says (&r, why, sizeof (why)));
      else if (r.digest && strcmp (r.digest, digest) != 0)
        ch_error (err, 0, "manifest %s:%s: the registry stored %s, we sent %s", repo, tag, r.digest, digest);
      else
        ret = 0;
    }
  fclose (in);
  ch_http_resp_clear (&r);
  return ret;
}

int
ctl_reg_get_manifest (struct ctl_reg *g, const char *repo, const char *ref, char **buf, size_t *len, ch_error_t *err)
{
  cleanup_free char *url = xasprintf ("%s/v2/%s/manifests/%s", g->base, repo, ref);
  struct ch_http_resp r = { 0 };
  char why[256];
  int ret = -1;

  g->accept = "Accept: " CTL_MT_OCI_MANIFEST;
  if (request (g, "GET", url, NULL, NULL, 0, &r, err) < 0)
    goto out;
  if (r.status != 200)
    {
      ch_error (err, 0, "package %s/%s%s%s: %s", g->host, repo, ch_has_prefix (ref, "sha256:") ? "@" : ":", ref,
                says (&r, why, sizeof (why)));
      goto out;
    }
  *len = r.body.len;
  ch_buf_append (&r.body, "", 1);
  *buf = ch_buf_steal (&r.body);
  ret = 0;
out:
  g->accept = NULL;
  ch_http_resp_clear (&r);
  return ret;
}
