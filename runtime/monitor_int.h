/* Internal to the monitor (runtime/monitor*.c). */
#ifndef CH_MONITOR_INT_H
#define CH_MONITOR_INT_H

#include "runtime/attach.h"
#include "runtime/log.h"
#include "runtime/monitor.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct ch_mon
{
  struct ch_monitor_config cfg;
  char *run_dir;
  struct ch_log log;
  int sigfd;
  int listen_fd, client_fd;
  struct ch_frame_reader *rd;
  /* The client socket is non-blocking: frames it has not taken yet wait in
   * CLIENT_OUT, bounded by CH_MON_CLIENT_MAX, past which the client is
   * dropped. Stdin the chute has not taken yet waits in STDIN_PENDING (one
   * frame at most): the client is not read meanwhile. Nothing blocks the
   * monitor, so it can always reap and stop. */
  struct ch_buf client_out;
  size_t client_out_off;
  struct ch_buf stdin_pending;
  size_t stdin_off;
  /* the output budget (monitor_io.c) */
  size_t budget_bytes;
  int64_t budget_wall_ns, budget_cpu_ns, paused_until_ns;
  int out_fd, err_fd; /* chute stdout/stderr (pipes), or out_fd = pty master */
  int in_fd;          /* chute stdin: pipe write end, or the pty master */
  pid_t pid;          /* the init, our child */
  int restarts;
  bool stopping;
  bool client_removes; /* the attached client sent CH_FRAME_RM */
  /* last run */
  char started_at[40], finished_at[40];
  int exit_code, signal;
  bool oom_killed;
  char *error;
  struct timespec started_mono;
};

#define CH_MON_CLIENT_MAX (256 * 1024)
#define CH_MON_OUTPUT_CPU_PCT 25
#define CH_MON_BUDGET_BYTES (1024 * 1024)

/* monitor_io.c */
int ch_mon_listen_attach (struct ch_mon *m, ch_error_t *err);
void ch_mon_accept_client (struct ch_mon *m);
/* a client that connects in the next 30 s (attach_wait) */
void ch_mon_wait_for_client (struct ch_mon *m);
void ch_mon_handle_client (struct ch_mon *m);
void ch_mon_process_client_frames (struct ch_mon *m);
void ch_mon_send_client (struct ch_mon *m, enum ch_frame_type t, const void *data, size_t len);
int ch_mon_flush_client (struct ch_mon *m);
/* after the chute ended: the client's last frames, or give up on it */
void ch_mon_finish_client (struct ch_mon *m);
bool ch_mon_stdin_waits (const struct ch_mon *m);
bool ch_mon_flush_stdin (struct ch_mon *m);
/* One read of the chute's stdout/stderr into the log and the client; 0 at EOF. */
int ch_mon_relay_output (struct ch_mon *m, int *fd, bool is_err);
/* > 0: the output budget is spent, don't read the chute's output for that many ms */
int ch_mon_output_pause_ms (const struct ch_mon *m);

/* Create and start the container once; on failure *CODE is the exit code to
 * report (127, 126, 1) and the error says why. */
int ch_mon_start_once (struct ch_mon *m, int *code, ch_error_t *err);

void ch_mon_now (char *buf, size_t len);

#endif
