#include "mgmt/lifecycle.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/bundle.h"
#include "mgmt/disk.h"
#include "mgmt/monitor_ctl.h"
#include "mgmt/pod.h"
#include "netns/net.h"
#include "netns/wifi.h"
#include "runtime/monitor.h"
#include "runtime/report.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
  cleanup_free char *state_dir = NULL, *run_dir = ch_chute_run_dir (ctx, c->name);
  struct ch_snapshot_dirs dirs = { .chute = c->name, .run_dir = run_dir };
  struct ch_mount_opts mo = { .disk_limit = c->disk,
                              .force_copy = getenv ("CHUTED_IMAGE_NO_OVERLAY") != NULL,
                              .volatile_upper = c->autoremove };
  int r = 0;

  if (c->disk_quota && ch_disk_mount (ctx, c, err) < 0)
    return -1;
  dirs.state_dir = state_dir = ch_disk_state_dir (ctx, c->name);
  if (ch_image_mount (ctx->root, &dirs, c->image, &mo, &res, err) < 0)
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
  cleanup_free char *state_dir = ch_disk_state_dir (ctx, name), *run_dir = ch_chute_run_dir (ctx, name);
  struct ch_snapshot_dirs dirs = { .chute = name, .state_dir = state_dir, .run_dir = run_dir };

  if (ch_snapshot_unmount (&dirs, err) < 0)
    return -1;
  return ch_disk_unmount (ctx, name, err);
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

/* The chute's start is under way (the monitor has its go): its Wi-Fi
 * network must come up too, or the chute stops, once its monitor has said
 * how the start went (nothing of it may still be in the making). */
static int
wifi_up_or_stop (struct ch_ctx *ctx, const char *name, struct ch_up *up, ch_error_t *err)
{
  cleanup_error ch_error_t e2 = NULL;
  pid_t pid;

  if (ch_wifi_wait_up (ctx->run_root, name, err) == 0)
    return 0;
  if (ch_chute_wait_started (ctx, up, &pid, &e2) < 0)
    ch_error_release (&e2);
  if (ch_chute_stop (ctx, name, 0, &e2) < 0)
    {
      cleanup_free char *m = xasprintf ("%s (and stopping the chute failed: %s)", (*err)->msg, e2->msg);
      ch_error (err, 0, "%s", m);
    }
  return -1;
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
  cleanup_free char *pod = ch_pod_of (c->name);
  int pod_lock = -1;
  bool have_net = false, wifi_wait = false;
  int ret = -1;

  up->ready_fd = up->go_fd = -1;
  /* the chute is not running (the caller checked, under its lock) but its
   * last monitor may still be finishing, its status and lock not yet let
   * go: a start right after the chute ended (`start -a` returns once the
   * exit code is known) waits for it */
  ch_chute_wait_monitor_gone (ctx, c->name, 10 * 1000);
  if (ch_mkdir_p (run_dir, 0700, err) < 0)
    return -1;
  for (const char *const *f = (const char *const[]){ CH_MON_STOPPING, CH_MON_ATTACH, CH_MON_INIT_PID, CH_MON_STATUS, NULL };
       *f; f++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", run_dir, *f);
      unlink (p);
    }
  if (ch_monitor_spawn (ctx, run_dir, up, err) < 0)
    return -1;

  if (net_config (c, &nc, err) < 0)
    goto out;
  if (c->rootfs)
    {
      /* again: the directory may have changed since `run` checked it */
      if (ch_rootfs_check (c->rootfs, c->read_only, err) < 0)
        goto out;
      rootfs = xstrdup (c->rootfs);
    }
  else if (mount_image (ctx, c, &rootfs, &image_config, err) < 0)
    goto out;

  if (pod)
    {
      if (ch_pod_share_up (ctx, c, pod, &nc, &net, &pod_lock, err) < 0)
        goto out;
      have_net = true;
    }
  else if (nc.mode == CH_NET_CONTAINER)
    {
      if (ch_pod_join_chute (ctx, c->net_mode + strlen ("container:"), &net, err) < 0)
        goto out;
      have_net = true;
    }
  else if (nc.mode == CH_NET_BRIDGE)
    {
      if (ch_net_setup (ctx->root, ctx->run_root, c->name, &nc, &net, err) < 0)
        goto out;
      have_net = true;
    }
  if (c->wifi && !pod)
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
      /* hostapd brings the network up while the chute starts (a client
       * attached from the first byte waits for both before its go) */
      r = attach_wait ? ch_wifi_setup (ctx->root, ctx->run_root, c->name, &wc, net.netns_path, err)
                      : ch_wifi_setup_start (ctx->root, ctx->run_root, c->name, &wc, net.netns_path, err);
      ch_wifi_config_clear (&wc);
      if (r < 0)
        goto out;
      wifi_wait = !attach_wait;
    }
  if (ch_bundle_write (ctx, c, rootfs, image_config, have_net ? &net : NULL, bundle, err) < 0)
    goto out;
  if (pod_lock >= 0)
    close (pod_lock); /* the bundle now says the service holds the pod */
  pod_lock = -1;
  if (ch_monitor_write_config (ctx, c, run_dir, attach_wait, up, err) < 0)
    goto out;
  if (write (up->go_fd, "g", 1) != 1)
    {
      ch_error (err, errno, "start the monitor of `%s`", c->name);
      goto out;
    }
  if (wifi_wait && wifi_up_or_stop (ctx, c->name, up, err) < 0)
    goto out;
  ret = 0;
out:
  /* on failure the monitor sees EOF and exits without doing anything */
  close (up->go_fd);
  up->go_fd = -1;
  net_config_clear (&nc);
  ch_net_result_clear (&net);
  if (pod_lock >= 0)
    close (pod_lock);
  if (ret < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      if (up->ready_fd >= 0)
        close (up->ready_fd);
      up->ready_fd = -1;
      /* what is left must be said: the user has to clean it up */
      if (ch_chute_down (ctx, c->name, &e2) < 0)
        {
          cleanup_free char *m = xasprintf ("%s (and undoing the start failed: %s)", (*err)->msg, e2->msg);
          int status = (*err)->status;
          ch_error (err, 0, "%s", m);
          (*err)->status = status;
        }
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
  struct ch_report r;
  int ret;

  if (line == NULL)
    {
      close (up->ready_fd);
      up->ready_fd = -1;
      return ch_error (err, 0, "the chute's monitor ended without reporting (see %s/chutes/*/monitor.err)",
                       ctx->run_root);
    }
  if (ch_report_parse (line, &r, err) < 0)
    return ch_error_prefix (err, "the chute's monitor");
  if (r.kind == CH_REPORT_LISTENING)
    return 1;
  close (up->ready_fd);
  up->ready_fd = -1;
  if (r.kind == CH_REPORT_READY)
    {
      *init_pid = r.pid;
      return 0;
    }
  ctx->fail_code = r.code;
  ret = ch_error (err, 0, "%s", r.msg);
  ch_report_clear (&r);
  return ret;
}

json_t *
ch_chute_status (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *run_dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_error ch_error_t err = NULL;
  json_t *j = NULL;

  /* never a path outside the run root, whoever calls */
  if (ch_chute_name_check (name, &err) < 0)
    return NULL;
  run_dir = ch_chute_run_dir (ctx, name);
  path = xasprintf ("%s/%s", run_dir, CH_MON_STATUS);
  if (access (path, F_OK) < 0 || ch_json_load_file (path, &j, &err) < 0)
    return NULL;
  return j;
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
  return ch_chute_monitor_alive (ctx, name);
}

int
ch_chute_release (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *oci = ch_chute_oci_dir (ctx, name);
  cleanup_free char *pod = ch_pod_of (name);

  /* the OCI container first: nothing may still run on the mounts below */
  if (access (oci, F_OK) == 0 && ch_container_delete (oci, true, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  if (pod ? ch_pod_share_down (ctx, name, pod, err) < 0
          : ch_wifi_teardown (ctx->root, ctx->run_root, name, err) < 0
                || ch_net_teardown (ctx->root, ctx->run_root, name, err) < 0)
    return ch_error_prefix (err, "chute `%s`", name);
  return 0;
}

int
ch_chute_down (struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *bundle = xasprintf ("%s/bundle", run_dir);
  struct ch_chute c;
  int ret = 0;

  ch_chute_init (&c);
  if (ch_chute_release (ctx, name, err) < 0)
    return -1;
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

/* The monitor writes "exited" just before it exits: its pidfd wakes us then,
 * not at the next of 5 ms naps. Still checked every 5 ms, for a monitor that
 * goes on after writing it (an on-exit command) and a kernel without pidfd. */
static bool
wait_exited (const struct ch_ctx *ctx, const char *name, int timeout_ms)
{
  long long deadline = ch_now_ms () + timeout_ms;
  cleanup_close int pidfd = -1;
  bool exited = false;
  pid_t mp = 0;

  for (;;)
    {
      if (!ch_chute_running (ctx, name, &mp))
        return true;
      if (ch_now_ms () >= deadline)
        return false;
      /* once it has exited the pidfd stays readable: naps from then on */
      if (pidfd < 0 && mp > 0 && !exited)
        pidfd = (int) syscall (SYS_pidfd_open, mp, 0);
      if (pidfd >= 0)
        {
          struct pollfd pf = { .fd = pidfd, .events = POLLIN };
          if (poll (&pf, 1, 5) == 1)
            {
              close (pidfd);
              pidfd = -1;
              exited = true;
            }
        }
      else
        usleep (5000);
    }
}

int
ch_chute_halt (struct ch_ctx *ctx, const char *name, int signo, int timeout_s, bool *killed, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *flag = xasprintf ("%s/%s", run_dir, CH_MON_STOPPING);
  cleanup_free char *oci = ch_chute_oci_dir (ctx, name);
  cleanup_error ch_error_t kerr = NULL;

  if (killed)
    *killed = false;
  if (ch_chute_running (ctx, name, NULL) || access (oci, F_OK) == 0)
    {
      if (ch_write_file (flag, "", 0, 0600, err) < 0)
        return -1;
      if (timeout_s > 0 && ch_container_kill (oci, signo, false, &kerr) == 0)
        wait_exited (ctx, name, timeout_s * 1000);
      ch_error_release (&kerr);
      if (!wait_exited (ctx, name, 0))
        {
          if (killed)
            *killed = true;
          ch_container_kill (oci, SIGKILL, true, &kerr);
          ch_error_release (&kerr);
          if (!wait_exited (ctx, name, 10000))
            return ch_error (err, 0, "chute `%s` did not stop after SIGKILL", name);
        }
    }
  return 0;
}

int
ch_chute_stop_with (struct ch_ctx *ctx, const char *name, int signo, int timeout_s, bool *killed, ch_error_t *err)
{
  if (ch_chute_halt (ctx, name, signo, timeout_s, killed, err) < 0)
    return -1;
  return ch_chute_down (ctx, name, err);
}

int
ch_chute_stop (struct ch_ctx *ctx, const char *name, int timeout_s, ch_error_t *err)
{
  return ch_chute_stop_with (ctx, name, SIGTERM, timeout_s, NULL, err);
}

int
ch_chute_remove (struct ch_ctx *ctx, const char *name, bool force, ch_error_t *err)
{
  cleanup_free char *run_dir = ch_chute_run_dir (ctx, name);
  cleanup_free char *dir = ch_chute_dir (ctx, name);
  cleanup_free char *lock = ch_chute_lock_path (ctx, name);

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
  /* an update cut short before it removed the old version's files */
  return ch_chute_purge_retired (ctx, name, err);
}
