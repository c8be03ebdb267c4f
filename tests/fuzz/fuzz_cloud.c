/* libFuzzer: what the cloud link reads from the broker (mgmt/cloud_msg.c):
 * a desired document, its ed25519 signature over the canonical JSON
 * checked first (cloud_sign.c), then the document's checks (cloud_doc.c),
 * and a command. The first byte steers: bit 0 signs the rest (when it is a
 * JSON object) with the trusted key before it is delivered, so the checks
 * after the signature see every shape the fuzzer makes; bits 1-3 are the
 * generation applied last. Whatever the input, each returns; what is
 * accepted holds what the link relies on. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/cloud_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NODE "ap-fuzz"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* One trusted key, made once from a fixed seed (libFuzzer keeps the
 * process): the signer's (libcrypto, as chutectl's) and its public half in
 * the trust the link verifies with (nettle). */
static EVP_PKEY *signer;

static struct ch_trust *
trust (void)
{
  static struct ch_trust t;
  static struct ch_trust_key k;
  static const unsigned char seed[32] = "chuted fuzz operator key, fixed";
  size_t len = sizeof (k.pub);
  ch_error_t e = NULL;

  if (t.n == 0)
    {
      signer = EVP_PKEY_new_raw_private_key (EVP_PKEY_ED25519, NULL, seed, sizeof (seed));
      if (signer == NULL || ch_cloud_key_id (signer, k.id, &e) < 0
          || EVP_PKEY_get_raw_public_key (signer, k.pub, &len) != 1)
        abort ();
      t.keys = &k;
      t.n = 1;
    }
  return &t;
}

static void
desired (const char *p, size_t len, int64_t last)
{
  ch_error_t e = NULL;
  json_t *doc = NULL, *gen, *chutes;
  const char *k;
  json_t *v;

  if (ch_cloud_desired_parse (p, len, NODE, trust (), last, &doc, &e) < 0)
    {
      if (e == NULL || e->msg[0] == '\0')
        abort ();
      ch_error_release (&e);
      json_decref (doc);
      return;
    }
  gen = json_object_get (doc, "generation");
  chutes = json_object_get (doc, "chutes");
  if (strcmp (json_string_value (json_object_get (doc, "node")), NODE) != 0 || !json_is_integer (gen)
      || json_integer_value (gen) < 1 || json_integer_value (gen) < last || !json_is_object (chutes)
      || ch_chute_name_check (json_string_value (json_object_get (doc, "change")), &e) < 0)
    abort ();
  /* cloud_apply.c takes each chute's name and exactly one of file, version */
  json_object_foreach (chutes, k, v)
    if (ch_chute_name_check (k, &e) < 0
        || !json_is_string (json_object_get (v, "file")) == !json_is_string (json_object_get (v, "version")))
      abort ();
  json_decref (doc);
}

static void
command (const char *p, size_t len)
{
  ch_error_t e = NULL;
  struct ch_cloud_cmd cmd;

  if (ch_cloud_cmd_parse (p, len, &cmd, &e) < 0)
    {
      if (e == NULL || cmd.chute != NULL)
        abort ();
      ch_error_release (&e);
    }
  else if (cmd.op == CH_CLOUD_OP_LOGS ? cmd.chute == NULL || ch_chute_name_check (cmd.chute, &e) < 0
                                      : cmd.chute != NULL)
    abort ();
  ch_cloud_cmd_clear (&cmd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data + 1;
  int64_t last;

  if (size == 0)
    return 0;
  last = (data[0] >> 1) & 7;
  size--;
  trust (); /* the signer made */
  command (p, size);
  if (data[0] & 1)
    {
      ch_error_t e = NULL;
      json_t *doc = NULL;
      char *signed_doc;

      if (ch_json_load_buf ("fuzz", p, size, &doc, &e) < 0 || !json_is_object (doc)
          || ch_cloud_sign (doc, signer, &e) < 0)
        {
          ch_error_release (&e);
          json_decref (doc);
          desired (p, size, last);
          return 0;
        }
      signed_doc = json_dumps (doc, JSON_COMPACT);
      json_decref (doc);
      desired (signed_doc, strlen (signed_doc), last);
      free (signed_doc);
    }
  else
    desired (p, size, last);
  return 0;
}
