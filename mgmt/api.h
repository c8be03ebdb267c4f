/* The REST API's pieces (api*.c): ParaDrop's paths under /api/v1, JSON
 * through jansson, errors as {error, detail}. docs/API.md describes them. */
#ifndef CH_API_H
#define CH_API_H

#include "mgmt/daemon.h"

/* One request's state, from its first call to its completion. */
struct dm_req
{
  struct dm_listener *l;
  bool package;     /* the body is a chute package, streamed to UPLOAD_PATH */
  bool gzip;        /* application/gzip, x-gzip, x-compressed-tar */
  bool json;        /* Content-Type: application/json */
  bool too_big;
  bool replied;     /* a response is queued */
  uint64_t limit, size;
  struct ch_buf body;
  int fd;
  char *upload_path;
};

/* Replies: J is stolen. */
enum MHD_Result dm_reply_json (struct MHD_Connection *conn, unsigned status, json_t *j);
enum MHD_Result dm_reply_error (struct MHD_Connection *conn, unsigned status, const char *error, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));
/* 202 {change_id, chute, kind}, and the change queued. */
enum MHD_Result dm_reply_change (struct ch_daemon *d, struct MHD_Connection *conn, struct dm_change *c);

/* api_chutes.c: /chutes, /chutes/NAME, /chutes/NAME/{start,stop,restart}.
 * SEG are the path's parts after /api/v1/chutes. */
enum MHD_Result dm_api_chutes (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, char **seg,
                               size_t n, struct dm_req *r);
/* api_read.c: /chutes/NAME/logs, /chutes/NAME/stats, /info */
bool dm_chute_recorded (struct ch_daemon *d, const char *name); /* ROOT/chutes/NAME/chute.json */
enum MHD_Result dm_api_logs (struct ch_daemon *d, struct MHD_Connection *conn, const char *name);
enum MHD_Result dm_api_stats (struct ch_daemon *d, struct MHD_Connection *conn, const char *name);
enum MHD_Result dm_api_info (struct ch_daemon *d, struct MHD_Connection *conn);
/* api_wifi.c: /chutes/NAME/networks...; SEG from "networks" on, R the body (PUT .../ssid) */
enum MHD_Result dm_api_wifi (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, const char *name,
                             char **seg, size_t n, struct dm_req *r);
/* api_changes.c: /changes, /changes/ID, /changes/ID/stream */
enum MHD_Result dm_api_changes (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, char **seg,
                                size_t n);

#endif
