/* Signing and the operator's keys (mgmt/cloud_sign.h), with libcrypto:
 * chutectl's side; the AP verifies with nettle (cloud_sign.c). */
#include "mgmt/cloud_sign.h"

#include "common/json.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

static void
md_ctx_freep (EVP_MD_CTX **p)
{
  EVP_MD_CTX_free (*p);
}

static char *
b64 (const unsigned char *data, size_t len)
{
  char *s = xmalloc (4 * ((len + 2) / 3) + 1);

  EVP_EncodeBlock ((unsigned char *) s, data, (int) len);
  return s;
}

int
ch_cloud_key_id (EVP_PKEY *pkey, char id[CH_CLOUD_KEYID_LEN + 1], ch_error_t *err)
{
  unsigned char raw[CH_ED25519_LEN];
  size_t len = sizeof (raw);

  if (EVP_PKEY_get_raw_public_key (pkey, raw, &len) != 1 || len != CH_ED25519_LEN)
    return ch_error (err, 0, "not an ed25519 key");
  ch_cloud_raw_key_id (raw, id);
  return 0;
}

char *
ch_cloud_pub_line (EVP_PKEY *pkey, const char *comment, ch_error_t *err)
{
  unsigned char raw[CH_ED25519_LEN];
  size_t len = sizeof (raw);
  cleanup_free char *s = NULL;

  if (EVP_PKEY_get_raw_public_key (pkey, raw, &len) != 1 || len != CH_ED25519_LEN)
    return ch_error (err, 0, "not an ed25519 key"), NULL;
  s = b64 (raw, len);
  return xasprintf ("ed25519 %s %s\n", s, comment);
}

int
ch_cloud_sign (json_t *doc, EVP_PKEY *pkey, ch_error_t *err)
{
  cleanup_free char *canon = ch_cloud_canonical (doc, err), *sig64 = NULL;
  __attribute__ ((cleanup (md_ctx_freep))) EVP_MD_CTX *md = EVP_MD_CTX_new ();
  unsigned char sig[CH_ED25519_SIG_LEN];
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
