/* What the cloud link reads from the broker (mgmt/cloud_msg.c): a desired
 * document's bounds and what the refusal keeps of it, and commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/util.h"
#include "mgmt/cloud.h"
#include "mgmt/cloud_msg.h"

#include <stdlib.h>
#include <string.h>

static void
test_desired (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_trust t = { 0 };
  const char *unsigned_doc = "{\"node\": \"ap-1\", \"generation\": 4, \"change\": \"c1\", \"chutes\": {}}";
  json_t *doc = NULL;

  assert_int_equal (ch_cloud_desired_parse ("{}", CH_CLOUD_DOC_MAX + 1, "ap-1", &t, 0, &doc, &err), -1);
  assert_null (doc);
  assert_string_equal (err->msg, "larger than 1 MiB");
  ch_error_release (&err);
  assert_int_equal (ch_cloud_desired_parse ("{\"node\"", 7, "ap-1", &t, 0, &doc, &err), -1);
  assert_null (doc);
  assert_non_null (strstr (err->msg, "desired document:1:"));
  ch_error_release (&err);
  /* parsed but refused: the document comes back, for the refusal's record */
  assert_int_equal (ch_cloud_desired_parse (unsigned_doc, strlen (unsigned_doc), "ap-1", &t, 0, &doc, &err), -1);
  assert_non_null (doc);
  assert_int_equal (json_integer_value (json_object_get (doc, "generation")), 4);
  assert_string_equal (err->msg, "unsigned");
  json_decref (doc);
}

#define CMD(s, c, e) ch_cloud_cmd_parse (s, strlen (s), c, e)

static void
test_command (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_cloud_cmd c;

  assert_int_equal (CMD ("{\"op\": \"logs\", \"chute\": \"web\"}", &c, &err), 0);
  assert_int_equal (c.op, CH_CLOUD_OP_LOGS);
  assert_string_equal (c.chute, "web");
  assert_true (c.on);
  ch_cloud_cmd_clear (&c);
  assert_int_equal (CMD ("{\"op\": \"logs\", \"chute\": \"web\", \"on\": false}", &c, &err), 0);
  assert_false (c.on);
  ch_cloud_cmd_clear (&c);
  assert_int_equal (CMD ("{\"op\": \"stats\"}", &c, &err), 0);
  assert_int_equal (c.op, CH_CLOUD_OP_STATS);
  assert_null (c.chute);
  /* a chute name from the broker is checked before it names a path */
  assert_int_equal (CMD ("{\"op\": \"logs\", \"chute\": \"../x\"}", &c, &err), -1);
  assert_null (c.chute);
  ch_error_release (&err);
  assert_int_equal (CMD ("{\"op\": \"rm\"}", &c, &err), -1);
  assert_non_null (strstr (err->msg, "unknown command"));
  ch_error_release (&err);
  assert_int_equal (CMD ("nope", &c, &err), -1);
  assert_non_null (strstr (err->msg, "command:1:"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_desired),
    cmocka_unit_test (test_command),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
