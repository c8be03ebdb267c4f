/* mgmt/ and the monitor's pure parts: chute records, restart policies,
 * names, docker's entrypoint/cmd rule, log records and rotation, attach frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/attach.h"
#include "mgmt/bundle.h"
#include "mgmt/chute.h"
#include "mgmt/limits.h"
#include "runtime/attach.h"
#include "runtime/log.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_chute_roundtrip (void **state)
{
  struct ch_chute a, b;
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *j = NULL;

  ch_chute_init (&a);
  a.name = xstrdup ("web");
  a.rootfs = xstrdup ("/srv/rootfs");
  ch_strv_append (&a.command, "/bin/httpd");
  ch_strv_append (&a.command, "-f");
  ch_strv_append (&a.env, "A=1");
  ch_strv_append (&a.ports, "8080:80/tcp");
  a.memory = 64 << 20;
  a.cpu_shares = 512;
  a.restart = CH_RESTART_ON_FAILURE;
  a.restart_max = 3;
  a.wan_down = 25000;
  a.tty = true;
  j = ch_chute_to_json (&a);
  assert_int_equal (ch_chute_from_json (j, &b, &err), 0);
  assert_string_equal (b.name, "web");
  assert_string_equal (b.command[1], "-f");
  assert_int_equal (b.memory, 64 << 20);
  assert_int_equal (b.cpu_shares, 512);
  assert_int_equal (b.pids, -1);
  assert_int_equal (b.restart, CH_RESTART_ON_FAILURE);
  assert_int_equal (b.restart_max, 3);
  assert_int_equal (b.wan_down, 25000);
  assert_string_equal (b.ports[0], "8080:80/tcp");
  assert_true (b.tty);
  assert_null (b.image);
  ch_chute_clear (&a);
  ch_chute_clear (&b);
}

static void
test_restart_and_names (void **state)
{
  cleanup_error ch_error_t err = NULL;
  enum ch_restart r;
  int max;

  assert_int_equal (ch_restart_parse ("on-failure:5", &r, &max, &err), 0);
  assert_int_equal (r, CH_RESTART_ON_FAILURE);
  assert_int_equal (max, 5);
  assert_int_equal (ch_restart_parse ("always", &r, &max, &err), 0);
  assert_int_equal (r, CH_RESTART_ALWAYS);
  assert_true (ch_restart_parse ("on-failure:x", &r, &max, &err) < 0);
  assert_true (ch_restart_parse ("sometimes", &r, &max, &err) < 0);
  assert_non_null (strstr (err->msg, "sometimes"));
  assert_int_equal (ch_chute_name_check ("web-1.a_b", &err), 0);
  assert_true (ch_chute_name_check ("-web", &err) < 0);
  assert_true (ch_chute_name_check ("a/b", &err) < 0);
  assert_true (ch_chute_name_check ("", &err) < 0);
}

/* a pod's service is CHUTE+SERVICE: a name every command takes, but none a
 * user can give a new chute; its cgroup is a leaf under the chute's */
static void
test_pod_names (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_ctx ctx = { .root = "/r", .run_root = "/run", .cgroup_parent = "chuted" };
  cleanup_free char *pod = ch_pod_of ("cam+web"), *cg = ch_chute_cgroup_path (&ctx, "cam+web");
  cleanup_free char *cg1 = ch_chute_cgroup_path (&ctx, "cam");
  struct ch_chute c, d;
  cleanup_json json_t *j = NULL;

  assert_int_equal (ch_chute_name_check ("cam+web", &err), 0);
  assert_true (ch_chute_name_check_new ("cam+web", &err) < 0);
  assert_non_null (strstr (err->msg, "services of a pod"));
  ch_error_release (&err);
  assert_int_equal (ch_chute_name_check_new ("cam.web", &err), 0);
  assert_true (ch_chute_name_check ("+web", &err) < 0);
  ch_error_release (&err);
  assert_true (ch_chute_name_check ("cam+", &err) < 0);
  ch_error_release (&err);
  assert_true (ch_chute_name_check ("cam+web+x", &err) < 0);
  ch_error_release (&err);
  assert_true (ch_chute_name_check ("cam+..", &err) < 0);
  ch_error_release (&err);
  assert_true (ch_chute_name_check ("a234567890123456789012345678901+a23456789012345678901234567890123", &err) < 0);
  assert_string_equal (pod, "cam");
  assert_null (ch_pod_of ("cam"));
  assert_string_equal (cg, "chuted/cam/web");
  assert_string_equal (cg1, "chuted/cam");
  /* the start order survives chute.json */
  ch_chute_init (&c);
  c.name = xstrdup ("cam+web");
  c.pod_index = 1;
  j = ch_chute_to_json (&c);
  assert_int_equal (ch_chute_from_json (j, &d, &err), 0);
  assert_int_equal (d.pod_index, 1);
  ch_chute_clear (&c);
  ch_chute_clear (&d);
}

/* which chutes `start --all` brings back after a reboot, and the
 * "stopped by the user" mark surviving chute.json */
static void
test_boot_policy (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *j = NULL;
  struct ch_chute a, b;
  int max;

  ch_chute_init (&a);
  a.name = xstrdup ("web");
  assert_int_equal (ch_restart_parse ("unless-stopped", &a.restart, &max, &err), 0);
  assert_int_equal (a.restart, CH_RESTART_UNLESS_STOPPED);
  assert_string_equal (ch_restart_name (a.restart), "unless-stopped");
  assert_true (ch_chute_starts_at_boot (&a));
  a.user_stopped = true;
  assert_false (ch_chute_starts_at_boot (&a));
  j = ch_chute_to_json (&a);
  assert_int_equal (ch_chute_from_json (j, &b, &err), 0);
  assert_int_equal (b.restart, CH_RESTART_UNLESS_STOPPED);
  assert_true (b.user_stopped);
  assert_false (ch_chute_starts_at_boot (&b));
  ch_chute_clear (&b);
  a.restart = CH_RESTART_ALWAYS;
  assert_true (ch_chute_starts_at_boot (&a));
  a.autoremove = true;
  assert_false (ch_chute_starts_at_boot (&a));
  a.autoremove = false;
  a.restart = CH_RESTART_ON_FAILURE;
  assert_false (ch_chute_starts_at_boot (&a));
  a.restart = CH_RESTART_NO;
  assert_false (ch_chute_starts_at_boot (&a));
  ch_chute_clear (&a);
}

static void
test_args_rule (void **state)
{
  struct ch_chute c;
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *img = json_pack ("{s:[s], s:[s,s]}", "Entrypoint", "/init", "Cmd", "-v", "x");
  char **a;

  ch_chute_init (&c);
  c.name = xstrdup ("t");
  a = ch_bundle_args (&c, img, &err); /* image entrypoint + cmd */
  assert_int_equal (ch_strv_len (a), 3);
  assert_string_equal (a[0], "/init");
  assert_string_equal (a[2], "x");
  ch_strv_free (a);
  ch_strv_append (&c.command, "-q");
  a = ch_bundle_args (&c, img, &err); /* our command replaces Cmd only */
  assert_int_equal (ch_strv_len (a), 2);
  assert_string_equal (a[1], "-q");
  ch_strv_free (a);
  ch_strv_free (c.command);
  c.command = NULL;
  c.entrypoint = xzalloc (sizeof (char *));
  ch_strv_append (&c.entrypoint, "/bin/sh");
  a = ch_bundle_args (&c, img, &err); /* a given entrypoint drops the image's Cmd */
  assert_int_equal (ch_strv_len (a), 1);
  ch_strv_free (a);
  ch_strv_free (c.entrypoint);
  c.entrypoint = NULL;
  assert_null (ch_bundle_args (&c, NULL, &err));
  assert_non_null (strstr (err->msg, "no command"));
  ch_chute_clear (&c);
}

static void
test_log (void **state)
{
  char dir[] = "/tmp/chuted-test-unit.XXXXXX";
  cleanup_free char *path = NULL;
  cleanup_free char *old = NULL;
  cleanup_free char *data = NULL;
  cleanup_error ch_error_t err = NULL;
  struct ch_log log;
  struct ch_log_record r;
  struct stat st;
  size_t len;

  assert_non_null (mkdtemp (dir));
  path = xasprintf ("%s/ctr.log", dir);
  old = xasprintf ("%s.1", path);
  assert_int_equal (ch_log_open (&log, path, 400, &err), 0);
  assert_int_equal (ch_log_write (&log, "stdout", "one\ntwo\npart", 12, &err), 0);
  assert_int_equal (ch_read_file (path, &data, &len, &err), 0);
  {
    char *l1 = data, *l2 = strchr (l1, '\n') + 1, *l3 = strchr (l2, '\n') + 1;
    assert_int_equal (ch_log_parse (l1, strchr (l1, '\n') - l1, &r), 0);
    assert_false (r.is_stderr);
    assert_false (r.partial);
    assert_int_equal (r.msg_len, 3);
    assert_memory_equal (r.msg, "one", 3);
    assert_int_equal (ch_log_parse (l3, strchr (l3, '\n') - l3, &r), 0);
    assert_true (r.partial);
    assert_memory_equal (r.msg, "part", 4);
  }
  for (int i = 0; i < 20; i++)
    assert_int_equal (ch_log_write (&log, "stderr", "0123456789\n", 11, &err), 0);
  assert_int_equal (stat (path, &st), 0);
  assert_true (st.st_size <= 400);
  assert_int_equal (stat (old, &st), 0);
  assert_true (st.st_size <= 400 && st.st_size > 0);
  assert_true (ch_log_parse ("garbage", 7, &r) < 0);
  ch_log_close (&log);
  ch_rm_rf (dir, &err);
}

static void
test_frames (void **state)
{
  int sv[2];
  struct ch_frame_reader *rd = xzalloc (sizeof (*rd));
  cleanup_error ch_error_t err = NULL;
  uint8_t type;
  const uint8_t *data;
  size_t len;

  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal (ch_frame_write (sv[0], CH_FRAME_STDOUT, "hello", 5, &err), 0);
  assert_int_equal (ch_frame_write (sv[0], CH_FRAME_EXIT, "7", 1, &err), 0);
  close (sv[0]);
  while (ch_frame_read_some (rd, sv[1], &err) > 0)
    ;
  assert_int_equal (ch_frame_next (rd, &type, &data, &len, &err), 1);
  assert_int_equal (type, CH_FRAME_STDOUT);
  assert_int_equal (len, 5);
  assert_memory_equal (data, "hello", 5);
  ch_frame_consume (rd);
  assert_int_equal (ch_frame_next (rd, &type, &data, &len, &err), 1);
  assert_int_equal (type, CH_FRAME_EXIT);
  ch_frame_consume (rd);
  assert_int_equal (ch_frame_next (rd, &type, &data, &len, &err), 0);
  /* a header announcing more than the maximum is refused */
  memcpy (rd->buf, "\x01\xff\xff\xff\xff", 5);
  rd->have = 5;
  assert_true (ch_frame_next (rd, &type, &data, &len, &err) < 0);
  close (sv[1]);
  free (rd);
}

/* issue 16: `a..b` passed and failed later on cgroupsPath; a newline gave a
 * multi-line message; `../../x` must never reach a path */
static void
test_name_rule (void **state)
{
  cleanup_error ch_error_t err = NULL;

  assert_true (ch_chute_name_check ("a..b", &err) < 0);
  assert_non_null (strstr (err->msg, "`..`"));
  assert_true (ch_chute_name_check ("../../x", &err) < 0);
  assert_true (ch_chute_name_check ("a\nb", &err) < 0);
  assert_null (strchr (err->msg, '\n'));
  assert_non_null (strstr (err->msg, "a\\nb"));
  assert_true (ch_chute_name_check ("x\x1b[2Jy", &err) < 0);
  assert_null (strchr (err->msg, '\x1b'));
  assert_true (ch_chute_name_check ("a234567890123456789012345678901234567890123456789012345678901234", &err) < 0);
  assert_true (ch_chute_name_check (NULL, &err) < 0);
  assert_int_equal (ch_chute_name_check ("a.b", &err), 0);
  assert_int_equal (ch_chute_name_check ("a23456789012345678901234567890123456789012345678901234567890123", &err), 0);
}

/* issue 16: -u 4294967296 ran the chute as uid 0 */
static void
test_user_numbers (void **state)
{
  cleanup_error ch_error_t err = NULL;
  uint32_t uid = 7, gid = 7;

  assert_true (ch_user_resolve ("/nonexistent", "4294967296", &uid, &gid, &err) < 0);
  assert_non_null (strstr (err->msg, "out of range"));
  assert_true (ch_user_resolve ("/nonexistent", "4294967295", &uid, &gid, &err) < 0);
  assert_true (ch_user_resolve ("/nonexistent", "1000:4294967296", &uid, &gid, &err) < 0);
  assert_true (ch_user_resolve ("/nonexistent", "99999999999999999999999", &uid, &gid, &err) < 0);
  assert_true (ch_user_resolve ("/nonexistent", ":", &uid, &gid, &err) < 0);
  assert_int_equal (ch_user_resolve ("/nonexistent", "4294967294:5", &uid, &gid, &err), 0);
  assert_int_equal (uid, 4294967294u);
  assert_int_equal (gid, 5);
}

static int
flag (struct ch_chute *c, const char *f, const char *v, ch_error_t *err)
{
  return ch_limits_flag (c, f, v, err);
}

/* one validation for run, update and chute.yaml (issue 9 item 3, issue 16) */
static void
test_limits (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_cgroup_resources res;
  struct ch_chute c;
  cleanup_free char *toomany = xasprintf ("%ld", sysconf (_SC_NPROCESSORS_ONLN) + 1);
  json_t *j;

  ch_chute_init (&c);
  assert_true (flag (&c, "cpus", "nan", &err) < 0);
  assert_true (flag (&c, "cpus", "inf", &err) < 0);
  assert_true (flag (&c, "cpus", "0.001", &err) < 0);
  assert_true (flag (&c, "cpus", toomany, &err) < 0);
  assert_non_null (strstr (err->msg, "range of CPUs is from 0.01 to"));
  assert_true (flag (&c, "memory", "1", &err) < 0);
  assert_string_equal (err->msg, "--memory: `1` is below the 4 MiB minimum");
  assert_true (flag (&c, "memory", "2M", &err) < 0);
  assert_true (flag (&c, "memory", "16E", &err) < 0);
  assert_true (flag (&c, "memory", "99999999999999999999", &err) < 0);
  assert_true (flag (&c, "pids", "99999999999999999999", &err) < 0);
  assert_true (flag (&c, "cpu-shares", "1", &err) < 0);
  assert_true (flag (&c, "cpuset-cpus", "0;rm", &err) < 0);
  assert_int_equal (c.memory, -1);
  assert_int_equal (c.cpu_quota, -1);
  assert_int_equal (flag (&c, "bogus", "1", &err), 1);

  assert_int_equal (flag (&c, "cpus", "0.5", &err), 0);
  assert_int_equal (c.cpu_quota, 50000);
  assert_int_equal (c.cpu_period, 100000);
  assert_int_equal (flag (&c, "memory", "64M", &err), 0);
  assert_int_equal (flag (&c, "memory-swap", "32M", &err), 0);
  assert_true (ch_limits_resources (&c, &res, &err) < 0);
  assert_non_null (strstr (err->msg, "--memory-swap"));
  ch_cgroup_resources_clear (&res);

  /* a memory limit alone lifts the swap limit: an update raising memory
   * above an old swap value cannot fail in the kernel */
  assert_int_equal (flag (&c, "memory-swap", "-1", &err), 0);
  assert_int_equal (ch_limits_resources (&c, &res, &err), 0);
  assert_int_equal (res.memory_limit, 64 << 20);
  assert_int_equal (res.memory_swap, CH_CGROUP_MAX);
  assert_int_equal (res.cpu_quota, 50000);
  j = ch_limits_to_oci (&res);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "memory"), "swap")), -1);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "memory"), "limit")), 64 << 20);
  assert_null (json_object_get (j, "pids"));
  json_decref (j);
  ch_cgroup_resources_clear (&res);

  /* chute.json comes without the flags' checks */
  c.memory = 1;
  assert_true (ch_limits_resources (&c, &res, &err) < 0);
  ch_cgroup_resources_clear (&res);
  c.memory = -1;
  c.memory_swap = 1 << 30;
  assert_true (ch_limits_resources (&c, &res, &err) < 0);
  ch_cgroup_resources_clear (&res);
  ch_chute_clear (&c);
}

static char *
mkdir_mode (const char *parent, const char *name, mode_t mode)
{
  char *p = xasprintf ("%s/%s", parent, name);
  assert_int_equal (mkdir (p, mode), 0);
  assert_int_equal (chmod (p, mode), 0);
  return p;
}

/* issue 16: a writable --rootfs other users can reach lets them run a
 * setuid program the chute planted there */
static void
test_rootfs_check (void **state)
{
  char tmpl[] = "/tmp/chuted-test-rootfs.XXXXXX";
  char *top = mkdtemp (tmpl); /* 0700, root's */
  cleanup_free char *open = NULL, *r1 = NULL, *closed = NULL, *r2 = NULL, *link = NULL, *file = NULL;
  cleanup_free char *theirs = NULL, *r3 = NULL, *cmd = NULL;
  cleanup_error ch_error_t err = NULL;

  assert_non_null (top);
  assert_int_equal (ch_rootfs_check (top, false, &err), 0);
  /* /tmp/top/open (0755) holds the barrier top (0700) above it: fine */
  open = mkdir_mode (top, "open", 0755);
  r1 = mkdir_mode (open, "rootfs", 0755);
  assert_int_equal (ch_rootfs_check (r1, false, &err), 0);
  /* with the barrier opened, everyone reaches it */
  assert_int_equal (chmod (top, 0755), 0);
  assert_true (ch_rootfs_check (r1, false, &err) < 0);
  assert_non_null (strstr (err->msg, "other host users can reach it"));
  assert_null (strchr (err->msg, '\n'));
  assert_int_equal (ch_rootfs_check (r1, true, &err), 0);
  /* a closed directory lower down is a barrier too */
  closed = mkdir_mode (open, "closed", 0700);
  r2 = mkdir_mode (closed, "rootfs", 0755);
  assert_int_equal (ch_rootfs_check (r2, false, &err), 0);
  /* ... unless its owner is someone else, who can pass through it */
  theirs = mkdir_mode (open, "theirs", 0700);
  assert_int_equal (chown (theirs, 65534, 65534), 0);
  r3 = mkdir_mode (theirs, "rootfs", 0755);
  assert_true (ch_rootfs_check (r3, false, &err) < 0);
  /* and a directory others may write to could be swapped under us */
  assert_int_equal (chmod (open, 0777), 0);
  assert_true (ch_rootfs_check (r2, false, &err) < 0);
  assert_int_equal (chmod (open, 0755), 0);
  /* no symlink is followed, and a file is not a rootfs */
  link = xasprintf ("%s/link", top);
  assert_int_equal (symlink (closed, link), 0);
  cmd = xasprintf ("%s/rootfs", link);
  assert_true (ch_rootfs_check (cmd, false, &err) < 0);
  assert_non_null (strstr (err->msg, "symbolic link"));
  file = xasprintf ("%s/file", top);
  assert_int_equal (ch_write_file (file, "", 0, 0600, &err), 0);
  assert_true (ch_rootfs_check (file, true, &err) < 0);
  assert_non_null (strstr (err->msg, "Not a directory"));
  free (cmd);
  cmd = xasprintf ("rm -rf '%s'", top);
  assert_int_equal (system (cmd), 0);
}

/* --stop-signal, else the image's StopSignal, else SIGTERM: what `stop` reads
 * back from the bundle; signal names and detach keys as the CLI takes them. */
static void
test_stop_signal_and_keys (void **state)
{
  struct ch_ctx ctx = { .root = "/nonexistent", .run_root = "/nonexistent", .cgroup_parent = "t" };
  char dir[] = "/tmp/chuted-test-unit-bundle.XXXXXX";
  cleanup_json json_t *img = json_pack ("{s:s}", "StopSignal", "SIGQUIT");
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *keys = NULL;
  struct ch_chute c;
  int sig = 0;

  assert_non_null (mkdtemp (dir));
  ch_chute_init (&c);
  c.name = xstrdup ("x");
  c.command = xzalloc (sizeof (char *));
  ch_strv_append (&c.command, "true");
  assert_int_equal (ch_bundle_write (&ctx, &c, "/", NULL, NULL, dir, &err), 0);
  assert_int_equal (ch_bundle_stop_signal (dir), SIGTERM);
  assert_int_equal (ch_bundle_write (&ctx, &c, "/", img, NULL, dir, &err), 0);
  assert_int_equal (ch_bundle_stop_signal (dir), SIGQUIT);
  c.stop_signal = SIGUSR1;
  assert_int_equal (ch_bundle_write (&ctx, &c, "/", img, NULL, dir, &err), 0);
  assert_int_equal (ch_bundle_stop_signal (dir), SIGUSR1);
  ch_chute_clear (&c);
  assert_int_equal (ch_rm_rf (dir, &err), 0);

  assert_int_equal (ch_signal_parse ("hup", &sig, &err), 0);
  assert_int_equal (sig, SIGHUP);
  assert_int_equal (ch_signal_parse ("SIGTERM", &sig, &err), 0);
  assert_int_equal (sig, SIGTERM);
  assert_int_equal (ch_signal_parse ("9", &sig, &err), 0);
  assert_int_equal (sig, 9);
  assert_true (ch_signal_parse ("NOPE", &sig, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_signal_parse ("0", &sig, &err) < 0);
  ch_error_release (&err);

  assert_int_equal (ch_detach_keys_parse ("ctrl-p,ctrl-q", &keys, &err), 0);
  assert_string_equal (keys, CH_DETACH_KEYS_DEFAULT);
  free (keys);
  keys = NULL;
  assert_int_equal (ch_detach_keys_parse ("ctrl-X,x,ctrl-]", &keys, &err), 0);
  assert_string_equal (keys, "\x18x\x1d");
  free (keys);
  keys = NULL;
  assert_true (ch_detach_keys_parse ("ctrl-1", &keys, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_detach_keys_parse ("ctrl-@", &keys, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_detach_keys_parse ("ab", &keys, &err) < 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_chute_roundtrip), cmocka_unit_test (test_restart_and_names),
    cmocka_unit_test (test_args_rule),       cmocka_unit_test (test_log),
    cmocka_unit_test (test_frames),          cmocka_unit_test (test_name_rule), cmocka_unit_test (test_pod_names),
    cmocka_unit_test (test_user_numbers),    cmocka_unit_test (test_limits),
    cmocka_unit_test (test_rootfs_check),    cmocka_unit_test (test_boot_policy), cmocka_unit_test (test_stop_signal_and_keys),
  };
  return cmocka_run_group_tests_name ("mgmt", tests, NULL, NULL);
}
