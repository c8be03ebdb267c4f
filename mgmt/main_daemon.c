/* chuted-daemon: the management process without the cloud link's
 * libraries; with --cloud it becomes chuted-daemon-cloud (mgmt/daemon.h). */
#include "mgmt/daemon.h"

int
main (int argc, char **argv)
{
  return ch_daemon_main (argc, argv, NULL);
}
