/* The per-chute monitor (chuted-monitor): holds the chute's init as its
 * child, reaps it, records exit status and OOM kills, writes logs, serves
 * attach clients and applies the restart policy. Reads RUN_DIR/monitor.json,
 * writes RUN_DIR/monitor.pid and RUN_DIR/status.json. */
#ifndef CH_MONITOR_H
#define CH_MONITOR_H

#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum ch_mon_restart
{
  CH_MON_RESTART_NO,
  CH_MON_RESTART_ON_FAILURE,
  CH_MON_RESTART_ALWAYS
};

struct ch_monitor_config
{
  char *id;
  char *chuted;        /* the chuted binary that creates the container */
  char *run_root;
  char *cgroup_parent;
  char *seccomp_cache; /* the runtime's compiled seccomp filters (a dir that outlives a reboot), or NULL */
  char *bundle;
  char *oci_dir;       /* RUN_ROOT/oci/ID */
  char *cgroup_path;   /* for OOM counts */
  enum ch_mon_restart restart;
  int restart_max;     /* on-failure:N, 0 = no bound */
  bool tty, interactive;
  bool attach_wait;    /* hold the start until an attach client is there */
  uint64_t log_max;
  char **on_exit;      /* argv run once the chute is finished for good */
  int restarts;        /* restarts so far (a chute restarted after its monitor died) */
  char *reason;        /* why it was restarted that way: kept in status.json */
};

int ch_monitor_config_load (const char *path, struct ch_monitor_config *c, ch_error_t *err);
json_t *ch_monitor_config_to_json (const struct ch_monitor_config *c);
void ch_monitor_config_clear (struct ch_monitor_config *c);

/* Run the monitor for the chute in RUN_DIR; READY_FD (or -1) gets
 * "listening\n" (attach_wait), then "ok PID\n" or "err CODE MESSAGE\n". */
int ch_monitor_run (const char *run_dir, int ready_fd, ch_error_t *err);

/* Files in RUN_DIR shared with mgmt/. */
#define CH_MON_CONFIG "monitor.json"
#define CH_MON_PID "monitor.pid"
#define CH_MON_LOCK "monitor.lock" /* locked (OFD lock) while the monitor lives */
#define CH_MON_STATUS "status.json"
#define CH_MON_LOG "ctr.log"
#define CH_MON_ATTACH "attach"
#define CH_MON_STOPPING "stopping"
#define CH_MON_INIT_PID "init.pid"

#endif
