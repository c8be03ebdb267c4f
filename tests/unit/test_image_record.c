/* image/record.c: the record image programs hand back, result or error,
 * through its one encoder/decoder and over a real child's fd 3. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/util.h"
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
round_trip (const struct ch_image_result *in, struct ch_image_result *out)
{
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *wire = ch_image_result_encode (in);

  assert_non_null (wire);
  assert_int_equal (ch_image_result_decode (wire, strlen (wire), out, &e), 0);
}

static void
test_result (void **state)
{
  struct ch_image_result in = {
    .status = CH_IMAGE_OK,
    .ref = xstrdup ("127.0.0.1:5000/cam:1.2"),
    .manifest = xstrdup ("sha256:1111"),
    .image_id = xstrdup ("sha256:2222"),
    .rootfs = xstrdup ("/run/chuted/chutes/cam/rootfs"),
    .config = json_pack ("{s:[s], s:[s,s]}", "Cmd", "sh", "Env", "A=1", "B=2"),
  };
  struct ch_image_result out;

  round_trip (&in, &out);
  assert_int_equal (out.status, CH_IMAGE_OK);
  assert_null (out.message);
  assert_string_equal (out.ref, in.ref);
  assert_string_equal (out.manifest, in.manifest);
  assert_string_equal (out.image_id, in.image_id);
  assert_string_equal (out.rootfs, in.rootfs);
  assert_true (json_equal (out.config, in.config));
  ch_image_result_clear (&out);
  ch_image_result_clear (&in);
  assert_null (in.rootfs);
}

/* Each class of failure survives: errno -> record -> wire -> record -> errno,
 * the message unchanged. */
static void
test_errors (void **state)
{
  static const struct
  {
    int errnum;
    enum ch_image_status status;
    const char *name;
    int back;
  } cases[] = {
    { ENOENT, CH_IMAGE_NOT_FOUND, "not-found", ENOENT },
    { EACCES, CH_IMAGE_UNAUTHORIZED, "unauthorized", EACCES },
    { ECONNREFUSED, CH_IMAGE_UNREACHABLE, "unreachable", ECONNREFUSED },
    { EPROTO, CH_IMAGE_UNREACHABLE, "unreachable", ECONNREFUSED },
    { EBADMSG, CH_IMAGE_INVALID, "invalid", EBADMSG },
    { EFBIG, CH_IMAGE_TOO_BIG, "too-big", EFBIG },
    { 0, CH_IMAGE_FAILED, "failed", EIO },
    { EROFS, CH_IMAGE_FAILED, "failed", EIO },
  };

  for (size_t i = 0; i < sizeof (cases) / sizeof (*cases); i++)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_image_result r = { .rootfs = xstrdup ("/stale") }, out;
      cleanup_free char *msg = xasprintf ("GET http://127.0.0.1:1/v2/: case %zu: \"quoted\"\n", i);

      ch_error (&e, 0, "%s", msg);
      e->status = cases[i].errnum;
      ch_image_result_fail (&r, &e);
      assert_null (e);
      assert_null (r.rootfs);
      assert_int_equal (r.status, cases[i].status);
      assert_string_equal (ch_image_status_name (r.status), cases[i].name);
      round_trip (&r, &out);
      assert_int_equal (out.status, cases[i].status);
      assert_string_equal (out.message, msg);
      assert_int_equal (ch_image_result_error (&out, &e), -1);
      assert_string_equal (e->msg, msg);
      assert_int_equal (e->status, cases[i].back);
      ch_image_result_clear (&r);
      ch_image_result_clear (&out);
    }
}

static void
test_decode_bad (void **state)
{
  static const char *bad[] = {
    "",
    "[]",
    "{}",
    "{\"status\":\"maybe\"}",
    "{\"status\":1}",
    "{\"status\":\"unauthorized\"}",
    "{\"status\":\"ok\",\"rootfs\":7}",
    "{\"status\":\"ok\",\"config\":[\"sh\"]}",
    "{\"status\":\"ok\",\"ref\":\"a\",\"rootfs\":\"/r\"",
  };

  for (size_t i = 0; i < sizeof (bad) / sizeof (*bad); i++)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_image_result out;
      assert_int_equal (ch_image_result_decode (bad[i], strlen (bad[i]), &out, &e), -1);
      assert_non_null (e);
      assert_null (out.ref);
    }
}

/* A child's record over fd 3; a program that cannot be run reports that the
 * same way; a child that sends nothing is an error of the caller's. */
static void
test_run_child (void **state)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_image_result r;
  char *sends[] = { "/bin/sh", "-c",
                    "printf '{\"status\":\"unreachable\",\"message\":\"Connection refused\"}' >&3; exit 1", NULL };
  char *absent[] = { "/nonexistent/chuted-image", "mount", NULL };
  char *silent[] = { "/bin/sh", "-c", "exit 0", NULL };
  char *lies[] = { "/bin/sh", "-c", "printf '{\"status\":\"ok\"}' >&3; exit 3", NULL };

  assert_int_equal (ch_image_run_child (sends, "sh", &r, &e), 0);
  assert_int_equal (r.status, CH_IMAGE_UNREACHABLE);
  assert_string_equal (r.message, "Connection refused");
  ch_image_result_clear (&r);

  assert_int_equal (ch_image_run_child (absent, "chuted-image", &r, &e), 0);
  assert_int_equal (r.status, CH_IMAGE_NOT_FOUND);
  assert_string_equal (r.message, "exec `/nonexistent/chuted-image`: No such file or directory");
  ch_image_result_clear (&r);

  assert_int_equal (ch_image_run_child (silent, "sh", &r, &e), -1);
  assert_string_equal (e->msg, "sh gave no result");
  ch_error_release (&e);

  assert_int_equal (ch_image_run_child (lies, "sh", &r, &e), -1);
  assert_string_equal (e->msg, "sh: exited with status 3 after a result");
}

/* Not present is a result of the in-process mount, not an error. */
static void
test_mount_absent (void **state)
{
  char dir[] = "/tmp/chuted-test-record.XXXXXX";
  cleanup_free char *root = NULL, *run = NULL;
  cleanup_error ch_error_t e = NULL;
  struct ch_mount_opts mo = { 0 };
  struct ch_image_result r;

  assert_non_null (mkdtemp (dir));
  root = xasprintf ("%s/root", dir);
  run = xasprintf ("%s/run", dir);
  assert_int_equal (ch_image_mount (root, run, "chuted-test-x", "cam:1.2", &mo, &r, &e), 0);
  assert_int_equal (r.status, CH_IMAGE_ABSENT);
  assert_non_null (strstr (r.message, "cam:1.2"));
  assert_null (r.rootfs);
  ch_image_result_clear (&r);
  assert_int_equal (ch_image_mount (root, run, "chuted-test-x", "sha256:0123", &mo, &r, &e), 0);
  assert_int_equal (r.status, CH_IMAGE_ABSENT);
  ch_image_result_clear (&r);
  assert_int_equal (ch_rm_rf (dir, &e), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_result),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_decode_bad),
    cmocka_unit_test (test_run_child),
    cmocka_unit_test (test_mount_absent),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
