/* The Dockerfile parser and Docker's word rules, as `docker build` reads
 * them: logical lines, comments inside continuations, the escape directive,
 * flags, the exec form, quotes, and ${VAR} with its modifiers; the
 * .dockerignore matcher. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/util.h"
#include "image/dockerfile_int.h"

#include <stdlib.h>
#include <string.h>

static struct ch_dockerfile *
parse_ok (const char *text)
{
  struct ch_dockerfile *df = NULL;
  ch_error_t e = NULL;
  if (ch_dockerfile_parse ("Dockerfile", text, strlen (text), &df, &e) < 0)
    fail_msg ("parse: %s", e->msg);
  return df;
}

static void
test_lines (void **state)
{
  struct ch_dockerfile *df = parse_ok ("# syntax=docker/dockerfile:1\n"
                                       "from base AS b\n"
                                       "\n"
                                       "RUN apt-get update && \\\n"
                                       "# a comment inside\n"
                                       "\n"
                                       "    apt-get install -y x\n"
                                       "COPY --from=b --chown=1:2 [\"a b\", \"/c\"]\n"
                                       "CMD [\"not json\"\n"
                                       "ENV A=1 \\\r\n  B=2\r\n");
  assert_int_equal (df->n, 5);
  assert_string_equal (df->v[0].cmd, "FROM");
  assert_int_equal (df->v[0].line, 2);
  assert_string_equal (df->v[1].args, "apt-get update &&     apt-get install -y x");
  assert_int_equal (df->v[1].line, 4);
  assert_null (df->v[1].json);
  assert_string_equal (ch_df_flag (df->v[2].flags, "from"), "b");
  assert_string_equal (ch_df_flag (df->v[2].flags, "chown"), "1:2");
  assert_null (ch_df_flag (df->v[2].flags, "chmod"));
  assert_non_null (df->v[2].json);
  assert_string_equal (df->v[2].json[0], "a b");
  assert_string_equal (df->v[2].json[1], "/c");
  assert_null (df->v[3].json); /* not a JSON array: the shell form */
  assert_string_equal (df->v[4].args, "A=1   B=2");
  assert_int_equal (df->v[4].line, 10);
  ch_dockerfile_free (df);
}

static void
test_escape_directive (void **state)
{
  struct ch_dockerfile *df = parse_ok ("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n");
  assert_int_equal (df->escape, '`');
  assert_int_equal (df->n, 2);
  assert_string_equal (df->v[1].args, "dir c:\\   && echo");
  ch_dockerfile_free (df);
}

static void
test_errors (void **state)
{
  struct ch_dockerfile *df = NULL;
  ch_error_t e = NULL;
  assert_int_equal (ch_dockerfile_parse ("Dockerfile", "FROM x\n\nFOO bar\n", 15, &df, &e), -1);
  assert_string_equal (e->msg, "Dockerfile:3: unknown instruction `FOO bar`");
  ch_error_release (&e);
  assert_int_equal (ch_dockerfile_parse ("Dockerfile", "FROM x\nRUN <<EOF\necho\nEOF\n", 26, &df, &e), -1);
  assert_string_equal (e->msg, "Dockerfile:2: RUN: heredocs (<<) are not supported");
  ch_error_release (&e);
  assert_int_equal (ch_dockerfile_parse ("Dockerfile", "FROM x\0", 7, &df, &e), -1);
  assert_non_null (strstr (e->msg, "NUL"));
  ch_error_release (&e);
}

static char *
expand (const char *w, json_t *vars)
{
  char *out = NULL;
  ch_error_t e = NULL;
  if (ch_df_expand (w, '\\', vars, &out, &e) < 0)
    {
      char *m = xasprintf ("error: %s", e->msg);
      ch_error_release (&e);
      return m;
    }
  return out;
}

static void
test_expand (void **state)
{
  json_t *v = json_pack ("{s:s, s:s}", "A", "x y", "E", "");
  struct { const char *in, *want; } cases[] = {
    { "$A", "x y" },
    { "${A}z", "x yz" },
    { "$Az", "" },
    { "${B:-def}", "def" },
    { "${E:-def}", "def" },
    { "${E-def}", "" },
    { "${A:+set}", "set" },
    { "${E:+set}", "" },
    { "${E+set}", "set" },
    { "${B:-${A}}", "x y" },
    { "'$A'", "$A" },
    { "\"$A\"", "x y" },
    { "\\$A", "$A" },
    { "\"a\\\"b\\n\"", "a\"b\\n" },
    { "a\\ b", "a b" },
    { "$", "$" },
    { "${B:?must be set}", "error: `${B:?must be set}`: B: must be set" },
    { "${A", "error: `${A`: missing `}` after `${A`" },
    { "${A%x}", "error: `${A%x}`: unsupported modifier in `${A%x...}`" },
    { "\"open", "error: `\"open`: unterminated double quote" },
  };
  for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
    {
      char *got = expand (cases[i].in, v);
      if (strcmp (got, cases[i].want) != 0)
        fail_msg ("%s: got `%s`, want `%s`", cases[i].in, got, cases[i].want);
      free (got);
    }
  json_decref (v);
}

static void
test_split (void **state)
{
  char **w = ch_df_split ("A=1  B=\"two words\" C='x y'\tD=a\\ b", '\\');
  assert_int_equal (ch_strv_len (w), 4);
  assert_string_equal (w[1], "B=\"two words\"");
  assert_string_equal (w[2], "C='x y'");
  assert_string_equal (w[3], "D=a\\ b");
  ch_strv_free (w);
}

static void
test_ignore (void **state)
{
  char *pats[] = { "secret.txt", "*.log", "build/**/tmp", "docs", "!docs/keep.md", NULL };
  assert_true (ch_build_ignored (pats, "secret.txt"));
  assert_false (ch_build_ignored (pats, "sub/secret.txt"));
  assert_true (ch_build_ignored (pats, "x.log"));
  assert_true (ch_build_ignored (pats, "build/tmp"));
  assert_true (ch_build_ignored (pats, "build/a/b/tmp/f"));
  assert_true (ch_build_ignored (pats, "docs/a.md"));
  assert_false (ch_build_ignored (pats, "docs/keep.md"));
  assert_false (ch_build_ignored (pats, "src/main.c"));
}

/* The failure record: the last CH_BUILD_TAIL_LINES lines of a RUN's
 * output, a partial first line of a full tail dropped, bytes that are not
 * UTF-8 made '?'; the reader keeps known fields of the right type only. */
static void
test_failure_record (void **state)
{
  struct ch_build_result r = { .run_code = 7, .line = 3, .file = (char *) "Dockerfile",
                               .instruction = (char *) "RUN make" };
  struct ch_buf out = { 0 };
  json_t *j, *c, *bad;

  (void) state;
  for (int i = 1; i <= 12; i++)
    ch_buf_printf (&out, "line %d\n", i);
  ch_buf_printf (&out, "bad \xff byte\n\n");
  r.output = out.data;
  j = ch_build_failure_json (&r, "Dockerfile:3: RUN make: exit code 7");
  assert_int_equal (json_integer_value (json_object_get (j, "line")), 3);
  assert_int_equal (json_integer_value (json_object_get (j, "exit_code")), 7);
  assert_int_equal (json_array_size (json_object_get (j, "output")), CH_BUILD_TAIL_LINES);
  assert_string_equal (json_string_value (json_array_get (json_object_get (j, "output"), 0)), "line 4");
  assert_string_equal (json_string_value (json_array_get (json_object_get (j, "output"), 9)), "bad ? byte");
  json_object_set_new (j, "extra", json_string ("dropped"));
  json_object_set_new (j, "line", json_string ("3"));
  c = ch_build_failure_check (j);
  assert_non_null (c);
  assert_null (json_object_get (c, "extra"));
  assert_null (json_object_get (c, "line"));
  assert_string_equal (json_string_value (json_object_get (c, "instruction")), "RUN make");
  assert_int_equal (json_array_size (json_object_get (c, "output")), CH_BUILD_TAIL_LINES);
  json_decref (c);
  json_decref (j);
  free (out.data);

  /* a full tail (CH_BUILD_TAIL bytes): its first line is cut, and goes */
  out = (struct ch_buf){ 0 };
  for (size_t i = 0; i < CH_BUILD_TAIL - 6; i++)
    ch_buf_append (&out, "a", 1);
  ch_buf_printf (&out, "%s", "\nlast\n");
  assert_int_equal (out.len, CH_BUILD_TAIL);
  r.output = out.data;
  j = ch_build_failure_json (&r, "m");
  assert_int_equal (json_array_size (json_object_get (j, "output")), 1);
  assert_string_equal (json_string_value (json_array_get (json_object_get (j, "output"), 0)), "last");
  json_decref (j);
  free (out.data);

  /* no step failed: no step fields; not a record: NULL */
  r = (struct ch_build_result){ 0 };
  j = ch_build_failure_json (&r, "Dockerfile: no FROM instruction");
  assert_null (json_object_get (j, "line"));
  assert_null (json_object_get (j, "output"));
  json_decref (j);
  bad = json_pack ("{s:i}", "message", 1);
  assert_null (ch_build_failure_check (bad));
  assert_null (ch_build_failure_check (NULL));
  json_decref (bad);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_lines),   cmocka_unit_test (test_escape_directive), cmocka_unit_test (test_errors),
    cmocka_unit_test (test_expand),  cmocka_unit_test (test_split),            cmocka_unit_test (test_ignore),
    cmocka_unit_test (test_failure_record),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
