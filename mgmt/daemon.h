/* chuted-daemon: the management process. One thread, one epoll loop
 * (daemon.c) that drives libmicrohttpd (no threads of its own), a signalfd
 * and the pipes of the change being applied. Every change (deploy, update,
 * start, stop, restart, remove) is queued and applied, one at a time, by a
 * forked child that calls the deploy engine (daemon_engine.c, the only file
 * that calls it) and writes the engine's progress events to a pipe as JSON
 * lines; the daemon keeps the last events of each change in memory (bounded)
 * and streams them to SSE clients (daemon_stream.c). The journal on disk
 * stays the truth: a change whose child outlives a daemon killed under it
 * finishes on its own, and the next daemon reads its result there. */
#ifndef CH_DAEMON_H
#define CH_DAEMON_H

#include "common/error.h"
#include "common/util.h"
#include "mgmt/cli.h"
#include "mgmt/daemon_opts.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

#define DM_EVENTS_MAX 64          /* events kept per change (the oldest go first) */
#define DM_CHANGES_KEPT 64        /* finished changes kept in memory (the journal has all) */
#define DM_JSON_MAX (1 << 20)     /* JSON or chute.yaml body */
#define DM_HEARTBEAT_S 15         /* SSE comment line: finds clients that left */
/* Clients past --max-connections wait in the kernel's queue (libmicrohttpd
 * stops accepting at its limit), not refused */
#define DM_BACKLOG 256
#define DM_PER_IP_MAX 16u /* TCP connections from one address */

enum dm_state
{
  DM_QUEUED,
  DM_RUNNING,
  DM_FINAL,
};

/* What a change applies. */
enum dm_work
{
  DM_DEPLOY,  /* TEXT: a chute file */
  DM_PACKAGE, /* PATH: a chute package on disk, removed when done */
  DM_OP,      /* KIND on CHUTE */
  DM_CLOUD,   /* DOC: a verified desired document of the cloud link */
};

struct dm_change
{
  struct dm_change *next;
  char *id, *chute, *kind;
  enum dm_state state;
  char *phase, *result, *reason;
  json_t *failure;    /* the journal's record of why it failed (ch_change.failure), or NULL */
  json_t *events;     /* the last DM_EVENTS_MAX, each {seq, phase, detail?, time, result?, reason?} */
  uint64_t n_events;  /* ever appended: events[0] is number n_events - size */
  int refs;           /* streams reading it */
  /* the work */
  enum dm_work work;
  char *text, *path;
  size_t len;
  int64_t generation;
  json_t *doc, *cloud_result; /* DM_CLOUD: the document, and what ch_cloud_apply said */
  /* while it runs */
  pid_t pid;
  int fd;             /* the child's event pipe, -1 at its end */
  struct ch_buf line; /* a partial line from the pipe */
  char *child_error;  /* the child's last words: why it failed */
  bool reaped;
  int status;         /* its wait status */
};

struct dm_stream;
struct ch_engine;
struct ch_daemon;

/* The cloud link's side of the daemon (cloud_daemon.c, cloud_apply.c):
 * only chuted-daemon-cloud (main_daemon_cloud.c) has it, the daemon
 * linked with libmosquitto and OpenSSL. chuted-daemon carries neither
 * (their load alone is ~1.8 MB PSS) and execs that program when --cloud
 * is given (ch_daemon_main). */
struct dm_cloud_link
{
  int (*open) (struct ch_daemon *d, ch_error_t *err);
  /* Before each wait: the link's socket watched as it wants; its next tick (ms). */
  int (*prepare) (struct ch_daemon *d);
  /* FD was ready: true when it was the link's. */
  bool (*ready) (struct ch_daemon *d, int fd, uint32_t events);
  /* A DM_CLOUD change's event (borrowed) and its end. */
  void (*event) (struct ch_daemon *d, struct dm_change *c, json_t *e);
  void (*done) (struct ch_daemon *d, struct dm_change *c);
  void (*close) (struct ch_daemon *d);
  /* In a DM_CLOUD change's child: ch_cloud_apply. */
  int (*apply) (struct ch_engine *e, json_t *doc, json_t **result, ch_error_t *err);
};

struct dm_listener
{
  struct ch_daemon *d;
  struct MHD_Daemon *mhd;
  int epoll_fd; /* MHD's own, watched by ours */
  bool tcp;     /* requests need the bearer token */
  char *unix_path;
  int tls_fd; /* TLS: the TCP socket the daemon accepts on itself (daemon_tls.c), else -1 */
};

struct ch_daemon
{
  struct ch_ctx *ctx;
  struct dm_options *opt;
  const struct dm_cloud_link *link; /* NULL in chuted-daemon */
  int epfd, sigfd, lock;
  struct dm_listener listeners[8];
  size_t n_listeners;
  struct dm_change *changes; /* oldest first */
  size_t n_final;
  struct dm_stream *streams;
  unsigned id_seq;
  bool stopping;
  char *upload_dir;
  struct dm_tls *tls;     /* the TLS listeners' configuration and connections, NULL: none */
  struct ch_cloud *cloud; /* --cloud, else NULL */
  int cloud_fd;           /* the link's socket as the epoll set has it, -1: none */
  uint32_t cloud_events;
};

/* daemon_main.c: the program's main, LINK NULL in chuted-daemon. */
int ch_daemon_main (int argc, char **argv, const struct dm_cloud_link *link);

/* daemon.c */
int ch_daemon_run (struct ch_ctx *ctx, struct dm_options *opt, const struct dm_cloud_link *link, ch_error_t *err);
/* A file descriptor the loop watches (ADD) or stops watching. */
int dm_watch (struct ch_daemon *d, int fd, bool add, ch_error_t *err);

/* daemon_tls.c: listener L serves TLS on TCP socket FD (taken, error or
 * not); its connections reach libmicrohttpd in cleartext (L's daemon has no
 * listen socket of its own). */
int dm_tls_listen (struct ch_daemon *d, struct dm_listener *l, int fd, ch_error_t *err);
/* FD is a TLS listener's or connection's: handled (true), else false. */
bool dm_tls_ready (struct ch_daemon *d, int fd);
/* Drops the handshakes past the connection timeout; the ms until the next
 * one's, -1: none. */
int dm_tls_tick (struct ch_daemon *d);
void dm_tls_close (struct ch_daemon *d);

/* daemon_changes.c: the queue */
struct dm_change *dm_change_new (struct ch_daemon *d, enum dm_work work, const char *kind, const char *chute);
/* Queue C (the daemon owns it) and start it when nothing else runs. */
void dm_change_submit (struct ch_daemon *d, struct dm_change *c);
struct dm_change *dm_change_find (struct ch_daemon *d, const char *id);
/* The loop saw FD readable / a child exit. */
void dm_change_readable (struct ch_daemon *d, int fd);
void dm_change_reaped (struct ch_daemon *d, pid_t pid, int status);
json_t *dm_change_json (const struct dm_change *c, bool with_events);
void dm_change_unref (struct ch_daemon *d, struct dm_change *c);
void dm_changes_free (struct ch_daemon *d);

/* cloud_daemon.c: the cloud link in the loop (mgmt/cloud.h), called
 * through struct dm_cloud_link */
int dm_cloud_open (struct ch_daemon *d, ch_error_t *err);
int dm_cloud_prepare (struct ch_daemon *d);
bool dm_cloud_ready (struct ch_daemon *d, int fd, uint32_t events);
void dm_cloud_event (struct ch_daemon *d, struct dm_change *c, json_t *e);
void dm_cloud_done (struct ch_daemon *d, struct dm_change *c);
void dm_cloud_close (struct ch_daemon *d);

/* daemon_engine.c: the daemon's calls into the deploy engine */
/* In the forked child: apply C, writing events as JSON lines to FD; the
 * exit code. LINK applies a DM_CLOUD change. */
int dm_engine_child (struct ch_ctx *ctx, const struct dm_cloud_link *link, const struct dm_change *c, int fd);
/* Before a chute file is queued: can the engine apply it? (400 if not,
 * with file:line:col); *NAME the chute it names. */
int dm_engine_check (const char *text, size_t len, char **name, ch_error_t *err);
/* At start, before serving: bring back what should run. */
int dm_engine_reconcile (struct ch_ctx *ctx, ch_error_t *err);

/* daemon_stream.c: SSE over suspended connections */
/* A response that streams change C's events until its end. */
struct MHD_Response *dm_stream_change (struct ch_daemon *d, struct MHD_Connection *conn, struct dm_change *c);
/* A response that streams chute NAME's log: the records FIRST, then the
 * current file (inode INO) from OFFSET on, until the chute is down. */
struct MHD_Response *dm_stream_logs (struct ch_daemon *d, struct MHD_Connection *conn, const char *name,
                                     const char *path, uint64_t ino, uint64_t offset, json_t *first);
/* api_read.c: one log line as {time, stream, message, partial}, NULL if not a record. */
json_t *dm_log_record_json (const char *line, size_t len);
/* New events on C: wake its readers. */
void dm_streams_wake_change (struct ch_daemon *d, struct dm_change *c);
/* Periodic: wake log followers with news, heartbeat idle ones. Returns
 * the next tick in ms, or -1 when no stream needs one. */
int dm_streams_tick (struct ch_daemon *d);
/* Shutdown: end every stream. */
void dm_streams_end_all (struct ch_daemon *d);

/* api.c: libmicrohttpd's request handler and its completion callback */
enum MHD_Result dm_api_handler (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                    const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls);
void dm_api_completed (void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe);

#endif
