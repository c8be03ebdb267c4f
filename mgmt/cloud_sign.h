/* Signed desired documents (docs/CLOUD.md): the canonical JSON a signature
 * covers, ed25519 verifying (nettle: cloud_sign.c, what the AP links) and
 * signing (libcrypto: cloud_sign_key.c, chutectl's), and the trust file of
 * operator public keys. Shared by the AP's cloud link and chutectl,
 * so both sides compute the very same bytes. */
#ifndef CH_CLOUD_SIGN_H
#define CH_CLOUD_SIGN_H

#include "common/error.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>

#define CH_CLOUD_KEYID_LEN 16 /* hex digits of sha256(raw public key) */
#define CH_ED25519_LEN 32
#define CH_ED25519_SIG_LEN 64
#define CH_SHA256_LEN 32

struct ch_trust_key
{
  char id[CH_CLOUD_KEYID_LEN + 1];
  uint8_t pub[CH_ED25519_LEN];
};

struct ch_trust
{
  struct ch_trust_key *keys;
  size_t n;
};

/* DOC without its "signature" member, as JSON_SORT_KEYS | JSON_COMPACT |
 * JSON_ENSURE_ASCII; NULL (an error) when DOC holds a real number. */
char *ch_cloud_canonical (json_t *doc, ch_error_t *err);

/* Trust file: one key a line, `ed25519 BASE64-RAW-32-BYTES [comment]`;
 * blank lines and # comments skipped. */
int ch_trust_load (const char *path, struct ch_trust *t, ch_error_t *err);
void ch_trust_clear (struct ch_trust *t);
/* The cloud code's sha256 of DATA (nettle's: no libcrypto on the AP). */
void ch_cloud_sha256 (const void *data, size_t len, uint8_t md[CH_SHA256_LEN]);
/* The key id of the raw ed25519 public key RAW. */
void ch_cloud_raw_key_id (const uint8_t raw[CH_ED25519_LEN], char id[CH_CLOUD_KEYID_LEN + 1]);
/* The key id of PKEY (ed25519). */
int ch_cloud_key_id (EVP_PKEY *pkey, char id[CH_CLOUD_KEYID_LEN + 1], ch_error_t *err);
/* PKEY's trust-file line (ed25519 BASE64 COMMENT\n). */
char *ch_cloud_pub_line (EVP_PKEY *pkey, const char *comment, ch_error_t *err);

/* Set DOC's "signature" to {"alg":"ed25519","key":ID,"sig":BASE64} over
 * its canonical form, with private key PKEY. */
int ch_cloud_sign (json_t *doc, EVP_PKEY *pkey, ch_error_t *err);
/* 0 when DOC carries a valid signature by a key of T; < 0 with why. */
int ch_cloud_verify (json_t *doc, const struct ch_trust *t, ch_error_t *err);

#endif
