/* common/util.c ch_rfc3339: the one timestamp formatter (OCI state,
 * chute.json, image configs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/util.h"

#include <stdlib.h>

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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rfc3339),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
