/* The deploy engine's health gate: the process alive for the grace period,
 * and the chute file's probe (http, tcp, exec) passing within the timeout.
 * http and tcp connect to loopback inside the chute's own network
 * namespace (entered just long enough to create the socket, which stays in
 * it), so a chute is probed the same on the bridge, without a network or on
 * the host's; exec is `chuted exec` run as a child, so the command enters
 * the chute through the runtime's one path (sealed binary, fds closed). */
#include "mgmt/health.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/lifecycle.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* what an exec probe printed, kept for its reason: the last bytes */
#define OUT_KEEP 4096

void
ch_health_probe_from (const struct ch_chutefile *m, struct ch_health_probe *p)
{
  memset (p, 0, sizeof (*p));
  p->kind = m->health_kind;
  if (p->kind == CH_HEALTH_HTTP)
    {
      p->port = strtoul (m->health_http.s, NULL, 10);
      p->path = xstrdup (strchr (m->health_http.s, '/'));
    }
  else if (p->kind == CH_HEALTH_TCP)
    p->port = strtoul (m->health_tcp.s, NULL, 10);
  else if (p->kind == CH_HEALTH_EXEC)
    for (size_t i = 0; i < m->health_exec.n; i++)
      ch_strv_append (&p->argv, m->health_exec.v[i].s);
}

void
ch_health_probe_clear (struct ch_health_probe *p)
{
  free (p->path);
  ch_strv_free (p->argv);
  memset (p, 0, sizeof (*p));
}

char *
ch_health_probe_name (const struct ch_health_probe *p)
{
  switch (p->kind)
    {
    case CH_HEALTH_HTTP: return xasprintf ("http %u%s", p->port, p->path);
    case CH_HEALTH_TCP: return xasprintf ("tcp %u", p->port);
    case CH_HEALTH_EXEC:
      {
        cleanup_json json_t *a = json_array ();
        cleanup_free char *s = NULL;
        for (size_t i = 0; p->argv && p->argv[i]; i++)
          json_array_append_new (a, json_string (p->argv[i]));
        s = json_dumps (a, JSON_COMPACT);
        return xasprintf ("exec %s", s);
      }
    default: return xstrdup ("alive");
    }
}

int
ch_health_http_status (const char *buf, size_t len)
{
  /* "HTTP/1.x NNN" */
  if (len < 12 || memcmp (buf, "HTTP/1.", 7) != 0 || !isdigit ((unsigned char) buf[7]) || buf[8] != ' ')
    return 0;
  for (int i = 9; i < 12; i++)
    if (!isdigit ((unsigned char) buf[i]))
      return 0;
  if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
    return 0;
  return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/* ERRNUM as a reason: "connection refused". */
static int
errno_reason (ch_error_t *err, int errnum)
{
  const char *s = strerror (errnum);

  return ch_error (err, 0, "%c%s", tolower ((unsigned char) s[0]), s + 1);
}

static int
wait_fd (int fd, short events, int64_t deadline, ch_error_t *err)
{
  struct pollfd pf = { .fd = fd, .events = events };

  for (;;)
    {
      int64_t left = deadline - ch_now_ms ();
      int n;
      if (left <= 0)
        return ch_error (err, ETIMEDOUT, "no answer in time");
      n = poll (&pf, 1, left > INT32_MAX ? INT32_MAX : (int) left);
      if (n > 0)
        return 0;
      if (n < 0 && errno != EINTR)
        return ch_error (err, errno, "poll");
    }
}

/* A TCP socket in the network namespace of process PID. */
static int
socket_in (pid_t pid, int *out, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("/proc/%d/ns/net", (int) pid);
  /* thread-self: in a threaded front end only this thread moves */
  cleanup_close int self = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  cleanup_close int target = open (path, O_RDONLY | O_CLOEXEC);
  int fd, saved;

  if (self < 0)
    return ch_error (err, errno, "open `/proc/thread-self/ns/net`");
  if (target < 0)
    return ch_error (err, errno, "open `%s`", path);
  if (setns (target, CLONE_NEWNET) < 0)
    return ch_error (err, errno, "enter the chute's network namespace");
  fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  saved = errno;
  if (setns (self, CLONE_NEWNET) < 0)
    {
      if (fd >= 0)
        close (fd);
      return ch_error (err, errno, "setns back to our own network namespace");
    }
  if (fd < 0)
    return ch_error (err, saved, "socket");
  *out = fd;
  return 0;
}

static int
connect_loopback (pid_t pid, unsigned port, int64_t deadline, int *out, ch_error_t *err)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port), .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  cleanup_close int fd = -1;
  socklen_t len = sizeof (int);
  int soerr = 0;

  if (socket_in (pid, &fd, err) < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &a, sizeof (a)) < 0 && errno != EINPROGRESS)
    return errno_reason (err, errno);
  if (wait_fd (fd, POLLOUT, deadline, err) < 0)
    return -1;
  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
    return ch_error (err, errno, "getsockopt");
  if (soerr)
    return errno_reason (err, soerr);
  *out = steal_fd (&fd);
  return 0;
}

static int
http_probe (const struct ch_health_probe *p, pid_t pid, int64_t deadline, ch_error_t *err)
{
  cleanup_free char *req = xasprintf ("GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nUser-Agent: chuted-health\r\n"
                                      "Connection: close\r\n\r\n",
                                      p->path, p->port);
  cleanup_close int fd = -1;
  char buf[256];
  size_t off = 0, len = strlen (req);
  int code;

  if (connect_loopback (pid, p->port, deadline, &fd, err) < 0)
    return -1;
  while (off < len)
    {
      ssize_t n = send (fd, req + off, len - off, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return errno_reason (err, errno);
      if (n < 0 && wait_fd (fd, POLLOUT, deadline, err) < 0)
        return -1;
      off += n > 0 ? (size_t) n : 0;
    }
  /* the status line is all a probe reads */
  off = 0;
  while (off < sizeof (buf) && memchr (buf, '\n', off) == NULL)
    {
      ssize_t n = recv (fd, buf + off, sizeof (buf) - off, 0);
      if (n == 0)
        break;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return errno_reason (err, errno);
      if (n < 0 && wait_fd (fd, POLLIN, deadline, err) < 0)
        return -1;
      off += n > 0 ? (size_t) n : 0;
    }
  code = ch_health_http_status (buf, off);
  if (code == 0)
    return ch_error (err, 0, off ? "no HTTP status line in the answer" : "connection closed without an answer");
  if (code < 200 || code >= 400)
    return ch_error (err, 0, "answered %d", code);
  return 0;
}

/* The last line of what an exec probe printed, for its reason. */
static char *
last_line (char *out, size_t len)
{
  while (len > 0 && isspace ((unsigned char) out[len - 1]))
    len--;
  out[len] = '\0';
  char *nl = memrchr (out, '\n', len);
  return nl ? nl + 1 : out;
}

static int
exec_probe (struct ch_ctx *ctx, const struct ch_health_probe *p, const char *name, int64_t deadline,
            ch_error_t *err)
{
  cleanup_free char *tool = xasprintf ("%s/chuted", ctx->bin_dir);
  cleanup_free char *out = xzalloc (2 * OUT_KEEP + 1);
  cleanup_strv char **argv = NULL;
  cleanup_close int rfd = -1;
  size_t len = 0;
  int pfd[2], st;
  bool late = false;
  pid_t pid;

  ch_strv_append (&argv, tool);
  ch_strv_append (&argv, "--root");
  ch_strv_append (&argv, ctx->root);
  ch_strv_append (&argv, "--run-root");
  ch_strv_append (&argv, ctx->run_root);
  if (ctx->cgroup_parent)
    {
      ch_strv_append (&argv, "--cgroup-parent");
      ch_strv_append (&argv, ctx->cgroup_parent);
    }
  ch_strv_append (&argv, "exec");
  ch_strv_append (&argv, name);
  ch_strv_append (&argv, "--");
  for (size_t i = 0; p->argv[i]; i++)
    ch_strv_append (&argv, p->argv[i]);
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      close (pfd[0]), close (pfd[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      int nul = open ("/dev/null", O_RDONLY);
      /* a group of its own: the command it starts in the chute is in it too,
       * and goes with it when the probe is out of time */
      if (setpgid (0, 0) < 0 || nul < 0 || dup2 (nul, 0) < 0 || dup2 (pfd[1], 1) < 0 || dup2 (pfd[1], 2) < 0)
        _exit (127);
      execv (tool, argv);
      _exit (127);
    }
  setpgid (pid, pid); /* as the child does: whichever comes first */
  close (pfd[1]);
  rfd = pfd[0];
  for (;;)
    {
      cleanup_error ch_error_t e2 = NULL;
      ssize_t n;
      if (wait_fd (rfd, POLLIN, deadline, &e2) < 0)
        {
          late = true;
          if (kill (-pid, SIGKILL) < 0)
            kill (pid, SIGKILL);
          break;
        }
      n = read (rfd, out + len, 2 * OUT_KEEP - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += n;
      if (len == 2 * OUT_KEEP)
        {
          memmove (out, out + OUT_KEEP, OUT_KEEP);
          len = OUT_KEEP;
        }
    }
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  if (late)
    return ch_error (err, 0, "no result in time");
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  {
    const char *line = last_line (out, len);
    if (WIFSIGNALED (st))
      return ch_error (err, 0, "killed by signal %d%s%s", WTERMSIG (st), *line ? ": " : "", line);
    return ch_error (err, 0, "exited with code %d%s%s", WEXITSTATUS (st), *line ? ": " : "", line);
  }
}

int
ch_health_probe_once (struct ch_ctx *ctx, const struct ch_health_probe *p, const char *name, pid_t pid,
                      int64_t timeout_ms, ch_error_t *err)
{
  int64_t deadline = ch_now_ms () + timeout_ms;
  cleanup_close int fd = -1;

  switch (p->kind)
    {
    case CH_HEALTH_HTTP: return http_probe (p, pid, deadline, err);
    case CH_HEALTH_TCP: return connect_loopback (pid, p->port, deadline, &fd, err);
    case CH_HEALTH_EXEC: return exec_probe (ctx, p, name, deadline, err);
    default: return 0;
    }
}

int
ch_engine_wait_healthy (struct ch_ctx *ctx, const struct ch_chutefile *m, ch_error_t *err)
{
  const char *name = m->chute.name;
  cleanup_free char *svc = NULL;
  int64_t t0, next, deadline, grace_end;
  cleanup_error ch_error_t why = NULL;
  struct ch_health_probe p;
  json_int_t restarts;
  bool passed = false;
  uint64_t grace_s = m->health_grace_s;
  pid_t pid;
  int r;

  if (m->health_kind == CH_HEALTH_ALIVE)
    return ch_engine_wait_alive (ctx, name, grace_s, err);
  if (m->n_svc > 1)
    {
      /* a pod: every service alive for the grace, then the probe through
       * the service that serves (web.service, else the first): all share
       * one network, and exec runs there */
      if (ch_engine_wait_alive (ctx, name, grace_s, err) < 0)
        return -1;
      svc = xasprintf ("%s%c%s", name, CH_POD_SEP, m->web_service.s ? m->web_service.s : m->svc[0].name.s);
      name = svc;
      grace_s = 0;
    }
  t0 = ch_now_ms ();
  next = t0;
  deadline = t0 + (int64_t) m->health_timeout_s * 1000;
  grace_end = t0 + (int64_t) grace_s * 1000;
  {
    cleanup_json json_t *st = ch_chute_status (ctx, name);
    restarts = json_integer_value (json_object_get (st, "restarts"));
    pid = (pid_t) json_integer_value (json_object_get (st, "pid"));
  }
  ch_health_probe_from (m, &p);
  for (;;)
    {
      int64_t now, nap = 100;
      /* a chute that exits or restarts fails the gate, whatever a probe said */
      if ((r = ch_engine_check_alive (ctx, name, restarts, err)) < 0)
        break;
      now = ch_now_ms ();
      if (!passed && now >= deadline)
        {
          cleanup_free char *what = ch_health_probe_name (&p);
          r = ch_error (err, 0, "health: %s: %s after %llus", what, why ? why->msg : "not probed",
                        (unsigned long long) m->health_timeout_s);
          break;
        }
      if (!passed && now >= next)
        {
          ch_error_release (&why);
          if (pid <= 0)
            ch_error (&why, 0, "chute `%s` has no process", name);
          else
            passed = ch_health_probe_once (ctx, &p, name, pid, deadline - now, &why) == 0;
          next = now + (int64_t) m->health_interval_s * 1000;
          continue; /* the chute's state again after a probe that may have taken long */
        }
      if (passed && now >= grace_end)
        break;
      if (!passed && next - now < nap)
        nap = next - now;
      usleep (nap * 1000);
    }
  ch_health_probe_clear (&p);
  return r;
}
