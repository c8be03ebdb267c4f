/* common/globals.c: the one parser of the options every program takes
 * before its command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/globals.h"

#include <stdlib.h>
#include <string.h>

#define ARGV(...) ((char *[]){ "prog", __VA_ARGS__, NULL })

static int
parse (int argc, char **argv, struct ch_globals *g, char **msg)
{
  ch_error_t e = NULL;
  int r = ch_globals_parse (argc, argv, g, &e);

  *msg = NULL;
  if (r < 0)
    {
      *msg = strdup (e->msg);
      ch_error_release (&e);
    }
  return r;
}

static int
setup (void **state)
{
  unsetenv ("CHUTED_ROOT");
  unsetenv ("CHUTED_RUN_ROOT");
  unsetenv ("CHUTED_CGROUP_PARENT");
  return 0;
}

static void
test_forms (void **state)
{
  struct ch_globals g;
  char *m;
  char **a = ARGV ("--root", "/r", "--run-root=/rr", "--cgroup-parent=cg", "run", "--root", "x");
  char **b = ARGV ("--root=/r", "--run-root", "/rr", "--cgroup-parent", "cg", "images");

  assert_int_equal (parse (8, a, &g, &m), 5);
  assert_string_equal (g.root, "/r");
  assert_string_equal (g.run_root, "/rr");
  assert_string_equal (g.cgroup_parent, "cg");
  assert_int_equal (parse (7, b, &g, &m), 6);
  assert_string_equal (g.root, "/r");
  assert_string_equal (g.run_root, "/rr");
  assert_string_equal (g.cgroup_parent, "cg");
}

static void
test_env_and_defaults (void **state)
{
  struct ch_globals g;
  char *m;

  assert_int_equal (parse (2, ARGV ("ps"), &g, &m), 1);
  assert_string_equal (g.root, "/var/lib/chuted");
  assert_string_equal (g.run_root, "/run/chuted");
  assert_string_equal (g.cgroup_parent, "chuted");
  setenv ("CHUTED_ROOT", "/env/root", 1);
  setenv ("CHUTED_RUN_ROOT", "", 1); /* empty = unset */
  setenv ("CHUTED_CGROUP_PARENT", "envcg", 1);
  assert_int_equal (parse (2, ARGV ("ps"), &g, &m), 1);
  assert_string_equal (g.root, "/env/root");
  assert_string_equal (g.run_root, "/run/chuted");
  assert_string_equal (g.cgroup_parent, "envcg");
  /* the command line wins */
  assert_int_equal (parse (3, ARGV ("--root=/cli", "ps"), &g, &m), 2);
  assert_string_equal (g.root, "/cli");
  /* a relative path from the environment is refused as one from the command line */
  setenv ("CHUTED_ROOT", "rel", 1);
  assert_int_equal (parse (2, ARGV ("ps"), &g, &m), -1);
  assert_string_equal (m, "--root `rel`: not an absolute path");
  free (m);
  setup (state);
}

static void
test_errors (void **state)
{
  struct ch_globals g;
  char *m;

  assert_int_equal (parse (3, ARGV ("--root", "rel", "ps"), &g, &m), -1);
  assert_string_equal (m, "--root `rel`: not an absolute path");
  free (m);
  assert_int_equal (parse (2, ARGV ("--run-root=", "ps"), &g, &m), -1);
  assert_string_equal (m, "--run-root ``: not an absolute path");
  free (m);
  assert_int_equal (parse (2, ARGV ("--root"), &g, &m), -1);
  assert_string_equal (m, "option --root needs a value");
  free (m);
  assert_int_equal (parse (2, ARGV ("--rootfs=/x", "ps"), &g, &m), -1);
  assert_string_equal (m, "unknown global option `--rootfs=/x`");
  free (m);
  assert_int_equal (parse (2, ARGV ("--cgroup-parent=", "ps"), &g, &m), -1);
  assert_string_equal (m, "--cgroup-parent: empty");
  free (m);
  /* help and version are the caller's: parsing stops there */
  assert_int_equal (parse (3, ARGV ("--root=/r", "--help", "--bogus"), &g, &m), 2);
  assert_int_equal (parse (2, ARGV ("--version", "x"), &g, &m), 1);
  assert_int_equal (parse (2, ARGV ("--root=/r"), &g, &m), 2);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup (test_forms, setup),
    cmocka_unit_test_setup (test_env_and_defaults, setup),
    cmocka_unit_test_setup (test_errors, setup),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
