/* chuted logs [-f] [-t] [--tail N] NAME: the records of ctr.log.1 then
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
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct logs_opts
{
  bool timestamps;
  int64_t tail; /* -1 = all */
};

static void
emit (const struct logs_opts *o, const char *line, size_t len)
{
  struct ch_log_record r;
  FILE *f;

  if (ch_log_parse (line, len, &r) < 0)
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
  static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
                                        { "timestamps", no_argument, NULL, 't' },
                                        { "tail", required_argument, NULL, 'n' },
                                        { NULL, 0, NULL, 0 } };
  struct logs_opts lo = { .tail = -1 };
  bool follow = false;
  cleanup_free char *run_dir = NULL, *path = NULL, *old = NULL;
  cleanup_free char *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0, aoff = 0, boff = 0;
  struct ch_chute c;
  struct stat st;
  ino_t ino = 0;
  int o;

  optind = 1;
  opterr = 0;
  while ((o = getopt_long (argc, argv, "+ftn:", opts, NULL)) != -1)
    switch (o)
      {
      case 'f': follow = true; break;
      case 't': lo.timestamps = true; break;
      case 'n':
        if (strcmp (optarg, "all") != 0 && ch_parse_int (optarg, 0, INT32_MAX, &lo.tail, err) < 0)
          return ch_error_prefix (err, "logs --tail");
        break;
      default: return ch_error (err, 0, "logs: unknown option `%s`", argv[optind - 1]);
      }
  if (optind >= argc)
    return ch_error (err, 0, "logs: give the chute's name");
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
