/* chuted-monitor RUN_DIR [READY_FD [GO_FD [LOCK_FD]]]: see runtime/monitor.h.
 * Started by `chuted run/start` double-forked, so it outlives the CLI; with
 * GO_FD it is started while the CLI still prepares the chute, and waits for a
 * 'g' on it (EOF: the CLI gave up, and so do we). LOCK_FD holds the lock on
 * RUN_DIR/monitor.lock that tells chuted this monitor is alive: kept open
 * for our whole life, never passed to a child. */
#include "common/error.h"
#include "runtime/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  int ready_fd = argc > 2 ? atoi (argv[2]) : -1;
  int go_fd = argc > 3 ? atoi (argv[3]) : -1;
  int lock_fd = argc > 4 ? atoi (argv[4]) : -1;
  char go = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: chuted-monitor RUN_DIR [READY_FD [GO_FD [LOCK_FD]]]\n");
      return 2;
    }
  if (lock_fd >= 0 && fcntl (lock_fd, F_SETFD, FD_CLOEXEC) < 0)
    {
      fprintf (stderr, "chuted-monitor: lock fd %d: %s\n", lock_fd, strerror (errno));
      return 1;
    }
  if (go_fd >= 0)
    {
      while (read (go_fd, &go, 1) < 0 && errno == EINTR)
        ;
      close (go_fd);
      if (go != 'g')
        return 0;
    }
  if (ch_monitor_run (argv[1], ready_fd, &err) < 0)
    {
      ch_error_print (&err, "chuted-monitor");
      return 1;
    }
  return 0;
}
