/* One TLS connection relayed to a plain socket without blocking
 * (mgmt/tls.h): connect, handshake, then records both ways, as far as
 * each side takes them; what it waited for on each side is what the owner's
 * event loop watches for the next run. */
#include "common/util.h"
#include "mgmt/tls_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PUMP_BUF 4096 /* per direction; MQTT's and the REST API's messages are small */

struct ch_tls_pump
{
  struct ch_tls_conf *conf;
  mbedtls_ssl_context ssl;
  int net, plain;
  int net_errno; /* of the last failed send or recv on NET */
  bool connecting, up;
  bool net_in, net_out, plain_in, plain_out; /* what the last run waited for */
  uint32_t watched[2];                       /* the events an epoll set has for NET, PLAIN (ch_tls_pump_watch) */
  char *peer;                                /* client role: the name the server's certificate must carry */
  unsigned char peer_ip[16];
  size_t peer_ip_len; /* 0: PEER is a DNS name */
  unsigned char to_net[PUMP_BUF], to_plain[PUMP_BUF];
  size_t to_net_off, to_net_len, to_plain_off, to_plain_len;
};

static int
net_send (void *data, const unsigned char *buf, size_t len)
{
  struct ch_tls_pump *p = data;
  ssize_t n = send (p->net, buf, len, MSG_NOSIGNAL);

  if (n >= 0)
    return (int) n;
  if (errno == EAGAIN || errno == EINTR)
    return MBEDTLS_ERR_SSL_WANT_WRITE;
  p->net_errno = errno;
  return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
net_recv (void *data, unsigned char *buf, size_t len)
{
  struct ch_tls_pump *p = data;
  ssize_t n = recv (p->net, buf, len, 0);

  if (n >= 0)
    return (int) n; /* 0: the peer closed; mbedTLS says MBEDTLS_ERR_SSL_CONN_EOF */
  if (errno == EAGAIN || errno == EINTR)
    return MBEDTLS_ERR_SSL_WANT_READ;
  p->net_errno = errno;
  return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}

/* A dNSName (LEN bytes, not terminated) against HOST: equal but for case,
 * or "*." and a suffix that HOST has after its first label. */
static bool
dns_match (const unsigned char *name, size_t len, const char *host)
{
  const char *dot;

  if (len == strlen (host) && strncasecmp ((const char *) name, host, len) == 0)
    return true;
  if (len < 3 || name[0] != '*' || name[1] != '.' || memchr (name + 1, '*', len - 1))
    return false;
  dot = strchr (host, '.');
  return dot && dot != host && strlen (dot) == len - 1 && strncasecmp (dot, (const char *) name + 1, len - 1) == 0;
}

static bool
name_matches (const struct ch_tls_pump *p, const mbedtls_x509_crt *crt)
{
  bool any_dns = false;

  for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next)
    {
      if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS))
        {
          if (p->peer_ip_len && s->buf.len == p->peer_ip_len && memcmp (s->buf.p, p->peer_ip, p->peer_ip_len) == 0)
            return true;
        }
      else if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME))
        {
          any_dns = true;
          if (!p->peer_ip_len && dns_match (s->buf.p, s->buf.len, p->peer))
            return true;
        }
    }
  if (p->peer_ip_len || any_dns)
    return false;
  for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
    if (n->oid.p && MBEDTLS_OID_CMP (MBEDTLS_OID_AT_CN, &n->oid) == 0)
      return dns_match (n->val.p, n->val.len, p->peer);
  return false;
}

static int
verify (void *data, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
  struct ch_tls_pump *p = data;

  if (depth == 0 && p->peer && !name_matches (p, crt))
    *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
  return 0;
}

int
ch_tls_pump_new (struct ch_tls_pump **out, struct ch_tls_conf *conf, int net_fd, bool connecting, int plain_fd,
                 const char *peer, ch_error_t *err)
{
  struct ch_tls_pump *p = xzalloc (sizeof (*p));
  int r = 0;

  *out = NULL;
  p->conf = conf;
  p->net = net_fd;
  p->plain = plain_fd;
  p->connecting = connecting;
  mbedtls_ssl_init (&p->ssl);
  if (peer)
    {
      p->peer = xstrdup (peer);
      if (inet_pton (AF_INET, peer, p->peer_ip) == 1)
        p->peer_ip_len = 4;
      else if (inet_pton (AF_INET6, peer, p->peer_ip) == 1)
        p->peer_ip_len = 16;
    }
  r = mbedtls_ssl_setup (&p->ssl, &conf->ssl);
  /* the server name (SNI) for a DNS name only; the name is checked by
   * verify() */
  if (r == 0 && peer && !p->peer_ip_len)
    r = mbedtls_ssl_set_hostname (&p->ssl, peer);
  if (r != 0)
    {
      char buf[128];

      mbedtls_strerror (r, buf, sizeof (buf));
      ch_tls_pump_free (p);
      return ch_error (err, 0, "TLS: %s", buf);
    }
  mbedtls_ssl_set_verify (&p->ssl, verify, p);
  mbedtls_ssl_set_bio (&p->ssl, p, net_send, net_recv, NULL);
  *out = p;
  return 0;
}

void
ch_tls_pump_free (struct ch_tls_pump *p)
{
  if (p == NULL)
    return;
  mbedtls_ssl_free (&p->ssl);
  if (p->net >= 0)
    close (p->net);
  if (p->plain >= 0)
    close (p->plain);
  free (p->peer);
  free (p);
}

int
ch_tls_pump_net_fd (const struct ch_tls_pump *p)
{
  return p->net;
}

int
ch_tls_pump_plain_fd (const struct ch_tls_pump *p)
{
  return p->plain;
}

bool
ch_tls_pump_up (const struct ch_tls_pump *p)
{
  return p->up;
}

void
ch_tls_pump_events (const struct ch_tls_pump *p, uint32_t *net_ev, uint32_t *plain_ev)
{
  *net_ev = (p->net_in ? EPOLLIN : 0) | (p->net_out ? EPOLLOUT : 0);
  *plain_ev = (p->plain_in ? EPOLLIN : 0) | (p->plain_out ? EPOLLOUT : 0);
}

static void
watch1 (int epfd, int fd, uint32_t *cur, uint32_t want, epoll_data_t data)
{
  struct epoll_event ev = { .events = want, .data = data };
  int op = *cur == want ? -1 : want == 0 ? EPOLL_CTL_DEL : *cur == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;

  if (op >= 0 && epoll_ctl (epfd, op, fd, &ev) == 0)
    *cur = want;
}

void
ch_tls_pump_watch (struct ch_tls_pump *p, int epfd, epoll_data_t net, epoll_data_t plain)
{
  uint32_t n, l;

  ch_tls_pump_events (p, &n, &l);
  watch1 (epfd, p->net, &p->watched[0], n, net);
  watch1 (epfd, p->plain, &p->watched[1], l, plain);
}

static const char *
alert_name (int a)
{
  switch (a)
    {
    case MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE:
      return "handshake failure: no parameters in common";
    case MBEDTLS_SSL_ALERT_MSG_BAD_CERT:
      return "bad certificate: ours refused";
    case MBEDTLS_SSL_ALERT_MSG_UNSUPPORTED_CERT:
      return "unsupported certificate: ours refused";
    case MBEDTLS_SSL_ALERT_MSG_CERT_REVOKED:
      return "certificate revoked: ours";
    case MBEDTLS_SSL_ALERT_MSG_CERT_EXPIRED:
      return "certificate expired: ours";
    case MBEDTLS_SSL_ALERT_MSG_CERT_UNKNOWN:
      return "certificate unknown: ours refused";
    case MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA:
      return "unknown CA: ours not trusted";
    case MBEDTLS_SSL_ALERT_MSG_ACCESS_DENIED:
      return "access denied";
    case MBEDTLS_SSL_ALERT_MSG_PROTOCOL_VERSION:
      return "protocol version: it wants another than TLS 1.2";
    case MBEDTLS_SSL_ALERT_MSG_INSUFFICIENT_SECURITY:
      return "insufficient security";
    case 116: /* certificate_required (RFC 8446), unknown to mbedTLS 2.28 */
      return "certificate required: ours not sent";
    default:
      return "see RFC 5246, 7.2";
    }
}

/* The peer's certificate failed verification: why, in words. */
static int
verify_error (struct ch_tls_pump *p, ch_error_t *err)
{
  uint32_t f = mbedtls_ssl_get_verify_result (&p->ssl);
  const char *ca = p->conf->ca_desc ? p->conf->ca_desc : "the CA";
  char info[256];

  if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
    return ch_error (err, 0, "TLS handshake: the peer's certificate does not chain to %s", ca);
  if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
    return ch_error (err, 0, "TLS handshake: the peer's certificate is not for %s (another name)", p->peer);
  if (f & MBEDTLS_X509_BADCERT_EXPIRED)
    return ch_error (err, 0, "TLS handshake: the peer's certificate has expired");
  if (f & MBEDTLS_X509_BADCERT_FUTURE)
    return ch_error (err, 0, "TLS handshake: the peer's certificate is not valid yet");
  if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCRL_BAD_MD))
    return ch_error (err, 0, "TLS handshake: the peer's certificate chain is signed with SHA-1 or weaker");
  if (f & (MBEDTLS_X509_BADCERT_BAD_KEY | MBEDTLS_X509_BADCERT_BAD_PK))
    return ch_error (err, 0, "TLS handshake: the peer's certificate chain has a weak key (RSA under 2048 bits?)");
  if (mbedtls_x509_crt_verify_info (info, sizeof (info), "", f) < 0 || info[0] == '\0')
    snprintf (info, sizeof (info), "verification flags %#x", f);
  info[strcspn (info, "\n")] = '\0';
  return ch_error (err, 0, "TLS handshake: the peer's certificate: %s", info);
}

/* R, an mbedTLS error of the handshake (UP false) or of a record (true). */
static int
tls_error (struct ch_tls_pump *p, int r, ch_error_t *err)
{
  const char *what = p->up ? "TLS" : "TLS handshake";
  char buf[128];

  if (!p->up && r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
    return verify_error (p, err);
  if (r == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
    /* the alert is in the record read last (mbedTLS 2.28 keeps it there) */
    return ch_error (err, 0, "%s: the peer ended it with alert %d (%s)", what, p->ssl.in_msg[1],
                     alert_name (p->ssl.in_msg[1]));
  /* a server that refuses a client's certificate may close before the
   * client's last records are read: its alert is lost in the reset */
  if (!p->up && r == MBEDTLS_ERR_NET_CONN_RESET && p->conf->role == CH_TLS_CLIENT)
    return ch_error (err, 0, "%s: the peer reset the connection (this side's certificate refused?)", what);
  if (r == MBEDTLS_ERR_SSL_CONN_EOF || r == MBEDTLS_ERR_NET_CONN_RESET)
    return ch_error (err, p->net_errno, "%s: the peer closed the connection", what);
  if (r == MBEDTLS_ERR_NET_SEND_FAILED || r == MBEDTLS_ERR_NET_RECV_FAILED)
    return ch_error (err, p->net_errno, "%s", what);
  mbedtls_strerror (r, buf, sizeof (buf));
  return ch_error (err, 0, "%s: %s", what, buf);
}

static int
connected (struct ch_tls_pump *p, ch_error_t *err)
{
  struct pollfd pf = { .fd = p->net, .events = POLLOUT };
  socklen_t len = sizeof (int);
  int e = 0;

  if (poll (&pf, 1, 0) == 0)
    {
      p->net_out = true;
      return 0;
    }
  if (getsockopt (p->net, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
    e = errno;
  if (e != 0)
    return ch_error (err, e, "connect");
  p->connecting = false;
  return 1;
}

/* Plain → TLS: a read when its buffer is empty, then the records. */
static int
move_to_net (struct ch_tls_pump *p, bool *moved, ch_error_t *err)
{
  if (p->to_net_len == 0)
    {
      ssize_t n = recv (p->plain, p->to_net, sizeof (p->to_net), 0);

      if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
        {
          mbedtls_ssl_close_notify (&p->ssl); /* courtesy: nothing waits for it */
          return 1;
        }
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return ch_error (err, errno, "TLS relay: read");
      if (n < 0)
        {
          p->plain_in = true;
          return 0;
        }
      p->to_net_off = 0;
      p->to_net_len = (size_t) n;
      *moved = true;
    }
  while (p->to_net_len > 0)
    {
      int r = mbedtls_ssl_write (&p->ssl, p->to_net + p->to_net_off, p->to_net_len);

      if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ)
        {
          p->net_out |= r == MBEDTLS_ERR_SSL_WANT_WRITE;
          p->net_in |= r == MBEDTLS_ERR_SSL_WANT_READ;
          return 0;
        }
      if (r < 0)
        return tls_error (p, r, err);
      p->to_net_off += (size_t) r;
      p->to_net_len -= (size_t) r;
      *moved = true;
    }
  return 0;
}

/* TLS → plain: a record's data when the buffer is empty, then a write. */
static int
move_to_plain (struct ch_tls_pump *p, bool *moved, ch_error_t *err)
{
  if (p->to_plain_len == 0)
    {
      int r = mbedtls_ssl_read (&p->ssl, p->to_plain, sizeof (p->to_plain));

      if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        {
          p->net_in |= r == MBEDTLS_ERR_SSL_WANT_READ;
          p->net_out |= r == MBEDTLS_ERR_SSL_WANT_WRITE;
          return 0;
        }
      if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF
          || r == MBEDTLS_ERR_NET_CONN_RESET)
        return 1;
      if (r < 0)
        return tls_error (p, r, err);
      p->to_plain_off = 0;
      p->to_plain_len = (size_t) r;
      *moved = true;
    }
  while (p->to_plain_len > 0)
    {
      ssize_t n = send (p->plain, p->to_plain + p->to_plain_off, p->to_plain_len, MSG_NOSIGNAL);

      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        {
          p->plain_out = true;
          return 0;
        }
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
        return 1;
      if (n < 0)
        return ch_error (err, errno, "TLS relay: write");
      p->to_plain_off += (size_t) n;
      p->to_plain_len -= (size_t) n;
      *moved = true;
    }
  return 0;
}

int
ch_tls_pump_run (struct ch_tls_pump *p, ch_error_t *err)
{
  bool moved = true;
  int r;

  p->net_in = p->net_out = p->plain_in = p->plain_out = false;
  if (p->connecting && (r = connected (p, err)) <= 0)
    return r;
  if (!p->up)
    {
      r = mbedtls_ssl_handshake (&p->ssl);
      if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
        {
          p->net_in = r == MBEDTLS_ERR_SSL_WANT_READ;
          p->net_out = r == MBEDTLS_ERR_SSL_WANT_WRITE;
          return 0;
        }
      if (r != 0)
        return tls_error (p, r, err);
      p->up = true;
    }
  /* until neither direction moves: what blocked it is then what the
   * flags say to wait for */
  while (moved)
    {
      moved = false;
      p->net_in = p->net_out = p->plain_in = p->plain_out = false;
      if ((r = move_to_plain (p, &moved, err)) != 0 || (r = move_to_net (p, &moved, err)) != 0)
        return r;
    }
  return 0;
}
