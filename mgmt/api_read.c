/* Reads that change nothing: a chute's logs (the monitor's k8s-file log,
 * mgmt/cmd_logs.c's source: ctr.log.1 then ctr.log; ?tail=N, ?follow=1 as
 * SSE until the chute is down), its stats (cgroup cpu, memory, pids; the
 * veth's counters, as the chute sees them) and the host's info. */
#include "mgmt/api.h"
#include "mgmt/api_parse.h"
#include "cgroups/cgroup.h"
#include "common/file.h"
#include "common/json.h"
#include "common/parse.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "netns/net.h"
#include "runtime/log.h"
#include "runtime/monitor.h"
#include "runtime/runtime.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Of each log file, its last MiB (the monitor's default cap) is read: an
 * answer the daemon builds in memory stays bounded whatever --log-max. */
#define LOG_FILE_MAX ((size_t) 1 << 20)

/* S as a JSON string, each byte that is not valid UTF-8 as U+FFFD. */
static json_t *
utf8_string (const char *s, size_t len)
{
  struct ch_buf b = { 0 };
  json_t *j = json_stringn (s, len);
  size_t i = 0;

  if (j)
    return j;
  while (i < len)
    {
      size_t n = 1;
      unsigned char c = s[i];
      if (c >= 0xc2 && c <= 0xf4)
        n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      if (n > 1 && i + n <= len && (j = json_stringn (s + i, n)) != NULL)
        {
          json_decref (j);
          ch_buf_append (&b, s + i, n);
          i += n;
          continue;
        }
      if (c < 0x80)
        ch_buf_append (&b, s + i, 1);
      else
        ch_buf_append (&b, "\xef\xbf\xbd", 3);
      i++;
    }
  j = json_stringn (b.data ? b.data : "", b.len);
  free (b.data);
  return j;
}

bool
dm_chute_recorded (struct ch_daemon *d, const char *name)
{
  cleanup_free char *dir = ch_chute_dir (d->ctx, name);
  cleanup_free char *f = xasprintf ("%s/chute.json", dir);

  return access (f, F_OK) == 0;
}

json_t *
dm_log_record_json (const char *line, size_t len)
{
  struct ch_log_record r;

  if (ch_log_parse (line, len, &r) < 0)
    return NULL;
  /* a message is bytes: invalid UTF-8 is refused by jansson, so it is
   * sent with each bad byte as U+FFFD */
  return json_pack ("{s:s%, s:s, s:o, s:b}", "time", r.time, r.time_len, "stream", r.is_stderr ? "stderr" : "stdout",
                    "message", utf8_string (r.msg, r.msg_len), "partial", r.partial);
}

/* The last LOG_FILE_MAX bytes of PATH, from a line's start, appended to
 * OUT; *SIZE its size and *INO its inode (0 when it is not there). */
static void
read_tail (const char *path, struct ch_buf *out, uint64_t *size, uint64_t *ino)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  off_t off;
  char *buf, *start;
  ssize_t n;

  *size = *ino = 0;
  if (fd < 0 || fstat (fd, &st) < 0)
    return;
  *size = st.st_size;
  *ino = st.st_ino;
  off = st.st_size > (off_t) LOG_FILE_MAX ? st.st_size - (off_t) LOG_FILE_MAX : 0;
  buf = xmalloc (LOG_FILE_MAX);
  n = pread (fd, buf, LOG_FILE_MAX, off);
  start = buf;
  if (n > 0 && off > 0)
    {
      /* a cut line is no record */
      char *nl = memchr (buf, '\n', n);
      start = nl ? nl + 1 : buf + n;
    }
  if (n > 0)
    {
      ch_buf_append (out, start, n - (start - buf));
      *size = off + n; /* a follower goes on from what was read */
    }
  free (buf);
}

enum MHD_Result
dm_api_logs (struct ch_daemon *d, struct MHD_Connection *conn, const char *name)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *run_dir = ch_chute_run_dir (d->ctx, name);
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_LOG);
  cleanup_free char *old = xasprintf ("%s.1", path);
  const char *q_tail = MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, "tail");
  const char *q_follow = MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, "follow");
  bool follow = q_follow && (strcmp (q_follow, "1") == 0 || strcmp (q_follow, "true") == 0);
  uint64_t size, ino;
  struct ch_buf all = { 0 };
  json_t *records = json_array ();
  int64_t tail = -1;
  size_t i, start;
  enum MHD_Result ret;

  if (!dm_chute_recorded (d, name))
    {
      json_decref (records);
      return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no chute `%s`", name);
    }
  if (dm_parse_tail (q_tail, &tail, &err) < 0)
    {
      json_decref (records);
      return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad tail", "%s", err->msg);
    }
  read_tail (old, &all, &size, &ino);
  read_tail (path, &all, &size, &ino);
  start = dm_tail_start (all.data, all.len, tail);
  for (i = start; i < all.len;)
    {
      const char *nl = memchr (all.data + i, '\n', all.len - i);
      if (nl == NULL)
        break;
      json_t *rec = dm_log_record_json (all.data + i, nl - (all.data + i));
      if (rec)
        json_array_append_new (records, rec);
      i = nl - all.data + 1;
    }
  free (all.data);
  if (!follow)
    return dm_reply_json (conn, MHD_HTTP_OK, records);
  {
    /* the tail first, as events, then what comes */
    struct MHD_Response *r = dm_stream_logs (d, conn, name, path, ino, size, records);
    json_decref (records);
    ret = MHD_queue_response (conn, MHD_HTTP_OK, r);
    MHD_destroy_response (r);
    return ret;
  }
}

/* A cgroup figure; "no limit" (UINT64_MAX) is null. */
static json_t *
count (uint64_t v)
{
  return v == UINT64_MAX ? json_null () : json_integer ((json_int_t) v);
}

enum MHD_Result
dm_api_stats (struct ch_daemon *d, struct MHD_Connection *conn, const char *name)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *oci = ch_chute_oci_dir (d->ctx, name);
  cleanup_free char *path = NULL;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  json_t *o, *net = NULL;
  bool running;

  if (!dm_chute_recorded (d, name))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no chute `%s`", name);
  running = ch_chute_running (d->ctx, name, NULL);
  o = json_pack ("{s:s, s:b}", "name", name, "running", running);
  if (running && ch_container_cgroup_path (oci, &path, &err) == 0 && ch_cgroup_open (path, &cg, &err) == 0
      && ch_cgroup_stats (cg, &st, &err) == 0)
    json_object_set_new (o, "cgroup",
                         json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "cpu_usage_ns", count (st.cpu_usage_ns),
                                    "memory_current", count (st.memory_current), "memory_peak",
                                    count (st.memory_peak), "memory_limit", count (st.memory_limit), "pids_current",
                                    count (st.pids_current), "pids_limit", count (st.pids_limit), "oom_kills",
                                    count (st.oom_kills)));
  else if (running)
    json_object_set_new (o, "cgroup_error", json_string (err ? err->msg : "no cgroup"));
  if (cg)
    ch_cgroup_free (cg);
  ch_error_release (&err);
  if (running && ch_net_inspect (d->ctx->root, d->ctx->run_root, name, &net, &err) == 0)
    {
      json_t *c = json_object_get (net, "counters");
      json_object_set (o, "net", c ? c : json_object ());
      json_object_set (o, "veth", json_object_get (net, "veth") ?: json_null ());
    }
  json_decref (net);
  return dm_reply_json (conn, MHD_HTTP_OK, o);
}

/* Bytes of a /proc/meminfo line (kB there). */
static json_int_t
meminfo (const char *text, const char *key)
{
  const char *p = strstr (text, key);

  return p ? (json_int_t) strtoull (p + strlen (key), NULL, 10) * 1024 : -1;
}

enum MHD_Result
dm_api_info (struct ch_daemon *d, struct MHD_Connection *conn)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *mi = NULL, *self = NULL;
  json_t *o = ch_host_info (d->ctx);
  char host[256] = "";
  size_t len;

  gethostname (host, sizeof (host) - 1);
  json_object_set_new (o, "host", json_string (host));
  if (ch_read_file_max ("/proc/meminfo", 1 << 16, &mi, &len, &err) == 0)
    json_object_set_new (o, "memory", json_pack ("{s:I, s:I}", "total_bytes", meminfo (mi, "MemTotal:"),
                                                 "available_bytes", meminfo (mi, "MemAvailable:")));
  ch_error_release (&err);
  json_object_set_new (o, "cpus", json_integer (sysconf (_SC_NPROCESSORS_ONLN)));
  if (ch_read_file_max ("/proc/self/status", 1 << 16, &self, &len, &err) == 0)
    json_object_set_new (o, "daemon", json_pack ("{s:i, s:I}", "pid", (int) getpid (), "rss_bytes",
                                                 meminfo (self, "VmRSS:")));
  return dm_reply_json (conn, MHD_HTTP_OK, o);
}
