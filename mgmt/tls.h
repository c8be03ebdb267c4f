/* TLS for the daemon's connections, on mbedTLS (OpenWrt's TLS library: a
 * few hundred KB where OpenSSL or GnuTLS cost the daemon megabytes, see
 * docs/BENCHMARKS.md, "Cloud link"). Two parts:
 *
 * - a configuration (tls_conf.c): one role, client or server, its PEM files
 *   read and checked once, the random generator seeded; TLS 1.2 only
 *   (mbedTLS 2.28 has no 1.3), ECDHE with AEAD ciphers, no SHA-1 and no RSA
 *   key under 2048 bits in certificates or handshake signatures;
 * - a pump (tls_pump.c): one connection relayed without blocking between a
 *   TLS socket (the network side) and a plain socket (a local program that
 *   speaks cleartext: libmosquitto's client, libmicrohttpd), driven by its
 *   owner's event loop, which asks it which events it waits for on each.
 *
 * The peer's name (client role) is checked here, not by mbedTLS 2.28, which
 * compares an IP address with a certificate's DNS names as text: a DNS name
 * matches a dNSName of the subjectAltName (a wildcard for the whole first
 * label only) or, without any, the CN; an IP address matches an iPAddress. */
#ifndef CH_TLS_H
#define CH_TLS_H

#include "common/error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

enum ch_tls_role
{
  CH_TLS_CLIENT,
  CH_TLS_SERVER,
};

/* The files of a configuration and the options that named them (each
 * message about a file names both: "TLS: --ca FILE: no CA certificate in
 * it"). CA NULL: the peer is not asked for a certificate (a server whose
 * clients authenticate otherwise); a client always verifies. */
struct ch_tls_files
{
  const char *ca, *cert, *key;
  const char *ca_opt, *cert_opt, *key_opt;
};

struct ch_tls_conf;

int ch_tls_conf_new (struct ch_tls_conf **out, enum ch_tls_role role, const struct ch_tls_files *f,
                     ch_error_t *err);
void ch_tls_conf_free (struct ch_tls_conf *c);

struct ch_tls_pump;

/* A pump over NET_FD (a TCP socket; CONNECTING: its non-blocking connect is
 * under way) and PLAIN_FD, both non-blocking; it owns them from now on,
 * error or not. PEER: the name the server's certificate must carry (client
 * role), NULL for a server. CONF must outlive the pump. */
int ch_tls_pump_new (struct ch_tls_pump **out, struct ch_tls_conf *conf, int net_fd, bool connecting, int plain_fd,
                     const char *peer, ch_error_t *err);
/* Move whatever can move now: the connect, the handshake, records both
 * ways. 0: the relay lives on; 1: a side closed (the owner frees the pump,
 * which closes the other); -1: ERR says what failed (connect, handshake:
 * the certificate and why, an alert from the peer; a read or write). */
int ch_tls_pump_run (struct ch_tls_pump *p, ch_error_t *err);
/* The epoll events (EPOLLIN, EPOLLOUT) the pump waits for, on each side,
 * until its next run. */
void ch_tls_pump_events (const struct ch_tls_pump *p, uint32_t *net_ev, uint32_t *plain_ev);
/* Make epoll set EPFD watch the pump's fds for what the last run waits for
 * (a side that waits for nothing out of it: a hung-up socket would wake
 * the loop without end), with NET and PLAIN as their events' data. The
 * fds leave the set when the pump is freed (closed). */
void ch_tls_pump_watch (struct ch_tls_pump *p, int epfd, epoll_data_t net, epoll_data_t plain);
int ch_tls_pump_net_fd (const struct ch_tls_pump *p);
int ch_tls_pump_plain_fd (const struct ch_tls_pump *p);
/* The handshake is done: records flow. */
bool ch_tls_pump_up (const struct ch_tls_pump *p);
/* Frees P (NULL too) and closes both of its fds. */
void ch_tls_pump_free (struct ch_tls_pump *p);

#endif
