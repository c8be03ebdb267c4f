/* netns/wifi: the --wifi spec parser, the hostapd control-reply parser, and
 * the host-side refusals of ch_wifi_setup (this host has no Wi-Fi radio:
 * the real setup is tested in the VM, tests/vm/40_wifi_chute.sh). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/file.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "netns/wifi.h"
#include "netns/wifi_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
mkdir_all (const char *p)
{
  ch_error_t err = NULL;
  int r = ch_mkdir_p (p, 0700, &err);
  ch_error_release (&err);
  return r;
}

static void
test_parse_full (void **state)
{
  struct ch_wifi_config c;
  ch_error_t err = NULL;

  assert_int_equal (ch_wifi_parse ("ssid=seccamv2,key=s3cretpass,intf=wlan0,dhcp=100:50:12h", &c, &err), 0);
  assert_string_equal (c.ssid, "seccamv2");
  assert_string_equal (c.key, "s3cretpass");
  assert_string_equal (c.intf, "wlan0");
  assert_null (c.radio);
  assert_int_equal (c.dhcp_start, 100);
  assert_int_equal (c.dhcp_limit, 50);
  assert_int_equal (c.lease_secs, 12 * 3600);
  assert_int_equal (c.channel, 1);
  ch_wifi_config_clear (&c);

  assert_int_equal (ch_wifi_parse ("ssid=a b,radio=phy1,channel=6,intfName=wifi1,dhcp=2:253:2m", &c, &err), 0);
  assert_string_equal (c.ssid, "a b");
  assert_null (c.key); /* open network */
  assert_string_equal (c.radio, "phy1");
  assert_string_equal (c.intf, "wifi1");
  assert_int_equal (c.channel, 6);
  assert_int_equal (c.dhcp_start + c.dhcp_limit - 1, 254);
  assert_int_equal (c.lease_secs, 120);
  ch_wifi_config_clear (&c);
}

static void
test_parse_defaults (void **state)
{
  struct ch_wifi_config c;
  ch_error_t err = NULL;

  assert_int_equal (ch_wifi_parse ("ssid=x", &c, &err), 0);
  assert_string_equal (c.intf, "wlan0");
  assert_int_equal (c.dhcp_start, 100);
  assert_int_equal (c.dhcp_limit, 50);
  assert_int_equal (c.lease_secs, 43200);
  ch_wifi_config_clear (&c);
}

static void
expect_error (const char *spec, const char *want)
{
  struct ch_wifi_config c;
  ch_error_t err = NULL;

  assert_int_equal (ch_wifi_parse (spec, &c, &err), -1);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("spec `%s`: error `%s` does not mention `%s`", spec, err->msg, want);
  assert_null (strchr (err->msg, '\n'));
  assert_null (c.ssid); /* nothing handed out on error */
  ch_error_release (&err);
}

static void
test_parse_errors (void **state)
{
  expect_error ("key=s3cretpass", "ssid=NAME is required");
  expect_error ("", "ssid=NAME is required");
  expect_error ("ssid=", "1 to 32 bytes");
  expect_error ("ssid=0123456789abcdef0123456789abcdefX", "1 to 32 bytes");
  expect_error ("ssid=a,key=short", "8 to 63");
  expect_error ("ssid=a,key=0123456789012345678901234567890123456789012345678901234567890123", "8 to 63");
  expect_error ("ssid=a,key=s3cret\tpass", "printable");
  expect_error ("ssid=a,intf=eth0", "clashes");
  expect_error ("ssid=a,intf=lo", "clashes");
  expect_error ("ssid=a,intf=waytoolonginterface", "interface name");
  expect_error ("ssid=a,intf=a/b", "interface name");
  expect_error ("ssid=a,dhcp=100:50", "START:LIMIT:LEASE");
  expect_error ("ssid=a,dhcp=1:50:12h", "dhcp start");
  expect_error ("ssid=a,dhcp=200:100:12h", "do not fit");
  expect_error ("ssid=a,dhcp=100:0:12h", "dhcp limit");
  expect_error ("ssid=a,dhcp=100:50:30s", "2 minute");
  expect_error ("ssid=a,dhcp=100:50:forever", "dhcp lease");
  expect_error ("ssid=a,channel=14", "channel");
  expect_error ("ssid=a,colour=blue", "unknown key `colour`");
  expect_error ("ssid=a,novalue", "not KEY=VALUE");
}

static void
test_ctrl_value (void **state)
{
  const char *reply = "state=ENABLED\nphy=phy0\nfreq=2412\nssid[0]=cam\nnum_sta[0]=1\n";
  char *v;

  v = ch_wifi_ctrl_value (reply, "state");
  assert_string_equal (v, "ENABLED");
  free (v);
  v = ch_wifi_ctrl_value (reply, "ssid[0]");
  assert_string_equal (v, "cam");
  free (v);
  v = ch_wifi_ctrl_value (reply, "num_sta[0]");
  assert_string_equal (v, "1");
  free (v);
  assert_null (ch_wifi_ctrl_value (reply, "stat"));
  assert_null (ch_wifi_ctrl_value (reply, "bssid"));
  assert_null (ch_wifi_ctrl_value ("", "state"));
}

/* No radio here: setup refuses with one line, and leaves no chute state. */
static void
test_setup_without_radio (void **state)
{
  char tmpl[] = "/tmp/chuted-test-wifi.XXXXXX";
  char *rr = mkdtemp (tmpl);
  struct ch_wifi_config c;
  ch_error_t err = NULL;
  json_t *ls = NULL;

  assert_non_null (rr);
  assert_int_equal (ch_wifi_parse ("ssid=chuted-test,radio=phy42", &c, &err), 0);
  assert_int_equal (ch_wifi_setup ("/nonexistent", rr, "cam", &c, "/proc/self/ns/net", &err), -1);
  assert_non_null (err);
  assert_null (strchr (err->msg, '\n'));
  ch_error_release (&err);
  ch_wifi_config_clear (&c);
  {
    char *p = xasprintf ("%s/wifi/cam", rr);
    assert_int_equal (access (p, F_OK), -1); /* nothing made for the chute */
    free (p);
  }
  assert_int_equal (ch_wifi_teardown ("/nonexistent", rr, "cam", &err), 0); /* idempotent */
  assert_int_equal (ch_wifi_list ("/nonexistent", rr, &ls, &err), 0);
  assert_int_equal (json_array_size (json_object_get (ls, "networks")), 0);
  json_decref (ls);
  {
    char *cmd = xasprintf ("rm -rf '%s'", rr);
    assert_int_equal (system (cmd), 0);
    free (cmd);
  }
}

/* A Wi-Fi record whose chute is gone is removed by reap; a live chute's is kept. */
static void
test_reap (void **state)
{
  char tmpl[] = "/tmp/chuted-test-wifi.XXXXXX";
  char *rr = mkdtemp (tmpl);
  ch_error_t err = NULL;
  char *ghost, *live, *live_chute, *cmd;

  assert_non_null (rr);
  ghost = xasprintf ("%s/wifi/ghost", rr);
  live = xasprintf ("%s/wifi/live", rr);
  live_chute = xasprintf ("%s/chutes/live", rr);
  assert_int_equal (mkdir_all (ghost), 0);
  assert_int_equal (mkdir_all (live), 0);
  assert_int_equal (mkdir_all (live_chute), 0);
  assert_int_equal (ch_wifi_reap ("/nonexistent", rr, ch_chute_alive, &(struct ch_ctx){ .root = "/nonexistent", .run_root = rr }, &err), 0);
  assert_int_equal (access (ghost, F_OK), -1);
  assert_int_equal (access (live, F_OK), 0);
  cmd = xasprintf ("rm -rf '%s'", rr);
  assert_int_equal (system (cmd), 0);
  free (cmd);
  free (ghost);
  free (live);
  free (live_chute);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_full),         cmocka_unit_test (test_parse_defaults),
    cmocka_unit_test (test_parse_errors),       cmocka_unit_test (test_ctrl_value),
    cmocka_unit_test (test_setup_without_radio), cmocka_unit_test (test_reap),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
