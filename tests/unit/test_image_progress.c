/* Progress records on an image program's record pipe (image/progress.c):
 * each reaches the caller's callback as it comes, the result after them is
 * the result, progress without a result is no result, and a line that only
 * looks like progress is not taken for it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/util.h"
#include "image/image.h"

#include <string.h>
#include <unistd.h>

struct seen
{
  uint64_t bytes[8], total[8];
  size_t n;
};

static void
note (void *data, uint64_t bytes, uint64_t total)
{
  struct seen *s = data;

  assert_true (s->n < 8);
  s->bytes[s->n] = bytes;
  s->total[s->n++] = total;
}

/* What TEXT on a pipe reads as. */
static int
recv_text (const char *text, struct seen *s, struct ch_image_result *r, ch_error_t *err)
{
  int p[2];
  int ret;

  assert_int_equal (pipe (p), 0);
  assert_int_equal (write (p[1], text, strlen (text)), (ssize_t) strlen (text));
  close (p[1]);
  ret = ch_image_records_recv (p[0], "pull", note, s, r, err);
  close (p[0]);
  return ret;
}

static void
test_records (void **state)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_image_result r;
  struct seen s = { 0 };
  int p[2];

  /* as sent: progress lines, then the result */
  assert_int_equal (pipe (p), 0);
  assert_int_equal (ch_image_progress_send (p[1], 0, 9000000, &e), 0);
  assert_int_equal (ch_image_progress_send (p[1], 4500000, 9000000, &e), 0);
  assert_int_equal (ch_image_progress_send (p[1], 9000000, 9000000, &e), 0);
  r = (struct ch_image_result){ .status = CH_IMAGE_OK, .manifest = xstrdup ("sha256:ab") };
  assert_int_equal (ch_image_result_send (p[1], &r, &e), 0);
  ch_image_result_clear (&r);
  close (p[1]);
  assert_int_equal (ch_image_records_recv (p[0], "pull", note, &s, &r, &e), 0);
  close (p[0]);
  assert_int_equal (s.n, 3);
  assert_int_equal (s.bytes[1], 4500000);
  assert_int_equal (s.total[2], 9000000);
  assert_int_equal (r.status, CH_IMAGE_OK);
  assert_string_equal (r.manifest, "sha256:ab");
  ch_image_result_clear (&r);

  /* an error result after progress */
  memset (&s, 0, sizeof (s));
  assert_int_equal (recv_text ("{\"type\":\"progress\",\"bytes\":1,\"total\":2}\n"
                               "{\"status\":\"unreachable\",\"message\":\"Connection refused\"}",
                               &s, &r, &e),
                    0);
  assert_int_equal (s.n, 1);
  assert_int_equal (r.status, CH_IMAGE_UNREACHABLE);
  ch_image_result_clear (&r);

  /* progress, then the child died: no result */
  memset (&s, 0, sizeof (s));
  assert_int_equal (recv_text ("{\"type\":\"progress\",\"bytes\":1,\"total\":2}\n", &s, &r, &e), -1);
  assert_string_equal (e->msg, "pull gave no result");
  assert_int_equal (s.n, 1);
  ch_error_release (&e);

  /* a progress record with a negative count is no progress record: the
   * stream is then not a result either */
  memset (&s, 0, sizeof (s));
  assert_int_equal (recv_text ("{\"type\":\"progress\",\"bytes\":-1,\"total\":2}\n{\"status\":\"ok\"}", &s, &r, &e),
                    -1);
  assert_int_equal (s.n, 0);
  ch_error_release (&e);
}

/* A child's progress over fd 3 reaches the callback through run_child. */
static void
test_run_child_progress (void **state)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_image_result r;
  struct seen s = { 0 };
  char *sends[] = { "/bin/sh", "-c",
                    "printf '{\"type\":\"progress\",\"bytes\":5,\"total\":10}\\n' >&3; "
                    "printf '{\"status\":\"ok\",\"manifest\":\"sha256:cd\"}' >&3",
                    NULL };

  assert_int_equal (ch_image_run_child_progress (sends, "sh", note, &s, &r, &e), 0);
  assert_int_equal (s.n, 1);
  assert_int_equal (s.bytes[0], 5);
  assert_int_equal (r.status, CH_IMAGE_OK);
  assert_string_equal (r.manifest, "sha256:cd");
  ch_image_result_clear (&r);
  /* without a callback the progress is dropped, the result read alike */
  assert_int_equal (ch_image_run_child (sends, "sh", &r, &e), 0);
  assert_string_equal (r.manifest, "sha256:cd");
  ch_image_result_clear (&r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_records),
    cmocka_unit_test (test_run_child_progress),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
