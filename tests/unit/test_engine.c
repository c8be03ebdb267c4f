/* The deploy engine's stores: the change journal (ids from a persisted
 * counter, lookup, order), the desired state (round trip, kept versions,
 * prune, list), durable writes, and the chute file -> chute mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/desired.h"
#include "mgmt/engine.h"
#include "mgmt/journal.h"
#include "mgmt/pod.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct env
{
  char dir[64];
  struct ch_ctx ctx;
};

static int
setup (void **state)
{
  struct env *e = xzalloc (sizeof (*e));
  strcpy (e->dir, "/tmp/chuted-test-engine.XXXXXX");
  assert_non_null (mkdtemp (e->dir));
  e->ctx.root = e->dir;
  e->ctx.run_root = e->dir;
  *state = e;
  return 0;
}

static int
teardown (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  ch_rm_rf (e->dir, &err);
  free (e);
  return 0;
}

static void
begin (struct ch_ctx *ctx, const char *id, const char *kind, struct ch_change *c)
{
  cleanup_error ch_error_t err = NULL;
  memset (c, 0, sizeof (*c));
  c->id = id ? xstrdup (id) : NULL;
  c->chute = xstrdup ("cam");
  c->kind = xstrdup (kind);
  assert_int_equal (ch_journal_begin (ctx, c, &err), 0);
}

static void
test_journal (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *list = NULL;
  struct ch_change a, b, c, found;

  begin (&e->ctx, NULL, "deploy", &a);
  assert_string_equal (a.id, "c1");
  assert_string_equal (a.phase, "queued");
  begin (&e->ctx, "cloud-7", "update", &b);
  assert_int_equal (b.seq, 2);
  /* a given id that is not a name is refused */
  memset (&c, 0, sizeof (c));
  c.id = xstrdup ("../x");
  c.chute = xstrdup ("cam");
  c.kind = xstrdup ("stop");
  assert_int_equal (ch_journal_begin (&e->ctx, &c, &err), -1);
  ch_error_release (&err);
  ch_change_clear (&c);

  b.result = xstrdup ("rolled_back");
  b.reason = xstrdup ("not alive: exited with code 3");
  /* what reconcile rolls a cut change back to survives the record */
  b.from = xstrdup ("v2");
  b.from_previous = xstrdup ("v1");
  assert_int_equal (ch_journal_save (&e->ctx, &b, &err), 0);
  assert_int_equal (ch_journal_lookup (&e->ctx, "cloud-7", &found, &err), 1);
  assert_string_equal (found.result, "rolled_back");
  assert_string_equal (found.reason, "not alive: exited with code 3");
  assert_string_equal (found.from, "v2");
  assert_string_equal (found.from_previous, "v1");
  assert_int_equal (found.seq, 2);
  ch_change_clear (&found);
  assert_int_equal (ch_journal_lookup (&e->ctx, "cloud-8", &found, &err), 0);

  /* the counter is on disk: numbering goes on where it was (a reboot) */
  begin (&e->ctx, NULL, "stop", &c);
  assert_string_equal (c.id, "c3");
  assert_int_equal (ch_journal_list (&e->ctx, &list, &err), 0);
  assert_int_equal (json_array_size (list), 3);
  assert_string_equal (json_string_value (json_object_get (json_array_get (list, 0), "id")), "c1");
  assert_string_equal (json_string_value (json_object_get (json_array_get (list, 1), "id")), "cloud-7");
  assert_string_equal (json_string_value (json_object_get (json_array_get (list, 2), "kind")), "stop");
  ch_change_clear (&a);
  ch_change_clear (&b);
  ch_change_clear (&c);
}

static void
test_journal_corrupt_counter (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *dir = xasprintf ("%s/deploy/journal", e->dir), *seq = xasprintf ("%s/seq", dir);
  struct ch_change c = { .chute = xstrdup ("cam"), .kind = xstrdup ("stop") };

  assert_int_equal (ch_mkdir_p (dir, 0700, &err), 0);
  assert_int_equal (ch_write_file (seq, "x1\n", 3, 0600, &err), 0);
  assert_int_equal (ch_journal_begin (&e->ctx, &c, &err), -1);
  assert_non_null (strstr (err->msg, "journal counter"));
  ch_change_clear (&c);
}

static void
test_desired (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  cleanup_strv char **names = NULL;
  cleanup_free char *f1 = ch_desired_version_file (&e->ctx, "cam", "1");
  cleanup_free char *f3 = ch_desired_version_file (&e->ctx, "cam", "3");
  struct ch_desired d = { .name = xstrdup ("cam"), .version = xstrdup ("3"), .previous = xstrdup ("2"),
                          .generation = 4, .running = true, .change = xstrdup ("c4") };
  struct ch_desired got;

  assert_int_equal (ch_desired_load (&e->ctx, "cam", &got, &err), 0);
  assert_int_equal (ch_desired_keep_version (&e->ctx, "cam", "1", "name: cam\n", 10, &err), 0);
  assert_int_equal (ch_desired_keep_version (&e->ctx, "cam", "2", "name: cam\n", 10, &err), 0);
  assert_int_equal (ch_desired_keep_version (&e->ctx, "cam", "3", "name: cam\n", 10, &err), 0);
  assert_int_equal (ch_desired_save (&e->ctx, &d, &err), 0);
  assert_int_equal (ch_desired_load (&e->ctx, "cam", &got, &err), 1);
  assert_string_equal (got.version, "3");
  assert_string_equal (got.previous, "2");
  assert_string_equal (got.change, "c4");
  assert_int_equal (got.generation, 4);
  assert_true (got.running);
  ch_desired_clear (&got);

  /* only the running version and the one kept for rollback survive */
  assert_int_equal (ch_desired_prune (&e->ctx, &d, &err), 0);
  assert_int_equal (access (f1, F_OK), -1);
  assert_int_equal (access (f3, F_OK), 0);

  assert_int_equal (ch_desired_list (&e->ctx, &names, &err), 0);
  assert_string_equal (names[0], "cam");
  assert_null (names[1]);
  assert_int_equal (ch_desired_remove (&e->ctx, "cam", &err), 0);
  assert_int_equal (ch_desired_load (&e->ctx, "cam", &got, &err), 0);
  ch_desired_clear (&d);
}

static void
test_desired_wrong_name (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *dir = xasprintf ("%s/deploy/chutes/cam", e->dir), *f = xasprintf ("%s/desired.json", dir);
  const char *text = "{\"name\": \"other\", \"version\": \"1\", \"generation\": 1}";
  struct ch_desired got;

  assert_int_equal (ch_mkdir_p (dir, 0700, &err), 0);
  assert_int_equal (ch_write_file (f, text, strlen (text), 0600, &err), 0);
  assert_int_equal (ch_desired_load (&e->ctx, "cam", &got, &err), -1);
  assert_non_null (strstr (err->msg, "not a desired state"));
}

static void
test_write_durable (void **state)
{
  struct env *e = *state;
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *f = xasprintf ("%s/d.json", e->dir), *text = NULL;
  cleanup_free char *bad = xasprintf ("%s/nodir/d.json", e->dir);
  size_t len;

  assert_int_equal (ch_write_file_durable (f, "one", 3, 0600, &err), 0);
  assert_int_equal (ch_write_file_durable (f, "two", 3, 0600, &err), 0);
  assert_int_equal (ch_read_file (f, &text, &len, &err), 0);
  assert_string_equal (text, "two");
  assert_int_equal (ch_write_file_durable (bad, "x", 1, 0600, &err), -1);
}

static void
test_chute_from_chutefile (void **state)
{
  cleanup_error ch_error_t err = NULL;
  const char *y = "name: cam\nimage: busybox\ncommand: \"echo hi; sleep 9\"\nenvironment: {MODE: night}\n"
                  "restart: on-failure\nresource: {memory: 64M, pids: 50}\nnet: {ports: [\"8080:80/tcp\"]}\n";
  struct ch_chutefile m;
  struct ch_chute c;

  assert_int_equal (ch_chutefile_parse ("t.yaml", y, strlen (y), &m, &err), 0);
  assert_int_equal (ch_chutefile_check (&m, &err), 0);
  assert_int_equal (ch_chute_from_chutefile (&m, &c, &err), 0);
  assert_string_equal (c.name, "cam");
  assert_string_equal (c.image, "busybox");
  /* one string: a shell line, the image's entrypoint set aside */
  assert_string_equal (c.command[0], "/bin/sh");
  assert_string_equal (c.command[1], "-c");
  assert_string_equal (c.command[2], "echo hi; sleep 9");
  assert_non_null (c.entrypoint);
  assert_null (c.entrypoint[0]);
  assert_string_equal (c.env[0], "MODE=night");
  assert_int_equal (c.memory, 64 << 20);
  assert_int_equal (c.pids, 50);
  assert_int_equal (c.restart, CH_RESTART_ON_FAILURE);
  assert_string_equal (c.ports[0], "8080:80/tcp");
  assert_false (c.autoremove);
  ch_chute_clear (&c);
  ch_chutefile_clear (&m);
}

/* a pod: each service a record CHUTE+SERVICE, the pod's name as host name,
 * the chute's environment before the service's; the start order is the
 * file's, whatever the names sort as */
static void
test_pod_services (void **state)
{
  struct env *e = *state;
  static const char y[] = "name: cam\nenvironment: {A: 1}\nresource: {memory: 64M}\nservices:\n"
                          "  web:\n    image: w:1\n    command: httpd -f\n    environment: {B: 2}\n"
                          "  db:\n    image: d:1\n    command: [redis]\n";
  cleanup_error ch_error_t err = NULL;
  cleanup_strv char **names = NULL;
  struct ch_chutefile m;
  struct ch_chute c[2];

  assert_int_equal (ch_chutefile_parse ("t.yaml", y, sizeof y - 1, &m, &err), 0);
  assert_int_equal (ch_chutefile_check (&m, &err), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal (ch_chute_from_service (&m, (size_t) i, &c[i], &err), 0);
  assert_string_equal (c[0].name, "cam+web");
  assert_string_equal (c[1].name, "cam+db");
  assert_string_equal (c[0].image, "w:1");
  assert_string_equal (c[1].image, "d:1");
  assert_string_equal (c[0].hostname, "cam");
  assert_int_equal (c[1].pod_index, 1);
  assert_int_equal (c[1].memory, 64 << 20); /* the pod's limit: on the pod's cgroup, see bundle.c */
  assert_string_equal (c[0].command[2], "httpd -f");
  assert_string_equal (c[0].env[0], "A=1");
  assert_string_equal (c[0].env[1], "B=2");
  assert_string_equal (c[1].command[0], "redis");
  for (int i = 0; i < 2; i++)
    {
      assert_int_equal (ch_chute_save (&e->ctx, &c[i], &err), 0);
      ch_chute_clear (&c[i]);
    }
  assert_true (ch_pod_recorded (&e->ctx, "cam"));
  assert_false (ch_pod_recorded (&e->ctx, "ca"));
  assert_true (ch_pod_is (&e->ctx, "cam"));
  assert_int_equal (ch_pod_services (&e->ctx, "cam", &names, &err), 0);
  assert_string_equal (names[0], "cam+web");
  assert_string_equal (names[1], "cam+db");
  assert_null (names[2]);
  ch_chutefile_clear (&m);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_journal, setup, teardown),
    cmocka_unit_test_setup_teardown (test_journal_corrupt_counter, setup, teardown),
    cmocka_unit_test_setup_teardown (test_desired, setup, teardown),
    cmocka_unit_test_setup_teardown (test_desired_wrong_name, setup, teardown),
    cmocka_unit_test_setup_teardown (test_write_durable, setup, teardown),
    cmocka_unit_test (test_chute_from_chutefile),
    cmocka_unit_test_setup_teardown (test_pod_services, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
