/* The user-written network values: -p specs, WAN rates, --net modes. */
#include "netns/net.h"

#include "common/parse.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

static int
parse_port_num (const char *spec, const char *s, uint16_t *out, ch_error_t *err)
{
  int64_t v;
  cleanup_error ch_error_t e = NULL;

  if (ch_parse_int (s, 1, 65535, &v, &e) < 0)
    return ch_error (err, 0, "port spec `%s`: port `%s` is not in 1-65535", spec, s);
  *out = (uint16_t) v;
  return 0;
}

/* "::1:8080:80": what is left of the last two colons parses as IPv6 */
static bool
looks_ip6 (const char *s)
{
  const char *last = strrchr (s, ':');
  struct in6_addr a;
  cleanup_free char *host = NULL;
  size_t n;

  if (last == NULL)
    return false;
  for (n = (size_t) (last - s); n > 0 && s[n - 1] != ':'; n--)
    ;
  /* fewer than three colons: HOST_PORT:CHUTE_PORT or IPV4:HOST_PORT:CHUTE_PORT */
  if (n < 2 || memchr (s, ':', n - 1) == NULL)
    return false;
  host = xstrndup (s, n - 1);
  return inet_pton (AF_INET6, host, &a) == 1;
}

/* Loopback (127/8 is local as a whole) or an address of an interface of
 * the host's network namespace. */
static bool
host_has_addr (struct in_addr a)
{
  struct ifaddrs *ifs, *i;
  bool found = false;

  if ((ntohl (a.s_addr) >> 24) == 127)
    return true;
  if (getifaddrs (&ifs) < 0)
    return true; /* cannot tell: let the rule be made */
  for (i = ifs; i && !found; i = i->ifa_next)
    found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET
            && ((struct sockaddr_in *) i->ifa_addr)->sin_addr.s_addr == a.s_addr;
  freeifaddrs (ifs);
  return found;
}

int
ch_net_parse_port (const char *spec, struct ch_net_port *out, ch_error_t *err)
{
  cleanup_free char *s = xstrdup (spec);
  char *proto, *parts[3];
  size_t n = 0;
  char *p, *save = NULL;

  memset (out, 0, sizeof *out);
  out->proto = IPPROTO_TCP;
  proto = strchr (s, '/');
  if (proto)
    {
      *proto++ = '\0';
      if (strcasecmp (proto, "tcp") == 0)
        out->proto = IPPROTO_TCP;
      else if (strcasecmp (proto, "udp") == 0)
        out->proto = IPPROTO_UDP;
      else
        return ch_error (err, 0, "port spec `%s`: protocol `%s` is not tcp or udp", spec, proto);
    }
  /* the nft table is `ip` only: say so rather than "expected ..." */
  if (s[0] == '[' || looks_ip6 (s))
    return ch_error (err, 0, "port spec `%s`: IPv6 host addresses are not supported (ports are published on IPv4 only)",
                     spec);
  /* strtok_r would merge "::" into one separator */
  for (p = s; n < 3; n++)
    {
      parts[n] = p;
      save = strchr (p, ':');
      if (save == NULL)
        {
          n++;
          break;
        }
      *save = '\0';
      p = save + 1;
    }
  if (save != NULL || n < 2)
    return ch_error (err, 0, "port spec `%s`: expected [HOST_IP:]HOST_PORT:CHUTE_PORT[/tcp|udp]", spec);
  if (n == 3)
    {
      struct in_addr a;
      if (inet_pton (AF_INET, parts[0], &a) != 1)
        return ch_error (err, 0, "port spec `%s`: `%s` is not an IPv4 address", spec, parts[0]);
      /* a rule for an address the host does not have would never match */
      if (a.s_addr != htonl (INADDR_ANY) && !host_has_addr (a))
        return ch_error (err, 0, "port spec `%s`: `%s` is not an address of this host", spec, parts[0]);
      /* 0.0.0.0 is every address, as without one */
      if (a.s_addr != htonl (INADDR_ANY))
        out->host_ip = xstrdup (parts[0]);
    }
  if (parse_port_num (spec, parts[n - 2], &out->host_port, err) < 0
      || parse_port_num (spec, parts[n - 1], &out->chute_port, err) < 0)
    {
      ch_net_port_clear (out);
      return -1;
    }
  return 0;
}

void
ch_net_port_clear (struct ch_net_port *p)
{
  free (p->host_ip);
  p->host_ip = NULL;
}

int
ch_net_parse_rate (const char *s, uint64_t *kbit, ch_error_t *err)
{
  static const struct
  {
    const char *unit;
    uint64_t mult;
  } units[] = { { "", 1 },     { "k", 1 },          { "kbit", 1 },       { "m", 1000 },
                { "mbit", 1000 }, { "g", 1000000 }, { "gbit", 1000000 } };
  char *end;
  unsigned long long v;
  size_t i;

  errno = 0;
  if (s == NULL || !isdigit ((unsigned char) *s))
    return ch_error (err, 0, "rate `%s` is not a number of kbit/s (e.g. 25000, 25mbit)", s ? s : "");
  v = strtoull (s, &end, 10);
  for (i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcasecmp (end, units[i].unit) == 0)
      break;
  if (i == sizeof units / sizeof units[0])
    return ch_error (err, 0, "rate `%s`: unknown unit `%s` (kbit, mbit, gbit)", s, end);
  /* tbf takes bytes/s in 32 bits: ~34 Gbit/s is the ceiling */
  if (errno == ERANGE || v > 30000000ULL / units[i].mult)
    return ch_error (err, 0, "rate `%s` is too large (at most 30gbit)", s);
  *kbit = v * units[i].mult;
  return 0;
}

int
ch_net_parse_mode (const char *s, enum ch_net_mode *out, ch_error_t *err)
{
  if (strcmp (s, "bridge") == 0)
    *out = CH_NET_BRIDGE;
  else if (strcmp (s, "none") == 0)
    *out = CH_NET_NONE;
  else if (strcmp (s, "host") == 0)
    *out = CH_NET_HOST;
  else if (strncmp (s, "container:", 10) == 0 && s[10])
    *out = CH_NET_CONTAINER;
  else
    return ch_error (err, 0, "network mode `%s` is not bridge, none, host or container:NAME", s);
  return 0;
}

void
ch_net_result_clear (struct ch_net_result *res)
{
  free (res->netns_path);
  free (res->hosts_path);
  free (res->resolv_path);
  free (res->address);
  free (res->gateway);
  memset (res, 0, sizeof *res);
}
