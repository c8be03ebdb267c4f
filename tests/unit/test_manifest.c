/* chute.yaml (mgmt/manifest*.c): the three generations into one model, and
 * errors at the right FILE:LINE:COL with the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mgmt/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The seed's Fig. 9, as printed (owner/date run together, memory mis-indented). */
static const char seed_literal[] = "owner: Paradropdate: 2016-02-06\n"
                                   "name: seccam\n"
                                   "description:\n"
                                   "   This app launches a virtual wifi AP\n"
                                   "   and detects motion on a wifi webcam.\n"
                                   "net:\n"
                                   "   wifi:\n"
                                   "      type: wifi\n"
                                   "      intfName: wlan0\n"
                                   "      ssid: seccamv2\n"
                                   "      dhcp:\n"
                                   "         lease: 12h\n"
                                   "         start: 100\n"
                                   "         limit: 50\n"
                                   "resource:\n"
                                   "   cpu: 1024\n"
                                   "  memory: 128M\n"
                                   "   wan:\n"
                                   "      down: 25000\n"
                                   "      up: 10000\n"
                                   "dockerfile:\n"
                                   "  local: Dockerfile\n";

/* Repaired, with image: (no builder on the AP yet). */
static const char seed_repaired[] = "owner: Paradrop\n"
                                    "date: 2016-02-06\n"
                                    "name: seccam\n"
                                    "description:\n"
                                    "   This app launches a virtual wifi AP\n"
                                    "   and detects motion on a wifi webcam.\n"
                                    "image: registry.local/seccam:2\n"
                                    "net:\n"
                                    "   wifi:\n"
                                    "      type: wifi\n"
                                    "      intfName: wlan0\n"
                                    "      ssid: seccamv2\n"
                                    "      dhcp:\n"
                                    "         lease: 12h\n"
                                    "         start: 100\n"
                                    "         limit: 50\n"
                                    "resource:\n"
                                    "   cpu: 1024\n"
                                    "   memory: 128M\n"
                                    "   wan:\n"
                                    "      down: 25000\n"
                                    "      up: 10000\n"
                                    "dockerfile:\n"
                                    "  local: Dockerfile\n";

static const char paradrop012[] = "name: hotspot\n"
                                  "version: 3\n"
                                  "environment: {MODE: demo}\n"
                                  "services:\n"
                                  "  web:\n"
                                  "    type: image\n"
                                  "    image: nginx:1.25\n"
                                  "    command: nginx -g 'daemon off;'\n"
                                  "    interfaces:\n"
                                  "      wlan0:\n"
                                  "        type: wifi-ap\n"
                                  "        dhcp: {leasetime: 2h, start: 3, limit: 200}\n"
                                  "        wireless: {ssid: ParaDrop Hotspot, key: password123, isolate: true, maxassoc: 50}\n"
                                  "    requests:\n"
                                  "      port-bindings:\n"
                                  "        - {external: 8080, internal: 80}\n"
                                  "      cpu-fraction: 0.5\n"
                                  "  cache:\n"
                                  "    image: redis:7\n"
                                  "    command: [redis-server, --save, \"\"]\n"
                                  "web: {service: web, port: 80}\n";

static const char ours[] = "name: seccam\n"
                           "version: 2\n"
                           "owner: lab\n"
                           "date: 2026-11-29\n"
                           "description: detects motion\n"
                           "image: registry.local/seccam:2\n"
                           "command: [\"/bin/sh\", \"/usr/local/bin/cmd.sh\"]\n"
                           "environment: {MODE: night}\n"
                           "restart: on-failure:5\n"
                           "health: {http: \"80/healthz\", interval: 2s, timeout: 30s, grace: 5s}\n"
                           "volumes: {data: /data}\n"
                           "net:\n"
                           "  wifi: {type: wifi, intfName: wlan1, ssid: seccamv2, key: \"optional-wpa2\", hidden: true,\n"
                           "         isolate: no, maxassoc: 20, dhcp: {lease: 1h, start: 10, limit: 100}}\n"
                           "  ports: [\"8080:80/tcp\", \"127.0.0.1:5353:53/udp\"]\n"
                           "resource:\n"
                           "  cpu: 512\n"
                           "  memory: 128M\n"
                           "  disk: 1G\n"
                           "  pids: 256\n"
                           "  wan: {down: 25mbit, up: 10000}\n";

static int
load (const char *text, struct ch_chutefile *m, ch_error_t *err)
{
  if (ch_chutefile_parse ("chute.yaml", text, strlen (text), m, err) < 0)
    return -1;
  return ch_chutefile_check (m, err);
}

static void
refused (const char *text, const char *want)
{
  struct ch_chutefile m;
  ch_error_t err = NULL;

  assert_true (load (text, &m, &err) < 0);
  assert_non_null (err);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("got `%s`, want `%s`", err->msg, want);
  assert_null (strchr (err->msg, '\n'));
  ch_error_release (&err);
  ch_chutefile_clear (&m);
}

static void
test_seed_literal_refused (void **state)
{
  refused (seed_literal, "chute.yaml:1:20: not valid YAML: mapping values are not allowed in this context");
  /* with owner/date split, the next fault is the memory line's indentation */
  {
    const char *rest = strstr (seed_literal, "date:");
    char *t = NULL;
    struct ch_chutefile m;
    ch_error_t err = NULL;
    assert_true (asprintf (&t, "owner: Paradrop\n%s", rest) > 0);
    assert_true (load (t, &m, &err) < 0);
    assert_string_equal (err->msg, "chute.yaml:18:3: not valid YAML: did not find expected key while parsing a block mapping");
    ch_error_release (&err);
    ch_chutefile_clear (&m);
    free (t);
  }
}

static void
test_seed_repaired (void **state)
{
  struct ch_chutefile m;
  ch_error_t err = NULL;

  assert_int_equal (load (seed_repaired, &m, &err), 0);
  assert_null (err);
  assert_string_equal (m.name.s, "seccam");
  assert_string_equal (m.owner.s, "Paradrop");
  assert_string_equal (m.date.s, "2016-02-06");
  assert_string_equal (m.description.s, "This app launches a virtual wifi AP and detects motion on a wifi webcam.");
  assert_int_equal (m.n_svc, 1);
  assert_string_equal (m.svc[0].name.s, "seccam");
  assert_string_equal (m.svc[0].image.s, "registry.local/seccam:2");
  assert_string_equal (m.wifi_cfg.ssid, "seccamv2");
  assert_string_equal (m.wifi_cfg.intf, "wlan0");
  assert_null (m.wifi_cfg.key);
  assert_int_equal (m.wifi_cfg.dhcp_start, 100);
  assert_int_equal (m.wifi_cfg.dhcp_limit, 50);
  assert_int_equal (m.wifi_cfg.lease_secs, 12 * 3600);
  assert_int_equal (m.chute.cpu_shares, 1024);
  assert_int_equal (m.chute.memory, 128 << 20);
  assert_int_equal (m.chute.wan_down, 25000);
  assert_int_equal (m.chute.wan_up, 10000);
  assert_string_equal (m.chute.wifi, "ssid=seccamv2,intf=wlan0,dhcp=100:50:43200s");
  /* where each value was written */
  assert_int_equal (m.wifi_ssid.line, 12);
  assert_int_equal (m.wifi_ssid.col, 13);
  assert_string_equal (m.wifi_ssid.path, "net.wifi.ssid");
  assert_int_equal (m.health_kind, CH_HEALTH_ALIVE);
  ch_chutefile_clear (&m);
}

static void
test_paradrop012 (void **state)
{
  struct ch_chutefile m;
  ch_error_t err = NULL;

  assert_int_equal (load (paradrop012, &m, &err), 0);
  assert_string_equal (m.format, "paradrop-0.12");
  assert_int_equal (m.n_svc, 2);
  assert_string_equal (m.svc[0].name.s, "web");
  assert_true (m.svc[0].command_shell);
  assert_string_equal (m.svc[0].command.v[0].s, "nginx -g 'daemon off;'");
  assert_string_equal (m.svc[1].name.s, "cache");
  assert_false (m.svc[1].command_shell);
  assert_int_equal (m.svc[1].command.n, 3);
  assert_string_equal (m.svc[1].command.v[2].s, "");
  assert_int_equal (m.env.n, 1);
  assert_string_equal (m.env.v[0].s, "MODE=demo");
  assert_int_equal (m.ports.n, 1);
  assert_string_equal (m.ports.v[0].s, "8080:80");
  assert_int_equal (m.net_ports[0].host_port, 8080);
  assert_string_equal (m.wifi_cfg.ssid, "ParaDrop Hotspot");
  assert_string_equal (m.wifi_cfg.key, "password123");
  assert_string_equal (m.wifi_cfg.intf, "wlan0");
  assert_int_equal (m.wifi_cfg.dhcp_start, 3);
  assert_int_equal (m.wifi_cfg.lease_secs, 7200);
  assert_true (m.isolate);
  assert_int_equal (m.maxassoc, 50);
  assert_string_equal (m.web_service.s, "web");
  ch_chutefile_clear (&m);
}

static void
test_ours (void **state)
{
  struct ch_chutefile m;
  ch_error_t err = NULL;
  json_t *plan;

  assert_int_equal (load (ours, &m, &err), 0);
  assert_string_equal (m.format, "chuted");
  assert_int_equal (m.chute.restart, CH_RESTART_ON_FAILURE);
  assert_int_equal (m.chute.restart_max, 5);
  assert_int_equal (m.health_kind, CH_HEALTH_HTTP);
  assert_int_equal (m.health_grace_s, 5);
  assert_int_equal (m.health_timeout_s, 30);
  assert_string_equal (m.vol_name.v[0].s, "data");
  assert_string_equal (m.vol_path.v[0].s, "/data");
  assert_int_equal (m.ports.n, 2);
  assert_string_equal (m.net_ports[1].host_ip, "127.0.0.1");
  assert_int_equal (m.chute.disk, 1ULL << 30);
  assert_int_equal (m.chute.pids, 256);
  assert_int_equal (m.chute.cpu_shares, 512);
  assert_int_equal (m.chute.wan_down, 25000);
  assert_string_equal (m.wifi_cfg.intf, "wlan1");
  assert_true (m.hidden);
  assert_false (m.isolate);
  assert_int_equal (m.wifi_cfg.lease_secs, 3600);
  assert_int_equal (m.svc[0].env.n, 0); /* chute-level: every service gets it */
  assert_string_equal (m.env.v[0].s, "MODE=night");
  plan = ch_chutefile_plan (&m);
  assert_string_equal (json_string_value (json_object_get (plan, "restart")), "on-failure");
  assert_int_equal (json_integer_value (json_object_get (json_object_get (json_object_get (plan, "resources"), "memory"),
                                                         "limit")),
                    128 << 20);
  json_decref (plan);
  ch_chutefile_clear (&m);
}

/* net: none is `run --net none`: the chute's empty netns, nothing of the
 * bridge; what needs the bridge is refused with it. */
static void
test_net_none (void **state)
{
  struct ch_chutefile m;
  ch_error_t err = NULL;
  json_t *plan;

  assert_int_equal (load ("name: cam\nimage: busybox\nnet: none\nhealth: {tcp: 80}\n", &m, &err), 0);
  assert_string_equal (m.format, "chuted");
  assert_string_equal (m.chute.net_mode, "none");
  plan = ch_chutefile_plan (&m);
  assert_string_equal (json_string_value (json_object_get (json_object_get (plan, "network"), "mode")), "none");
  json_decref (plan);
  ch_chutefile_clear (&m);
  /* the bridge, by name or by its mapping: the default, nothing recorded */
  assert_int_equal (load ("name: cam\nimage: busybox\nnet: bridge\n", &m, &err), 0);
  assert_null (m.chute.net_mode);
  ch_chutefile_clear (&m);
  assert_int_equal (load ("name: cam\nimage: busybox\nnet: {ports: [\"80:80\"]}\n", &m, &err), 0);
  assert_null (m.chute.net_mode);
  ch_chutefile_clear (&m);
  assert_int_equal (load ("name: cam\nimage: busybox\nnet: none\nresource: {wan: {down: 0}}\n", &m, &err), 0);
  ch_chutefile_clear (&m);

  refused ("name: cam\nimage: busybox\nnet: host\n",
           "chute.yaml:3:6: net: `host`: want none, bridge or a mapping (wifi, ports)");
  refused ("name: cam\nimage: busybox\nnet: nil\n", "chute.yaml:3:6: net: `nil`: want none, bridge or a mapping (wifi, ports)");
  refused ("name: cam\nimage: busybox\nnet: [none]\n",
           "chute.yaml:3:6: net: want a mapping (KEY: VALUE lines), not a list");
  refused ("name: cam\nimage: busybox\nnet: none\nresource: {wan: {up: 1mbit}}\n",
           "chute.yaml:4:22: resource.wan.up: needs the bridge network, not net: none (at 3:6)");
  /* ParaDrop 0.12's port-bindings and wifi-ap interfaces are the bridge's too */
  refused ("name: cam\nnet: none\nservices:\n  web:\n    image: x\n"
           "    requests: {port-bindings: [{external: 8080, internal: 80}]}\n",
           "chute.yaml:6:32: services.web.requests.port-bindings[0]: needs the bridge network, not net: none (at 2:6)");
  refused ("name: cam\nnet: none\nservices:\n  web:\n    image: x\n    interfaces: {wlan0: {wireless: {ssid: x}}}\n",
           "chute.yaml:6:25: services.web.interfaces.wlan0: needs the bridge network, not net: none (at 2:6)");
  refused ("name: cam\nnet: none\nservices:\n  a: {image: x}\n  b: {image: y}\n",
           "chute.yaml:2:6: net: the services of a chute share one bridge network: none is for one service");
}

static void
test_errors (void **state)
{
  refused ("name: cam\nimage: busybox\nnet:\n  wifi:\n    ssid: 0123456789012345678901234567890123\n",
           "chute.yaml:5:11: net.wifi.ssid: ssid `0123456789012345678901234567890123`: want 1 to 32 bytes");
  refused ("name: cam\nimage: busybox\nnet: {wifi: {ssid: x, key: short}}\n",
           "chute.yaml:3:28: net.wifi.key: key: a WPA2 passphrase is 8 to 63 characters (got 5)");
  refused ("name: cam\nimage: busybox\nresource: {memory: 1M}\n",
           "chute.yaml:3:20: resource.memory: `1M` is below the 4 MiB minimum");
  refused ("name: cam\nimage: busybox\nnet:\n  wifi: {ssid: x, dhcp: {start: 250, limit: 10}}\n",
           "chute.yaml:4:25: net.wifi.dhcp: dhcp=`250:10:43200s`: leases 250..259 do not fit in the /24 (last host is "
           ".254)");
  refused ("name: cam\nimage: busybox\nbogus: 1\n",
           "chute.yaml:3:1: bogus: unknown key (known here: name, version, owner, date, description, image, dockerfile, "
           "command, environment, restart, health, volumes, net, resource, services, web, type, use)");
  refused ("name: pod\nservices:\n  a: {image: x}\n  a: {image: y}\n", "chute.yaml:4:3: services: `a` given twice (first at 3:3)");
  refused ("name: cam\ndockerfile: {local: ../Dockerfile}\n",
           "chute.yaml:2:21: dockerfile.local: `../Dockerfile`: a path inside the chute's directory");
  refused ("name: cam\nimage: busybox\nnet: {ports: [\"80:80/icmp\"]}\n",
           "chute.yaml:3:15: net.ports[0]: port spec `80:80/icmp`: protocol `icmp` is not tcp or udp");
  refused ("name: cam\nimage: busybox\nrestart: often\n",
           "chute.yaml:3:10: restart: restart policy `often` unknown (no, on-failure[:N], always, unless-stopped)");
  refused ("name: a/b\nimage: busybox\n",
           "chute.yaml:1:7: name: chute name `a/b`: only letters, digits, _ . - are allowed");
  refused ("name: cam\nimage: {ref: busybox}\n", "chute.yaml:2:8: image: want a single value, not a mapping");
  /* a value with line breaks: escaped, the error stays one line */
  refused ("name: cam\nimage: busybox\nresource: {memory: \"1\\n2M\"}\n",
           "chute.yaml:3:20: resource.memory: `1\\n2M` is not a size (unit `\\n2M` unknown)");
  /* an SSID is one hostapd.conf line: no line break (--wifi's rule, the same) */
  refused ("name: cam\nimage: busybox\nnet: {wifi: {ssid: \"a\\nb\"}}\n",
           "chute.yaml:3:20: net.wifi.ssid: ssid: control characters (line breaks, tabs) are not allowed");
  {
    struct ch_wifi_config c;
    ch_error_t err = NULL;
    assert_true (ch_wifi_parse ("ssid=a\tb", &c, &err) < 0);
    ch_error_release (&err);
  }
  refused ("", "chute.yaml:1:1: empty chute file (want at least name: and image:)");
  refused ("name: cam\nimage: busybox\nnet: &a\n  ports: *a\n",
           "chute.yaml:3:6: net.ports: want a list, not a mapping");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_seed_literal_refused),
    cmocka_unit_test (test_seed_repaired),
    cmocka_unit_test (test_paradrop012),
    cmocka_unit_test (test_ours),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_net_none),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
