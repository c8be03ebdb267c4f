/* common/: parsers, strings, files, in-root path resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_parse_size (void **state)
{
  cleanup_error ch_error_t err = NULL;
  uint64_t v;

  assert_int_equal (ch_parse_size ("64M", &v, &err), 0);
  assert_int_equal (v, 64ULL << 20);
  assert_int_equal (ch_parse_size ("1g", &v, &err), 0);
  assert_int_equal (v, 1ULL << 30);
  assert_int_equal (ch_parse_size ("512kb", &v, &err), 0);
  assert_int_equal (v, 512ULL << 10);
  assert_int_equal (ch_parse_size ("2MiB", &v, &err), 0);
  assert_int_equal (v, 2ULL << 20);
  assert_int_equal (ch_parse_size ("1024", &v, &err), 0);
  assert_int_equal (v, 1024);
  assert_true (ch_parse_size ("lots", &v, &err) < 0);
  assert_non_null (strstr (err->msg, "`lots` is not a size"));
  assert_true (ch_parse_size ("5X", &v, &err) < 0);
  assert_true (ch_parse_size ("-1", &v, &err) < 0);
  assert_true (ch_parse_size ("99999999999T", &v, &err) < 0);
  assert_non_null (strstr (err->msg, "too large"));
}

static void
test_parse_duration_int (void **state)
{
  cleanup_error ch_error_t err = NULL;
  uint64_t v;
  int64_t n;

  assert_int_equal (ch_parse_duration ("12h", &v, &err), 0);
  assert_int_equal (v, 12 * 3600);
  assert_int_equal (ch_parse_duration ("90", &v, &err), 0);
  assert_int_equal (v, 90);
  assert_true (ch_parse_duration ("5mb", &v, &err) < 0);
  assert_int_equal (ch_parse_int ("42", 0, 100, &n, &err), 0);
  assert_int_equal (n, 42);
  assert_true (ch_parse_int ("101", 0, 100, &n, &err) < 0);
  assert_non_null (strstr (err->msg, "out of range"));
  assert_true (ch_parse_int ("4x", 0, 100, &n, &err) < 0);
  assert_true (ch_parse_int ("", 0, 100, &n, &err) < 0);
}

static void
test_error_prefix (void **state)
{
  cleanup_error ch_error_t err = NULL;

  assert_int_equal (ch_error (&err, ENOENT, "open `%s`", "/x"), -1);
  assert_int_equal (err->status, ENOENT);
  ch_error_prefix (&err, "chute `%s`", "web");
  assert_string_equal (err->msg, "chute `web`: open `/x`: No such file or directory");
}

static void
test_strv_buf (void **state)
{
  cleanup_strv char **v = NULL;
  struct ch_buf b = { 0 };
  cleanup_free char *s = NULL;

  ch_strv_append (&v, "a");
  ch_strv_append (&v, "b");
  assert_int_equal (ch_strv_len (v), 2);
  assert_string_equal (v[1], "b");
  assert_null (v[2]);
  for (int i = 0; i < 1000; i++)
    ch_buf_printf (&b, "%d,", i);
  s = ch_buf_steal (&b);
  assert_true (ch_has_prefix (s, "0,1,2,"));
  assert_true (ch_has_suffix (s, "998,999,"));
  {
    cleanup_free char *q = ch_quote ("a\nb`c\\d\x7f", 80), *cut = ch_quote ("abcdef", 3), *e = ch_quote ("", 3);
    assert_string_equal (q, "a\\nb\\`c\\\\d\\x7f");
    assert_string_equal (cut, "abc...");
    assert_string_equal (e, "");
  }
}

static char *
mktmp (void)
{
  char t[] = "/tmp/chuted-test-unit.XXXXXX";
  assert_non_null (mkdtemp (t));
  return xstrdup (t);
}

static void
test_files (void **state)
{
  cleanup_free char *d = mktmp ();
  cleanup_free char *deep = xasprintf ("%s/a/b/c", d);
  cleanup_free char *f = xasprintf ("%s/a/b/c/file", d);
  cleanup_free char *data = NULL;
  cleanup_error ch_error_t err = NULL;
  size_t len;

  assert_int_equal (ch_mkdir_p (deep, 0700, &err), 0);
  assert_int_equal (ch_write_file_atomic (f, "hello", 5, 0600, &err), 0);
  assert_int_equal (ch_read_file (f, &data, &len, &err), 0);
  assert_int_equal (len, 5);
  assert_string_equal (data, "hello");
  {
    cleanup_free char *link = xasprintf ("%s/a/link", d);
    assert_int_equal (symlink ("/etc", link), 0);
  }
  assert_int_equal (ch_rm_rf (d, &err), 0);
  assert_int_equal (access (d, F_OK), -1);
  assert_int_equal (access ("/etc/passwd", F_OK), 0); /* the symlink was not followed */
  assert_true (ch_read_file (f, &data, &len, &err) < 0);
}

/* A FIFO is refused without waiting for a writer, a device (here through a
 * symlink to /dev/zero) is refused, and a file over the bound is refused. */
static void
test_read_bounded (void **state)
{
  cleanup_free char *d = mktmp ();
  cleanup_free char *fifo = xasprintf ("%s/fifo", d);
  cleanup_free char *zero = xasprintf ("%s/zero", d);
  cleanup_free char *big = xasprintf ("%s/big", d);
  cleanup_free char *data = NULL;
  cleanup_error ch_error_t err = NULL;
  json_t *j = NULL;
  size_t len;

  assert_int_equal (mkfifo (fifo, 0600), 0);
  assert_true (ch_read_file (fifo, &data, &len, &err) < 0);
  assert_non_null (strstr (err->msg, "is not a regular file"));
  ch_error_release (&err);
  assert_true (ch_json_load_file (fifo, &j, &err) < 0);
  ch_error_release (&err);
  assert_int_equal (symlink ("/dev/zero", zero), 0);
  assert_true (ch_read_file (zero, &data, &len, &err) < 0);
  assert_non_null (strstr (err->msg, "is not a regular file"));
  ch_error_release (&err);
  assert_int_equal (ch_write_file (big, "0123456789", 10, 0600, &err), 0);
  assert_true (ch_read_file_max (big, 9, &data, &len, &err) < 0);
  assert_int_equal (err->status, EFBIG);
  ch_error_release (&err);
  assert_int_equal (ch_read_file_max (big, 10, &data, &len, &err), 0);
  assert_int_equal (len, 10);
  assert_int_equal (ch_rm_rf (d, &err), 0);
}

static void
test_in_root (void **state)
{
  cleanup_free char *d = mktmp ();
  cleanup_free char *outside = mktmp ();
  cleanup_free char *evil = xasprintf ("%s/evil", d);
  cleanup_free char *escaped = xasprintf ("%s/pwned", outside);
  cleanup_close int root = open (d, O_PATH | O_DIRECTORY);
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *name = NULL;
  int fd;

  /* a symlink pointing out of the root: dangling inside it, so refused */
  assert_int_equal (symlink (outside, evil), 0);
  fd = ch_mkdir_in_root (root, "/evil/pwned", 0755, &err);
  assert_true (fd < 0);
  assert_int_equal (access (escaped, F_OK), -1);
  /* once its target exists inside the root, it resolves there, never outside */
  {
    cleanup_free char *mirror = xasprintf ("%s%s", d, outside);
    assert_int_equal (ch_mkdir_p (mirror, 0755, &err), 0);
  }
  fd = ch_mkdir_in_root (root, "/evil/pwned", 0755, &err);
  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (access (escaped, F_OK), -1);
  {
    cleanup_free char *inside = xasprintf ("%s%s/pwned", d, outside);
    assert_int_equal (access (inside, F_OK), 0);
  }
  fd = ch_open_in_root (root, "../../../etc/passwd", O_RDONLY, 0, &err);
  assert_true (fd < 0);
  fd = ch_parent_in_root (root, "/x/y/z", true, 0755, &name, &err);
  assert_true (fd >= 0);
  assert_string_equal (name, "z");
  close (fd);
  assert_true (ch_parent_in_root (root, "/", false, 0, &name, &err) < 0);
  ch_rm_rf (d, &err);
  ch_rm_rf (outside, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_size), cmocka_unit_test (test_parse_duration_int),
    cmocka_unit_test (test_error_prefix), cmocka_unit_test (test_strv_buf),
    cmocka_unit_test (test_files), cmocka_unit_test (test_read_bounded), cmocka_unit_test (test_in_root),
  };
  return cmocka_run_group_tests_name ("common", tests, NULL, NULL);
}
