/* chuted logs [-f] [-t] [--tail N] [--since T] [--until T] NAME: the records of ctr.log.1 then
 * ctr.log, following rotation with -f until the chute has exited. */
#include "common/file.h"
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/lifecycle.h"
#include "runtime/log.h"
#include "runtime/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct logs_opts
{
  bool timestamps;
  int64_t tail; /* -1 = all */
  char *since;  /* records stamped before are skipped (ch_rfc3339 form, as the log's) */
  char *until;  /* records stamped after are skipped */
};

enum
{
  O_SINCE = 256,
  O_UNTIL,
};

const struct ch_opt ch_opts_logs[] = {
  { "follow", 'f', NULL, "keep printing while the chute runs" },
  { "timestamps", 't', NULL, "show each line's time" },
  { "tail", 'n', "N", "only the last N lines (or all)" },
  { "since", O_SINCE, "TIME", "only lines from TIME on: RFC 3339 or a duration ago (10m, 2h)" },
  { "until", O_UNTIL, "TIME", "only lines up to TIME: RFC 3339 or a duration ago" },
  CH_OPT_END,
};

/* TIME as podman takes it (RFC 3339 with an optional fraction and a Z or
 * +hh:mm zone, or a duration before now) into the log's own stamp form:
 * fixed width, UTC, so stamps compare as strings. */
static int
parse_when (const char *opt, const char *s, char **out, ch_error_t *err)
{
  struct tm tm = { 0 };
  const char *p;
  long nsec = 0;
  time_t t;

  p = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == NULL)
    {
      uint64_t d;
      if (ch_parse_duration (s, &d, err) < 0)
        {
          ch_error_release (err);
          return ch_error (err, 0, "--%s `%s`: give an RFC 3339 time (2026-01-02T15:04:05Z) or a duration (10m)",
                           opt, s);
        }
      struct timespec now;
      clock_gettime (CLOCK_REALTIME, &now);
      *out = ch_rfc3339 (now.tv_sec - (time_t) d, now.tv_nsec);
      return 0;
    }
  t = timegm (&tm);
  if (*p == '.')
    {
      long scale = 100000000;
      for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
        nsec += (*p - '0') * scale;
    }
  if (*p == 'Z' && p[1] == '\0')
    ;
  else if ((*p == '+' || *p == '-') && strlen (p) == 6 && p[3] == ':')
    {
      int h, m;
      if (sscanf (p + 1, "%2d:%2d", &h, &m) != 2)
        return ch_error (err, 0, "--%s `%s`: bad zone `%s`", opt, s, p);
      t -= (*p == '+' ? 1 : -1) * (time_t) (h * 3600 + m * 60);
    }
  else
    return ch_error (err, 0, "--%s `%s`: give the zone (Z or +hh:mm)", opt, s);
  *out = ch_rfc3339 (t, nsec);
  return 0;
}

static void
emit (const struct logs_opts *o, const char *line, size_t len)
{
  struct ch_log_record r;
  FILE *f;

  if (ch_log_parse (line, len, &r) < 0)
    return;
  /* the stamps have ch_rfc3339's fixed width: strings compare as times */
  if (o->since && (r.time_len != strlen (o->since) || memcmp (r.time, o->since, r.time_len) < 0))
    return;
  if (o->until && (r.time_len != strlen (o->until) || memcmp (r.time, o->until, r.time_len) > 0))
    return;
  f = r.is_stderr ? stderr : stdout;
  if (o->timestamps)
    fprintf (f, "%.*s ", (int) r.time_len, r.time);
  fwrite (r.msg, 1, r.msg_len, f);
  if (!r.partial)
    fputc ('\n', f);
}

/* Emit every whole line of BUF[*off..len); *off moves past them. */
static void
emit_lines (const struct logs_opts *o, const char *buf, size_t len, size_t *off)
{
  while (*off < len)
    {
      const char *nl = memchr (buf + *off, '\n', len - *off);
      if (nl == NULL)
        break;
      emit (o, buf + *off, nl - (buf + *off));
      *off = nl - buf + 1;
    }
}

static size_t
count_lines (const char *s, size_t len)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += s[i] == '\n';
  return n;
}

/* Skip to the last N lines of the concatenation OLD+CUR. */
static void
apply_tail (int64_t tail, const char *old, size_t oldlen, size_t *oldoff, const char *cur, size_t curlen,
            size_t *curoff)
{
  size_t total = count_lines (old, oldlen) + count_lines (cur, curlen), skip;

  if (tail < 0 || (size_t) tail >= total)
    return;
  skip = total - (size_t) tail;
  for (; skip > 0 && *oldoff < oldlen; (*oldoff)++)
    if (old[*oldoff] == '\n')
      skip--;
  for (; skip > 0 && *curoff < curlen; (*curoff)++)
    if (cur[*curoff] == '\n')
      skip--;
}

int
ch_cmd_logs (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  cleanup_free char *since = NULL, *until = NULL;
  struct logs_opts lo = { .tail = -1 };
  bool follow = false;
  cleanup_free char *run_dir = NULL, *path = NULL, *old = NULL;
  cleanup_free char *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0, aoff = 0, boff = 0;
  struct ch_chute c;
  struct stat st;
  ino_t ino = 0;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_logs);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    switch (o)
      {
      case 'f': follow = true; break;
      case 't': lo.timestamps = true; break;
      case 'n':
        if (strcmp (p.optarg, "all") != 0 && ch_parse_int (p.optarg, 0, INT32_MAX, &lo.tail, err) < 0)
          return ch_error_prefix (err, "logs --tail");
        break;
      case O_SINCE:
        free (since);
        if (parse_when ("since", p.optarg, &since, err) < 0)
          return -1;
        break;
      case O_UNTIL:
        free (until);
        if (parse_when ("until", p.optarg, &until, err) < 0)
          return -1;
        break;
      }
  if (o < 0)
    return ch_cli_done (&p);
  lo.since = since;
  lo.until = until;
  if (optind >= argc)
    return ch_cli_usage_error (ctx, err, "give the chute's name");
  ch_chute_init (&c);
  if (ch_chute_load (ctx, argv[optind], &c, err) < 0)
    return -1;
  ch_chute_clear (&c);
  run_dir = ch_chute_run_dir (ctx, argv[optind]);
  path = xasprintf ("%s/%s", run_dir, CH_MON_LOG);
  old = xasprintf ("%s.1", path);

  if (access (old, F_OK) == 0 && ch_read_file_max (old, SIZE_MAX, &a, &alen, err) < 0)
    return -1;
  if (access (path, F_OK) == 0)
    {
      if (ch_read_file_max (path, SIZE_MAX, &b, &blen, err) < 0)
        return -1;
      if (stat (path, &st) == 0)
        ino = st.st_ino;
    }
  apply_tail (lo.tail, a ? a : "", alen, &aoff, b ? b : "", blen, &boff);
  if (a)
    emit_lines (&lo, a, alen, &aoff);
  if (b)
    emit_lines (&lo, b, blen, &boff);
  fflush (stdout);
  fflush (stderr);

  while (follow)
    {
      bool live = ch_chute_running (ctx, argv[optind], NULL);
      cleanup_free char *cur = NULL;
      size_t curlen = 0;

      /* rotated under us: what we had read of the old file is ctr.log.1 now */
      if (stat (path, &st) == 0 && st.st_ino != ino)
        {
          ino = st.st_ino;
          boff = 0;
        }
      if (access (path, F_OK) == 0 && ch_read_file_max (path, SIZE_MAX, &cur, &curlen, err) == 0 && curlen > boff)
        {
          emit_lines (&lo, cur, curlen, &boff);
          fflush (stdout);
          fflush (stderr);
        }
      ch_error_release (err);
      if (!live)
        break;
      usleep (100000);
    }
  return 0;
}
