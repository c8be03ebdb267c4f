/* The REST API's TLS (--api tcp:... --tls-cert --tls-key), the daemon's own
 * on mbedTLS (mgmt/tls.h): libmicrohttpd is built without HTTPS (it costs
 * the daemon GnuTLS, ~1.1 MB, served or not). The daemon accepts on the TCP
 * socket itself, hands libmicrohttpd one end of a socketpair per
 * connection (MHD_add_connection: its connection limit, per-address limit
 * and idle timeout hold as for any connection) and relays the other end
 * to the client through a pump, in its own epoll set. A client that has
 * not finished its handshake after the connection timeout is dropped. */
#include "common/util.h"
#include "mgmt/daemon.h"
#include "mgmt/tls.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct dm_tls_conn
{
  struct ch_tls_pump *pump;
  int64_t deadline; /* ms: its handshake ends by then, or it is dropped */
};

struct dm_tls
{
  struct ch_tls_conf *conf;
  struct dm_tls_conn *c;
  size_t n;
};

int
dm_tls_listen (struct ch_daemon *d, struct dm_listener *l, int fd, ch_error_t *err)
{
  struct ch_tls_files f = { NULL, d->opt->tls_cert, d->opt->tls_key, NULL, "--tls-cert", "--tls-key" };

  if (d->tls == NULL)
    {
      d->tls = xzalloc (sizeof (*d->tls));
      if (ch_tls_conf_new (&d->tls->conf, CH_TLS_SERVER, &f, err) < 0)
        {
          close (fd);
          return -1;
        }
    }
  l->tls_fd = fd;
  return dm_watch (d, fd, true, err);
}

static void
drop (struct dm_tls *t, size_t i)
{
  ch_tls_pump_free (t->c[i].pump); /* closes both: libmicrohttpd sees its end close */
  t->c[i] = t->c[--t->n];
}

void
dm_tls_close (struct ch_daemon *d)
{
  if (d->tls == NULL)
    return;
  while (d->tls->n)
    drop (d->tls, 0);
  free (d->tls->c);
  ch_tls_conf_free (d->tls->conf);
  free (d->tls);
  d->tls = NULL;
}

/* Run pump I; gone when a side closed or it failed. */
static void
run (struct ch_daemon *d, size_t i)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_tls_pump *p = d->tls->c[i].pump;
  int fd = ch_tls_pump_net_fd (p);

  if (ch_tls_pump_run (p, &e) != 0)
    {
      drop (d->tls, i);
      return;
    }
  if (ch_tls_pump_up (p))
    d->tls->c[i].deadline = 0;
  ch_tls_pump_watch (p, d->epfd, (epoll_data_t) { .fd = fd }, (epoll_data_t) { .fd = ch_tls_pump_plain_fd (p) });
}

static void
accept_all (struct ch_daemon *d, struct dm_listener *l)
{
  struct dm_tls *t = d->tls;

  for (;;)
    {
      cleanup_error ch_error_t e = NULL;
      struct sockaddr_storage sa;
      socklen_t len = sizeof (sa);
      struct ch_tls_pump *p;
      int fd = accept4 (l->tls_fd, (struct sockaddr *) &sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC), sv[2];

      if (fd < 0)
        return; /* none left (EAGAIN), or out of fds: the next wake-up retries */
      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        {
          close (fd);
          return;
        }
      /* the client's address: libmicrohttpd's per-address limit counts it;
       * refused, it has closed its end */
      if (MHD_add_connection (l->mhd, sv[1], (struct sockaddr *) &sa, len) != MHD_YES)
        {
          close (sv[0]);
          close (fd);
          continue;
        }
      if (ch_tls_pump_new (&p, t->conf, fd, false, sv[0], NULL, &e) < 0)
        continue;
      t->c = xrealloc (t->c, (t->n + 1) * sizeof (*t->c));
      t->c[t->n++] = (struct dm_tls_conn) { p, ch_now_ms () + (int64_t) d->opt->timeout_s * 1000 };
      run (d, t->n - 1);
    }
}

bool
dm_tls_ready (struct ch_daemon *d, int fd)
{
  if (d->tls == NULL)
    return false;
  for (size_t i = 0; i < d->n_listeners; i++)
    if (d->listeners[i].tls_fd == fd)
      {
        accept_all (d, &d->listeners[i]);
        return true;
      }
  for (size_t i = 0; i < d->tls->n; i++)
    if (ch_tls_pump_net_fd (d->tls->c[i].pump) == fd || ch_tls_pump_plain_fd (d->tls->c[i].pump) == fd)
      {
        run (d, i);
        return true;
      }
  return false;
}

int
dm_tls_tick (struct ch_daemon *d)
{
  int64_t now = ch_now_ms ();
  int t = -1;

  if (d->tls == NULL)
    return -1;
  for (size_t i = 0; i < d->tls->n;)
    {
      int64_t dl = d->tls->c[i].deadline;

      if (dl && dl <= now)
        {
          drop (d->tls, i);
          continue;
        }
      if (dl && (t < 0 || dl - now < t))
        t = (int) (dl - now);
      i++;
    }
  return t;
}
