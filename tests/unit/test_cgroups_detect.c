/* ch_cgroup_layout_detect on this host (root only): the layout found
 * without /proc/self/mountinfo, whose size grows with every mount on the
 * host, is the one mountinfo describes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
same (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

/* In a child with its own mount namespace where this process's mountinfo
 * reads empty: detect still finds the layout mountinfo gave (pure v2 and
 * the usual v1/hybrid /sys/fs/cgroup need no scan of it). */
static void
test_detect_without_mountinfo (void **state)
{
  cleanup_free char *mi = NULL;
  struct ch_cgroup_layout want;
  ch_error_t err = NULL;
  int status;
  pid_t pid;

  unsetenv ("CHUTED_CGROUP_ROOT");
  if (getuid () != 0 || ch_read_file ("/proc/self/mountinfo", &mi, NULL, &err) < 0
      || ch_cgroup_layout_parse (mi, &want, &err) < 0)
    {
      ch_error_release (&err);
      skip ();
    }
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      cleanup_free char *self = xasprintf ("/proc/%d/mountinfo", (int) getpid ());
      struct ch_cgroup_layout got;

      if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          || mount ("/dev/null", self, NULL, MS_BIND, NULL) < 0)
        {
          perror ("hide mountinfo");
          _exit (77);
        }
      {
        /* /dev/null in its place: reads as empty */
        char c;
        int fd = open ("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read (fd, &c, 1) != 0)
          _exit (78);
        close (fd);
      }
      if (ch_cgroup_layout_detect (&got, &err) < 0)
        {
          fprintf (stderr, "detect: %s\n", err->msg);
          _exit (1);
        }
      if (got.mode != want.mode || !same (got.unified, want.unified) || got.fake)
        _exit (2);
      for (int i = 0; i < CH_CG_NCTRL; i++)
        if (!same (got.v1[i], want.v1[i]))
          {
            fprintf (stderr, "%s: %s, mountinfo says %s\n", ch_cgroup_ctrl_names[i], got.v1[i] ? got.v1[i] : "-",
                     want.v1[i] ? want.v1[i] : "-");
            _exit (3);
          }
      _exit (0);
    }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  ch_cgroup_layout_clear (&want);
  if (WIFEXITED (status) && (WEXITSTATUS (status) == 77 || WEXITSTATUS (status) == 78))
    skip (); /* no mount namespace to hide mountinfo in */
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_detect_without_mountinfo),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
