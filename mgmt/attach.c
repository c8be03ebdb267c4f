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
ch_attach_relay (int fd, bool stdin_too, bool tty, int *exit_code, ch_error_t *err)
{
  struct ch_frame_reader *rd = xzalloc (sizeof (*rd));
  struct termios saved, raw;
  bool raw_mode = false, in_open = stdin_too;
  cleanup_close int sigfd = -1;
  sigset_t set;
  int ret = 0;

  *exit_code = -1;
  if (tty && isatty (0) && tcgetattr (0, &saved) == 0)
    {
      raw = saved;
      cfmakeraw (&raw);
      raw_mode = tcsetattr (0, TCSANOW, &raw) == 0;
    }
  sigemptyset (&set);
  sigaddset (&set, SIGWINCH);
  sigprocmask (SIG_BLOCK, &set, NULL);
  sigfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (tty)
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
          if (read (sigfd, &si, sizeof (si)) > 0)
            send_size (fd);
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
          else if (ch_frame_write (fd, CH_FRAME_STDIN, buf, n, err) < 0)
            ch_error_release (err);
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
      if (eof || *exit_code >= 0)
        break;
    }
  if (raw_mode)
    tcsetattr (0, TCSANOW, &saved);
  free (rd);
  return ret;
}
