/* chuted-daemon-cloud: `chuted daemon --cloud ...`, the management process
 * with the cloud link (mgmt/cloud_daemon.c) and so libmosquitto and
 * OpenSSL; chuted-daemon execs it when --cloud is given. */
#include "mgmt/cloud.h"
#include "mgmt/daemon.h"

static const struct dm_cloud_link cloud_link = {
  .open = dm_cloud_open,
  .prepare = dm_cloud_prepare,
  .ready = dm_cloud_ready,
  .event = dm_cloud_event,
  .done = dm_cloud_done,
  .close = dm_cloud_close,
  .apply = ch_cloud_apply,
};

int
main (int argc, char **argv)
{
  return ch_daemon_main (argc, argv, &cloud_link);
}
