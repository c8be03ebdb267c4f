/* Canonical JSON, ed25519 verification and the trust file
 * (mgmt/cloud_sign.h), with nettle: what the AP runs. Signing, which only
 * chutectl does, is cloud_sign_key.c (libcrypto). */
#include "mgmt/cloud_sign.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"

#include <ctype.h>
#include <nettle/base64.h>
#include <nettle/eddsa.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#define TRUST_MAX (64 * 1024)

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

/* Exactly WANT bytes from base64 S, else -1. */
static int
unb64 (const char *s, unsigned char *out, size_t want)
{
  struct base64_decode_ctx ctx;
  size_t n = strlen (s), got;
  uint8_t buf[128];

  /* nettle skips blanks: the text must be base64 alone */
  if (n == 0 || n % 4 != 0 || BASE64_DECODE_LENGTH (n) > sizeof (buf)
      || strspn (s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
    return -1;
  base64_decode_init (&ctx);
  got = sizeof (buf);
  if (base64_decode_update (&ctx, &got, buf, n, s) != 1 || base64_decode_final (&ctx) != 1 || got != want)
    return -1;
  memcpy (out, buf, want);
  return 0;
}

void
ch_cloud_sha256 (const void *data, size_t len, uint8_t md[CH_SHA256_LEN])
{
  struct sha256_ctx c;

  sha256_init (&c);
  sha256_update (&c, len, data);
  sha256_digest (&c, CH_SHA256_LEN, md);
}

void
ch_cloud_raw_key_id (const uint8_t raw[CH_ED25519_LEN], char id[CH_CLOUD_KEYID_LEN + 1])
{
  uint8_t md[CH_SHA256_LEN];

  ch_cloud_sha256 (raw, CH_ED25519_LEN, md);
  for (int i = 0; i < CH_CLOUD_KEYID_LEN / 2; i++)
    snprintf (id + 2 * i, 3, "%02x", md[i]);
}

void
ch_trust_clear (struct ch_trust *t)
{
  free (t->keys);
  t->keys = NULL;
  t->n = 0;
}

static int
trust_line (struct ch_trust *t, char *line, ch_error_t *err)
{
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
  if (key == NULL || unb64 (key, k.pub, sizeof (k.pub)) < 0)
    return ch_error (err, 0, "not a base64 ed25519 public key (32 bytes)");
  ch_cloud_raw_key_id (k.pub, k.id);
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
ch_cloud_verify (json_t *doc, const struct ch_trust *t, ch_error_t *err)
{
  json_t *s = json_object_get (doc, "signature");
  const char *alg = json_string_value (json_object_get (s, "alg"));
  const char *id = json_string_value (json_object_get (s, "key"));
  const char *sig64 = json_string_value (json_object_get (s, "sig"));
  cleanup_free char *canon = NULL;
  uint8_t sig[CH_ED25519_SIG_LEN];
  const uint8_t *pub = NULL;

  if (s == NULL)
    return ch_error (err, 0, "unsigned");
  if (alg == NULL || strcmp (alg, "ed25519") != 0 || id == NULL || sig64 == NULL)
    return ch_error (err, 0, "signature: want {\"alg\":\"ed25519\",\"key\":ID,\"sig\":BASE64}");
  for (size_t i = 0; i < t->n && pub == NULL; i++)
    if (strcmp (t->keys[i].id, id) == 0)
      pub = t->keys[i].pub;
  if (pub == NULL)
    {
      cleanup_free char *q = ch_quote (id, 16);
      return ch_error (err, 0, "signed by key `%s`, which is not trusted", q);
    }
  if (unb64 (sig64, sig, sizeof (sig)) < 0)
    return ch_error (err, 0, "signature: not 64 bytes of base64");
  if ((canon = ch_cloud_canonical (doc, err)) == NULL)
    return -1;
  if (ed25519_sha512_verify (pub, strlen (canon), (const uint8_t *) canon, sig) != 1)
    return ch_error (err, 0, "bad signature (tampered, or not by key %s)", id);
  return 0;
}
