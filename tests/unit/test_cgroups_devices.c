/* Device rules: the v1 lines (on a test tree) and the BPF_CGROUP_DEVICE
 * program, loaded into this kernel and attached to a real cgroup2
 * directory (the unified hierarchy of a hybrid host, or a v2 host), where a
 * child process tries open and mknod. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/cgroup.h"
#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define RWM CH_CGROUP_DEV_RWM
#define R CH_CGROUP_DEV_READ
#define W CH_CGROUP_DEV_WRITE
#define M CH_CGROUP_DEV_MKNOD

static char *
tmpdir (void)
{
  char t[] = "/tmp/chuted-test-devices.XXXXXX";
  assert_non_null (mkdtemp (t));
  return xstrdup (t);
}

static char *
read_in (const char *dir, const char *file)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  char *s = NULL;
  ch_error_t err = NULL;
  if (ch_read_file (p, &s, NULL, &err) < 0)
    fail_msg ("read %s: %s", p, err->msg);
  return s;
}

static void
test_v1_lines (void **state)
{
  struct ch_cgroup_device all = { true, 'a', -1, -1, RWM }, some = { false, 'a', -1, -1, M };
  struct ch_cgroup_device c = { true, 'c', 136, -1, R | W }, b = { false, 'b', 8, 0, RWM };
  cleanup_free char *l1 = ch_cgroup_device_v1_rule (&all, 'a');
  cleanup_free char *l2 = ch_cgroup_device_v1_rule (&c, 'c');
  cleanup_free char *l3 = ch_cgroup_device_v1_rule (&b, 'b');
  cleanup_free char *l4 = ch_cgroup_device_v1_rule (&some, 'c');

  assert_true (ch_cgroup_device_is_all (&all));
  assert_false (ch_cgroup_device_is_all (&some));
  assert_string_equal (l1, "a");
  assert_string_equal (l2, "c 136:* rw");
  assert_string_equal (l3, "b 8:0 rwm");
  assert_string_equal (l4, "c *:* m");
}

/* On a test tree: the last line written to each file, and the refusals. */
static void
test_v1_apply (void **state)
{
  cleanup_free char *root = tmpdir ();
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_resources r;
  ch_error_t err = NULL;
  struct ch_cgroup_device rules[] = {
    { true, 'c', 1, 3, RWM },
    { false, 'a', -1, -1, M }, /* any type, mknod only: one line per type */
  };
  struct ch_cgroup_device narrowing[] = {
    { true, 'c', 10, -1, RWM },
    { false, 'c', 10, 229, RWM },
  };

  for (const char *c = "devices"; c; c = NULL)
    {
      cleanup_free char *d = xasprintf ("%s/%s", root, c);
      assert_int_equal (mkdir (d, 0755), 0);
    }
  assert_int_equal (ch_cgroup_layout_from_dir (root, &l, &err), 0);
  assert_true (l.fake);
  ch_cgroup_resources_init (&r);
  r.devices_set = true;
  r.devices = rules;
  r.n_devices = 2;
  if (ch_cgroup_create_in (&l, "ch/a", &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  {
    cleanup_free char *d = xasprintf ("%s/devices/ch/a", root);
    cleanup_free char *allow = read_in (d, "devices.allow");
    cleanup_free char *deny = read_in (d, "devices.deny");
    assert_string_equal (allow, "c 1:3 rwm");
    assert_string_equal (deny, "b *:* m");
  }
  ch_cgroup_destroy (cg, &err);
  ch_cgroup_free (cg);

  r.devices = narrowing;
  assert_int_equal (ch_cgroup_create_in (&l, "ch/b", &r, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "cgroup v1 cannot express"));
  ch_error_release (&err);
  r.devices = NULL;
  ch_cgroup_layout_clear (&l);
  assert_int_equal (ch_rm_rf (root, &err), 0);
}

static void
test_bpf_shape (void **state)
{
  struct ch_cgroup_device deny_all = { false, 'a', -1, -1, RWM }, allow_null = { true, 'c', 1, 3, RWM };
  struct ch_cgroup_device both[] = { deny_all, allow_null }, bad = { true, 'c', (int64_t) 1 << 33, 0, RWM };
  cleanup_free struct bpf_insn *p = NULL;
  ch_error_t err = NULL;
  size_t n;

  /* no rule: the 6 loads and "deny" */
  assert_int_equal (ch_cgroup_devices_bpf_build (NULL, 0, &p, &n, &err), 0);
  assert_int_equal (n, 8);
  assert_int_equal (p[6].imm, 0);
  free (p);
  /* allow c 1:3: type, major, minor, then "allow"; then the deny-all
   * rule ends the program (nothing after it is reachable) */
  assert_int_equal (ch_cgroup_devices_bpf_build (both, 2, &p, &n, &err), 0);
  assert_int_equal (n, 6 + 5 + 2);
  assert_int_equal (p[6].code, BPF_JMP | BPF_JNE | BPF_K);
  assert_int_equal (p[6].off, 4); /* past major, minor, mov, exit */
  assert_int_equal (p[9].imm, 1);
  assert_int_equal (p[11].imm, 0);
  assert_int_equal (p[12].code, BPF_JMP | BPF_EXIT);
  free (p);
  p = NULL;
  assert_int_equal (ch_cgroup_devices_bpf_build (&bad, 1, &p, &n, &err), -1);
  ch_error_release (&err);
}

/* What a process in the cgroup may do: bit i set = attempt i succeeded. */
static int
probe (const char *dir)
{
  cleanup_free char *n1 = xasprintf ("%s/null", dir), *n2 = xasprintf ("%s/tty1", dir);
  int bits = 0, fd;

  unlink (n1);
  unlink (n2);
  if ((fd = open ("/dev/null", O_RDWR)) >= 0 && close (fd) == 0)
    bits |= 1;
  if ((fd = open ("/dev/zero", O_RDONLY)) >= 0 && close (fd) == 0)
    bits |= 2;
  if ((fd = open ("/dev/zero", O_WRONLY)) >= 0 && close (fd) == 0)
    bits |= 4;
  if ((fd = open ("/dev/full", O_RDONLY)) >= 0 && close (fd) == 0)
    bits |= 8;
  if (mknod (n1, S_IFCHR | 0600, makedev (1, 3)) == 0)
    bits |= 16;
  if (mknod (n2, S_IFCHR | 0600, makedev (4, 1)) == 0)
    bits |= 32;
  unlink (n1);
  unlink (n2);
  return bits;
}

static int
run_in (struct ch_cgroup *cg, const char *dir)
{
  ch_error_t err = NULL;
  int fds[2], status;
  char c;
  pid_t pid;

  assert_int_equal (pipe (fds), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (fds[1]);
      if (read (fds[0], &c, 1) != 1)
        _exit (255);
      _exit (probe (dir));
    }
  close (fds[0]);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    {
      kill (pid, SIGKILL);
      fail_msg ("enter: %s", err->msg);
    }
  assert_int_equal (write (fds[1], "x", 1), 1);
  close (fds[1]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static size_t
attached (const char *dir)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  uint32_t ids[8];
  union bpf_attr a;

  memset (&a, 0, sizeof (a));
  a.query.target_fd = (uint32_t) fd;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uint64_t) (uintptr_t) ids;
  a.query.prog_cnt = 8;
  assert_int_equal (syscall (SYS_bpf, BPF_PROG_QUERY, &a, sizeof (a)), 0);
  return a.query.prog_cnt;
}

static void
test_bpf_in_kernel (void **state)
{
  struct ch_cgroup_layout host, l2;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_resources r;
  ch_error_t err = NULL;
  cleanup_free char *path = xasprintf ("chuted-test-%d/dev", (int) getpid ());
  cleanup_free char *dir = NULL, *tmp = tmpdir ();
  cleanup_free struct bpf_insn *p = NULL;
  cleanup_close int pfd = -1;
  struct ch_cgroup_device first[] = {
    { false, 'a', -1, -1, RWM }, { true, 'c', 1, -1, RWM }, { false, 'c', 1, 5, W },
    { false, 'c', 1, 7, RWM },   { true, 'c', 4, 1, R },
  };
  struct ch_cgroup_device second[] = { { true, 'c', 1, 7, R } };
  size_t n;

  unsetenv ("CHUTED_CGROUP_ROOT");
  if (geteuid () != 0)
    skip ();
  assert_int_equal (ch_cgroup_devices_bpf_build (first, 5, &p, &n, &err), 0);
  if (ch_cgroup_devices_bpf_load (p, n, &pfd, &err) < 0)
    fail_msg ("the kernel refused the program: %s", err->msg);
  if (ch_cgroup_layout_detect (&host, &err) < 0 || host.unified == NULL)
    {
      ch_error_release (&err);
      ch_cgroup_layout_clear (&host);
      skip ();
    }
  assert_int_equal (ch_cgroup_layout_from_dir (host.unified, &l2, &err), 0);
  dir = xasprintf ("%s/%s", host.unified, path);

  ch_cgroup_resources_init (&r);
  r.devices_set = true;
  r.devices = first;
  r.n_devices = 5;
  if (ch_cgroup_create_in (&l2, path, &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  assert_int_equal (attached (dir), 1);
  /* null: rwm; zero: read but not write; full: denied; mknod of 1:3 yes,
   * of 4:1 no (its rule has no m) */
  assert_int_equal (run_in (cg, tmp), 1 | 2 | 16);

  /* new rules replace the old program, they do not pile up on it */
  r.devices = second;
  r.n_devices = 1;
  if (ch_cgroup_update (cg, &r, &err) < 0)
    fail_msg ("update: %s", err->msg);
  assert_int_equal (attached (dir), 1);
  assert_int_equal (run_in (cg, tmp), 8);

  r.devices = NULL;
  r.n_devices = 0;
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  {
    cleanup_free char *top = xasprintf ("%s/chuted-test-%d", host.unified, (int) getpid ());
    rmdir (top);
  }
  ch_cgroup_layout_clear (&l2);
  ch_cgroup_layout_clear (&host);
  rmdir (tmp);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_v1_lines),
    cmocka_unit_test (test_v1_apply),
    cmocka_unit_test (test_bpf_shape),
    cmocka_unit_test (test_bpf_in_kernel),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
