/* ch_net_parse_port / ch_net_parse_rate / ch_net_parse_mode: the values users type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netns/net.h"

#include <netinet/in.h>
#include <string.h>

static void
port_ok (const char *spec, const char *ip, int hp, int cp, int proto)
{
  struct ch_net_port p;
  ch_error_t err = NULL;

  assert_int_equal (ch_net_parse_port (spec, &p, &err), 0);
  assert_null (err);
  if (ip)
    assert_string_equal (p.host_ip, ip);
  else
    assert_null (p.host_ip);
  assert_int_equal (p.host_port, hp);
  assert_int_equal (p.chute_port, cp);
  assert_int_equal (p.proto, proto);
  ch_net_port_clear (&p);
}

static void
port_bad (const char *spec, const char *want)
{
  struct ch_net_port p;
  ch_error_t err = NULL;

  assert_true (ch_net_parse_port (spec, &p, &err) < 0);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("`%s`: message `%s` lacks `%s`", spec, err->msg, want);
  assert_null (strchr (err->msg, '\n'));
  assert_null (p.host_ip);
  ch_error_release (&err);
}

static void
test_ports (void **state)
{
  port_ok ("8080:80", NULL, 8080, 80, IPPROTO_TCP);
  port_ok ("8080:80/udp", NULL, 8080, 80, IPPROTO_UDP);
  port_ok ("53:53/UDP", NULL, 53, 53, IPPROTO_UDP);
  port_ok ("127.0.0.1:8080:80/tcp", "127.0.0.1", 8080, 80, IPPROTO_TCP);
  port_ok ("1:65535", NULL, 1, 65535, IPPROTO_TCP);
  port_bad ("70000:80", "not in 1-65535");
  port_bad ("8080:0", "not in 1-65535");
  port_bad ("8080:-1", "not in 1-65535");
  port_bad ("8080", "expected");
  port_bad ("8080:80/sctp", "not tcp or udp");
  port_bad ("1.2.3:8080:80", "not an IPv4 address");
  port_bad ("1.2.3.4:8080:80:1", "expected");
  port_bad ("a:80", "not in 1-65535");
  port_bad (":80", "not in 1-65535");
  port_bad ("", "expected");
  /* 0.0.0.0 is every address; a host IP must be one of this host's */
  port_ok ("0.0.0.0:8080:80", NULL, 8080, 80, IPPROTO_TCP);
  port_ok ("127.0.0.2:8080:80/udp", "127.0.0.2", 8080, 80, IPPROTO_UDP);
  port_bad ("192.0.2.1:8080:80", "`192.0.2.1` is not an address of this host");
  port_bad ("[::1]:8080:80", "IPv6 host addresses are not supported");
  port_bad ("::1:8080:80", "IPv6 host addresses are not supported");
  port_bad ("[::]:8080:80/udp", "IPv6 host addresses are not supported");
}

static void
rate_ok (const char *s, uint64_t want)
{
  uint64_t k = 12345;
  ch_error_t err = NULL;
  assert_int_equal (ch_net_parse_rate (s, &k, &err), 0);
  assert_int_equal (k, want);
}

static void
rate_bad (const char *s)
{
  uint64_t k;
  ch_error_t err = NULL;
  assert_true (ch_net_parse_rate (s, &k, &err) < 0);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "rate"));
  ch_error_release (&err);
}

static void
test_rates (void **state)
{
  rate_ok ("25000", 25000);
  rate_ok ("0", 0);
  rate_ok ("25mbit", 25000);
  rate_ok ("10M", 10000);
  rate_ok ("512kbit", 512);
  rate_ok ("1gbit", 1000000);
  rate_ok ("30gbit", 30000000);
  rate_bad ("");
  rate_bad ("fast");
  rate_bad ("-5");
  rate_bad ("10 mbit");
  rate_bad ("10mbps");
  rate_bad ("31gbit");
  rate_bad ("99999999999999999999999");
}

static void
test_modes (void **state)
{
  enum ch_net_mode m;
  ch_error_t err = NULL;
  assert_int_equal (ch_net_parse_mode ("bridge", &m, &err), 0);
  assert_int_equal (m, CH_NET_BRIDGE);
  assert_int_equal (ch_net_parse_mode ("none", &m, &err), 0);
  assert_int_equal (m, CH_NET_NONE);
  assert_int_equal (ch_net_parse_mode ("host", &m, &err), 0);
  assert_int_equal (m, CH_NET_HOST);
  assert_int_equal (ch_net_parse_mode ("container:cam", &m, &err), 0);
  assert_int_equal (m, CH_NET_CONTAINER);
  assert_true (ch_net_parse_mode ("bridged", &m, &err) < 0);
  ch_error_release (&err);
  assert_true (ch_net_parse_mode ("container:", &m, &err) < 0);
  ch_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ports),
    cmocka_unit_test (test_rates),
    cmocka_unit_test (test_modes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
