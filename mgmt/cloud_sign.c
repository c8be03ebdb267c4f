/* Canonical JSON, ed25519 signatures and the trust file (mgmt/cloud_sign.h). */
#include "mgmt/cloud_sign.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define ED25519_LEN 32
#define ED25519_SIG_LEN 64
#define TRUST_MAX (64 * 1024)

static void
md_ctx_freep (EVP_MD_CTX **p)
{
  EVP_MD_CTX_free (*p);
}

/* A real's text depends on the printer's precision: not canonical. */
static bool
has_real (json_t *j)
{
  const char *k;
  json_t *v;
  size_t i;

  if (json_is_real (j))
    return true;
  if (json_is_object (j))
    json_object_foreach (j, k, v)
      if (has_real (v))
        return true;
  if (json_is_array (j))
    json_array_foreach (j, i, v)
      if (has_real (v))
        return true;
  return false;
}

char *
ch_cloud_canonical (json_t *doc, ch_error_t *err)
{
  cleanup_json json_t *copy = NULL;
  char *s;

  if (!json_is_object (doc))
    return ch_error (err, 0, "a desired document is a JSON object"), NULL;
  if (has_real (doc))
    return ch_error (err, 0, "a desired document holds no real numbers (integers only)"), NULL;
  copy = json_copy (doc);
  json_object_del (copy, "signature");
  s = json_dumps (copy, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
  if (s == NULL)
    ch_error (err, 0, "a desired document: cannot serialize it");
  return s;
}

static char *
b64 (const unsigned char *data, size_t len)
{
  char *s = xmalloc (4 * ((len + 2) / 3) + 1);

  EVP_EncodeBlock ((unsigned char *) s, data, (int) len);
  return s;
}

/* Exactly WANT bytes from base64 S, else -1. */
static int
unb64 (const char *s, unsigned char *out, size_t want)
{
  size_t n = strlen (s), pad = 0;
  unsigned char buf[128];

  if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof (buf))
    return -1;
  if (EVP_DecodeBlock (buf, (const unsigned char *) s, (int) n) < 0)
    return -1;
  pad = (s[n - 1] == '=') + (s[n - 2] == '=');
  if (n / 4 * 3 - pad != want)
    return -1;
  memcpy (out, buf, want);
  return 0;
}

int
ch_cloud_key_id (EVP_PKEY *pkey, char id[CH_CLOUD_KEYID_LEN + 1], ch_error_t *err)
{
  unsigned char raw[ED25519_LEN], md[SHA256_DIGEST_LENGTH];
  size_t len = sizeof (raw);

  if (EVP_PKEY_get_raw_public_key (pkey, raw, &len) != 1 || len != ED25519_LEN)
    return ch_error (err, 0, "not an ed25519 key");
  SHA256 (raw, len, md);
  for (int i = 0; i < CH_CLOUD_KEYID_LEN / 2; i++)
    snprintf (id + 2 * i, 3, "%02x", md[i]);
  return 0;
}

char *
ch_cloud_pub_line (EVP_PKEY *pkey, const char *comment, ch_error_t *err)
{
  unsigned char raw[ED25519_LEN];
  size_t len = sizeof (raw);
  cleanup_free char *s = NULL;

  if (EVP_PKEY_get_raw_public_key (pkey, raw, &len) != 1 || len != ED25519_LEN)
    return ch_error (err, 0, "not an ed25519 key"), NULL;
  s = b64 (raw, len);
  return xasprintf ("ed25519 %s %s\n", s, comment);
}

void
ch_trust_clear (struct ch_trust *t)
{
  for (size_t i = 0; i < t->n; i++)
    EVP_PKEY_free (t->keys[i].pkey);
  free (t->keys);
  t->keys = NULL;
  t->n = 0;
}

static int
trust_line (struct ch_trust *t, char *line, ch_error_t *err)
{
  unsigned char raw[ED25519_LEN];
  char *save = NULL, *alg, *key;
  struct ch_trust_key k;

  while (isspace ((unsigned char) *line))
    line++;
  if (*line == '\0' || *line == '#')
    return 0;
  alg = strtok_r (line, " \t", &save);
  key = strtok_r (NULL, " \t", &save);
  if (strcmp (alg, "ed25519") != 0)
    return ch_error (err, 0, "key type `%.20s` (only ed25519)", alg);
  if (key == NULL || unb64 (key, raw, sizeof (raw)) < 0)
    return ch_error (err, 0, "not a base64 ed25519 public key (32 bytes)");
  k.pkey = EVP_PKEY_new_raw_public_key (EVP_PKEY_ED25519, NULL, raw, sizeof (raw));
  if (k.pkey == NULL)
    return ch_error (err, 0, "not an ed25519 public key");
  ch_cloud_key_id (k.pkey, k.id, err);
  t->keys = xrealloc (t->keys, (t->n + 1) * sizeof (*t->keys));
  t->keys[t->n++] = k;
  return 0;
}

int
ch_trust_load (const char *path, struct ch_trust *t, ch_error_t *err)
{
  cleanup_free char *text = NULL;
  char *line, *save = NULL;
  size_t len, no = 0;

  memset (t, 0, sizeof (*t));
  if (ch_read_file_max (path, TRUST_MAX, &text, &len, err) < 0)
    return ch_error_prefix (err, "trust file");
  if (memchr (text, '\0', len))
    return ch_error (err, 0, "trust file %s: not text", path);
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      no++;
      if (trust_line (t, line, err) < 0)
        {
          ch_trust_clear (t);
          return ch_error_prefix (err, "trust file %s:%zu", path, no);
        }
    }
  if (t->n == 0)
    return ch_error (err, 0, "trust file %s: no key in it", path);
  return 0;
}

int
ch_cloud_sign (json_t *doc, EVP_PKEY *pkey, ch_error_t *err)
{
  cleanup_free char *canon = ch_cloud_canonical (doc, err), *sig64 = NULL;
  __attribute__ ((cleanup (md_ctx_freep))) EVP_MD_CTX *md = EVP_MD_CTX_new ();
  unsigned char sig[ED25519_SIG_LEN];
  size_t siglen = sizeof (sig);
  char id[CH_CLOUD_KEYID_LEN + 1];

  if (canon == NULL)
    return -1;
  if (ch_cloud_key_id (pkey, id, err) < 0)
    return -1;
  if (md == NULL || EVP_DigestSignInit (md, NULL, NULL, NULL, pkey) != 1
      || EVP_DigestSign (md, sig, &siglen, (const unsigned char *) canon, strlen (canon)) != 1)
    return ch_error (err, 0, "ed25519 signing failed (is the key an ed25519 private key?)");
  sig64 = b64 (sig, siglen);
  json_object_set_new (doc, "signature", json_pack ("{s:s, s:s, s:s}", "alg", "ed25519", "key", id, "sig", sig64));
  return 0;
}

int
ch_cloud_verify (json_t *doc, const struct ch_trust *t, ch_error_t *err)
{
  json_t *s = json_object_get (doc, "signature");
  const char *alg = json_string_value (json_object_get (s, "alg"));
  const char *id = json_string_value (json_object_get (s, "key"));
  const char *sig64 = json_string_value (json_object_get (s, "sig"));
  __attribute__ ((cleanup (md_ctx_freep))) EVP_MD_CTX *md = NULL;
  cleanup_free char *canon = NULL;
  unsigned char sig[ED25519_SIG_LEN];
  EVP_PKEY *pkey = NULL;

  if (s == NULL)
    return ch_error (err, 0, "unsigned");
  if (alg == NULL || strcmp (alg, "ed25519") != 0 || id == NULL || sig64 == NULL)
    return ch_error (err, 0, "signature: want {\"alg\":\"ed25519\",\"key\":ID,\"sig\":BASE64}");
  for (size_t i = 0; i < t->n && pkey == NULL; i++)
    if (strcmp (t->keys[i].id, id) == 0)
      pkey = t->keys[i].pkey;
  if (pkey == NULL)
    {
      cleanup_free char *q = ch_quote (id, 16);
      return ch_error (err, 0, "signed by key `%s`, which is not trusted", q);
    }
  if (unb64 (sig64, sig, sizeof (sig)) < 0)
    return ch_error (err, 0, "signature: not 64 bytes of base64");
  if ((canon = ch_cloud_canonical (doc, err)) == NULL)
    return -1;
  md = EVP_MD_CTX_new ();
  if (md == NULL || EVP_DigestVerifyInit (md, NULL, NULL, NULL, pkey) != 1)
    return ch_error (err, 0, "signature: cannot verify (libcrypto)");
  if (EVP_DigestVerify (md, sig, sizeof (sig), (const unsigned char *) canon, strlen (canon)) != 1)
    return ch_error (err, 0, "bad signature (tampered, or not by key %s)", id);
  return 0;
}
