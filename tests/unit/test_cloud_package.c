/* The desired document's "package" entries (docs/CLOUD.md "Packages"): a
 * reference is accepted only when pinned by a full sha256 digest, so that
 * the AP fetches exactly what the operator signed whatever a registry's
 * tags say later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mgmt/cloud_package.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
test_ref_pinned (void **state)
{
  assert_true (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam@sha256:" HEX64));
  assert_true (ch_cloud_package_ref_ok ("reg.example/team/seccam@sha256:" HEX64));
  /* a tag, a short or upper-case digest, another algorithm, nothing before the @ */
  assert_false (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam:2"));
  assert_false (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam@sha256:0123"));
  assert_false (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam@sha256:" HEX64 "0"));
  assert_false (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam@sha256:0123456789ABCDEF"
                                         "0123456789abcdef0123456789abcdef0123456789abcdef"));
  assert_false (ch_cloud_package_ref_ok ("127.0.0.1:5000/seccam@sha512:" HEX64));
  assert_false (ch_cloud_package_ref_ok ("@sha256:" HEX64));
  assert_false (ch_cloud_package_ref_ok (""));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ref_pinned),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
