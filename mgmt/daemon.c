/* chuted-daemon's loop: the listeners (a unix socket, 0600, and TCP only
 * when asked), one epoll set over libmicrohttpd's own epoll fds, a signalfd
 * (SIGCHLD: a change's child ended; SIGTERM/SIGINT: stop) and the change
 * pipes. Single-threaded, so forking a change's child is safe. */
#include "mgmt/daemon.h"
#include "common/file.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int
dm_watch (struct ch_daemon *d, int fd, bool add, ch_error_t *err)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

  if (epoll_ctl (d->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
    return ch_error (err, errno, "epoll_ctl fd %d", fd);
  return 0;
}

/* ADDR:PORT (an IPv6 address in brackets) */
static int
listen_tcp (const char *spec, int *out, ch_error_t *err)
{
  cleanup_free char *host = NULL;
  const char *colon = strrchr (spec, ':');
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
  struct addrinfo *ai = NULL;
  cleanup_close int fd = -1;
  int one = 1, r;

  if (colon == NULL || colon == spec || colon[1] == '\0')
    return ch_error (err, 0, "tcp:%s: want tcp:ADDR:PORT (0.0.0.0:8642, [::1]:8642)", spec);
  host = xstrndup (spec, colon - spec);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      memmove (host, host + 1, strlen (host));
      host[strlen (host) - 1] = '\0';
    }
  r = getaddrinfo (host, colon + 1, &hints, &ai);
  if (r != 0)
    return ch_error (err, 0, "tcp:%s: %s", spec, gai_strerror (r));
  fd = socket (ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0)
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof (one));
  if (fd < 0 || bind (fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen (fd, DM_BACKLOG) < 0)
    {
      freeaddrinfo (ai);
      return ch_error (err, errno, "tcp:%s", spec);
    }
  freeaddrinfo (ai);
  *out = steal_fd (&fd);
  return 0;
}

static int
add_listener (struct ch_daemon *d, const char *api, ch_error_t *err)
{
  struct dm_listener *l = &d->listeners[d->n_listeners];
  /* no MHD_USE_ERROR_LOG: a hostile client would write the log full */
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
  int fd = -1;
  bool tls;
  const union MHD_DaemonInfo *info;

  if (d->n_listeners == sizeof (d->listeners) / sizeof (d->listeners[0]))
    return ch_error (err, 0, "--api %s: too many listeners", api);
  memset (l, 0, sizeof (*l));
  l->d = d;
  l->epoll_fd = -1;
  l->tls_fd = -1;
  if (ch_has_prefix (api, "unix:"))
    {
      /* replacing a stale socket: the daemon's lock says no other daemon serves it */
      if (ch_unix_listen (api + 5, SOCK_NONBLOCK, DM_BACKLOG, &fd, err) < 0)
        return ch_error_prefix (err, "--api %s", api);
      l->unix_path = xstrdup (api + 5);
    }
  else if (ch_has_prefix (api, "tcp:"))
    {
      if (d->opt->token == NULL)
        return ch_error (err, 0, "--api %s: TCP needs a bearer token (--token-file)", api);
      if (listen_tcp (api + 4, &fd, err) < 0)
        return -1;
      l->tcp = true;
    }
  else
    return ch_error (err, 0, "--api %s: want unix:PATH or tcp:ADDR:PORT", api);
  /* TLS is the daemon's (daemon_tls.c): it accepts, libmicrohttpd gets
   * the cleartext end of each connection */
  tls = l->tcp && d->opt->tls_cert;
  if (tls)
    flags |= MHD_USE_NO_LISTEN_SOCKET;
  l->mhd = MHD_start_daemon (flags, 0, NULL, NULL, dm_api_handler, l,
                             MHD_OPTION_CONNECTION_LIMIT, d->opt->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
                             d->opt->timeout_s, MHD_OPTION_NOTIFY_COMPLETED, dm_api_completed, l,
                             /* headers past this are refused (431), a request's state bounded */
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
                             /* on TCP one address cannot take every connection */
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, l->tcp ? DM_PER_IP_MAX : 0u,
                             tls ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_END);
  if (l->mhd == NULL)
    {
      close (fd);
      return ch_error (err, 0, "--api %s: libmicrohttpd would not start", api);
    }
  info = MHD_get_daemon_info (l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
  l->epoll_fd = info ? info->epoll_fd : -1;
  d->n_listeners++;
  if (tls && dm_tls_listen (d, l, fd, err) < 0)
    return ch_error_prefix (err, "--api %s", api);
  if (l->epoll_fd < 0)
    return ch_error (err, 0, "--api %s: libmicrohttpd has no epoll fd", api);
  return dm_watch (d, l->epoll_fd, true, err);
}

static void
stop_listeners (struct ch_daemon *d)
{
  dm_tls_close (d);
  for (size_t i = 0; i < d->n_listeners; i++)
    {
      struct dm_listener *l = &d->listeners[i];
      if (l->tls_fd >= 0)
        close (l->tls_fd);
      if (l->mhd)
        MHD_stop_daemon (l->mhd);
      if (l->unix_path)
        unlink (l->unix_path);
      free (l->unix_path);
    }
  d->n_listeners = 0;
}

static void
run_mhd (struct ch_daemon *d)
{
  for (size_t i = 0; i < d->n_listeners; i++)
    MHD_run (d->listeners[i].mhd);
}

/* The wait: MHD's own timeouts, the streams' ticks. */
static int
next_timeout (struct ch_daemon *d)
{
  int t = dm_streams_tick (d), h = dm_tls_tick (d);

  if (h >= 0 && (t < 0 || h < t))
    t = h;
  for (size_t i = 0; i < d->n_listeners; i++)
    {
      MHD_UNSIGNED_LONG_LONG ms;
      if (MHD_get_timeout (d->listeners[i].mhd, &ms) == MHD_YES && (t < 0 || ms < (MHD_UNSIGNED_LONG_LONG) t))
        t = (int) (ms > 60000 ? 60000 : ms);
    }
  return t;
}

static void
on_signals (struct ch_daemon *d)
{
  struct signalfd_siginfo si;
  int status;
  pid_t pid;

  while (read (d->sigfd, &si, sizeof (si)) == sizeof (si))
    if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
      d->stopping = true;
  /* a chute's monitor may be our child too (started by a change's child
   * that exited): every child is reaped here */
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    dm_change_reaped (d, pid, status);
}

static int
loop (struct ch_daemon *d, ch_error_t *err)
{
  struct epoll_event evs[16];

  while (!d->stopping)
    {
      int t = next_timeout (d), ct = d->link ? d->link->prepare (d) : -1;
      int n = epoll_wait (d->epfd, evs, 16, ct >= 0 && (t < 0 || ct < t) ? ct : t);
      if (n < 0 && errno != EINTR)
        return ch_error (err, errno, "epoll_wait");
      for (int i = 0; i < n; i++)
        {
          int fd = evs[i].data.fd;
          bool mhd = false;
          for (size_t k = 0; k < d->n_listeners; k++)
            mhd |= fd == d->listeners[k].epoll_fd;
          if (fd == d->sigfd)
            on_signals (d);
          else if (d->link && d->link->ready (d, fd, evs[i].events))
            ;
          else if (dm_tls_ready (d, fd))
            ;
          else if (!mhd)
            dm_change_readable (d, fd);
        }
      run_mhd (d);
    }
  return 0;
}

static int
take_lock (struct ch_daemon *d, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/daemon.lock", d->ctx->run_root);

  if (ch_mkdir_p (d->ctx->run_root, 0700, err) < 0)
    return -1;
  d->lock = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (d->lock < 0)
    return ch_error (err, errno, "%s", path);
  if (lockf (d->lock, F_TLOCK, 0) < 0)
    return ch_error (err, errno == EAGAIN || errno == EACCES ? 0 : errno, "%s: %s", path,
                     errno == EAGAIN || errno == EACCES ? "another chuted daemon runs on this run root" : "lock");
  return 0;
}

int
ch_daemon_run (struct ch_ctx *ctx, struct dm_options *opt, const struct dm_cloud_link *link, ch_error_t *err)
{
  struct ch_daemon d = { .ctx = ctx, .opt = opt, .link = link, .epfd = -1, .sigfd = -1, .lock = -1, .cloud_fd = -1 };
  cleanup_free char *def = xasprintf ("unix:%s/api.sock", ctx->run_root);
  sigset_t mask;
  int r = -1;

  signal (SIGPIPE, SIG_IGN);
  d.upload_dir = xasprintf ("%s/deploy/uploads", ctx->root);
  if (take_lock (&d, err) < 0 || ch_mkdir_p (d.upload_dir, 0700, err) < 0)
    goto out;
  d.epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (d.epfd < 0)
    {
      ch_error (err, errno, "epoll_create1");
      goto out;
    }
  for (char **a = opt->apis; a && *a; a++)
    if (add_listener (&d, *a, err) < 0)
      goto out;
  if (d.n_listeners == 0 && add_listener (&d, def, err) < 0)
    goto out;
  /* boot restore before serving (a request sees the chutes back; clients
   * wait in the listen queue), and before the signals are blocked: what it
   * starts (hostapd, dnsmasq, monitors) must not inherit that mask */
  if (!opt->no_reconcile)
    {
      cleanup_error ch_error_t rerr = NULL;
      if (dm_engine_reconcile (ctx, &rerr) < 0)
        fprintf (stderr, "chuted-daemon: reconcile: %s\n", rerr->msg);
    }
  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  d.sigfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (d.sigfd < 0)
    {
      ch_error (err, errno, "signalfd");
      goto out;
    }
  if (dm_watch (&d, d.sigfd, true, err) < 0 || (link && link->open (&d, err) < 0))
    goto out;
  fprintf (stderr, "chuted-daemon: serving (%zu listener%s)\n", d.n_listeners, d.n_listeners > 1 ? "s" : "");
  r = loop (&d, err);
  /* SIGTERM: a change under way is its child's, which finishes it (its
   * journal says how); queued ones were never begun */
  for (struct dm_change *c = d.changes; c; c = c->next)
    if (c->state == DM_QUEUED)
      fprintf (stderr, "chuted-daemon: change %s (%s %s) dropped at shutdown before it began\n", c->id, c->kind,
               c->chute);
  dm_streams_end_all (&d);
  run_mhd (&d);
out:
  if (link)
    link->close (&d);
  stop_listeners (&d);
  dm_changes_free (&d);
  if (d.epfd >= 0)
    close (d.epfd);
  if (d.sigfd >= 0)
    close (d.sigfd);
  if (d.lock >= 0)
    close (d.lock);
  free (d.upload_dir);
  return r;
}
