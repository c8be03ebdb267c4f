#include "mgmt/bundle.h"
#include "mgmt/limits.h"
#include "mgmt/security.h"
#include "mgmt/volume.h"
#include "mgmt/pod.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

char **
ch_bundle_args (const struct ch_chute *c, json_t *image_config, ch_error_t *err)
{
  cleanup_strv char **ep = NULL;
  cleanup_strv char **cmd = NULL;
  char **args = xzalloc (sizeof (char *));

  ep = c->entrypoint ? ch_strv_dup (c->entrypoint) : ch_json_to_strv (json_object_get (image_config, "Entrypoint"));
  if (c->command && c->command[0])
    cmd = ch_strv_dup (c->command);
  else if (c->entrypoint == NULL)
    cmd = ch_json_to_strv (json_object_get (image_config, "Cmd"));
  for (size_t i = 0; ep && ep[i]; i++)
    ch_strv_append (&args, ep[i]);
  for (size_t i = 0; cmd && cmd[i]; i++)
    ch_strv_append (&args, cmd[i]);
  if (args[0] == NULL || args[0][0] == '\0')
    {
      ch_strv_free (args);
      ch_error (err, 0, "chute `%s`: no command given and the image has none", c->name);
      return NULL;
    }
  return args;
}

/* KEY=VALUE list where a later KEY replaces an earlier one. */
static void
env_set (json_t *env, const char *kv)
{
  const char *eq = strchr (kv, '=');
  size_t klen = eq ? (size_t) (eq - kv) : strlen (kv);
  json_t *v;
  size_t i;

  json_array_foreach (env, i, v)
    {
      const char *s = json_string_value (v);
      if (s && strncmp (s, kv, klen) == 0 && (s[klen] == '=' || s[klen] == '\0'))
        {
          json_array_set_new (env, i, json_string (kv));
          return;
        }
    }
  json_array_append_new (env, json_string (kv));
}

static void
add_bind (json_t *mounts, const char *src, const char *dst, bool ro)
{
  json_t *m = json_object (), *opts = json_array ();

  json_object_set_new (m, "destination", json_string (dst));
  json_object_set_new (m, "type", json_string ("bind"));
  json_object_set_new (m, "source", json_string (src));
  json_array_append_new (opts, json_string ("bind"));
  json_array_append_new (opts, json_string ("nosuid"));
  json_array_append_new (opts, json_string ("nodev"));
  if (ro)
    json_array_append_new (opts, json_string ("ro"));
  json_object_set_new (m, "options", opts);
  json_array_append_new (mounts, m);
}

/* `chuted stop` reads the signal a running chute wants here: --stop-signal,
 * else the image's StopSignal (as a name or number), under the annotation
 * the OCI image spec names for it. */
static void
set_stop_signal (json_t *spec, const struct ch_chute *c, json_t *image_config)
{
  const char *img = json_string_value (json_object_get (image_config, "StopSignal"));
  json_t *ann = json_object_get (spec, "annotations");
  cleanup_error ch_error_t err = NULL;
  int sig = c->stop_signal;

  if (sig == 0 && img && ch_signal_parse (img, &sig, &err) < 0)
    sig = 0; /* an image's unknown signal name: stop uses SIGTERM */
  if (sig == 0)
    return;
  if (!json_is_object (ann))
    {
      ann = json_object ();
      json_object_set_new (spec, "annotations", ann);
    }
  json_object_set_new (ann, CH_STOP_SIGNAL_ANNOTATION, json_string (sigabbrev_np (sig) ?: "TERM"));
}

int
ch_bundle_stop_signal (const char *bundle_dir)
{
  cleanup_free char *path = xasprintf ("%s/config.json", bundle_dir);
  cleanup_json json_t *spec = json_load_file (path, 0, NULL);
  const char *name = json_string_value (json_object_get (json_object_get (spec, "annotations"),
                                                         CH_STOP_SIGNAL_ANNOTATION));
  cleanup_error ch_error_t err = NULL;
  int sig;

  if (name == NULL || ch_signal_parse (name, &sig, &err) < 0)
    return SIGTERM;
  return sig;
}

static void
set_network (json_t *lnx, const struct ch_chute *c, const struct ch_net_result *net)
{
  json_t *nss = json_object_get (lnx, "namespaces"), *ns;
  bool host = c->net_mode && strcmp (c->net_mode, "host") == 0;
  size_t i;

  for (i = 0; i < json_array_size (nss); i++)
    {
      ns = json_array_get (nss, i);
      if (strcmp (json_string_value (json_object_get (ns, "type")) ?: "", "network") == 0)
        {
          json_array_remove (nss, i);
          break;
        }
    }
  if (host)
    return;
  ns = json_object ();
  json_object_set_new (ns, "type", json_string ("network"));
  if (net && net->netns_path)
    json_object_set_new (ns, "path", json_string (net->netns_path));
  json_array_append_new (nss, ns);
}

int
ch_bundle_write (const struct ch_ctx *ctx, const struct ch_chute *c, const char *rootfs, json_t *image_config,
                 const struct ch_net_result *net, const char *bundle_dir, ch_error_t *err)
{
  cleanup_json json_t *spec = ch_spec_default (false);
  cleanup_strv char **args = ch_bundle_args (c, image_config, err);
  cleanup_free char *path = xasprintf ("%s/config.json", bundle_dir);
  cleanup_free char *cgpath = ch_chute_cgroup_path (ctx, c->name);
  struct ch_cgroup_resources res;
  json_t *process, *env, *lnx, *mounts, *v;
  const char *cwd, *user;
  size_t i;

  if (args == NULL)
    return -1;
  if (spec == NULL)
    return ch_error (err, 0, "internal error: no default runtime spec");
  process = json_object_get (spec, "process");
  lnx = json_object_get (spec, "linux");
  mounts = json_object_get (spec, "mounts");

  json_object_set_new (json_object_get (spec, "root"), "path", json_string (rootfs));
  json_object_set_new (json_object_get (spec, "root"), "readonly", json_boolean (c->read_only));
  json_object_set_new (spec, "hostname", json_string (c->hostname ? c->hostname : c->name));
  if (c->init)
    {
      /* chuted-init as pid 1, the command as its child (see runtime/main_init.c) */
      cleanup_free char *init = xasprintf ("%s/%s", ctx->bin_dir, CH_INIT_PROG);
      char **full = xzalloc (sizeof (char *));
      if (access (init, X_OK) < 0)
        {
          ch_strv_free (full);
          return ch_error (err, errno, "chute `%s`: --init needs `%s`", c->name, init);
        }
      ch_strv_append (&full, CH_INIT_PATH);
      ch_strv_append (&full, "--");
      for (i = 0; args[i]; i++)
        ch_strv_append (&full, args[i]);
      ch_strv_free (args);
      args = full;
      add_bind (mounts, init, CH_INIT_PATH, true);
    }
  json_object_set_new (process, "args", ch_json_from_strv (args));
  set_stop_signal (spec, c, image_config);
  json_object_set_new (process, "terminal", json_boolean (c->tty));

  env = json_array ();
  env_set (env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  json_array_foreach (json_object_get (image_config, "Env"), i, v)
    if (json_is_string (v))
      env_set (env, json_string_value (v));
  env_set (env, c->tty ? "TERM=xterm" : "TERM=dumb");
  {
    cleanup_free char *h = xasprintf ("HOSTNAME=%s", c->hostname ? c->hostname : c->name);
    env_set (env, h);
  }
  for (i = 0; c->env && c->env[i]; i++)
    env_set (env, c->env[i]);
  json_object_set_new (process, "env", env);

  cwd = c->workdir ? c->workdir : json_string_value (json_object_get (image_config, "WorkingDir"));
  json_object_set_new (process, "cwd", json_string (cwd && *cwd ? cwd : "/"));
  if (cwd && *cwd && cwd[0] != '/')
    return ch_error (err, 0, "chute `%s`: working directory `%s` must be absolute", c->name, cwd);

  user = c->user ? c->user : json_string_value (json_object_get (image_config, "User"));
  if (user && *user)
    {
      uint32_t uid, gid;
      if (ch_user_resolve (rootfs, user, &uid, &gid, err) < 0)
        return ch_error_prefix (err, "chute `%s`", c->name);
      json_object_set_new (process, "user", json_pack ("{s:I,s:I}", "uid", (json_int_t) uid, "gid", (json_int_t) gid));
    }

  if (net && net->hosts_path)
    add_bind (mounts, net->hosts_path, "/etc/hosts", false);
  if (net && net->resolv_path)
    add_bind (mounts, net->resolv_path, "/etc/resolv.conf", false);
  for (i = 0; c->volumes && c->volumes[i]; i++)
    {
      struct ch_volume_spec vs;
      cleanup_free char *src = NULL;
      int r = ch_volume_spec_parse (c->volumes[i], &vs, err);
      if (r == 0 && (r = ch_volume_source (ctx, &vs, &src, err)) == 0)
        add_bind (mounts, src, vs.dest, vs.ro);
      ch_volume_spec_clear (&vs);
      if (r < 0)
        return ch_error_prefix (err, "chute `%s`", c->name);
    }
  set_network (lnx, c, net);
  if (ch_limits_resources (c, &res, err) < 0)
    return ch_error_prefix (err, "chute `%s`", c->name);
  ch_pod_leaf_resources (c->name, &res);
  json_object_set_new (lnx, "resources", ch_limits_to_oci (&res));
  ch_cgroup_resources_clear (&res);
  if (ch_security_apply (spec, c, err) < 0)
    return ch_error_prefix (err, "chute `%s`", c->name);
  json_object_set_new (lnx, "cgroupsPath", json_string (cgpath));

  if (ch_mkdir_p (bundle_dir, 0700, err) < 0)
    return -1;
  return ch_json_save_file (path, spec, 0600, err);
}
