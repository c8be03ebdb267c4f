/* Wi-Fi chutes: setup, teardown and listing (see netns/wifi.h). */
#include "netns/wifi_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "netns/net_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WIFI_NET 0x0ad60000u /* 10.214.K.0/24 for the chute holding index K */
#define MAX_INDEX 256

char *
ch_wifi_dir (const char *run_root, const char *chute)
{
  return chute ? xasprintf ("%s/wifi/%s", run_root, chute) : xasprintf ("%s/wifi", run_root);
}

/* Every chute's state.json, as an object chute -> state. */
static int
load_all (const char *run_root, json_t **out, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, NULL);
  cleanup_dir DIR *d = opendir (dir);
  cleanup_json json_t *all = json_object ();
  struct dirent *e;

  if (d == NULL && errno != ENOENT)
    return ch_error (err, errno, "open `%s`", dir);
  while (d && (e = readdir (d)) != NULL)
    {
      cleanup_free char *p = NULL;
      json_t *st = NULL;
      cleanup_error ch_error_t ignored = NULL;
      if (e->d_name[0] == '.')
        continue;
      p = xasprintf ("%s/%s/state.json", dir, e->d_name);
      if (access (p, F_OK) == 0 && ch_json_load_file (p, &st, &ignored) == 0)
        json_object_set_new (all, e->d_name, st);
    }
  *out = steal_pointer (&all);
  return 0;
}

static const char *
jstr (json_t *o, const char *k)
{
  const char *s = json_string_value (json_object_get (o, k));
  return s ? s : "";
}

static bool
supervisor_alive (pid_t pid)
{
  cleanup_free char *p = xasprintf ("/proc/%d/comm", (int) pid);
  cleanup_free char *comm = NULL;
  cleanup_error ch_error_t ignored = NULL;
  /* the name guards against a recycled pid */
  return pid > 0 && ch_read_file (p, &comm, NULL, &ignored) == 0 && strncmp (comm, "chuted-wifi", 11) == 0;
}

static void
stop_supervisor (pid_t pid)
{
  if (!supervisor_alive (pid))
    return;
  kill (pid, SIGTERM);
  for (int i = 0; i < 100 && supervisor_alive (pid); i++)
    usleep (50000);
  if (supervisor_alive (pid))
    kill (pid, SIGKILL);
}

/* Remove whatever of STATE exists; tolerant of half-made setups. */
static int
undo (const char *run_root, const char *chute, json_t *st, ch_error_t *err)
{
  cleanup_nl struct nl_sock *sk = NULL;
  cleanup_free char *dir = ch_wifi_dir (run_root, chute);
  json_int_t pid = json_integer_value (json_object_get (st, "supervisor_pid"));

  stop_supervisor ((pid_t) pid);
  if (*jstr (st, "ap_interface") && ch_wifi_ap_del (jstr (st, "ap_interface"), err) < 0)
    return -1;
  if (ch_nl_open (&sk, err) < 0)
    return -1;
  /* deleting the host end of the veth removes the chute's end too */
  if ((*jstr (st, "veth") && ch_nl_link_del (sk, jstr (st, "veth"), err) < 0)
      || (*jstr (st, "bridge") && ch_nl_link_del (sk, jstr (st, "bridge"), err) < 0))
    return -1;
  return ch_rm_rf (dir, err);
}

static int
pick_radio (const struct ch_wifi_config *cfg, json_t *all, struct ch_wifi_radio *out, ch_error_t *err)
{
  cleanup_free struct ch_wifi_radio *r = NULL;
  struct ch_buf names = { 0 };
  cleanup_free char *list = NULL;
  size_t n;

  if (ch_wifi_radios (&r, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (cfg->radio ? strcmp (r[i].name, cfg->radio) == 0 : r[i].ap)
        {
          if (!r[i].ap)
            return ch_error (err, 0, "radio `%s` cannot run an access point", r[i].name);
          *out = r[i];
          return 0;
        }
      ch_buf_printf (&names, " %s", r[i].name);
    }
  list = ch_buf_steal (&names);
  if (cfg->radio)
    return ch_error (err, 0, "no Wi-Fi radio `%s` (radios:%s)", cfg->radio, n ? list : " none");
  (void) all;
  return ch_error (err, 0, "no Wi-Fi radio that can run an access point (radios:%s)", n ? list : " none");
}

static bool
in_path (const char *prog)
{
  static const char *const dirs[] = { "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", dirs[i], prog);
      if (access (p, X_OK) == 0)
        return true;
    }
  return false;
}

static char *
hostapd_conf (const struct ch_wifi_config *cfg, const char *ap, const char *br, const char *ctrl)
{
  struct ch_buf b = { 0 };
  ch_buf_printf (&b,
                 "# written by chuted: the Wi-Fi network of a chute\n"
                 "interface=%s\nbridge=%s\ndriver=nl80211\nctrl_interface=%s\n"
                 "ssid=%s\nhw_mode=g\nchannel=%u\nieee80211n=1\nwmm_enabled=1\n",
                 ap, br, ctrl, cfg->ssid, cfg->channel);
  if (cfg->key)
    ch_buf_printf (&b, "wpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nwpa_passphrase=%s\n", cfg->key);
  return ch_buf_steal (&b);
}

static int
wait_enabled (const char *ctrl_sock, const char *log, ch_error_t *err)
{
  for (int i = 0; i < 200; i++) /* 20 s: hostapd is slow to start under emulation */
    {
      cleanup_free char *reply = NULL, *state = NULL;
      cleanup_error ch_error_t ignored = NULL;
      if (ch_wifi_ctrl (ctrl_sock, "STATUS", &reply, &ignored) == 0 && (state = ch_wifi_ctrl_value (reply, "state"))
          && strcmp (state, "ENABLED") == 0)
        return 0;
      usleep (100000);
    }
  {
    cleanup_free char *text = NULL;
    cleanup_error ch_error_t ignored = NULL;
    const char *last = "";
    size_t len = 0;
    if (ch_read_file (log, &text, &len, &ignored) == 0 && len > 0)
      {
        while (len > 0 && text[len - 1] == '\n')
          text[--len] = '\0';
        last = strrchr (text, '\n') ? strrchr (text, '\n') + 1 : text;
      }
    return ch_error (err, 0, "hostapd did not bring the access point up%s%s", *last ? ": " : "", last);
  }
}

static int
setup_locked (const char *run_root, const char *chute, const struct ch_wifi_config *cfg, const char *netns_path,
              json_t *st, ch_error_t *err)
{
  cleanup_json json_t *all = NULL;
  cleanup_nl struct nl_sock *sk = NULL, *nsk = NULL;
  cleanup_close int nsfd = -1;
  cleanup_free char *dir = ch_wifi_dir (run_root, chute);
  cleanup_free char *ap = NULL, *br = NULL, *veth = NULL, *ctrl = NULL, *conf = NULL, *conf_path = NULL;
  cleanup_free char *leases = NULL, *log = NULL, *range = NULL, *lease = NULL, *addr = NULL;
  cleanup_free char *first = NULL, *last = NULL, *state_path = NULL, *cidr = NULL;
  cleanup_json json_t *rec = NULL;
  bool used[MAX_INDEX] = { false };
  struct ch_wifi_radio radio;
  const char *key;
  json_t *v;
  unsigned k;
  int bridx, idx, r;
  pid_t sup;

  if (!in_path ("hostapd") || !in_path ("dnsmasq"))
    return ch_error (err, 0, "Wi-Fi chutes need hostapd and dnsmasq (Debian packages hostapd, dnsmasq-base)");
  if (load_all (run_root, &all, err) < 0)
    return -1;
  if (json_object_get (all, chute))
    return ch_error (err, 0, "chute `%s` already has a Wi-Fi network", chute);
  json_object_foreach (all, key, v)
  {
    if (strcmp (jstr (v, "ssid"), cfg->ssid) == 0)
      return ch_error (err, 0, "SSID `%s` is already the network of chute `%s`", cfg->ssid, key);
    json_int_t i = json_integer_value (json_object_get (v, "index"));
    if (i >= 0 && i < MAX_INDEX)
      used[i] = true;
  }
  for (k = 0; k < MAX_INDEX && used[k]; k++)
    ;
  if (k == MAX_INDEX)
    return ch_error (err, 0, "every Wi-Fi subnet 10.214.0-255.0/24 is in use");
  if (pick_radio (cfg, all, &radio, err) < 0)
    return -1;
  nsfd = open (netns_path, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return ch_error (err, errno, "open netns `%s`", netns_path);
  if (ch_nl_open (&sk, err) < 0 || ch_nl_open_in_netns (netns_path, &nsk, err) < 0)
    return -1;
  if (ch_nl_ifindex (nsk, cfg->intf, &idx, err) < 0)
    return -1;
  if (idx != 0)
    return ch_error (err, 0, "interface `%s` already exists in chute `%s`: pick another intf", cfg->intf, chute);

  ap = xasprintf ("chwap%u", k);
  br = xasprintf ("chwbr%u", k);
  veth = xasprintf ("chwv%u", k);
  ctrl = xasprintf ("%s/ctrl", dir);
  conf_path = xasprintf ("%s/hostapd.conf", dir);
  leases = xasprintf ("%s/leases", dir);
  log = xasprintf ("%s/wifi.log", dir);
  state_path = xasprintf ("%s/state.json", dir);
  addr = ch_net_ip4_str (WIFI_NET | k << 8 | 1);
  first = ch_net_ip4_str (WIFI_NET | k << 8 | cfg->dhcp_start);
  last = ch_net_ip4_str (WIFI_NET | k << 8 | (cfg->dhcp_start + cfg->dhcp_limit - 1));
  cidr = xasprintf ("%s/24", addr);
  rec = json_pack ("{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:I}}", "chute", chute,
                   "index", (json_int_t) k, "radio", radio.name, "wiphy", (json_int_t) radio.index, "ssid", cfg->ssid,
                   "security", cfg->key ? "wpa2-psk" : "open", "ap_interface", ap, "bridge", br, "veth", veth, "intf",
                   cfg->intf, "address", cidr, "netns", netns_path, "dhcp", "first", first, "last", last, "lease_secs",
                   (json_int_t) cfg->lease_secs);
  json_object_update (st, rec);
  /* recorded before anything is made, so teardown finds half-made setups */
  if (ch_mkdir_p (ctrl, 0700, err) < 0 || ch_json_save_file (state_path, st, 0600, err) < 0)
    return -1;

  if (ch_wifi_ap_add (radio.index, ap, err) < 0)
    return -1;
  if ((r = rtnl_link_bridge_add (sk, br)) < 0)
    return ch_error (err, 0, "create bridge `%s`: %s", br, nl_geterror (r));
  if (ch_nl_ifindex (sk, br, &bridx, err) < 0 || ch_nl_link_up (sk, bridx, err) < 0)
    return -1;
  if (ch_nl_veth_add (sk, veth, cfg->intf, nsfd, bridx, 1500, err) < 0)
    return -1;
  if (ch_nl_ifindex (nsk, cfg->intf, &idx, err) < 0 || ch_nl_addr_add (nsk, idx, WIFI_NET | k << 8 | 1, 24, err) < 0
      || ch_nl_link_up (nsk, idx, err) < 0)
    return ch_error_prefix (err, "chute interface `%s`", cfg->intf);

  conf = hostapd_conf (cfg, ap, br, ctrl);
  if (ch_write_file (conf_path, conf, strlen (conf), 0600, err) < 0)
    return -1;
  range = xasprintf ("--dhcp-range=%s,%s,255.255.255.0,%" PRIu64, first, last, cfg->lease_secs);
  lease = xasprintf ("--dhcp-leasefile=%s", leases);
  {
    cleanup_free char *iface = xasprintf ("--interface=%s", cfg->intf);
    char *const hostapd_argv[] = { "hostapd", conf_path, NULL };
    char *const dnsmasq_argv[] = { "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                                   "--no-ping", "--user=root", iface, "--bind-interfaces", "--except-interface=lo",
                                   range, lease, "--dhcp-authoritative", "--log-facility=-", NULL };
    struct ch_wifi_procs procs = { hostapd_argv, dnsmasq_argv, netns_path, log };
    if (ch_wifi_supervise (&procs, &sup, err) < 0)
      return -1;
  }
  json_object_set_new (st, "supervisor_pid", json_integer (sup));
  return ch_json_save_file (state_path, st, 0600, err);
}

int
ch_wifi_setup_start (const char *root, const char *run_root, const char *chute, const struct ch_wifi_config *cfg,
                     const char *netns_path, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, NULL);
  cleanup_free char *lock = xasprintf ("%s/lock", dir);
  cleanup_close int lfd = -1;
  cleanup_json json_t *st = json_object ();

  (void) root;
  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_lock_file (lock, true, &lfd, err) < 0)
    return ch_error_prefix (err, "wifi");
  if (setup_locked (run_root, chute, cfg, netns_path, st, err) < 0)
    {
      cleanup_error ch_error_t uerr = NULL;
      /* only undo what this call recorded: an "already has" refusal recorded nothing */
      if (json_object_get (st, "index"))
        undo (run_root, chute, st, &uerr);
      return ch_error_prefix (err, "wifi");
    }
  return 0;
}

int
ch_wifi_wait_up (const char *run_root, const char *chute, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, chute);
  cleanup_free char *path = xasprintf ("%s/state.json", dir), *log = xasprintf ("%s/wifi.log", dir);
  cleanup_free char *ctrl_sock = NULL;
  cleanup_json json_t *st = NULL;

  /* not under the lock: hostapd's start keeps no other chute's setup waiting */
  if (ch_json_load_file (path, &st, err) < 0)
    return ch_error_prefix (err, "wifi");
  ctrl_sock = xasprintf ("%s/ctrl/%s", dir, jstr (st, "ap_interface"));
  if (wait_enabled (ctrl_sock, log, err) < 0)
    return ch_error_prefix (err, "wifi: SSID `%s`", jstr (st, "ssid"));
  return 0;
}

int
ch_wifi_setup (const char *root, const char *run_root, const char *chute, const struct ch_wifi_config *cfg,
               const char *netns_path, ch_error_t *err)
{
  if (ch_wifi_setup_start (root, run_root, chute, cfg, netns_path, err) < 0)
    return -1;
  if (ch_wifi_wait_up (run_root, chute, err) < 0)
    {
      cleanup_error ch_error_t uerr = NULL;
      ch_wifi_teardown (root, run_root, chute, &uerr);
      return -1;
    }
  return 0;
}

int
ch_wifi_teardown (const char *root, const char *run_root, const char *chute, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, NULL);
  cleanup_free char *lock = xasprintf ("%s/lock", dir);
  cleanup_free char *cdir = ch_wifi_dir (run_root, chute);
  cleanup_free char *path = xasprintf ("%s/state.json", cdir);
  cleanup_close int lfd = -1;
  cleanup_json json_t *st = NULL;

  (void) root;
  if (access (cdir, F_OK) < 0)
    return 0;
  if (ch_lock_file (lock, true, &lfd, err) < 0)
    return ch_error_prefix (err, "wifi");
  if (access (path, F_OK) < 0)
    st = json_object ();
  else if (ch_json_load_file (path, &st, err) < 0)
    return ch_error_prefix (err, "wifi");
  if (undo (run_root, chute, st, err) < 0)
    return ch_error_prefix (err, "wifi: remove the network of `%s`", chute);
  return 0;
}

int
ch_wifi_reap (const char *root, const char *run_root, ch_chute_alive_fn alive, void *data, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, NULL);
  cleanup_dir DIR *d = opendir (dir);
  struct dirent *e;

  if (d == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", dir);
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.' || strcmp (e->d_name, "lock") == 0 || alive (e->d_name, data))
        continue;
      if (ch_wifi_teardown (root, run_root, e->d_name, err) < 0)
        return -1;
    }
  return 0;
}

static json_t *
stations (const char *ctrl_sock)
{
  json_t *a = json_array ();
  cleanup_free char *reply = NULL;
  cleanup_error ch_error_t ignored = NULL;

  if (ch_wifi_ctrl (ctrl_sock, "STA-FIRST", &reply, &ignored) < 0)
    return a;
  for (int n = 0; n < 256 && reply && strlen (reply) >= 17 && reply[2] == ':'; n++)
    {
      cleanup_free char *mac = xstrndup (reply, 17);
      cleanup_free char *cmd = xasprintf ("STA-NEXT %s", mac);
      json_array_append_new (a, json_string (mac));
      free (reply);
      reply = NULL;
      if (ch_wifi_ctrl (ctrl_sock, cmd, &reply, &ignored) < 0)
        break;
    }
  return a;
}

/* dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENT-ID" per line. */
static json_t *
lease_list (const char *path)
{
  json_t *a = json_array ();
  cleanup_fclose FILE *f = fopen (path, "re");
  char *line = NULL;
  size_t cap = 0;

  while (f && getline (&line, &cap, f) > 0)
    {
      long long exp;
      char mac[64], ip[64], host[256];
      if (sscanf (line, "%lld %63s %63s %255s", &exp, mac, ip, host) == 4)
        json_array_append_new (a, json_pack ("{s:s, s:s, s:s, s:I}", "mac", mac, "ip", ip, "hostname",
                                             strcmp (host, "*") ? host : "", "expires", (json_int_t) exp));
    }
  free (line);
  return a;
}

int
ch_wifi_list (const char *root, const char *run_root, json_t **out, ch_error_t *err)
{
  cleanup_json json_t *all = NULL;
  cleanup_free struct ch_wifi_radio *r = NULL;
  cleanup_error ch_error_t rerr = NULL;
  json_t *radios = json_array (), *nets = json_array ();
  size_t n = 0;
  const char *key;
  json_t *st;

  (void) root;
  if (load_all (run_root, &all, err) < 0)
    {
      json_decref (radios);
      json_decref (nets);
      return -1;
    }
  ch_wifi_radios (&r, &n, &rerr); /* no cfg80211: no radios, not an error */
  for (size_t i = 0; i < n; i++)
    {
      json_t *users = json_array ();
      json_object_foreach (all, key, st)
        if (strcmp (jstr (st, "radio"), r[i].name) == 0)
          json_array_append_new (users, json_string (key));
      json_array_append_new (radios, json_pack ("{s:s, s:I, s:b, s:o}", "phy", r[i].name, "index",
                                                (json_int_t) r[i].index, "ap", r[i].ap, "chutes", users));
    }
  json_object_foreach (all, key, st)
  {
    cleanup_free char *dir = ch_wifi_dir (run_root, key);
    cleanup_free char *ctrl_sock = xasprintf ("%s/ctrl/%s", dir, jstr (st, "ap_interface"));
    cleanup_free char *leases = xasprintf ("%s/leases", dir);
    cleanup_free char *reply = NULL, *state = NULL;
    cleanup_error ch_error_t cerr = NULL;
    json_t *o = json_deep_copy (st);
    json_int_t pid = json_integer_value (json_object_get (st, "supervisor_pid"));

    if (ch_wifi_ctrl (ctrl_sock, "STATUS", &reply, &cerr) == 0)
      state = ch_wifi_ctrl_value (reply, "state");
    json_object_del (o, "supervisor_pid");
    json_object_del (o, "netns");
    json_object_set_new (o, "supervisor", json_pack ("{s:I, s:b}", "pid", pid, "running",
                                                     supervisor_alive ((pid_t) pid)));
    json_object_set_new (o, "hostapd", json_pack ("{s:s}", "state", state ? state : "DOWN"));
    json_object_set_new (o, "stations", stations (ctrl_sock));
    json_object_set_new (o, "leases", lease_list (leases));
    json_array_append_new (nets, o);
  }
  *out = json_pack ("{s:o, s:o}", "radios", radios, "networks", nets);
  return 0;
}
