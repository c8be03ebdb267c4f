#include "mgmt/attach.h"
#include "common/file.h"
#include "common/sock.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "runtime/attach.h"
#include "runtime/monitor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

int
ch_attach_connect (const struct ch_ctx *ctx, const char *name, int *fd, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_ATTACH);

  if (ch_unix_connect (path, SOCK_STREAM, fd, err) < 0)
    return ch_error_prefix (err, "attach to chute `%s`", name);
  return 0;
}

int
ch_attach_will_remove (int fd, ch_error_t *err)
{
  return ch_frame_write (fd, CH_FRAME_RM, NULL, 0, err);
}

static void
send_size (int fd)
{
  struct winsize ws;
  char s[32];
  cleanup_error ch_error_t err = NULL;

  if (ioctl (0, TIOCGWINSZ, &ws) == 0)
    {
      snprintf (s, sizeof (s), "%u %u", ws.ws_row, ws.ws_col);
      ch_frame_write (fd, CH_FRAME_RESIZE, s, strlen (s), &err);
    }
}

int
ch_detach_keys_parse (const char *spec, char **keys, ch_error_t *err)
{
  cleanup_free char *copy = xstrdup (spec);
  char *out = xzalloc (strlen (spec) + 1), *save = NULL;
  size_t n = 0;

  for (char *k = strtok_r (copy, ",", &save); k; k = strtok_r (NULL, ",", &save))
    {
      if (strlen (k) == 1)
        out[n++] = k[0];
      else if (strncasecmp (k, "ctrl-", 5) == 0 && strlen (k) == 6
               && ((k[5] >= 'a' && k[5] <= 'z') || (k[5] >= 'A' && k[5] <= 'Z') || (k[5] && strchr ("[\\]^_", k[5]))))
        out[n++] = (char) ((k[5] >= 'a' && k[5] <= 'z' ? k[5] - 'a' + 'A' : k[5]) & 0x1f);
      else
        {
          free (out);
          return ch_error (err, 0, "--detach-keys `%s`: `%s` is neither ctrl-X (X in a-z[\\]^_) nor one character",
                           spec, k);
        }
    }
  *keys = out;
  return 0;
}

/* The signals a foreground client passes on to the chute (podman's
 * sig-proxy): the ones a user or a supervisor sends to stop or poke a
 * process. SIGWINCH is a resize, SIGCHLD/SIGPIPE concern this process. */
static const int proxied_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM };

void
ch_attach_block_signals (sigset_t *set)
{
  sigemptyset (set);
  sigaddset (set, SIGWINCH);
  for (size_t i = 0; i < sizeof (proxied_signals) / sizeof (proxied_signals[0]); i++)
    sigaddset (set, proxied_signals[i]);
  sigprocmask (SIG_BLOCK, set, NULL);
}

struct relay
{
  int fd;
  const struct ch_attach_opts *o;
  size_t matched; /* how much of the detach sequence was typed (held back) */
};

/* Our stdin to the chute, minus the detach sequence; true when it was typed. */
static bool
relay_input (struct relay *r, const char *buf, size_t n)
{
  const char *keys = r->o->detach_keys && r->o->tty ? r->o->detach_keys : "";
  size_t klen = strlen (keys), len = 0;
  cleanup_free char *out = xzalloc (n + klen + 1);
  cleanup_error ch_error_t err = NULL;
  bool detach = false;

  for (size_t i = 0; i < n && !detach; i++)
    {
      if (klen && buf[i] == keys[r->matched])
        {
          if (++r->matched == klen)
            detach = true;
          continue;
        }
      /* a partial sequence was only input after all */
      memcpy (out + len, keys, r->matched);
      len += r->matched;
      r->matched = 0;
      if (klen && buf[i] == keys[0])
        r->matched = 1;
      else
        out[len++] = buf[i];
    }
  if (len && ch_frame_write (r->fd, CH_FRAME_STDIN, out, len, &err) < 0)
    ch_error_release (&err);
  return detach;
}

static void
forward_signal (int fd, int signo)
{
  cleanup_error ch_error_t err = NULL;
  char s[16];

  snprintf (s, sizeof (s), "%d", signo);
  if (ch_frame_write (fd, CH_FRAME_SIGNAL, s, strlen (s), &err) < 0)
    ch_error_release (&err);
}

int
ch_attach_relay (int fd, const struct ch_attach_opts *o, int *exit_code, bool *detached, ch_error_t *err)
{
  struct ch_frame_reader *rd = xzalloc (sizeof (*rd));
  struct relay rl = { .fd = fd, .o = o };
  struct termios saved, raw;
  bool raw_mode = false, in_open = o->stdin_too, got_frame = false;
  cleanup_close int sigfd = -1;
  sigset_t set;
  int ret = 0;

  *exit_code = -1;
  *detached = false;
  if (o->tty && isatty (0) && tcgetattr (0, &saved) == 0)
    {
      raw = saved;
      cfmakeraw (&raw);
      raw_mode = tcsetattr (0, TCSANOW, &raw) == 0;
    }
  /* left blocked on return: one that comes after the exit frame must not
   * kill this client before it reports the chute's exit code */
  ch_attach_block_signals (&set);
  sigfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (o->tty)
    send_size (fd);

  for (;;)
    {
      struct pollfd pf[3] = { { .fd = fd, .events = POLLIN }, { .fd = in_open ? 0 : -1, .events = POLLIN },
                              { .fd = sigfd, .events = POLLIN } };
      uint8_t type;
      const uint8_t *data;
      size_t len;
      int r;
      bool eof;

      if (poll (pf, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          ret = ch_error (err, errno, "poll");
          break;
        }
      if (pf[2].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          while (read (sigfd, &si, sizeof (si)) == sizeof (si))
            if (si.ssi_signo == SIGWINCH)
              send_size (fd);
            else
              forward_signal (fd, (int) si.ssi_signo);
        }
      if (pf[1].revents)
        {
          char buf[4096];
          ssize_t n = read (0, buf, sizeof (buf));
          if (n <= 0)
            {
              in_open = false;
              if (ch_frame_write (fd, CH_FRAME_EOF, NULL, 0, err) < 0)
                ch_error_release (err);
            }
          else if (relay_input (&rl, buf, (size_t) n))
            {
              *detached = true;
              break;
            }
        }
      if (!pf[0].revents)
        continue;
      r = ch_frame_read_some (rd, fd, err);
      if (r < 0)
        {
          ret = -1;
          break;
        }
      eof = r == 0;
      while ((r = ch_frame_next (rd, &type, &data, &len, err)) > 0)
        {
          cleanup_error ch_error_t werr = NULL;
          got_frame = true;
          if (type == CH_FRAME_STDOUT)
            ch_write_all (1, data, len, &werr);
          else if (type == CH_FRAME_STDERR)
            ch_write_all (2, data, len, &werr);
          else if (type == CH_FRAME_EXIT)
            {
              char s[16];
              snprintf (s, sizeof (s), "%.*s", (int) (len < 15 ? len : 15), (const char *) data);
              *exit_code = atoi (s);
            }
          ch_frame_consume (rd);
        }
      if (r < 0)
        {
          ret = -1;
          break;
        }
      if (*exit_code >= 0)
        break;
      if (eof && !got_frame)
        {
          /* the monitor serves one client at a time and hangs up on others */
          ret = ch_error (err, 0, "the chute's monitor hung up at once: another client is attached (one at a "
                                  "time), or the monitor died: see `chuted ps`");
          break;
        }
      if (eof)
        {
          /* the monitor drops a client that reads too slowly (it never lets
           * a client stall the chute); the chute itself goes on */
          ret = ch_error (err, 0, "the chute's output stream ended before the chute did (this terminal read "
                                  "too slowly, or the monitor died): see `chuted logs` and `chuted ps`");
          break;
        }
    }
  if (raw_mode)
    tcsetattr (0, TCSANOW, &saved);
  free (rd);
  return ret;
}
