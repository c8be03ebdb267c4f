/* The cloud link's connection to the broker: libmosquitto (built without
 * TLS) connects to a unix socket of the link's, and the link relays it to
 * the broker over TLS with mbedTLS (mgmt/tls.h); its sockets are one epoll
 * set, the fd its host watches (mgmt/cloud.h).
 *
 * The socket, RUN_ROOT/cloud.PID.sock, 0600 (root's), exists only while a
 * connection is made: libmosquitto's non-blocking connect to a listening
 * unix socket completes at once, its end is accepted (and checked to be
 * this process's), the file is gone again before the broker is dialled. */
#include "common/file.h"
#include "common/sock.h"
#include "common/util.h"
#include "mgmt/cloud_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define KEEPALIVE_S 30

int
ch_cloud_conn_open (struct ch_cloud *l, const struct ch_cloud_opts *o, ch_error_t *err)
{
  struct ch_tls_files f = { o->ca, o->cert, o->key, "--ca", "--cert", "--key" };

  l->mqtt_fd = -1;
  l->sock = xasprintf ("%s/cloud.%d.sock", l->ctx->run_root, (int) getpid ());
  if (strlen (l->sock) >= sizeof (((struct sockaddr_un *) 0)->sun_path))
    return ch_error (err, ENAMETOOLONG, "the link's socket %s", l->sock);
  l->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (l->epfd < 0)
    return ch_error (err, errno, "epoll_create1");
  return ch_tls_conf_new (&l->tls, CH_TLS_CLIENT, &f, err);
}

/* Watch libmosquitto's socket FD for EVENTS; -1: none (out of the set: a
 * closed socket would report its hangup without end). */
static void
watch (struct ch_cloud *l, int fd, uint32_t events)
{
  struct epoll_event ev = { .events = events, .data.u32 = CLOUD_FD_MQTT };

  if (l->mqtt_fd == fd && l->mqtt_events == events)
    return;
  if (l->mqtt_fd >= 0 && l->mqtt_fd != fd)
    epoll_ctl (l->epfd, EPOLL_CTL_DEL, l->mqtt_fd, NULL); /* fails when it was closed: gone then */
  l->mqtt_fd = fd;
  l->mqtt_events = events;
  /* a new socket may have the old one's number: MOD, else ADD */
  if (fd >= 0 && epoll_ctl (l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0
      && (errno != ENOENT || epoll_ctl (l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0))
    fprintf (stderr, "chuted cloud: epoll_ctl: %m\n");
}

void
ch_cloud_conn_watch (struct ch_cloud *l)
{
  epoll_data_t net = { .u32 = CLOUD_FD_NET }, plain = { .u32 = CLOUD_FD_PLAIN };

  if (l->pump)
    ch_tls_pump_watch (l->pump, l->epfd, net, plain);
  watch (l, l->conn == CLOUD_DOWN ? -1 : mosquitto_socket (l->m),
         EPOLLIN | (mosquitto_want_write (l->m) ? EPOLLOUT : 0));
}

void
ch_cloud_conn_drop (struct ch_cloud *l)
{
  ch_tls_pump_free (l->pump);
  l->pump = NULL;
}

void
ch_cloud_conn_close (struct ch_cloud *l)
{
  ch_cloud_conn_drop (l);
  ch_tls_conf_free (l->tls);
  if (l->epfd >= 0)
    close (l->epfd);
  free (l->sock);
}

/* Relay what can move; a side that closed or failed closes the other:
 * libmosquitto reads what the broker sent before (a refused CONNACK), then
 * the end of its socket, and the link reconnects. */
static void
relay (struct ch_cloud *l)
{
  cleanup_error ch_error_t e = NULL;
  int r = ch_tls_pump_run (l->pump, &e);

  if (r == 0)
    return;
  if (r < 0)
    fprintf (stderr, "chuted cloud: broker %s:%d: %s\n", l->host, l->port, e->msg);
  ch_cloud_conn_drop (l);
}

/* libmosquitto's connection, accepted on the link's socket: it is made
 * and gone again here. */
static int
local_pair (struct ch_cloud *l, int *plain, ch_error_t *err)
{
  cleanup_close int lfd = -1;
  struct ucred cred;
  socklen_t len = sizeof (cred);
  int r, rc;

  /* one there is of a process of this pid that died */
  if (ch_mkdir_p (l->ctx->run_root, 0700, err) < 0 || ch_unix_listen (l->sock, SOCK_NONBLOCK, 1, &lfd, err) < 0)
    return -1;
  rc = l->started ? mosquitto_reconnect_async (l->m) : mosquitto_connect_async (l->m, l->sock, 0, KEEPALIVE_S);
  l->started = true;
  *plain = rc == MOSQ_ERR_SUCCESS ? accept4 (lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) : -1;
  r = errno;
  unlink (l->sock);
  if (rc != MOSQ_ERR_SUCCESS)
    return ch_error (err, 0, "connect to %s: %s", l->sock, mosquitto_strerror (rc));
  if (*plain < 0)
    return ch_error (err, r, "accept on %s", l->sock);
  /* root only could connect, and what connected must be this process */
  if (getsockopt (*plain, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid != getpid ())
    {
      close (*plain);
      return ch_error (err, 0, "%s: a connection not of this process", l->sock);
    }
  return 0;
}

/* A non-blocking connect to the broker: its first address that takes one. */
static int
dial (struct ch_cloud *l, int *out, ch_error_t *err)
{
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  char port[16];
  int r, e = 0;

  snprintf (port, sizeof (port), "%d", l->port);
  r = getaddrinfo (l->host, port, &hints, &ai);
  if (r != 0)
    return ch_error (err, r == EAI_SYSTEM ? errno : 0, "%s: %s", l->host,
                     r == EAI_SYSTEM ? "getaddrinfo" : gai_strerror (r));
  for (struct addrinfo *a = ai; a; a = a->ai_next)
    {
      int fd = socket (a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);

      if (fd < 0)
        {
          e = errno;
          continue;
        }
      if (connect (fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS)
        {
          freeaddrinfo (ai);
          *out = fd;
          return 0;
        }
      e = errno;
      close (fd);
    }
  freeaddrinfo (ai);
  return ch_error (err, e, "connect");
}

int
ch_cloud_conn_start (struct ch_cloud *l, ch_error_t *err)
{
  int plain = -1, net = -1;

  if (local_pair (l, &plain, err) < 0)
    return -1;
  if (dial (l, &net, err) < 0)
    {
      close (plain);
      return -1;
    }
  if (ch_tls_pump_new (&l->pump, l->tls, net, true, plain, l->host, err) < 0)
    return -1;
  relay (l);
  return 0;
}

void
ch_cloud_conn_ready (struct ch_cloud *l)
{
  struct epoll_event evs[3];
  bool pump = false;
  int n = epoll_wait (l->epfd, evs, 3, 0);

  for (int i = 0; i < n; i++)
    {
      if (evs[i].data.u32 != CLOUD_FD_MQTT)
        pump = true;
      else if (l->conn == CLOUD_DOWN)
        continue;
      else if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && mosquitto_loop_read (l->m, 1) != MOSQ_ERR_SUCCESS)
        ch_cloud_lost (l);
      else if ((evs[i].events & EPOLLOUT) && l->conn != CLOUD_DOWN
               && mosquitto_loop_write (l->m, 1) != MOSQ_ERR_SUCCESS)
        ch_cloud_lost (l);
    }
  /* after libmosquitto: what it wrote goes out now */
  if (l->pump && (pump || n > 0))
    relay (l);
  ch_cloud_conn_watch (l);
}
