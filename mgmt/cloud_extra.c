/* The cloud link's one-shot commands (chuted/v1/N/cmd/ID, answered on
 * reply/ID), logs on demand and metrics. Commands only read: anything that
 * changes a chute comes in the signed desired document, so a broker that
 * forges a command can at most turn on a chute's logs. */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/cloud_int.h"
#include "mgmt/cloud_msg.h"
#include "mgmt/desired.h"
#include "mgmt/lifecycle.h"
#include "runtime/monitor.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#define LOGS_TAIL 4096       /* what a new subscriber sees of the past */
#define LOGS_CHUNK (16 * 1024) /* per chute and tick */
#define LOGS_MAX 8           /* chutes streamed at once */

void
ch_cloud_logs_clear (struct ch_cloud *l)
{
  for (size_t i = 0; i < l->n_logs; i++)
    free (l->logs[i].chute);
  free (l->logs);
  l->logs = NULL;
  l->n_logs = 0;
}

static int
logs_on (struct ch_cloud *l, const char *chute, bool on, ch_error_t *err)
{
  cleanup_free char *dir = NULL, *path = NULL;
  struct cloud_logs *g = NULL;
  struct stat st;
  size_t i;

  for (i = 0; i < l->n_logs && g == NULL; i++)
    if (strcmp (l->logs[i].chute, chute) == 0)
      g = &l->logs[i];
  if (!on)
    {
      if (g)
        {
          free (g->chute);
          *g = l->logs[--l->n_logs];
        }
      return 0;
    }
  if (g)
    {
      g->until = ch_now_ms () + CH_CLOUD_LOGS_LEASE_S * 1000;
      return 0;
    }
  if (!ch_chute_alive (chute, l->ctx))
    return ch_error (err, 0, "no chute `%s` here", chute);
  if (l->n_logs >= LOGS_MAX)
    return ch_error (err, 0, "logs of %d chutes flow already", LOGS_MAX);
  dir = ch_chute_run_dir (l->ctx, chute);
  path = xasprintf ("%s/%s", dir, CH_MON_LOG);
  l->logs = xrealloc (l->logs, (l->n_logs + 1) * sizeof (*l->logs));
  g = &l->logs[l->n_logs++];
  memset (g, 0, sizeof (*g));
  g->chute = xstrdup (chute);
  g->until = ch_now_ms () + CH_CLOUD_LOGS_LEASE_S * 1000;
  if (stat (path, &st) == 0)
    {
      g->ino = st.st_ino;
      g->off = st.st_size > LOGS_TAIL ? st.st_size - LOGS_TAIL : 0;
    }
  return 0;
}

/* New whole records of G's log, published as they are (one k8s-file
 * record a line). */
static void
logs_pump (struct ch_cloud *l, struct cloud_logs *g)
{
  cleanup_free char *dir = ch_chute_run_dir (l->ctx, g->chute), *path = xasprintf ("%s/%s", dir, CH_MON_LOG);
  cleanup_free char *topic = xasprintf ("%slogs/%s", l->prefix, g->chute);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  char buf[LOGS_CHUNK];
  struct stat st;
  ssize_t n;
  char *end;

  if (fd < 0 || fstat (fd, &st) < 0)
    return;
  if (st.st_ino != g->ino || st.st_size < g->off)
    {
      g->ino = st.st_ino; /* rotated: the new file from its start */
      g->off = 0;
    }
  n = pread (fd, buf, sizeof (buf), g->off);
  if (n <= 0)
    return;
  end = memrchr (buf, '\n', (size_t) n);
  if (end == NULL)
    {
      if (n < (ssize_t) sizeof (buf))
        return; /* a record still being written */
      end = buf + n - 1;
    }
  mosquitto_publish_v5 (l->m, NULL, topic, (int) (end + 1 - buf), buf, 0, false, NULL);
  g->off += end + 1 - buf;
}

void
ch_cloud_logs_tick (struct ch_cloud *l, int64_t now)
{
  for (size_t i = 0; i < l->n_logs;)
    if (now > l->logs[i].until)
      {
        free (l->logs[i].chute);
        l->logs[i] = l->logs[--l->n_logs];
      }
    else
      logs_pump (l, &l->logs[i++]);
}

void
ch_cloud_metrics (struct ch_cloud *l)
{
  cleanup_free char *now = ch_rfc3339 (time (NULL), -1);
  cleanup_strv char **names = NULL;
  cleanup_error ch_error_t e = NULL;
  struct sysinfo si;
  json_int_t running = 0, deployed = 0;

  if (ch_desired_list (l->ctx, &names, &e) == 0)
    for (size_t i = 0; names[i]; i++, deployed++)
      running += ch_chute_running (l->ctx, names[i], NULL);
  if (sysinfo (&si) < 0)
    memset (&si, 0, sizeof (si));
  /* a few fixed fields: well under CH_CLOUD_METRICS_MAX */
  ch_cloud_publish (l, "metrics",
                    json_pack ("{s:s, s:I, s:[I,I,I], s:I, s:I, s:I, s:I}", "time", now, "uptime_s",
                               (json_int_t) si.uptime, "load_x100", (json_int_t) (si.loads[0] * 100 >> 16),
                               (json_int_t) (si.loads[1] * 100 >> 16), (json_int_t) (si.loads[2] * 100 >> 16),
                               "mem_free_kb", (json_int_t) ((uint64_t) si.freeram * si.mem_unit / 1024),
                               "mem_total_kb", (json_int_t) ((uint64_t) si.totalram * si.mem_unit / 1024),
                               "chutes", deployed, "running", running),
                    false);
}

void
ch_cloud_cmd (struct ch_cloud *l, const char *id, const void *payload, int len)
{
  cleanup_error ch_error_t e = NULL;
  cleanup_free char *sub = xasprintf ("reply/%s", id);
  struct ch_cloud_cmd cmd;
  json_t *reply = NULL;

  if (ch_cloud_cmd_parse (payload, (size_t) len, &cmd, &e) == 0)
    {
      if (cmd.op == CH_CLOUD_OP_LOGS)
        {
          if (logs_on (l, cmd.chute, cmd.on, &e) == 0)
            reply = json_pack ("{s:b, s:i}", "ok", 1, "lease_s", CH_CLOUD_LOGS_LEASE_S);
        }
      else
        reply = json_pack ("{s:b, s:o}", "ok", 1, "reported", ch_cloud_reported (l->ctx, l->node, l->state));
    }
  ch_cloud_cmd_clear (&cmd);
  if (reply == NULL)
    reply = json_pack ("{s:b, s:s}", "ok", 0, "error", e ? e->msg : "?");
  ch_cloud_publish (l, sub, reply, false);
}
