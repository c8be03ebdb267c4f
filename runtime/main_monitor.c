/* chuted-monitor RUN_DIR [READY_FD]: see runtime/monitor.h. Started by
 * `chuted run/start` double-forked, so it outlives the CLI. */
#include "common/error.h"
#include "runtime/monitor.h"

#include <stdio.h>
#include <stdlib.h>

int
main (int argc, char **argv)
{
  cleanup_error ch_error_t err = NULL;
  int ready_fd = argc > 2 ? atoi (argv[2]) : -1;

  if (argc < 2)
    {
      fprintf (stderr, "usage: chuted-monitor RUN_DIR [READY_FD]\n");
      return 2;
    }
  if (ch_monitor_run (argv[1], ready_fd, &err) < 0)
    {
      ch_error_print (&err, "chuted-monitor");
      return 1;
    }
  return 0;
}
