/* A leaf that exists before create (an OCI cgroupsPath naming someone
 * else's cgroup), on a test tree: refused when it holds a process; when
 * empty, not the chute's own, and only what create made is listed and
 * removed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/cgroup.h"
#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
is_dir (const char *root, const char *rel)
{
  cleanup_free char *p = xasprintf ("%s/%s", root, rel);
  struct stat st;
  return stat (p, &st) == 0 && S_ISDIR (st.st_mode);
}

static void
mk (const char *root, const char *rel)
{
  cleanup_free char *p = xasprintf ("%s/%s", root, rel);
  ch_error_t err = NULL;
  if (ch_mkdir_p (p, 0755, &err) < 0)
    fail_msg ("%s", err->msg);
}

static void
test_foreign_leaf (void **state)
{
  char t[] = "/tmp/chuted-test-foreign.XXXXXX";
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;

  assert_non_null (mkdtemp (t));
  mk (t, "memory");
  mk (t, "pids");
  assert_int_equal (ch_cgroup_layout_from_dir (t, &l, &err), 0);

  /* a process in the pids leaf: refused, the dirs create made are gone,
   * the foreign one stays */
  mk (t, "pids/f/busy");
  {
    cleanup_free char *p = xasprintf ("%s/pids/f/busy/cgroup.procs", t);
    assert_int_equal (ch_write_file (p, "4242\n", 5, 0644, &err), 0);
  }
  assert_int_equal (ch_cgroup_create_in (&l, "f/busy", NULL, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "container's cgroup is not empty"));
  assert_non_null (strstr (err->msg, "4242"));
  ch_error_release (&err);
  assert_true (is_dir (t, "pids/f/busy"));
  assert_false (is_dir (t, "memory/f"));

  /* an empty existing leaf: accepted, not the chute's own */
  mk (t, "pids/f/empty");
  if (ch_cgroup_create_in (&l, "f/empty", NULL, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_false (ch_cgroup_is_own (cg));
  {
    cleanup_strv char **made = ch_cgroup_made_dirs (cg);
    cleanup_free char *m1 = xasprintf ("%s/memory/f", t), *m2 = xasprintf ("%s/memory/f/empty", t);
    assert_int_equal (ch_strv_len (made), 2);
    assert_string_equal (made[0], m1);
    assert_string_equal (made[1], m2);
    ch_cgroup_release (cg);
  }
  ch_cgroup_free (cg);
  assert_true (is_dir (t, "pids/f/empty"));
  assert_false (is_dir (t, "memory/f"));

  /* a fresh one is the chute's own */
  if (ch_cgroup_create_in (&l, "g/own", NULL, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_true (ch_cgroup_is_own (cg));
  assert_int_equal (ch_cgroup_destroy (cg, &err), 0);
  ch_cgroup_free (cg);

  ch_cgroup_layout_clear (&l);
  assert_int_equal (ch_rm_rf (t, &err), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_foreign_leaf),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
