#include "mgmt/lifecycle.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/bundle.h"
#include "netns/net.h"
#include "netns/wifi.h"
#include "runtime/monitor.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A present image is mounted in-process; anything else (an archive to
 * import, a registry to pull from, layers to unpack) is `chuted-image
 * mount`'s job: that program links libarchive, libcrypto and, through
 * chuted-image-pull, libcurl, which `chuted` itself does not load. Either
 * answers with the same record; an error in it is the cause as found. */
static int
mount_image (struct ch_ctx *ctx, const struct ch_chute *c, char **rootfs, json_t **config, ch_error_t *err)
{
  struct ch_image_result res;
  struct ch_mount_opts mo = { .disk_limit = c->disk,
                              .force_copy = getenv ("CHUTED_IMAGE_NO_OVERLAY") != NULL,
                              .volatile_upper = c->autoremove };
  int r = 0;

  if (ch_image_mount (ctx->root, ctx->run_root, c->name, c->image, &mo, &res, err) < 0)
    return ch_error_prefix (err, "mount %s", c->image);
  if (res.status == CH_IMAGE_ABSENT)
    {
      cleanup_free char *tool = xasprintf ("%s/chuted-image", ctx->bin_dir);
      cleanup_free char *disk = xasprintf ("%llu", (unsigned long long) c->disk);
      char *argv[] = { tool, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "mount",
                       "--result-fd", "3", c->image, "--chute", c->name, "--disk-limit", disk,
                       c->autoremove ? "--volatile" : NULL, NULL };
      ch_image_result_clear (&res);
      r = ch_image_run_child (argv, "chuted-image mount", &res, err);
    }
  if (r == 0 && res.status != CH_IMAGE_OK)
    r = ch_image_result_error (&res, err);
  else if (r == 0 && res.rootfs == NULL)
    r = ch_error (err, 0, "image `%s`: chuted-image mount gave no rootfs", c->image);
  if (r == 0)
    {
      *rootfs = steal_pointer (&res.rootfs);
      *config = steal_pointer (&res.config);
    }
  ch_image_result_clear (&res);
  return r;
}

static int
unmount_image (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  return ch_snapshot_unmount (ctx->root, ctx->run_root, name, err);
}

static int
net_config (const struct ch_chute *c, struct ch_net_config *nc, ch_error_t *err)
{
  memset (nc, 0, sizeof (*nc));
  if (ch_net_parse_mode (c->net_mode ? c->net_mode : "bridge", &nc->mode, err) < 0)
    return -1;
  nc->n_ports = ch_strv_len (c->ports);
  nc->ports = xzalloc ((nc->n_ports + 1) * sizeof (*nc->ports));
  for (size_t i = 0; i < nc->n_ports; i++)
    if (ch_net_parse_port (c->ports[i], &nc->ports[i], err) < 0)
      return -1;
  if (nc->n_ports && nc->mode != CH_NET_BRIDGE)
    return ch_error (err, 0, "chute `%s`: published ports need the bridge network, not --net %s", c->name, c->net_mode);
  nc->wan_down_kbit = c->wan_down;
  nc->wan_up_kbit = c->wan_up;
  nc->hostname = c->hostname ? c->hostname : c->name;
  return 0;
}

static void
net_config_clear (struct ch_net_config *nc)
{
  for (size_t i = 0; i < nc->n_ports; i++)
    ch_net_port_clear (&nc->ports[i]);
  free (nc->ports);
}

static int
write_monitor_config (struct ch_ctx *ctx, const struct ch_chute *c, const char *run_dir, bool attach_wait,
                      ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_CONFIG);
  cleanup_free char *chuted = xasprintf ("%s/chuted", ctx->bin_dir);
  cleanup_free char *runtime = xasprintf ("%s/chuted-runtime", ctx->bin_dir);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  cleanup_free char *oci = ch_chute_oci_dir (ctx, c->name);
  cleanup_free char *cg = xasprintf ("%s/%s", ctx->cgroup_parent, c->name);
  cleanup_json json_t *j = NULL;
  char *on_exit[] = { chuted, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "--cgroup-parent",
                      (char *) ctx->cgroup_parent, "rm", "-f", c->name, NULL };
  struct ch_monitor_config mc = {
    .id = c->name,
    .chuted = runtime,
    .run_root = (char *) ctx->run_root,
    .cgroup_parent = (char *) ctx->cgroup_parent,
    .bundle = bundle,
    .oci_dir = oci,
    .cgroup_path = cg,
    .restart = c->restart == CH_RESTART_ALWAYS       ? CH_MON_RESTART_ALWAYS
               : c->restart == CH_RESTART_ON_FAILURE ? CH_MON_RESTART_ON_FAILURE
                                                     : CH_MON_RESTART_NO,
    .restart_max = c->restart_max,
    .tty = c->tty,
    .interactive = c->interactive,
    .attach_wait = attach_wait,
    .log_max = c->log_max,
    .on_exit = c->autoremove ? on_exit : NULL,
  };

  j = ch_monitor_config_to_json (&mc);
  return ch_json_save_file (path, j, 0600, err);
}

/* The monitor is started first and waits on a "go" pipe while we mount the
 * rootfs and write the bundle: its exec overlaps that work. */
static int
spawn_monitor (struct ch_ctx *ctx, const char *run_dir, struct ch_up *up, ch_error_t *err)
{
  cleanup_free char *mon = xasprintf ("%s/chuted-monitor", ctx->bin_dir);
  cleanup_free char *errlog = xasprintf ("%s/monitor.err", run_dir);
  int p[2], g[2], st;
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  if (pipe2 (g, O_CLOEXEC) < 0)
    {
      close (p[0]), close (p[1]);
      return ch_error (err, errno, "pipe");
    }
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]), close (p[1]), close (g[0]), close (g[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* double fork + setsid: the monitor is nobody's child but init's and
       * has no controlling terminal, so it outlives this CLI and its shell */
      int null, log;
      setsid ();
      if (fork () != 0)
        _exit (0);
      null = open ("/dev/null", O_RDWR);
      log = open (errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2 (null, 0);
      dup2 (null, 1);
      dup2 (log >= 0 ? log : null, 2);
      dup2 (p[1], 3);
      dup2 (g[0], 4);
      syscall (SYS_close_range, 5, ~0U, 0);
      if (chdir ("/") < 0)
        _exit (1);
      execl (mon, mon, run_dir, "3", "4", (char *) NULL);
      dprintf (3, "err 1 exec `%s`: %s\n", mon, strerror (errno));
      _exit (127);
    }
  close (p[1]);
  close (g[0]);
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  up->ready_fd = p[0];
  up->go_fd = g[1];
  up->monitor_pid = 0;
  return 0;
}

int
ch_chute_up (struct ch_ctx *ctx, const struct ch_chute *c, bool attach_wait, struct ch_up *up, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, c->name);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  cleanup_free char *rootfs = NULL;
  cleanup_json json_t *image_config = NULL;
  struct ch_net_result net = { 0 };
  struct ch_net_config nc;
  bool have_net = false;
  int ret = -1;

  up->ready_fd = up->go_fd = -1;
  if (ch_mkdir_p (run_dir, 0700, err) < 0)
    return -1;
  for (const char *const *f = (const char *const[]){ CH_MON_STOPPING, CH_MON_ATTACH, CH_MON_INIT_PID, CH_MON_STATUS, NULL };
       *f; f++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", run_dir, *f);
      unlink (p);
    }
  if (spawn_monitor (ctx, run_dir, up, err) < 0)
    return -1;

  if (net_config (c, &nc, err) < 0)
    goto out;
  if (c->rootfs)
    {
      struct stat st;
      if (stat (c->rootfs, &st) < 0 || !S_ISDIR (st.st_mode))
        {
          ch_error (err, errno ? errno : ENOTDIR, "rootfs `%s`", c->rootfs);
          goto out;
        }
      rootfs = xstrdup (c->rootfs);
    }
  else if (mount_image (ctx, c, &rootfs, &image_config, err) < 0)
    goto out;

  if (nc.mode == CH_NET_BRIDGE)
    {
      if (ch_net_setup (ctx->root, ctx->run_root, c->name, &nc, &net, err) < 0)
        goto out;
      have_net = true;
    }
  if (c->wifi)
    {
      struct ch_wifi_config wc = { 0 };
      int r;
      if (!have_net)
        {
          ch_error (err, 0, "chute `%s`: Wi-Fi needs the bridge network", c->name);
          goto out;
        }
      if (ch_wifi_parse (c->wifi, &wc, err) < 0)
        goto out;
      r = ch_wifi_setup (ctx->root, ctx->run_root, c->name, &wc, net.netns_path, err);
      ch_wifi_config_clear (&wc);
      if (r < 0)
        goto out;
    }
  if (ch_bundle_write (ctx, c, rootfs, image_config, have_net ? &net : NULL, bundle, err) < 0)
    goto out;
  if (write_monitor_config (ctx, c, run_dir, attach_wait, err) < 0)
    goto out;
  if (write (up->go_fd, "g", 1) != 1)
    {
      ch_error (err, errno, "start the monitor of `%s`", c->name);
      goto out;
    }
  ret = 0;
out:
  /* on failure the monitor sees EOF and exits without doing anything */
  close (up->go_fd);
  up->go_fd = -1;
  net_config_clear (&nc);
  ch_net_result_clear (&net);
  if (ret < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      if (up->ready_fd >= 0)
        close (up->ready_fd);
      up->ready_fd = -1;
      ch_chute_down (ctx, c->name, &e2);
    }
  return ret;
}

/* One line from the monitor's report pipe (tiny, so byte reads are fine). */
static char *
read_line (int fd)
{
  struct ch_buf b = { 0 };
  char ch;
  ssize_t n;

  while ((n = read (fd, &ch, 1)) == 1 || (n < 0 && errno == EINTR))
    {
      if (n < 0)
        continue;
      if (ch == '\n')
        return ch_buf_steal (&b);
      ch_buf_append (&b, &ch, 1);
    }
  if (b.len)
    return ch_buf_steal (&b);
  free (b.data);
  return NULL;
}

int
ch_chute_wait_started (struct ch_ctx *ctx, struct ch_up *up, pid_t *init_pid, ch_error_t *err)
{
  cleanup_free char *line = read_line (up->ready_fd);
  char *end;

  if (line == NULL)
    {
      close (up->ready_fd);
      up->ready_fd = -1;
      return ch_error (err, 0, "the chute's monitor ended without reporting (see %s/chutes/*/monitor.err)",
                       ctx->run_root);
    }
  if (strcmp (line, "listening") == 0)
    return 1;
  close (up->ready_fd);
  up->ready_fd = -1;
  if (ch_has_prefix (line, "ok "))
    {
      *init_pid = (pid_t) atoi (line + 3);
      return 0;
    }
  if (ch_has_prefix (line, "err "))
    {
      long code = strtol (line + 4, &end, 10);
      ctx->fail_code = code > 0 && code < 256 ? (int) code : 1;
      return ch_error (err, 0, "%s", *end == ' ' ? end + 1 : end);
    }
  return ch_error (err, 0, "unexpected report from the monitor: `%s`", line);
}

json_t *
ch_chute_status (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *path = xasprintf ("%s/%s", run_dir, CH_MON_STATUS);
  cleanup_error ch_error_t err = NULL;
  json_t *j = NULL;

  if (access (path, F_OK) < 0 || ch_json_load_file (path, &j, &err) < 0)
    return NULL;
  return j;
}

/* Is PID a chuted-monitor (not a recycled pid)? */
static bool
is_monitor (pid_t pid)
{
  cleanup_free char *path = xasprintf ("/proc/%d/cmdline", (int) pid);
  cleanup_free char *cmd = NULL;
  cleanup_error ch_error_t err = NULL;

  if (pid <= 0 || ch_read_file (path, &cmd, NULL, &err) < 0)
    return false;
  return strstr (cmd, "chuted-monitor") != NULL;
}

bool
ch_chute_running (const struct ch_ctx *ctx, const char *name, pid_t *monitor_pid)
{
  cleanup_json json_t *st = ch_chute_status (ctx, name);
  const char *state = json_string_value (json_object_get (st, "state"));
  pid_t mp = (pid_t) json_integer_value (json_object_get (st, "monitor_pid"));

  if (monitor_pid)
    *monitor_pid = mp;
  if (state == NULL || strcmp (state, "exited") == 0)
    return false;
  return is_monitor (mp);
}

int
ch_chute_down (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *oci = ch_chute_oci_dir (ctx, name);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  struct ch_chute c;
  int ret = 0;

  ch_chute_init (&c);
  /* the OCI container first: nothing may still run on the mounts below */
  if (access (oci, F_OK) == 0 && ch_container_delete (oci, true, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  if (ch_wifi_teardown (ctx->root, ctx->run_root, name, err) < 0
      || ch_net_teardown (ctx->root, ctx->run_root, name, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  {
    cleanup_error ch_error_t e = NULL;
    if (ch_chute_load (ctx, name, &c, &e) == 0 && c.image && unmount_image (ctx, name, err) < 0)
      ret = ch_error_prefix (err, "chute `%s`", name);
  }
  ch_chute_clear (&c);
  if (ret < 0)
    return ret;
  if (ch_rm_rf (bundle, err) < 0)
    return -1;
  for (const char *const *f = (const char *const[]){ CH_MON_CONFIG, CH_MON_ATTACH, CH_MON_INIT_PID, NULL }; *f; f++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", run_dir, *f);
      unlink (p);
    }
  return 0;
}

static bool
wait_exited (const struct ch_ctx *ctx, const char *name, int timeout_ms)
{
  for (int waited = 0;; waited += 5)
    {
      if (!ch_chute_running (ctx, name, NULL))
        return true;
      if (waited >= timeout_ms)
        return false;
      usleep (5000);
    }
}

int
ch_chute_stop (struct ch_ctx *ctx, const char *name, int timeout_s, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *flag = xasprintf ("%s/%s", run_dir, CH_MON_STOPPING);
  cleanup_free char *oci = ch_chute_oci_dir (ctx, name);
  cleanup_error ch_error_t kerr = NULL;

  if (ch_chute_running (ctx, name, NULL) || access (oci, F_OK) == 0)
    {
      if (ch_write_file (flag, "", 0, 0600, err) < 0)
        return -1;
      if (timeout_s > 0 && ch_container_kill (oci, SIGTERM, false, &kerr) == 0)
        wait_exited (ctx, name, timeout_s * 1000);
      ch_error_release (&kerr);
      if (!wait_exited (ctx, name, 0))
        {
          ch_container_kill (oci, SIGKILL, true, &kerr);
          ch_error_release (&kerr);
          if (!wait_exited (ctx, name, 10000))
            return ch_error (err, 0, "chute `%s` did not stop after SIGKILL", name);
        }
    }
  return ch_chute_down (ctx, name, err);
}

int
ch_chute_remove (struct ch_ctx *ctx, const char *name, bool force, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *lock = xasprintf ("%s/chutes/%s.lock", ctx->run_root, name);

  if (ch_chute_running (ctx, name, NULL))
    {
      if (!force)
        return ch_error (err, 0, "chute `%s` is running: stop it first, or rm -f", name);
      if (ch_chute_stop (ctx, name, 0, err) < 0)
        return -1;
    }
  else if (ch_chute_down (ctx, name, err) < 0)
    return -1;
  if (ch_rm_rf (run_dir, err) < 0 || ch_rm_rf (dir, err) < 0)
    return ch_error_prefix (err, "remove chute `%s`", name);
  unlink (lock);
  return 0;
}
