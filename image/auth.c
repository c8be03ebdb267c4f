/* Registry credentials: <root>/auth.json in docker's config format
 * ({"auths": {"HOST": {"auth": base64("user:pass")}}}), mode 0600, and the
 * WWW-Authenticate challenge parser. */
#include "internal.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
auth_path (const char *root)
{
  return xasprintf ("%s/auth.json", root);
}

int
ch_auth_lookup (const char *root, const char *registry, char **user, char **pass, ch_error_t *err)
{
  cleanup_free char *p = auth_path (root), *dec = NULL;
  cleanup_json json_t *j = NULL;
  const char *b64;
  size_t n;
  int len;
  char *colon;

  *user = *pass = NULL;
  if (access (p, F_OK) < 0)
    return 0;
  if (ch_json_load_file (p, &j, err) < 0)
    return -1;
  b64 = json_string_value (json_object_get (json_object_get (json_object_get (j, "auths"), registry), "auth"));
  if (b64 == NULL)
    return 0;
  n = strlen (b64);
  dec = xzalloc (n + 4);
  len = EVP_DecodeBlock ((unsigned char *) dec, (const unsigned char *) b64, n);
  if (len < 0)
    return ch_error (err, 0, "`%s`: credentials for %s are not base64", p, registry);
  /* EVP_DecodeBlock counts the padding as zero bytes */
  while (n > 0 && b64[n - 1] == '=' && len > 0)
    {
      n--;
      len--;
    }
  dec[len] = '\0';
  colon = strchr (dec, ':');
  if (colon == NULL)
    return ch_error (err, 0, "`%s`: credentials for %s are not user:password", p, registry);
  *colon = '\0';
  *user = xstrdup (dec);
  *pass = xstrdup (colon + 1);
  return 0;
}

int
ch_auth_store (const char *root, const char *registry, const char *user, const char *pass, ch_error_t *err)
{
  cleanup_free char *p = auth_path (root), *plain = xasprintf ("%s:%s", user, pass), *enc = NULL;
  cleanup_json json_t *j = NULL;
  json_t *auths;

  if (access (p, F_OK) == 0)
    {
      if (ch_json_load_file (p, &j, err) < 0)
        return -1;
    }
  else
    j = json_object ();
  if (!json_is_object (j))
    return ch_error (err, 0, "`%s`: not a JSON object", p);
  auths = json_object_get (j, "auths");
  if (!json_is_object (auths))
    {
      auths = json_object ();
      json_object_set_new (j, "auths", auths);
    }
  enc = xzalloc (4 * (strlen (plain) / 3 + 1) + 1);
  EVP_EncodeBlock ((unsigned char *) enc, (const unsigned char *) plain, strlen (plain));
  json_object_set_new (auths, registry, json_pack ("{s:s}", "auth", enc));
  if (ch_mkdir_p (root, 0755, err) < 0 || ch_json_save_file (p, j, 0600, err) < 0)
    return -1;
  if (chmod (p, 0600) < 0)
    return ch_error (err, errno, "chmod `%s`", p);
  return 0;
}

int
ch_auth_remove (const char *root, const char *registry, ch_error_t *err)
{
  cleanup_free char *p = auth_path (root);
  cleanup_json json_t *j = NULL;

  if (access (p, F_OK) < 0)
    return ch_image_error (err, ENOENT, "not logged in to %s", registry);
  if (ch_json_load_file (p, &j, err) < 0)
    return -1;
  if (json_object_del (json_object_get (j, "auths"), registry) < 0)
    return ch_image_error (err, ENOENT, "not logged in to %s", registry);
  return ch_json_save_file (p, j, 0600, err);
}

int
ch_auth_parse_challenge (const char *hdr, char **scheme, char **realm, char **service, char **scope)
{
  const char *s = hdr;
  size_t n;

  *scheme = *realm = *service = *scope = NULL;
  while (*s == ' ')
    s++;
  n = strcspn (s, " ");
  if (n == 0)
    return -1;
  *scheme = xstrndup (s, n);
  s += n;
  while (*s)
    {
      const char *k, *v;
      size_t kl, vl;
      char **dst = NULL;
      while (*s == ' ' || *s == ',')
        s++;
      k = s;
      kl = strcspn (s, "=");
      if (s[kl] != '=')
        break;
      s += kl + 1;
      if (*s == '"')
        {
          v = ++s;
          vl = strcspn (s, "\"");
          s += vl;
          if (*s == '"')
            s++;
        }
      else
        {
          v = s;
          vl = strcspn (s, ",");
          s += vl;
        }
      if (kl == 5 && strncasecmp (k, "realm", 5) == 0)
        dst = realm;
      else if (kl == 7 && strncasecmp (k, "service", 7) == 0)
        dst = service;
      else if (kl == 5 && strncasecmp (k, "scope", 5) == 0)
        dst = scope;
      if (dst)
        {
          free (*dst);
          *dst = xstrndup (v, vl);
        }
    }
  return 0;
}
