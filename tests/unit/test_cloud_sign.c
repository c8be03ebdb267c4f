/* The cloud link's desired documents: the canonical form a signature
 * covers (byte for byte, as docs/CLOUD.md defines it), ed25519 sign and
 * verify, the trust file, and the document checks (node, generation,
 * schema) that come after the signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cloud.h"
#include "mgmt/cloud_sign.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_canonical (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *d = json_loads ("{\"z\": 1, \"a\": {\"y\": [true, null, \"\\u00e9\\n/\"], \"b\": -2},"
                                       " \"signature\": {\"sig\": \"x\"}}", 0, NULL);
  cleanup_free char *c = ch_cloud_canonical (d, &err);

  assert_non_null (c);
  /* keys sorted at every depth, no blank, the signature left out, non-ASCII
   * and control characters as \uXXXX escapes (hex upper case), / as is */
  assert_string_equal (c, "{\"a\":{\"b\":-2,\"y\":[true,null,\"\\u00E9\\n/\"]},\"z\":1}");
  json_object_set_new (d, "r", json_real (0.5));
  assert_null (ch_cloud_canonical (d, &err));
  assert_non_null (strstr (err->msg, "no real numbers"));
}

struct keys
{
  EVP_PKEY *k;
  char dir[64], trust[96];
};

static EVP_PKEY *
keygen (void)
{
  EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id (EVP_PKEY_ED25519, NULL);
  EVP_PKEY *k = NULL;

  assert_int_equal (EVP_PKEY_keygen_init (kc), 1);
  assert_int_equal (EVP_PKEY_keygen (kc, &k), 1);
  EVP_PKEY_CTX_free (kc);
  return k;
}

static json_t *
doc (const char *node, int gen)
{
  return json_pack ("{s:s, s:i, s:s, s:{s:{s:s, s:b}}}", "node", node, "generation", gen, "change", "g1-abc", "chutes",
                    "web", "file", "name: web\n", "running", 1);
}

static void
test_sign_verify (void **state)
{
  cleanup_error ch_error_t err = NULL;
  EVP_PKEY *k = keygen (), *rogue = keygen ();
  char dir[] = "/tmp/chuted-test-cloudsign.XXXXXX";
  cleanup_free char *trust = NULL, *line = NULL, *bad = NULL;
  struct ch_trust t;
  json_t *d;

  assert_non_null (mkdtemp (dir));
  trust = xasprintf ("%s/trust", dir);
  line = ch_cloud_pub_line (k, "ops", &err);
  assert_non_null (line);
  bad = xasprintf ("# operators\n\n%s", line);
  assert_int_equal (ch_write_file (trust, bad, strlen (bad), 0600, &err), 0);
  assert_int_equal (ch_trust_load (trust, &t, &err), 0);
  assert_int_equal (t.n, 1);

  d = doc ("ap-1", 3);
  assert_int_equal (ch_cloud_verify (d, &t, &err), -1);
  assert_string_equal (err->msg, "unsigned");
  assert_int_equal (ch_cloud_sign (d, k, &err), 0);
  assert_int_equal (ch_cloud_verify (d, &t, &err), 0);
  assert_int_equal (ch_cloud_doc_check (d, "ap-1", &t, 3, &err), 0); /* the same generation: a delivery again */
  assert_int_equal (ch_cloud_doc_check (d, "ap-2", &t, 0, &err), -1);
  assert_non_null (strstr (err->msg, "for node `ap-1`"));
  assert_int_equal (ch_cloud_doc_check (d, "ap-1", &t, 4, &err), -1);
  assert_non_null (strstr (err->msg, "older"));
  /* key order and blanks are not what is signed: a re-serialized document verifies */
  {
    cleanup_free char *s = json_dumps (d, JSON_INDENT (3));
    cleanup_json json_t *again = json_loads (s, 0, NULL);
    assert_int_equal (ch_cloud_verify (again, &t, &err), 0);
  }
  /* any change of content breaks it */
  json_object_set_new (json_object_get (json_object_get (d, "chutes"), "web"), "running", json_false ());
  assert_int_equal (ch_cloud_verify (d, &t, &err), -1);
  assert_non_null (strstr (err->msg, "bad signature"));
  /* signed by a key not in the trust file */
  assert_int_equal (ch_cloud_sign (d, rogue, &err), 0);
  assert_int_equal (ch_cloud_verify (d, &t, &err), -1);
  assert_non_null (strstr (err->msg, "not trusted"));
  /* what the broker wrote is shown on one line: a key id with a line break */
  json_object_set_new (json_object_get (d, "signature"), "key", json_string ("ab\ncd`e\x01"));
  assert_int_equal (ch_cloud_verify (d, &t, &err), -1);
  assert_string_equal (err->msg, "signed by key `ab\\ncd\\`e\\x01`, which is not trusted");
  json_decref (d);

  /* schema: after a valid signature, unknown keys and bad entries are refused */
  d = doc ("ap-1", 1);
  json_object_set_new (json_object_get (json_object_get (d, "chutes"), "web"), "version", json_string ("2"));
  assert_int_equal (ch_cloud_sign (d, k, &err), 0);
  assert_int_equal (ch_cloud_doc_check (d, "ap-1", &t, 0, &err), -1);
  assert_non_null (strstr (err->msg, "exactly one of"));
  json_decref (d);

  ch_trust_clear (&t);
  assert_int_equal (ch_write_file (trust, "ed25519 AAAA\n", 13, 0600, &err), 0);
  assert_int_equal (ch_trust_load (trust, &t, &err), -1);
  assert_non_null (strstr (err->msg, ":1: not a base64 ed25519 public key"));
  EVP_PKEY_free (k);
  EVP_PKEY_free (rogue);
  ch_rm_rf (dir, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_canonical),
    cmocka_unit_test (test_sign_verify),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
