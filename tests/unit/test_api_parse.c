/* What the REST API reads from a client (mgmt/api_parse.c), at the edges
 * its fuzz target (tests/fuzz/fuzz_api.c) found or checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/util.h"
#include "mgmt/api_parse.h"

#include <stdlib.h>
#include <string.h>

static void
test_chute_body (void **state)
{
  cleanup_error ch_error_t err = NULL;
  const char *title;
  char *text;
  size_t len;

  /* a NUL inside a plain body: its text would be shorter than its length
   * (the deploy's parser then read past it), so it is refused */
  assert_int_equal (dm_parse_chute_body ("name: a\0b: c\n", 13, false, &text, &len, &title, &err), -1);
  assert_null (text);
  assert_string_equal (title, "bad request");
  assert_non_null (strstr (err->msg, "NUL byte"));
  ch_error_release (&err);

  assert_int_equal (dm_parse_chute_body ("name: a\n", 8, false, &text, &len, &title, &err), 0);
  assert_int_equal (len, 8);
  assert_memory_equal (text, "name: a\n", 8);
  free (text);

  /* and in JSON: jansson refuses \u0000 in a string */
  assert_int_equal (dm_parse_chute_body ("{\"config\": \"name: a\\u0000x\"}", 28, true, &text, &len, &title, &err), -1);
  assert_string_equal (title, "bad JSON");
  ch_error_release (&err);

  assert_int_equal (dm_parse_chute_body ("{\"config\": 1", 12, true, &text, &len, &title, &err), -1);
  assert_string_equal (title, "bad JSON");
  ch_error_release (&err);
  /* jansson quotes the text near the error, a line break too: one line */
  assert_int_equal (dm_parse_chute_body ("{\"config\": \"\\\n\"}", 15, true, &text, &len, &title, &err), -1);
  assert_string_equal (title, "bad JSON");
  assert_null (strchr (err->msg, '\n'));
  ch_error_release (&err);
  assert_int_equal (dm_parse_chute_body ("{\"config\": 1}", 13, true, &text, &len, &title, &err), -1);
  assert_string_equal (title, "bad request");
}

static void
test_tail_if_match (void **state)
{
  cleanup_error ch_error_t err = NULL;
  int64_t v;

  /* a query value is decoded (%0A): never echoed into a second line */
  assert_int_equal (dm_parse_tail ("1\n2", &v, &err), -1);
  assert_null (strchr (err->msg, '\n'));
  ch_error_release (&err);
  assert_int_equal (dm_parse_tail ("x", &v, &err), -1);
  assert_non_null (strstr (err->msg, "tail=x: "));
  ch_error_release (&err);
  assert_int_equal (dm_parse_tail ("all", &v, &err), 0);
  assert_int_equal (v, -1);
  assert_int_equal (dm_parse_tail ("3", &v, &err), 0);
  assert_int_equal (v, 3);
  assert_int_equal (dm_tail_start ("a\nb\nc\n", 6, 2), 2);
  assert_int_equal (dm_tail_start ("a\nb\nc\n", 6, 0), 6);

  assert_int_equal (dm_parse_if_match (NULL, &v, &err), 0);
  assert_int_equal (dm_parse_if_match ("*", &v, &err), 0);
  assert_int_equal (dm_parse_if_match ("W/\"7\"", &v, &err), 1);
  assert_int_equal (v, 7);
  assert_int_equal (dm_parse_if_match ("\"0\"", &v, &err), -1);
  assert_non_null (strstr (err->msg, "want the chute's generation"));
}

static void
test_ssid_body (void **state)
{
  cleanup_error ch_error_t err = NULL;
  const char *body = "{\"ssid\": \"0123456789012345678901234567890123\\nx\"}";
  const char *title;
  char *ssid;

  /* too long and with a line break: one line, not the SSID quoted */
  assert_int_equal (dm_parse_ssid_body (body, strlen (body), &ssid, &title, &err), -1);
  assert_string_equal (title, "bad ssid");
  assert_null (strchr (err->msg, '\n'));
  ch_error_release (&err);
  assert_int_equal (dm_parse_ssid_body ("{\"ssid\": \"a,b\"}", 15, &ssid, &title, &err), -1);
  assert_non_null (strstr (err->msg, "comma"));
  ch_error_release (&err);
  assert_int_equal (dm_parse_ssid_body ("[]", 2, &ssid, &title, &err), -1);
  assert_string_equal (title, "bad request");
  ch_error_release (&err);
  assert_int_equal (dm_parse_ssid_body ("{\"ssid\": \"cafe\"}", 16, &ssid, &title, &err), 0);
  assert_string_equal (ssid, "cafe");
  free (ssid);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_chute_body),
    cmocka_unit_test (test_tail_if_match),
    cmocka_unit_test (test_ssid_body),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
