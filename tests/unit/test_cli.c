/* mgmt/cli_opts.c: the option table behind parsing and help, typo
 * suggestions; ps --format's {{.Field}} substitution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/cli.h"
#include "mgmt/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum
{
  O_ALL = 300
};

static const struct ch_opt opts[] = {
  { "memory", 'm', "SIZE", "memory limit" },
  { "all", O_ALL, NULL, "every one" },
  CH_OPT_END,
};

static const struct ch_opt opts_h[] = {
  { "hostname", 'h', "NAME", "the hostname" },
  CH_OPT_END,
};

static const struct ch_cmd cmd = { "update", NULL, "NAME", "Change limits", opts };

static void
test_distance (void **state)
{
  static const char *const names[] = { "run", "rm", "stop", "start", "ps", "logs", NULL };

  assert_int_equal (ch_cli_distance ("run", "run"), 0);
  assert_int_equal (ch_cli_distance ("rnu", "run"), 2);
  assert_int_equal (ch_cli_distance ("kitten", "sitting"), 3);
  assert_int_equal (ch_cli_distance ("", "abc"), 3);
  assert_string_equal (ch_cli_suggest ("rnu", names), "run");
  assert_string_equal (ch_cli_suggest ("stpo", names), "stop");
  assert_string_equal (ch_cli_suggest ("lgos", names), "logs");
  assert_null (ch_cli_suggest ("xyzzy", names));
}

static void
test_parse_options (void **state)
{
  struct ch_ctx ctx = { .fail_code = 125, .cmd = &cmd };
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_error ch_error_t err = NULL;
  char *argv[] = { "update", "-m", "5M", "--all", "--memory=6M", "web", "--all", NULL };

  ch_cli_parser_init (&p, &ctx, opts);
  assert_int_equal (ch_cli_next (&p, 7, argv, &err), 'm');
  assert_string_equal (p.optarg, "5M");
  assert_string_equal (p.name, "memory");
  assert_int_equal (ch_cli_next (&p, 7, argv, &err), O_ALL);
  assert_string_equal (p.name, "all");
  assert_int_equal (ch_cli_next (&p, 7, argv, &err), 'm');
  assert_string_equal (p.optarg, "6M");
  /* options stop at the first operand: what follows is the operand's */
  assert_int_equal (ch_cli_next (&p, 7, argv, &err), 0);
  assert_int_equal (optind, 5);
  assert_null (err);
  assert_int_equal (ctx.fail_code, 125);
}

static void
test_usage_errors (void **state)
{
  struct ch_ctx ctx = { .fail_code = 125, .cmd = &cmd };
  cleanup_error ch_error_t err = NULL;
  char *missing[] = { "update", "--memory", NULL };
  char *missing_short[] = { "update", "-m", NULL };
  char *unknown[] = { "update", "--bogus", "web", NULL };

  {
    cleanup_cli_parser struct ch_cli_parser p;
    ch_cli_parser_init (&p, &ctx, opts);
    assert_int_equal (ch_cli_next (&p, 2, missing, &err), -1);
    assert_false (p.help);
    assert_non_null (strstr (err->msg, "option --memory needs a value"));
    assert_int_equal (ctx.fail_code, 2);
    assert_int_equal (ch_cli_done (&p), -1);
    ch_error_release (&err);
  }
  {
    cleanup_cli_parser struct ch_cli_parser p;
    ch_cli_parser_init (&p, &ctx, opts);
    assert_int_equal (ch_cli_next (&p, 2, missing_short, &err), -1);
    assert_non_null (strstr (err->msg, "option --memory needs a value"));
    ch_error_release (&err);
  }
  {
    cleanup_cli_parser struct ch_cli_parser p;
    ctx.fail_code = 125;
    ch_cli_parser_init (&p, &ctx, opts);
    assert_int_equal (ch_cli_next (&p, 3, unknown, &err), -1);
    assert_non_null (strstr (err->msg, "unknown option `--bogus`"));
    assert_non_null (strstr (err->msg, "chuted update --help"));
    assert_int_equal (ctx.fail_code, 2);
  }
}

/* Run ch_cli_next on ARGV with stdout caught; returns what it printed. */
static char *
next_captured (struct ch_cli_parser *p, int argc, char **argv, int *ret)
{
  cleanup_error ch_error_t err = NULL;
  char path[] = "/tmp/test_cli_XXXXXX";
  int fd = mkstemp (path), saved = dup (1);
  char *out = NULL;
  size_t len;

  fflush (stdout);
  dup2 (fd, 1);
  *ret = ch_cli_next (p, argc, argv, &err);
  fflush (stdout);
  dup2 (saved, 1);
  close (saved);
  close (fd);
  assert_int_equal (ch_read_file_max (path, 1 << 20, &out, &len, &err), 0);
  unlink (path);
  return out;
}

static void
test_help (void **state)
{
  struct ch_ctx ctx = { .fail_code = 125, .cmd = &cmd };
  char *argv[] = { "update", "--help", NULL };
  char *argv_h[] = { "update", "-h", NULL };
  int r;

  {
    cleanup_cli_parser struct ch_cli_parser p;
    cleanup_free char *out = NULL;
    ch_cli_parser_init (&p, &ctx, opts);
    out = next_captured (&p, 2, argv, &r);
    assert_int_equal (r, -1);
    assert_true (p.help);
    assert_int_equal (ch_cli_done (&p), 0);
    assert_non_null (strstr (out, "usage: chuted update [OPTIONS] NAME\n"));
    assert_non_null (strstr (out, "Change limits"));
    assert_non_null (strstr (out, "-m, --memory SIZE"));
    assert_non_null (strstr (out, "    --all "));
    assert_non_null (strstr (out, "-h, --help"));
  }
  {
    cleanup_cli_parser struct ch_cli_parser p;
    cleanup_free char *out = NULL;
    ch_cli_parser_init (&p, &ctx, opts);
    out = next_captured (&p, 2, argv_h, &r);
    assert_int_equal (r, -1);
    assert_true (p.help);
  }
  {
    /* a command whose -h is its own (run's --hostname) keeps it */
    cleanup_cli_parser struct ch_cli_parser p;
    cleanup_error ch_error_t err = NULL;
    char *hv[] = { "run", "-h", "box", NULL };
    ch_cli_parser_init (&p, &ctx, opts_h);
    assert_int_equal (ch_cli_next (&p, 3, hv, &err), 'h');
    assert_string_equal (p.optarg, "box");
  }
}

static void
test_ps_format (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *row = json_pack ("{s:s, s:s, s:[s,s], s:n, s:[s,s], s:I}", "name", "web", "status", "running",
                                        "command", "sh", "-c", "pid", "ports", "8080:80/tcp", "53:53/udp", "uptime",
                                        (json_int_t) 42);
  cleanup_free char *a = NULL, *b = NULL;

  assert_int_equal (ch_ps_format (row, "{{.Names}} {{.Status}}\\t{{ .Command }}|{{.pid}}|{{.Ports}} {{.Uptime}}", &a,
                                  &err),
                    0);
  assert_string_equal (a, "web running\tsh -c||8080:80/tcp,53:53/udp 42");
  assert_int_equal (ch_ps_format (row, "{{.Nope}}", &b, &err), -1);
  assert_non_null (strstr (err->msg, "no field `Nope`"));
  ch_error_release (&err);
  assert_int_equal (ch_ps_format (row, "{{.Name", &b, &err), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_distance),
    cmocka_unit_test (test_parse_options),
    cmocka_unit_test (test_usage_errors),
    cmocka_unit_test (test_help),
    cmocka_unit_test (test_ps_format),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
