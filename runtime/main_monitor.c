/* chuted-monitor RUN_DIR [READY_FD [GO_FD]]: see runtime/monitor.h. Started
 * by `chuted run/start` double-forked, so it outlives the CLI; with GO_FD it
 * is started while the CLI still prepares the chute, and waits for a 'g' on
 * it (EOF: the CLI gave up, and so do we). */
#include "common/error.h"
#include "runtime/monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  int ready_fd = argc > 2 ? atoi (argv[2]) : -1;
  int go_fd = argc > 3 ? atoi (argv[3]) : -1;
  char go = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: chuted-monitor RUN_DIR [READY_FD [GO_FD]]\n");
      return 2;
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
