/* chuted run / create: record the chute, bring it up, and (without -d)
 * stay attached until it ends. */
#include "common/file.h"
#include "common/parse.h"
#include "common/util.h"
#include "mgmt/attach.h"
#include "mgmt/chute.h"
#include "mgmt/commands.h"
#include "mgmt/disk.h"
#include "mgmt/lifecycle.h"
#include "mgmt/limits.h"
#include "mgmt/pod.h"
#include "mgmt/reap.h"
#include "mgmt/security.h"
#include "mgmt/volume.h"
#include "netns/net.h"
#include "netns/wifi.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum
{
  O_ROOTFS = 256, O_RM, O_ENTRYPOINT,
  O_RESTART, O_READ_ONLY, O_NET, O_WAN_DOWN, O_WAN_UP, O_WIFI, O_DISK, O_LOG_MAX, O_NAME,
  O_INIT, O_STOP_SIGNAL, O_STOP_TIMEOUT, O_DETACH_KEYS,
  O_CAP_ADD, O_CAP_DROP, O_PRIVILEGED, O_SECURITY_OPT, O_DEVICE, O_STORAGE_OPT
};

const struct ch_opt ch_opts_run[] = {
  { "detach", 'd', NULL, "run in the background, print the name" },
  { "name", O_NAME, "NAME", "the chute's name (default: a random one)" },
  { "rootfs", O_ROOTFS, "DIR", "run from a root filesystem directory instead of an image" },
  { "rm", O_RM, NULL, "remove the chute when it ends" },
  { "interactive", 'i', NULL, "keep stdin open" },
  { "tty", 't', NULL, "give the chute a terminal" },
  { "env", 'e', "K=V", "set an environment variable (K alone: take it from here)" },
  { "entrypoint", O_ENTRYPOINT, "CMD", "override the image's entrypoint (\"\": none)" },
  { "workdir", 'w', "DIR", "working directory inside the chute" },
  { "user", 'u', "USER[:GROUP]", "user to run as" },
  { "hostname", 'h', "NAME", "the chute's hostname" },
  CH_LIMIT_OPTS,
  { "restart", O_RESTART, "POLICY", "no, on-failure[:N], always, unless-stopped" },
  { "read-only", O_READ_ONLY, NULL, "mount the root filesystem read-only" },
  { "publish", 'p', "[IP:]HOST:CTR[/PROTO]", "publish a port" },
  { "net", O_NET, "MODE", "network: bridge (default), host, none, container:NAME (a chute's or pod's)" },
  { "network", O_NET, "MODE", "the same as --net" },
  { "wan-down", O_WAN_DOWN, "RATE", "WAN download rate cap (e.g. 10mbit)" },
  { "wan-up", O_WAN_UP, "RATE", "WAN upload rate cap" },
  { "wifi", O_WIFI, "SPEC", "give the chute an SSID on a radio" },
  { "disk", O_DISK, "SIZE", "cap on what the chute writes, while it runs (as --storage-opt size)" },
  { "storage-opt", O_STORAGE_OPT, "size=SIZE", "enforce SIZE on what the chute writes, while it runs (an ext4 image)" },
  { "log-max", O_LOG_MAX, "SIZE", "cap on the chute's log (at least 4k)" },
  { "init", O_INIT, NULL, "run a tiny init as pid 1 (forwards signals, reaps zombies)" },
  { "stop-signal", O_STOP_SIGNAL, "SIGNAL", "signal `stop` sends first (default: the image's, else TERM)" },
  { "stop-timeout", O_STOP_TIMEOUT, "SECONDS", "how long `stop` waits before SIGKILL (default 10)" },
  { "detach-keys", O_DETACH_KEYS, "KEYS", "keys that detach an attached -it session (default ctrl-p,ctrl-q)" },
  { "volume", 'v', "SRC:DIR[:ro]", "mount a host directory (absolute) or a named volume at DIR" },
  { "device", O_DEVICE, "HOST[:CTR][:rwm]", "give the chute a host device node" },
  { "cap-add", O_CAP_ADD, "CAP", "add a capability (NET_ADMIN, CAP_SYS_TIME, ALL)" },
  { "cap-drop", O_CAP_DROP, "CAP", "drop a capability (or ALL)" },
  { "security-opt", O_SECURITY_OPT, "OPT", "seccomp=unconfined|FILE, no-new-privileges[=false]" },
  { "privileged", O_PRIVILEGED, NULL, "DANGEROUS: every capability and host device, no seccomp, no masked paths" },
  CH_OPT_END,
};

static int
opt_size (const char *opt, const char *v, int64_t *out, ch_error_t *err)
{
  uint64_t n;
  if (ch_parse_size (v, &n, err) < 0)
    return ch_error_prefix (err, "--%s", opt);
  if (n > INT64_MAX)
    return ch_error (err, 0, "--%s: `%s` is too large", opt, v);
  *out = (int64_t) n;
  return 0;
}

static int
parse_run (struct ch_ctx *ctx, int argc, char **argv, struct ch_chute *c, bool *detach, char **detach_keys,
           ch_error_t *err)
{
  cleanup_cli_parser struct ch_cli_parser p;
  const char *optarg;
  bool disk_given = false;
  int o;

  ch_cli_parser_init (&p, ctx, ch_opts_run);
  while ((o = ch_cli_next (&p, argc, argv, err)) > 0)
    {
      optarg = p.optarg;
      switch (o)
        {
        case 'd': *detach = true; break;
        case O_NAME:
          if (ch_chute_name_check_new (optarg, err) < 0)
            return -1;
          free (c->name);
          c->name = xstrdup (optarg);
          break;
        case O_ROOTFS:
          {
            char *abs = realpath (optarg, NULL);
            if (abs == NULL)
              return ch_error (err, errno, "--rootfs `%s`", optarg);
            free (c->rootfs);
            c->rootfs = abs;
            break;
          }
        case O_RM: c->autoremove = true; break;
        case 'i': c->interactive = true; break;
        case 't': c->tty = true; break;
        case 'e':
          if (strchr (optarg, '=') == NULL)
            {
              const char *v = getenv (optarg);
              cleanup_free char *kv = xasprintf ("%s=%s", optarg, v ? v : "");
              ch_strv_append (&c->env, kv);
            }
          else
            ch_strv_append (&c->env, optarg);
          break;
        case O_ENTRYPOINT:
          ch_strv_free (c->entrypoint);
          c->entrypoint = xzalloc (sizeof (char *));
          if (*optarg)
            ch_strv_append (&c->entrypoint, optarg);
          break;
        case 'w': free (c->workdir); c->workdir = xstrdup (optarg); break;
        case 'u': free (c->user); c->user = xstrdup (optarg); break;
        case 'h': free (c->hostname); c->hostname = xstrdup (optarg); break;
        CH_CASE_LIMIT_OPTS:
          if (ch_limits_flag (c, p.name, optarg, err) < 0)
            return -1;
          break;
        case O_RESTART:
          if (ch_restart_parse (optarg, &c->restart, &c->restart_max, err) < 0)
            return ch_error_prefix (err, "--restart");
          break;
        case O_READ_ONLY: c->read_only = true; break;
        case 'p':
          {
            struct ch_net_port p = { 0 };
            if (ch_net_parse_port (optarg, &p, err) < 0)
              return ch_error_prefix (err, "--publish");
            ch_net_port_clear (&p);
            ch_strv_append (&c->ports, optarg);
            break;
          }
        case O_NET:
          {
            enum ch_net_mode m;
            if (ch_net_parse_mode (optarg, &m, err) < 0)
              return ch_error_prefix (err, "--net");
            free (c->net_mode);
            c->net_mode = xstrdup (optarg);
            break;
          }
        case O_WAN_DOWN:
        case O_WAN_UP:
          if (ch_net_parse_rate (optarg, o == O_WAN_DOWN ? &c->wan_down : &c->wan_up, err) < 0)
            return ch_error_prefix (err, "--%s", o == O_WAN_DOWN ? "wan-down" : "wan-up");
          break;
        case O_WIFI:
          {
            struct ch_wifi_config wc = { 0 };
            if (ch_wifi_parse (optarg, &wc, err) < 0)
              return -1; /* the message already says --wifi */
            ch_wifi_config_clear (&wc);
            free (c->wifi);
            c->wifi = xstrdup (optarg);
            break;
          }
        case O_DISK:
          {
            int64_t d;
            if (opt_size ("disk", optarg, &d, err) < 0)
              return -1;
            c->disk = (uint64_t) d;
            disk_given = true;
            break;
          }
        case O_STORAGE_OPT:
          {
            int64_t d;
            if (!ch_has_prefix (optarg, "size="))
              return ch_error (err, 0, "--storage-opt `%s`: chuted knows size=SIZE", optarg);
            if (opt_size ("storage-opt size", optarg + 5, &d, err) < 0)
              return -1;
            if ((uint64_t) d < CH_DISK_QUOTA_MIN)
              return ch_error (err, 0, "--storage-opt size=%s: at least %llum", optarg + 5,
                               (unsigned long long) (CH_DISK_QUOTA_MIN >> 20));
            c->disk = (uint64_t) d;
            c->disk_quota = true;
            break;
          }
        case O_LOG_MAX:
          {
            int64_t d;
            if (opt_size ("log-max", optarg, &d, err) < 0)
              return -1;
            /* a chute's log is always capped: 0 does not mean unlimited */
            if (d < 4096)
              return ch_error (err, 0, "--log-max %s: the log cap must be at least 4k (there is no unlimited log)",
                               optarg);
            c->log_max = (uint64_t) d;
            break;
          }
        case O_INIT: c->init = true; break;
        case O_STOP_SIGNAL:
          if (ch_signal_parse (optarg, &c->stop_signal, err) < 0)
            return ch_error_prefix (err, "--stop-signal");
          break;
        case O_STOP_TIMEOUT:
          {
            int64_t t;
            if (ch_parse_int (optarg, 0, 3600, &t, err) < 0)
              return ch_error_prefix (err, "--stop-timeout");
            c->stop_timeout = (int) t;
            break;
          }
        case 'v':
          {
            struct ch_volume_spec vs;
            cleanup_free char *canon = NULL;
            if (ch_volume_spec_parse (optarg, &vs, err) < 0)
              return -1;
            canon = ch_volume_spec_format (&vs);
            if (ch_volume_dest_taken (c->volumes, vs.dest))
              {
                ch_volume_spec_clear (&vs);
                return ch_error (err, 0, "--volume `%s`: another volume is already mounted there", optarg);
              }
            ch_volume_spec_clear (&vs);
            ch_strv_append (&c->volumes, canon);
            break;
          }
        case O_DEVICE:
          {
            cleanup_free char *canon = NULL;
            if (ch_device_parse (optarg, &canon, err) < 0)
              return -1;
            ch_strv_append (&c->devices, canon);
            break;
          }
        case O_CAP_ADD:
        case O_CAP_DROP:
          {
            cleanup_free char *cap = NULL;
            if (ch_cap_normalize (optarg, &cap, err) < 0)
              return ch_error_prefix (err, "--%s", p.name);
            ch_strv_append (o == O_CAP_ADD ? &c->cap_add : &c->cap_drop, cap);
            break;
          }
        case O_PRIVILEGED: c->privileged = true; break;
        case O_SECURITY_OPT:
          if (ch_security_opt_parse (c, optarg, err) < 0)
            return -1;
          break;
        case O_DETACH_KEYS:
          free (*detach_keys);
          *detach_keys = NULL;
          if (ch_detach_keys_parse (optarg, detach_keys, err) < 0)
            return -1;
          break;
        }
    }
  if (o < 0)
    return p.help ? 1 : -1;
  if (c->rootfs && ch_rootfs_check (c->rootfs, c->read_only, err) < 0)
    return -1;
  if (c->rootfs == NULL)
    {
      struct stat st;
      if (optind >= argc)
        return ch_cli_usage_error (ctx, err, "give an IMAGE or --rootfs DIR");
      /* no image reference starts so: a directory was meant */
      if (strchr ("./", argv[optind][0]) && stat (argv[optind], &st) == 0 && S_ISDIR (st.st_mode))
        return ch_error (err, 0, "%s: `%s` is a directory, not an image: to run a chute from it, give --rootfs %s",
                         argv[0], argv[optind], argv[optind]);
      c->image = xstrdup (argv[optind++]);
    }
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  if (optind < argc)
    {
      c->command = xzalloc (sizeof (char *));
      for (; optind < argc; optind++)
        ch_strv_append (&c->command, argv[optind]);
    }
  if (c->net_mode && strcmp (c->net_mode, "bridge") != 0 && (c->wan_down || c->wan_up))
    return ch_error (err, 0, "--wan-down/--wan-up need the bridge network, not --net %s", c->net_mode);
  /* a disk limit asked for holds while the chute runs, as ParaDrop's
   * per-chute disk (the ext4 image of --storage-opt size); the default one
   * bounds only what an image's unpacking may write, keeping starts cheap.
   * A --rootfs directory is written in place: nothing to bound there. */
  if (disk_given && !c->rootfs)
    {
      if (c->disk < CH_DISK_QUOTA_MIN)
        return ch_error (err, 0, "--disk %llu bytes: at least %llum (what it bounds is an ext4 image)",
                         (unsigned long long) c->disk, (unsigned long long) (CH_DISK_QUOTA_MIN >> 20));
      c->disk_quota = true;
    }
  if (c->disk_quota && c->rootfs)
    return ch_error (err, 0, "--storage-opt size needs an image (a --rootfs directory is written in place)");
  if (c->wifi && c->net_mode && strcmp (c->net_mode, "bridge") != 0)
    return ch_error (err, 0, "--wifi needs the bridge network (the chute's own netns), not --net %s", c->net_mode);
  if (c->ports && c->net_mode && strcmp (c->net_mode, "bridge") != 0)
    return ch_error (err, 0, "--publish needs the bridge network, not --net %s", c->net_mode);
  {
    /* refused here, before anything is made, with the words start would use */
    struct ch_cgroup_resources res;
    int r = ch_limits_resources (c, &res, err);
    ch_cgroup_resources_clear (&res);
    return r;
  }
}

static char *
random_name (void)
{
  unsigned char r[4] = { 0 };
  if (getrandom (r, sizeof (r), 0) < 0)
    r[0] = (unsigned char) getpid ();
  return xasprintf ("chute-%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
}

/* Reserve the name and persist the chute (under the global lock). */
static int
create_chute (struct ch_ctx *ctx, struct ch_chute *c, ch_error_t *err)
{
  cleanup_close int lock = -1;
  cleanup_free char *dir = NULL;

  if (ch_lock_global (ctx, &lock, err) < 0)
    return -1;
  ch_reap (ctx);
  if (c->name == NULL)
    c->name = random_name ();
  dir = ch_chute_dir (ctx, c->name);
  {
    cleanup_free char *f = xasprintf ("%s/chute.json", dir);
    if (access (f, F_OK) == 0 || ch_pod_recorded (ctx, c->name))
      return ch_error (err, 0, "a chute named `%s` already exists", c->name);
  }
  c->created = ch_rfc3339 (time (NULL), -1);
  if (ch_chute_save (ctx, c, err) < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      ch_rm_rf (dir, &e2);
      return -1;
    }
  return 0;
}

/* --rm in the foreground: we told the monitor (CH_FRAME_RM) that we remove
 * the chute ourselves, in-process, which spares the monitor's exec of
 * `chuted rm -f` on every run. Had the monitor not seen that in time, it
 * removed the chute itself before exiting, and there is nothing left to do;
 * had we died before this, the next chuted's reaper removes the chute. */
static void
remove_after_run (struct ch_ctx *ctx, const char *name)
{
  cleanup_error ch_error_t e = NULL;
  cleanup_close int lock = -1;
  struct ch_chute c;

  /* with --rm it may be removing the chute (its on-exit command): nothing
   * is left when we return */
  ch_chute_wait_monitor_gone (ctx, name, 10000);
  ch_chute_init (&c);
  if (ch_chute_load (ctx, name, &c, &e) < 0)
    return;
  ch_chute_clear (&c);
  if (ch_lock_chute (ctx, name, &lock, &e) < 0 || ch_chute_remove (ctx, name, true, &e) < 0)
    fprintf (stderr, "chuted: warning: removing chute `%s`: %s\n", name, e->msg);
}

static void
forget_chute (struct ch_ctx *ctx, const char *name)
{
  cleanup_error ch_error_t e = NULL;
  ch_chute_remove (ctx, name, true, &e);
}

static int
run_or_create (struct ch_ctx *ctx, int argc, char **argv, bool start, ch_error_t *err)
{
  struct ch_chute c;
  struct ch_up up = { .ready_fd = -1 };
  cleanup_close int lock = -1;
  cleanup_close int afd = -1;
  cleanup_free char *detach_keys = NULL;
  bool detach = false, attach, detached = false;
  pid_t init_pid = 0;
  int r, code = 0;

  ch_chute_init (&c);
  r = parse_run (ctx, argc, argv, &c, &detach, &detach_keys, err);
  if (r != 0)
    {
      ch_chute_clear (&c);
      return r > 0 ? 0 : -1; /* 1: --help printed */
    }
  if (c.net_mode && strcmp (c.net_mode, "host") == 0)
    fprintf (stderr, "chuted: warning: --net host: the chute shares the host's network stack\n");
  if (create_chute (ctx, &c, err) < 0)
    {
      ch_chute_clear (&c);
      ctx->fail_code = 125;
      return -1;
    }
  if (!start)
    {
      printf ("%s\n", c.name);
      ch_chute_clear (&c);
      return 0;
    }
  attach = !detach;
  if (ch_lock_chute (ctx, c.name, &lock, err) < 0 || ch_chute_up (ctx, &c, attach, &up, err) < 0)
    goto fail;
  if (attach)
    {
      /* the monitor and every helper are forked: a signal from now on is
       * the chute's, proxied once the relay runs */
      sigset_t set;
      ch_attach_block_signals (&set);
    }
  r = ch_chute_wait_started (ctx, &up, &init_pid, err);
  if (r == 1)
    {
      if (ch_attach_connect (ctx, c.name, &afd, err) < 0
          || (c.autoremove && ch_attach_will_remove (afd, err) < 0))
        goto fail;
      r = ch_chute_wait_started (ctx, &up, &init_pid, err);
    }
  if (r < 0)
    goto fail;
  close (steal_fd (&lock));
  if (detach)
    {
      printf ("%s\n", c.name);
      ch_chute_clear (&c);
      return 0;
    }
  {
    struct ch_attach_opts ao = { .stdin_too = c.interactive, .tty = c.tty,
                                 .detach_keys = detach_keys ? detach_keys : CH_DETACH_KEYS_DEFAULT };
    if (ch_attach_relay (afd, &ao, &code, &detached, err) < 0)
      {
        ch_chute_clear (&c);
        return -1;
      }
  }
  /* detached: the chute runs on (with --rm, its monitor removes it at the end) */
  if (detached)
    {
      ch_chute_clear (&c);
      return 0;
    }
  if (c.autoremove)
    remove_after_run (ctx, c.name);
  ch_chute_clear (&c);
  return code < 0 ? 0 : code;

fail:
  if (up.ready_fd >= 0)
    close (up.ready_fd);
  close (steal_fd (&lock));
  {
    /* a chute that could not start is not kept: nothing half-made */
    int fc = ctx->fail_code;
    forget_chute (ctx, c.name);
    ctx->fail_code = fc == 1 ? 125 : fc;
  }
  ch_chute_clear (&c);
  return -1;
}

int
ch_cmd_run (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  return run_or_create (ctx, argc, argv, true, err);
}

int
ch_cmd_create (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err)
{
  return run_or_create (ctx, argc, argv, false, err);
}
