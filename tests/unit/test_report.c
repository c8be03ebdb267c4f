/* runtime/report.c: the start report between init, monitor and CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "common/file.h"
#include "common/util.h"
#include "runtime/report.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
round_trip (const struct ch_report *in, struct ch_report *out)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *text = NULL;
  int p[2];

  assert_int_equal (pipe (p), 0);
  assert_int_equal (ch_report_write (p[1], in, &err), 0);
  close (p[1]);
  assert_int_equal (ch_read_fd (p[0], &text, NULL, &err), 0);
  close (p[0]);
  /* one record, one line */
  assert_ptr_equal (strchr (text, '\n'), text + strlen (text) - 1);
  assert_int_equal (ch_report_first (text, out, &err), 1);
}

static void
test_round_trip (void **state)
{
  struct ch_report r;

  round_trip (&(struct ch_report){ .kind = CH_REPORT_READY, .pid = 4242 }, &r);
  assert_int_equal (r.kind, CH_REPORT_READY);
  assert_int_equal (r.pid, 4242);
  round_trip (&(struct ch_report){ .kind = CH_REPORT_LISTENING }, &r);
  assert_int_equal (r.kind, CH_REPORT_LISTENING);
  round_trip (&(struct ch_report){ .kind = CH_REPORT_ERROR, .code = 127, .msg = "exec \"/x\": two\nlines" }, &r);
  assert_int_equal (r.kind, CH_REPORT_ERROR);
  assert_int_equal (r.code, 127);
  assert_string_equal (r.msg, "exec \"/x\": two lines");
  ch_report_clear (&r);
}

static void
test_first_and_malformed (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_report r;

  /* the root cause first, context after */
  assert_int_equal (ch_report_first ("\nerror 126 cause\nerror 1 context\n", &r, &err), 1);
  assert_int_equal (r.code, 126);
  assert_string_equal (r.msg, "cause");
  ch_report_clear (&r);
  assert_int_equal (ch_report_first ("\n\n", &r, &err), 0);
  /* the old untyped formats are not guessed at */
  assert_true (ch_report_parse ("127 exec failed", &r, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_report_parse ("chuted: oops", &r, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_report_parse ("error 300 code out of range", &r, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_report_parse ("ready 12x", &r, &err) < 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_first_and_malformed),
  };
  return cmocka_run_group_tests_name ("report", tests, NULL, NULL);
}
