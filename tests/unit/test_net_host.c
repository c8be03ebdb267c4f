/* ch_net_setup/teardown/set_shaping/reap for real, as root: netns, veth,
 * bridge, nftables and tbf on this host, checked with ip/nft/tc, and traffic
 * between namespaces this test makes (a LAN client, a WAN server) and the
 * chutes. Nothing leaves those namespaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "netns/net.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BRIDGE "chtnet0"
#define SUBNET "10.231.77.0/24"
#define TABLE "chuted_" BRIDGE
#define BRIDGE2 "chtnet1"
#define SUBNET2 "10.231.80.0/24"
#define TABLE2 "chuted_" BRIDGE2
#define LAN_NS "chuted-test-nlan"
#define WAN_NS "chuted-test-nwan"
#define LAN_HOST "10.231.78.1"
#define LAN_PEER "10.231.78.2"
#define WAN_HOST "10.231.79.1"
#define WAN_PEER "10.231.79.2"

struct t
{
  char *dir, *root, *run;
  char fwd_orig;
  pid_t wan_httpd;
  pid_t httpds[8]; /* killed by group_teardown even when a test fails midway */
  int lock;
};

static int
sh (const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *cmd = NULL;
  int r;
  va_start (ap, fmt);
  cmd = xvasprintf (fmt, ap);
  va_end (ap);
  r = system (cmd);
  return WIFEXITED (r) ? WEXITSTATUS (r) : 255;
}

static char *
out (const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *cmd = NULL;
  struct ch_buf b = { 0 };
  char buf[4096];
  size_t n;
  FILE *f;
  va_start (ap, fmt);
  cmd = xvasprintf (fmt, ap);
  va_end (ap);
  f = popen (cmd, "r");
  assert_non_null (f);
  while ((n = fread (buf, 1, sizeof buf, f)) > 0)
    ch_buf_append (&b, buf, n);
  pclose (f);
  ch_buf_append (&b, "", 1);
  return ch_buf_steal (&b);
}

static void
remove_test_net (void)
{
  /* leftovers of an earlier crashed run of this test */
  sh ("ip netns del " LAN_NS " 2>/dev/null; ip netns del " WAN_NS " 2>/dev/null; ip link del chtnlan0 2>/dev/null;"
      "ip link del chtnwan0 2>/dev/null; nft delete table ip " TABLE " 2>/dev/null;"
      "nft delete table ip " TABLE2 " 2>/dev/null;"
      "for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^chv-0ae74d\\|^chv-0ae750'); do ip link del $l; done;"
      "ip link del " BRIDGE " 2>/dev/null; ip link del " BRIDGE2 " 2>/dev/null; true");
}

/* A netns wired to the host by a veth: HOST_IP on the host end, PEER_IP inside. */
static void
make_peer_ns (const char *ns, const char *hostif, const char *host_ip, const char *peer_ip)
{
  assert_int_equal (sh ("ip netns add %s && ip link add %s type veth peer name eth0 netns %s"
                        " && ip addr add %s/24 dev %s && ip link set %s up"
                        " && ip -n %s addr add %s/24 dev eth0 && ip -n %s link set eth0 up && ip -n %s link set lo up"
                        " && ip -n %s route add default via %s",
                        ns, hostif, ns, host_ip, hostif, hostif, ns, peer_ip, ns, ns, ns, host_ip),
                    0);
}

/* busybox httpd -f in the netns at NSPATH, serving a page saying WHO */
static pid_t
httpd_in (struct t *t, const char *nspath, const char *who, int port)
{
  cleanup_free char *www = xasprintf ("%s/www-%s", t->dir, who);
  cleanup_free char *index = xasprintf ("%s/index.html", www);
  cleanup_free char *p = xasprintf ("%d", port);
  ch_error_t err = NULL;
  pid_t pid;

  assert_int_equal (ch_mkdir_p (www, 0755, &err), 0);
  assert_int_equal (ch_write_file (index, who, strlen (who), 0644, &err), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      int fd = open (nspath, O_RDONLY);
      int null = open ("/dev/null", O_RDWR);
      /* not the test's stdout: a reader of it would wait for httpd */
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (null, 2);
      if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
        _exit (126);
      execl ("/bin/busybox", "busybox", "httpd", "-f", "-p", p, "-h", www, (char *) NULL);
      _exit (127);
    }
  for (size_t i = 0; i < 8; i++)
    if (t->httpds[i] == 0)
      {
        t->httpds[i] = pid;
        break;
      }
  /* wait until it listens */
  for (int i = 0; i < 50; i++)
    {
      if (sh ("nsenter --net=%s busybox netstat -ltn 2>/dev/null | grep -q ':%d '", nspath, port) == 0)
        break;
      usleep (20000);
    }
  return pid;
}

static void
stop (pid_t pid)
{
  if (pid > 0 && waitpid (pid, NULL, WNOHANG) == 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
}

static int
group_setup (void **state)
{
  struct t *t = xzalloc (sizeof *t);
  cleanup_free char *fwd = NULL;
  ch_error_t err = NULL;

  if (geteuid () != 0)
    {
      print_message ("not root: skipping\n");
      return -1;
    }
  /* fixed names (so a crashed run's leftovers are found): one instance at a
     time, e.g. the plain and the ASan build run side by side */
  t->lock = open ("/run/lock/chuted-test-net_host.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (t->lock < 0 || flock (t->lock, LOCK_EX) < 0)
    {
      print_error ("lock: %s\n", strerror (errno));
      return -1;
    }
  t->dir = xstrdup ("/tmp/chuted-test-net.XXXXXX");
  assert_non_null (mkdtemp (t->dir));
  t->root = xasprintf ("%s/root", t->dir);
  t->run = xasprintf ("%s/run", t->dir);
  assert_int_equal (ch_mkdir_p (t->root, 0700, &err), 0);
  assert_int_equal (ch_mkdir_p (t->run, 0700, &err), 0);
  setenv ("CHUTED_BRIDGE", BRIDGE, 1);
  setenv ("CHUTED_SUBNET", SUBNET, 1);
  setenv ("CHUTED_DNS", "10.231.79.53", 1);
  {
    cleanup_free char *netroot = xasprintf ("%s/netroot", t->dir);
    setenv ("CHUTED_NET_ROOT", netroot, 1);
  }
  unsetenv ("CHUTED_MTU");
  assert_int_equal (ch_read_file ("/proc/sys/net/ipv4/ip_forward", &fwd, NULL, &err), 0);
  t->fwd_orig = fwd[0];
  remove_test_net ();
  make_peer_ns (LAN_NS, "chtnlan0", LAN_HOST, LAN_PEER);
  make_peer_ns (WAN_NS, "chtnwan0", WAN_HOST, WAN_PEER);
  t->wan_httpd = httpd_in (t, "/run/netns/" WAN_NS, "wan", 80);
  *state = t;
  return 0;
}

/* every chute is "gone": the reaper removes all their networks */
static void
reap_all (struct t *t)
{
  cleanup_free char *chutes = xasprintf ("%s/chutes", t->run);
  ch_error_t err = NULL;

  setenv ("CHUTED_BRIDGE", BRIDGE, 1);
  setenv ("CHUTED_SUBNET", SUBNET, 1);
  for (size_t i = 0; i < 8; i++)
    if (t->httpds[i] != t->wan_httpd)
      {
        stop (t->httpds[i]);
        t->httpds[i] = 0;
      }
  if (access (chutes, F_OK) == 0 && ch_rm_rf (chutes, &err) < 0)
    ch_error_release (&err);
  if (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err) < 0)
    {
      print_error ("reap: %s\n", err->msg);
      ch_error_release (&err);
    }
}

/* a failed test must not leave chutes that fail the next ones */
static int
test_teardown (void **state)
{
  reap_all (*state);
  return 0;
}

static int
group_teardown (void **state)
{
  struct t *t = *state;

  if (t == NULL)
    return 0;
  stop (t->wan_httpd);
  for (size_t i = 0; i < 8; i++)
    stop (t->httpds[i]);
  reap_all (t);
  remove_test_net ();
  sh ("umount -R %s 2>/dev/null; rm -rf %s", t->run, t->dir);
  free (t->dir);
  free (t->root);
  free (t->run);
  close (t->lock);
  free (t);
  return 0;
}

/* the chute is "alive" while RUN_ROOT/chutes/NAME exists (the lead's layout) */
static void
mark_alive (struct t *t, const char *name, bool alive)
{
  cleanup_free char *p = xasprintf ("%s/chutes/%s", t->run, name);
  ch_error_t err = NULL;
  if (alive)
    assert_int_equal (ch_mkdir_p (p, 0700, &err), 0);
  else
    rmdir (p);
}

static void
setup_ok (struct t *t, const char *name, struct ch_net_config *cfg, struct ch_net_result *res)
{
  ch_error_t err = NULL;
  mark_alive (t, name, true);
  if (ch_net_setup (t->root, t->run, name, cfg, res, &err) < 0)
    fail_msg ("setup %s: %s", name, err->msg);
}

static void
teardown_ok (struct t *t, const char *name)
{
  ch_error_t err = NULL;
  if (ch_net_teardown (t->root, t->run, name, &err) < 0)
    fail_msg ("teardown %s: %s", name, err->msg);
  mark_alive (t, name, false);
}

/* a veth goes with its netns, which the kernel destroys asynchronously */
static bool
veths_gone (void)
{
  for (int i = 0; i < 40; i++)
    {
      if (sh ("ip -o link show | grep -q 'chv-0ae74d\\|chv-0ae750'") != 0)
        return true;
      usleep (50000);
    }
  return false;
}

static void
assert_pruned (struct t *t)
{
  cleanup_free char *removed = NULL;
  cleanup_free char *ipam = NULL;
  cleanup_free char *ipam_path = xasprintf ("%s/netroot/" BRIDGE "/ipam.json", t->dir);
  ch_error_t err = NULL;

  if (ch_net_prune (t->root, t->run, &removed, &err) < 0)
    fail_msg ("prune: %s", err->msg);
  assert_int_not_equal (sh ("ip link show " BRIDGE " >/dev/null 2>&1"), 0);
  assert_int_not_equal (sh ("nft list table ip " TABLE " >/dev/null 2>&1"), 0);
  if (access (ipam_path, F_OK) == 0)
    {
      assert_int_equal (ch_read_file (ipam_path, &ipam, NULL, &err), 0);
      assert_null (strstr (ipam, "\"bridge\""));
    }
}

/* nothing of the torn-down chutes left on the host (the bridge and the
 * table stay, without forwards); then the prune removes those too */
static void
assert_clean (struct t *t)
{
  cleanup_free char *ns = out ("ls %s/netns 2>/dev/null | wc -l", t->run);
  cleanup_free char *fwd = NULL;
  ch_error_t err = NULL;

  assert_true (veths_gone ());
  assert_string_equal (ns, "0\n");
  assert_int_not_equal (sh ("nft list table ip " TABLE " 2>/dev/null | grep -q 'dnat to'"), 0);
  assert_int_equal (sh ("grep -q ' %s/' /proc/mounts", t->run), 1);
  assert_int_equal (ch_read_file ("/proc/sys/net/ipv4/ip_forward", &fwd, NULL, &err), 0);
  assert_int_equal (fwd[0], t->fwd_orig);
  assert_pruned (t);
}

static int
wget (const char *nspath, const char *url, const char *want)
{
  cleanup_free char *body = out ("nsenter --net=%s curl -s -m 2 %s 2>/dev/null", nspath, url);
  return strcmp (body, want) == 0 ? 0 : -1;
}

static void
test_bridge_traffic (void **state)
{
  struct t *t = *state;
  struct ch_net_port ports[1];
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .ports = ports, .n_ports = 1, .hostname = "web" };
  struct ch_net_result ra = { 0 }, rb = { 0 };
  struct ch_net_config cfgb = { .mode = CH_NET_BRIDGE };
  ch_error_t err = NULL;
  cleanup_free char *addr = NULL, *hosts = NULL, *resolv = NULL, *table = NULL, *route = NULL;
  cleanup_free char *b_ip = NULL, *a_ip = NULL, *a_url = NULL, *b_url = NULL;
  pid_t ha, hb;

  assert_int_equal (ch_net_parse_port ("18080:80", &ports[0], &err), 0);
  setup_ok (t, "a", &cfg, &ra);
  setup_ok (t, "b", &cfgb, &rb);
  ch_net_port_clear (&ports[0]);

  assert_string_equal (ra.address, "10.231.77.2/24");
  assert_string_equal (ra.gateway, "10.231.77.1");
  assert_string_equal (rb.address, "10.231.77.3/24");
  assert_non_null (strstr (ra.netns_path, "/netns/a"));
  addr = out ("nsenter --net=%s ip -o -4 addr show dev eth0 | awk '{print $4}'", ra.netns_path);
  assert_string_equal (addr, "10.231.77.2/24\n");
  route = out ("nsenter --net=%s ip route show default", ra.netns_path);
  assert_non_null (strstr (route, "default via 10.231.77.1 dev eth0"));
  assert_int_equal (sh ("ip -d link show chv-0ae74d02 | grep -q 'master " BRIDGE "'"), 0);
  assert_int_equal (sh ("ip -d link show chv-0ae74d02 | grep -q 'isolated on'"), 0);
  /* no IPv6 link-local path from chutes to the host's services */
  assert_int_equal (sh ("test ! -e /proc/sys/net/ipv6/conf/" BRIDGE " || grep -q 1 /proc/sys/net/ipv6/conf/" BRIDGE
                        "/disable_ipv6"),
                    0);
  assert_int_equal (ch_read_file (ra.hosts_path, &hosts, NULL, &err), 0);
  assert_non_null (strstr (hosts, "10.231.77.2\tweb\n"));
  assert_int_equal (ch_read_file (ra.resolv_path, &resolv, NULL, &err), 0);
  assert_string_equal (resolv, "nameserver 10.231.79.53\n");
  table = out ("nft list table ip " TABLE);
  assert_non_null (strstr (table, "dnat to 10.231.77.2:80"));
  assert_non_null (strstr (table, "masquerade"));
  {
    /* forwards are tagged with the lease's key: ROOT/NAME, unique across the roots sharing the bridge */
    char rp[PATH_MAX];
    cleanup_free char *tag = NULL;
    assert_non_null (realpath (t->root, rp));
    tag = xasprintf ("comment \"chute:%s/a\"", rp);
    assert_non_null (strstr (table, tag));
  }
  assert_int_equal (sh ("grep -q 1 /proc/sys/net/ipv4/ip_forward"), 0);

  ha = httpd_in (t, ra.netns_path, "chute-a", 80);
  hb = httpd_in (t, rb.netns_path, "chute-b", 80);
  /* LAN client -> host:18080 -> chute a */
  assert_int_equal (wget ("/run/netns/" LAN_NS, "http://" LAN_HOST ":18080/", "chute-a"), 0);
  /* chute -> WAN server through NAT; the server sees the host's address */
  assert_int_equal (wget (ra.netns_path, "http://" WAN_PEER "/", "wan"), 0);
  assert_int_equal (sh ("nsenter --net=/run/netns/" WAN_NS " cat /proc/net/nf_conntrack 2>/dev/null | grep -q 10.231.77."), 1);
  /* chutes cannot reach each other, nor the host's own addresses */
  b_ip = xstrndup (rb.address, strchr (rb.address, '/') - rb.address);
  a_ip = xstrndup (ra.address, strchr (ra.address, '/') - ra.address);
  b_url = xasprintf ("http://%s/", b_ip);
  a_url = xasprintf ("http://%s/", a_ip);
  assert_int_equal (wget (ra.netns_path, b_url, "chute-b"), -1);
  assert_int_equal (wget (rb.netns_path, a_url, "chute-a"), -1);
  assert_int_equal (wget (rb.netns_path, "http://" LAN_HOST ":18080/", "chute-a"), -1);
  /* ... but the host reaches b directly (it is the bridge) */
  assert_int_equal (wget ("/proc/self/ns/net", b_url, "chute-b"), 0);
  stop (ha);
  stop (hb);

  ch_net_result_clear (&ra);
  ch_net_result_clear (&rb);
  teardown_ok (t, "a");
  assert_int_not_equal (sh ("nft list table ip " TABLE " | grep -q \"dnat to\""), 0);
  teardown_ok (t, "b");
  /* idempotent */
  teardown_ok (t, "b");
  assert_clean (t);
}

static void
test_net_none (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_NONE };
  struct ch_net_result r = { 0 };
  cleanup_free char *routes = NULL, *links = NULL;

  setup_ok (t, "n", &cfg, &r);
  assert_null (r.address);
  assert_null (r.gateway);
  assert_non_null (r.netns_path);
  assert_non_null (r.hosts_path);
  routes = out ("nsenter --net=%s ip -4 route show table all | grep -v '^local\\|^broadcast' | wc -l", r.netns_path);
  assert_string_equal (routes, "0\n");
  links = out ("nsenter --net=%s ip -o link show up | awk -F': ' '{print $2}'", r.netns_path);
  assert_string_equal (links, "lo\n");
  assert_int_not_equal (sh ("nsenter --net=%s curl -s -m 1 http://" WAN_PEER "/ 2>/dev/null", r.netns_path), 0);
  ch_net_result_clear (&r);
  teardown_ok (t, "n");
  assert_clean (t);

  /* host mode makes nothing */
  cfg.mode = CH_NET_HOST;
  setup_ok (t, "h", &cfg, &r);
  assert_null (r.netns_path);
  assert_null (r.hosts_path);
  teardown_ok (t, "h");
  assert_clean (t);
}

static void
test_addresses_unique (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE };
  char *addrs[20];
  struct ch_net_result r = { 0 };
  int i, k;

  for (i = 0; i < 20; i++)
    {
      cleanup_free char *name = xasprintf ("u%d", i);
      setup_ok (t, name, &cfg, &r);
      addrs[i] = steal_pointer (&r.address);
      ch_net_result_clear (&r);
      for (k = 0; k < i; k++)
        assert_string_not_equal (addrs[i], addrs[k]);
    }
  /* the lease survives a restart: it is on disk */
  {
    cleanup_free char *ipam = NULL;
    ch_error_t err = NULL;
    cleanup_free char *p = xasprintf ("%s/netroot/" BRIDGE "/ipam.json", t->dir);
    assert_int_equal (ch_read_file (p, &ipam, NULL, &err), 0);
    assert_non_null (strstr (ipam, "\"10.231.77.21\""));
  }
  teardown_ok (t, "u5");
  setup_ok (t, "new", &cfg, &r);
  /* u5's address is free again, nobody else's is */
  assert_string_equal (r.address, addrs[5]);
  ch_net_result_clear (&r);
  teardown_ok (t, "new");
  for (i = 0; i < 20; i++)
    {
      cleanup_free char *name = xasprintf ("u%d", i);
      if (i != 5)
        teardown_ok (t, name);
      free (addrs[i]);
    }
  assert_clean (t);
}

/* one clear error, nothing made */
static void
bad_setup (struct t *t, const char *name, struct ch_net_config *cfg, const char *want)
{
  struct ch_net_result r = { 0 };
  ch_error_t err = NULL;
  cleanup_free char *lease_path = xasprintf ("%s/netns/%s", t->run, name);

  mark_alive (t, name, true);
  if (ch_net_setup (t->root, t->run, name, cfg, &r, &err) == 0)
    fail_msg ("setup of `%s` succeeded, want an error with `%s`", name, want);
  assert_non_null (err);
  if (strstr (err->msg, want) == NULL)
    fail_msg ("error `%s` lacks `%s`", err->msg, want);
  assert_null (strchr (err->msg, '\n'));
  assert_null (r.netns_path);
  assert_int_equal (access (lease_path, F_OK), -1);
  ch_error_release (&err);
  mark_alive (t, name, false);
}

static void
test_bad_input (void **state)
{
  struct t *t = *state;
  struct ch_net_port ports[2];
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .ports = ports, .n_ports = 1 };
  struct ch_net_result r = { 0 };
  ch_error_t err = NULL;
  cleanup_free char *ipam = NULL;
  cleanup_free char *ipam_path = xasprintf ("%s/netroot/" BRIDGE "/ipam.json", t->dir);

  /* the LAN test network is on the host: a subnet overlapping it is refused */
  setenv ("CHUTED_SUBNET", "10.231.78.0/25", 1);
  bad_setup (t, "x", &cfg, "overlaps 10.231.78.1/24 on `chtnlan0`");
  setenv ("CHUTED_SUBNET", "10.231.0.0/16", 1);
  bad_setup (t, "x", &cfg, "overlaps");
  setenv ("CHUTED_SUBNET", "10.231.77.5/24", 1);
  bad_setup (t, "x", &cfg, "host bits");
  setenv ("CHUTED_SUBNET", SUBNET, 1);
  setenv ("CHUTED_BRIDGE", "a-name-too-long-for-linux", 1);
  bad_setup (t, "x", &cfg, "bridge name");
  setenv ("CHUTED_BRIDGE", BRIDGE, 1);
  assert_clean (t);

  /* a port already published */
  assert_int_equal (ch_net_parse_port ("18081:80", &ports[0], &err), 0);
  assert_int_equal (ch_net_parse_port ("18081:81", &ports[1], &err), 0);
  setup_ok (t, "p1", &cfg, &r);
  ch_net_result_clear (&r);
  bad_setup (t, "p2", &cfg, "port 18081/tcp is already published by chute `p1`");
  cfg.n_ports = 2;
  ports[0].host_port = ports[1].host_port = 18082;
  bad_setup (t, "p3", &cfg, "published twice");
  ports[0].host_port = 18081;
  /* the same number over udp is another port */
  ports[0].proto = IPPROTO_UDP;
  cfg.n_ports = 1;
  setup_ok (t, "p4", &cfg, &r);
  ch_net_result_clear (&r);
  /* twice the same name: refused, the first one untouched */
  assert_true (ch_net_setup (t->root, t->run, "p4", &cfg, &r, &err) < 0);
  assert_non_null (strstr (err->msg, "already has a network"));
  ch_error_release (&err);
  assert_int_equal (sh ("ip link show chv-0ae74d03 >/dev/null"), 0);
  /* ports without a bridge */
  cfg.mode = CH_NET_NONE;
  bad_setup (t, "p5", &cfg, "need the bridge network");
  /* a root path too long to tag its published ports in a rule comment */
  {
    cleanup_free char *long_root = xasprintf ("%s/%0240d", t->dir, 0);
    struct ch_net_result lr = { 0 };
    cfg.mode = CH_NET_BRIDGE;
    assert_int_equal (ch_mkdir_p (long_root, 0700, &err), 0);
    assert_true (ch_net_setup (long_root, t->run, "p6", &cfg, &lr, &err) < 0);
    assert_non_null (strstr (err->msg, "too long (> 240) to tag published ports"));
    ch_error_release (&err);
    cfg.mode = CH_NET_NONE;
  }
  assert_int_equal (ch_read_file (ipam_path, &ipam, NULL, &err), 0);
  assert_null (strstr (ipam, "\"p2\""));
  assert_null (strstr (ipam, "\"p3\""));
  assert_null (strstr (ipam, "\"p5\""));
  teardown_ok (t, "p1");
  teardown_ok (t, "p4");
  ch_net_port_clear (&ports[0]);
  ch_net_port_clear (&ports[1]);
  assert_clean (t);
}

static void
test_shaping (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .wan_down_kbit = 10000, .wan_up_kbit = 5000 };
  struct ch_net_result r = { 0 };
  ch_error_t err = NULL;
  cleanup_free char *down = NULL, *up = NULL, *down2 = NULL, *up2 = NULL, *insp = NULL;
  json_t *j = NULL;

  setup_ok (t, "s", &cfg, &r);
  down = out ("tc qdisc show dev chv-0ae74d02 root");
  up = out ("nsenter --net=%s tc qdisc show dev eth0 root", r.netns_path);
  assert_non_null (strstr (down, "tbf"));
  assert_non_null (strstr (down, "rate 10Mbit"));
  assert_non_null (strstr (up, "rate 5Mbit"));

  /* changed on the running chute; 0 lifts the limit */
  assert_int_equal (ch_net_set_shaping (t->root, t->run, "s", 20000, 0, &err), 0);
  down2 = out ("tc qdisc show dev chv-0ae74d02 root");
  up2 = out ("nsenter --net=%s tc qdisc show dev eth0 root", r.netns_path);
  assert_non_null (strstr (down2, "rate 20Mbit"));
  assert_null (strstr (up2, "tbf"));

  assert_int_equal (ch_net_inspect (t->root, t->run, "s", &j, &err), 0);
  assert_string_equal (json_string_value (json_object_get (j, "address")), "10.231.77.2/24");
  assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "wan"), "down_kbit")), 20000);
  assert_int_equal (json_integer_value (json_object_get (json_object_get (j, "wan"), "up_kbit")), 0);
  assert_non_null (json_object_get (json_object_get (j, "counters"), "rx_bytes"));
  json_decref (j);
  assert_int_not_equal (ch_net_set_shaping (t->root, t->run, "nope", 1, 1, &err), 0);
  ch_error_release (&err);

  ch_net_result_clear (&r);
  teardown_ok (t, "s");
  assert_clean (t);
}

static void
test_network_info (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE };
  struct ch_net_result r = { 0 };
  ch_error_t err = NULL;
  json_t *j = NULL;

  setup_ok (t, "i", &cfg, &r);
  ch_net_result_clear (&r);
  assert_int_equal (ch_net_network_info (t->root, t->run, &j, &err), 0);
  assert_string_equal (json_string_value (json_object_get (j, "bridge")), BRIDGE);
  assert_string_equal (json_string_value (json_object_get (j, "subnet")), SUBNET);
  assert_true (json_is_true (json_object_get (j, "present")));
  assert_int_equal (json_array_size (json_object_get (j, "leases")), 1);
  json_decref (j);
  teardown_ok (t, "i");
  /* the bridge outlives its last chute, until pruned */
  assert_int_equal (ch_net_network_info (t->root, t->run, &j, &err), 0);
  assert_true (json_is_true (json_object_get (j, "present")));
  json_decref (j);
  assert_clean (t);
  assert_int_equal (ch_net_network_info (t->root, t->run, &j, &err), 0);
  assert_true (json_is_false (json_object_get (j, "present")));
  json_decref (j);
}

/* prune: refused while a chute holds an address, then removes bridge,
 * table and the recorded network; nothing to do the second time */
static void
test_prune (void **state)
{
  struct t *t = *state;
  struct ch_net_port ports[1];
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .ports = ports, .n_ports = 1 };
  struct ch_net_result r = { 0 };
  cleanup_free char *removed = NULL;
  ch_error_t err = NULL;

  assert_int_equal (ch_net_parse_port ("18083:80", &ports[0], &err), 0);
  setup_ok (t, "pr", &cfg, &r);
  ch_net_port_clear (&ports[0]);
  ch_net_result_clear (&r);
  assert_int_equal (ch_net_prune (t->root, t->run, &removed, &err), -1);
  assert_string_equal (err->msg, "1 chute holds addresses on `" BRIDGE "`: remove it first");
  ch_error_release (&err);
  assert_null (removed);
  assert_int_equal (sh ("ip link show " BRIDGE " >/dev/null && nft list table ip " TABLE " | grep -q 'dnat to'"), 0);
  teardown_ok (t, "pr");
  assert_int_equal (sh ("ip link show " BRIDGE " >/dev/null"), 0);
  assert_int_equal (sh ("nft list table ip " TABLE " | grep -q masquerade"), 0);
  assert_int_not_equal (sh ("nft list table ip " TABLE " | grep -q 'dnat to'"), 0);
  assert_true (veths_gone ());
  assert_int_equal (ch_net_prune (t->root, t->run, &removed, &err), 0);
  assert_string_equal (removed, BRIDGE);
  free (steal_pointer (&removed));
  assert_clean (t);
  assert_int_equal (ch_net_prune (t->root, t->run, &removed, &err), 0);
  assert_null (removed);
}

/* a changed configuration, no chute left on the old network: the next
 * setup removes the old bridge and table */
static void
test_config_change (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE };
  struct ch_net_result r = { 0 };
  cleanup_free char *removed = NULL;
  ch_error_t err = NULL;

  setup_ok (t, "c1", &cfg, &r);
  ch_net_result_clear (&r);
  teardown_ok (t, "c1");
  assert_int_equal (sh ("ip link show " BRIDGE " >/dev/null && nft list table ip " TABLE " >/dev/null"), 0);
  setenv ("CHUTED_BRIDGE", BRIDGE2, 1);
  setenv ("CHUTED_SUBNET", SUBNET2, 1);
  setup_ok (t, "c2", &cfg, &r);
  assert_string_equal (r.address, "10.231.80.2/24");
  ch_net_result_clear (&r);
  assert_int_not_equal (sh ("ip link show " BRIDGE " >/dev/null 2>&1"), 0);
  assert_int_not_equal (sh ("nft list table ip " TABLE " >/dev/null 2>&1"), 0);
  assert_int_equal (sh ("ip -d link show chv-0ae75002 | grep -q 'master " BRIDGE2 "'"), 0);
  teardown_ok (t, "c2");
  assert_true (veths_gone ());
  assert_int_equal (ch_net_prune (t->root, t->run, &removed, &err), 0);
  assert_string_equal (removed, BRIDGE2);
  assert_int_not_equal (sh ("ip link show " BRIDGE2 " >/dev/null 2>&1"), 0);
  assert_int_not_equal (sh ("nft list table ip " TABLE2 " >/dev/null 2>&1"), 0);
  setenv ("CHUTED_BRIDGE", BRIDGE, 1);
  setenv ("CHUTED_SUBNET", SUBNET, 1);
  assert_clean (t);
}

/* the netns of a removed chute is kept alive (an open fd): its veth stays
 * under the host name the next chute with that address needs; the setup
 * deletes the stale link and goes on */
static void
test_address_reused_while_netns_held (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE };
  struct ch_net_result r = { 0 };
  cleanup_free char *addr = NULL;
  cleanup_close int held = -1;

  setup_ok (t, "old", &cfg, &r);
  held = open (r.netns_path, O_RDONLY | O_CLOEXEC);
  assert_true (held >= 0);
  ch_net_result_clear (&r);
  teardown_ok (t, "old");
  assert_int_equal (sh ("ip link show chv-0ae74d02 >/dev/null"), 0);
  /* just released: the reaper leaves it to the kernel for a few seconds */
  {
    ch_error_t err = NULL;
    assert_int_equal (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err), 0);
    assert_int_equal (sh ("ip link show chv-0ae74d02 >/dev/null"), 0);
  }
  setup_ok (t, "new", &cfg, &r);
  assert_string_equal (r.address, "10.231.77.2/24");
  assert_int_equal (sh ("ip -d link show chv-0ae74d02 | grep -q 'master " BRIDGE "'"), 0);
  addr = out ("nsenter --net=%s ip -o -4 addr show dev eth0 | awk '{print $4}'", r.netns_path);
  assert_string_equal (addr, "10.231.77.2/24\n");
  /* the host reaches it (it is the bridge) */
  assert_int_equal (sh ("busybox ping -c 1 -W 2 10.231.77.2 >/dev/null"), 0);
  ch_net_result_clear (&r);
  /* the held netns lost its eth0 with the stale link */
  assert_int_equal (sh ("nsenter --net=/proc/%d/fd/%d ip -o link show | grep -c eth0 | grep -q '^0$'", (int) getpid (), held), 0);
  teardown_ok (t, "new");
  assert_clean (t);
}

/* The bridge's IPAM says VETH was released a minute ago by ROOT_ID. */
static void
released_long_ago (struct t *t, const char *veth, const char *root_id)
{
  cleanup_free char *p = xasprintf ("%s/netroot/" BRIDGE "/ipam.json", t->dir);
  cleanup_json json_t *ipam = NULL;
  ch_error_t err = NULL;
  struct timespec ts;
  json_t *rel;

  clock_gettime (CLOCK_BOOTTIME, &ts);
  assert_int_equal (ch_json_load_file (p, &ipam, &err), 0);
  rel = json_object_get (ipam, "released");
  if (rel == NULL)
    json_object_set_new (ipam, "released", rel = json_object ());
  json_object_set_new (rel, veth,
                       json_pack ("{s:I, s:s}", "at", (json_int_t) (ts.tv_sec > 60 ? ts.tv_sec - 60 : 0), "root", root_id));
  assert_int_equal (ch_json_save_file (p, ipam, 0600, &err), 0);
}

static void
test_reap (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .wan_down_kbit = 5000 };
  struct ch_net_result r = { 0 };
  ch_error_t err = NULL;
  cleanup_free char *dead = NULL, *alive = NULL;

  setup_ok (t, "alive", &cfg, &r);
  ch_net_result_clear (&r);
  setup_ok (t, "dead", &cfg, &r);
  ch_net_result_clear (&r);
  mark_alive (t, "dead", false);
  /* a foreign rule flush removes our table: reap brings it back */
  assert_int_equal (sh ("nft delete table ip " TABLE), 0);
  assert_int_equal (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err), 0);
  assert_int_equal (sh ("nft list table ip " TABLE " >/dev/null"), 0);
  assert_int_equal (sh ("ip link show chv-0ae74d02 >/dev/null 2>&1"), 0);
  for (int i = 0; i < 40 && sh ("ip link show chv-0ae74d03 >/dev/null 2>&1") == 0; i++)
    usleep (50000);
  assert_int_not_equal (sh ("ip link show chv-0ae74d03 >/dev/null 2>&1"), 0);
  dead = xasprintf ("%s/netns/dead", t->run);
  alive = xasprintf ("%s/netns/alive", t->run);
  assert_int_equal (access (dead, F_OK), -1);
  assert_int_equal (access (alive, F_OK), 0);
  /* a veth nobody leases nor released is left alone: it may be one of
     another root sharing the bridge */
  assert_int_equal (sh ("ip link add chv-0ae74d63 type veth peer name chtnorphan"), 0);
  assert_int_equal (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err), 0);
  assert_int_equal (sh ("ip link show chv-0ae74d63 >/dev/null 2>&1"), 0);
  /* released long ago by a chute of another root: theirs to reap */
  released_long_ago (t, "chv-0ae74d63", "/elsewhere");
  assert_int_equal (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err), 0);
  assert_int_equal (sh ("ip link show chv-0ae74d63 >/dev/null 2>&1"), 0);
  /* released long ago by one of ours and still there (a crash inside
     teardown, a netns something holds): it goes */
  {
    char rp[PATH_MAX];
    assert_non_null (realpath (t->root, rp));
    released_long_ago (t, "chv-0ae74d63", rp);
  }
  assert_int_equal (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err), 0);
  assert_int_not_equal (sh ("ip link show chv-0ae74d63 >/dev/null 2>&1"), 0);
  teardown_ok (t, "alive");
  assert_clean (t);
}

/* kill -9 a process in the middle of ch_net_setup: the next reap cleans up */
static void
test_killed_mid_setup (void **state)
{
  struct t *t = *state;
  struct ch_net_config cfg = { .mode = CH_NET_BRIDGE, .wan_down_kbit = 5000, .wan_up_kbit = 5000 };
  ch_error_t err = NULL;
  int i;

  for (i = 0; i < 12; i++)
    {
      pid_t pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        {
          struct ch_net_result r;
          ch_error_t e = NULL;
          _exit (ch_net_setup (t->root, t->run, "k", &cfg, &r, &e) < 0 ? 1 : 0);
        }
      usleep (i * 700);
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      /* the chute's state dir never got made: everything of `k` is orphaned */
      if (ch_net_reap (t->root, t->run, ch_chute_alive, &(struct ch_ctx){ .root = t->root, .run_root = t->run }, &err) < 0)
        fail_msg ("reap after kill at %d us: %s", i * 700, err->msg);
      assert_clean (t);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_bridge_traffic, test_teardown),
    cmocka_unit_test_teardown (test_net_none, test_teardown),
    cmocka_unit_test_teardown (test_addresses_unique, test_teardown),
    cmocka_unit_test_teardown (test_bad_input, test_teardown),
    cmocka_unit_test_teardown (test_shaping, test_teardown),
    cmocka_unit_test_teardown (test_network_info, test_teardown),
    cmocka_unit_test_teardown (test_prune, test_teardown),
    cmocka_unit_test_teardown (test_config_change, test_teardown),
    cmocka_unit_test_teardown (test_address_reused_while_netns_held, test_teardown),
    cmocka_unit_test_teardown (test_reap, test_teardown),
    cmocka_unit_test_teardown (test_killed_mid_setup, test_teardown),
  };
  return cmocka_run_group_tests (tests, group_setup, group_teardown);
}
