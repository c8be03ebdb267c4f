/* common/util.c ch_rfc3339: the one timestamp formatter (OCI state,
 * chute.json, image configs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void
test_rfc3339 (void **state)
{
  cleanup_free char *a = ch_rfc3339 (0, -1);
  cleanup_free char *b = ch_rfc3339 (1796164505, -1);
  cleanup_free char *c = ch_rfc3339 (1796164505, 42);
  cleanup_free char *d = ch_rfc3339 (1796164505, 999999999);

  assert_string_equal (a, "1970-01-01T00:00:00Z");
  assert_string_equal (b, "2026-12-01T22:35:05Z");
  assert_string_equal (c, "2026-12-01T22:35:05.000000042Z");
  assert_string_equal (d, "2026-12-01T22:35:05.999999999Z");
}

/* the calendar arithmetic against libc's gmtime_r: every day over the
 * epochs that matter (before 1970, leap centuries, past 2038) */
static void
test_rfc3339_vs_gmtime (void **state)
{
  static const time_t from[] = { -2208988800 /* 1900 */, 946684800 - 400 * 86400 /* 1998 */,
                                 4102444800 - 400 * 86400 /* 2099 */, 2145916800 /* 2038 */ };
  char got[CH_RFC3339_LEN], want[CH_RFC3339_LEN];

  for (size_t i = 0; i < sizeof (from) / sizeof (from[0]); i++)
    for (time_t t = from[i]; t < from[i] + 800 * 86400; t += 86400 + 3601)
      {
        struct tm tm;
        gmtime_r (&t, &tm);
        strftime (want, sizeof (want), "%Y-%m-%dT%H:%M:%SZ", &tm);
        ch_rfc3339_fmt (got, sizeof (got), t, -1);
        assert_string_equal (got, want);
      }
  ch_rfc3339_fmt (got, sizeof (got), -1, 5);
  assert_string_equal (got, "1969-12-31T23:59:59.000000005Z");
  ch_rfc3339_fmt (got, sizeof (got), 951782400, -1);
  assert_string_equal (got, "2000-02-29T00:00:00Z");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rfc3339),
    cmocka_unit_test (test_rfc3339_vs_gmtime),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
