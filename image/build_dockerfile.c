/* chuted build: a Dockerfile, step by step, into an image in the store.
 * Each step that changes the filesystem (RUN, COPY, ADD, WORKDIR) is a
 * layer, found in the build cache when its parent chain, text and inputs
 * are the same; the rest change the config. Every failure removes what the
 * build made: step mounts and dirs (images/tmp/build-PID-*), and no name is
 * written until the last step is done. */
#include "image/dockerfile_int.h"
#include "common/file.h"
#include "common/json.h"
#include "common/path.h"
#include "common/util.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

void
ch_build_result_clear (struct ch_build_result *r)
{
  free (r->ref);
  free (r->manifest);
  free (r->image_id);
  free (r->file);
  free (r->instruction);
  free (r->output);
  memset (r, 0, sizeof (*r));
}

/* The instruction as the step line and the cache key show it. */
static char *
instr_text (const struct ch_df_instr *in)
{
  struct ch_buf t = { 0 };
  ch_buf_printf (&t, "%s", in->cmd);
  for (size_t i = 0; in->flags[i]; i++)
    ch_buf_printf (&t, " %s", in->flags[i]);
  ch_buf_printf (&t, " %s", in->args);
  return ch_buf_steal (&t);
}

static int
check_flags (const struct ch_df_instr *in, const char *const *ok, ch_error_t *err)
{
  for (size_t i = 0; in->flags[i]; i++)
    {
      bool found = false;
      for (size_t k = 0; ok && ok[k]; k++)
        {
          size_t n = strlen (ok[k]);
          if (strncmp (in->flags[i] + 2, ok[k], n) == 0 && (in->flags[i][2 + n] == '=' || in->flags[i][2 + n] == '\0'))
            found = true;
        }
      if (!found)
        return ch_error (err, 0, "%s: flag `%s` is not supported by chuted build", in->cmd, in->flags[i]);
    }
  return 0;
}

static void
chain (struct bstage *st, const char *text)
{
  char *k = ch_bcache_key (st->chain, text);
  free (st->chain);
  st->chain = k;
}

static int
do_from (struct builder *b, const struct ch_df_instr *in, ch_error_t *err)
{
  static const char *const ok[] = { "platform", NULL };
  cleanup_strv char **w = ch_df_split (in->args, b->df->escape);
  cleanup_free char *ref = NULL, *name = NULL, *plat = ch_platform_default ();
  cleanup_json json_t *vars = json_deep_copy (b->meta_args);
  const char *p = ch_df_flag (in->flags, "platform");
  struct bstage st = { 0 };

  if (check_flags (in, ok, err) < 0)
    return -1;
  if (p && strcmp (p, plat) != 0 && strcmp (p, "$BUILDPLATFORM") != 0 && strcmp (p, "${BUILDPLATFORM}") != 0)
    return ch_error (err, 0, "FROM --platform=%s: chuted builds for this host only (%s)", p, plat);
  if (w[0] == NULL || (w[1] && (w[2] == NULL || strcasecmp (w[1], "AS") != 0 || w[3])))
    return ch_error (err, 0, "FROM wants IMAGE [AS NAME]");
  if (ch_df_expand (w[0], b->df->escape, vars, &ref, err) < 0)
    return -1;
  if (*ref == '\0')
    return ch_error (err, 0, "FROM `%s`: the image name is empty", w[0]);
  if (w[1])
    {
      name = xstrdup (w[2]);
      for (char *c = name; *c; c++)
        *c = (char) (*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
      for (size_t i = 0; i < b->n_st; i++)
        if (b->st[i].name && strcmp (b->st[i].name, name) == 0)
          return ch_error (err, 0, "FROM: a stage named `%s` already exists", name);
    }
  if (ch_bstage_from (b, ref, &st, err) < 0)
    {
      ch_bstage_clear (&st);
      return ch_error_prefix (err, "FROM %s", ref);
    }
  st.name = steal_pointer (&name);
  b->st = xrealloc (b->st, (b->n_st + 1) * sizeof (*b->st));
  b->st[b->n_st++] = st;
  return 0;
}

struct run_data
{
  char **argv;
  json_t *env;
};

static int
make_run (struct builder *b, struct bstage *st, void *data, struct ch_layer *l, bool *empty, ch_error_t *err)
{
  struct run_data *rd = data;
  return ch_build_run (b, st, rd->argv, rd->env, l, empty, err);
}

static int
do_run (struct builder *b, struct bstage *st, const struct ch_df_instr *in, const char *text, ch_error_t *err)
{
  cleanup_strv char **argv = NULL;
  cleanup_json json_t *env = ch_bstage_vars (b, st);
  cleanup_free char *shown = NULL, *key_text = NULL, *envs = NULL;
  struct run_data rd;

  if (check_flags (in, NULL, err) < 0)
    return -1;
  if ((in->json && in->json[0] == NULL) || (!in->json && *in->args == '\0'))
    return ch_error (err, 0, "RUN needs a command");
  argv = ch_instr_command (st, in);
  {
    json_t *a = ch_json_from_strv (argv);
    shown = json_dumps (a, JSON_COMPACT);
    json_decref (a);
  }
  envs = json_dumps (env, JSON_COMPACT | JSON_SORT_KEYS);
  key_text = xasprintf ("RUN %s %s", shown ? shown : in->args, envs ? envs : "");
  rd.argv = argv;
  rd.env = env;
  return ch_build_step (b, st, text, key_text, make_run, &rd, err);
}

static int
make_workdir (struct builder *b, struct bstage *st, void *data, struct ch_layer *l, bool *empty, ch_error_t *err)
{
  struct bmount m;
  cleanup_close int root = -1, d = -1;
  int r = -1;

  if (ch_bmount (b, st, &m, err) == 0 && (root = open (m.mnt, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    ch_error (err, errno, "open `%s`", m.mnt);
  if (root >= 0 && (d = ch_mkdir_in_root (root, data, 0755, err)) >= 0)
    {
      ch_bunmount (&m, false);
      r = ch_build_layer (b, st, &m, l, empty, err);
    }
  ch_bunmount (&m, true);
  return r;
}

static int
do_workdir (struct builder *b, struct bstage *st, const struct ch_df_instr *in, const char *text, json_t *vars,
            ch_error_t *err)
{
  json_t *c = ch_bstage_config (st);
  const char *cur = json_string_value (json_object_get (c, "WorkingDir"));
  cleanup_free char *v = NULL, *path = NULL, *key_text = NULL;

  if (ch_df_expand (in->args, b->df->escape, vars, &v, err) < 0)
    return -1;
  if (*v == '\0')
    return ch_error (err, 0, "WORKDIR needs a path");
  path = v[0] == '/' ? xstrdup (v) : xasprintf ("%s/%s", cur && *cur ? cur : "", v);
  json_object_set_new (c, "WorkingDir", json_string (path));
  key_text = xasprintf ("WORKDIR %s", path);
  return ch_build_step (b, st, text, key_text, make_workdir, path, err);
}

static int
do_copy (struct builder *b, struct bstage *st, const struct ch_df_instr *in, const char *text, json_t *vars,
         ch_error_t *err)
{
  static const char *const copy_ok[] = { "from", "chown", "chmod", "link", NULL };
  static const char *const add_ok[] = { "chown", "chmod", "link", NULL };
  bool add = strcmp (in->cmd, "ADD") == 0;
  cleanup_strv char **w = in->json ? ch_strv_dup (in->json) : ch_df_split (in->args, b->df->escape);
  cleanup_strv char **x = xzalloc (sizeof (char *));
  struct bcopy c = { .add = add };
  size_t n;

  if (check_flags (in, add ? add_ok : copy_ok, err) < 0)
    return -1;
  for (size_t i = 0; w[i]; i++)
    {
      cleanup_free char *e = NULL;
      if (ch_df_expand (w[i], b->df->escape, vars, &e, err) < 0)
        return -1;
      ch_strv_append (&x, e);
    }
  n = ch_strv_len (x);
  if (n < 2)
    return ch_error (err, 0, "%s wants SOURCE... DEST", in->cmd);
  {
    cleanup_free char *dest = x[n - 1];
    x[n - 1] = NULL;
    c.srcs = x;
    c.dest = dest;
    c.from = ch_df_flag (in->flags, "from");
    c.chown = ch_df_flag (in->flags, "chown");
    c.chmod = ch_df_flag (in->flags, "chmod");
    if ((c.from && !*c.from) || (c.chown && !*c.chown) || (c.chmod && !*c.chmod))
      return ch_error (err, 0, "%s: --from, --chown and --chmod want a value", in->cmd);
    return ch_build_copy (b, st, &c, text, err);
  }
}

/* One instruction of the current stage (the last one). */
static int
step (struct builder *b, const struct ch_df_instr *in, const char *text, ch_error_t *err)
{
  struct bstage *st = &b->st[b->n_st - 1];
  cleanup_json json_t *vars = ch_bstage_vars (b, st);
  const char *c = in->cmd;
  char esc = b->df->escape;
  int r;

  if (strcmp (c, "RUN") == 0)
    return do_run (b, st, in, text, err);
  if (strcmp (c, "COPY") == 0 || strcmp (c, "ADD") == 0)
    return do_copy (b, st, in, text, vars, err);
  if (strcmp (c, "WORKDIR") == 0)
    return check_flags (in, NULL, err) < 0 ? -1 : do_workdir (b, st, in, text, vars, err);
  if (strcmp (c, "ONBUILD") == 0)
    return ch_error (err, 0, "ONBUILD is not supported by chuted build");
  if (strcmp (c, "HEALTHCHECK") == 0)
    r = ch_instr_healthcheck (st, in, err);
  else if (check_flags (in, NULL, err) < 0)
    return -1;
  else if (strcmp (c, "ENV") == 0)
    r = ch_instr_env (st, in, esc, vars, err);
  else if (strcmp (c, "ARG") == 0)
    {
      /* a global ARG's value comes into the stage by naming it again */
      cleanup_json json_t *scope = json_deep_copy (b->meta_args);
      json_object_update (scope, st->args);
      r = ch_instr_arg (scope, b->build_args, b->used_args, in, esc, vars, err);
      if (r == 0)
        {
          cleanup_strv char **w = ch_df_split (in->args, esc);
          for (size_t i = 0; w[i]; i++)
            {
              char *eq = strchr (w[i], '=');
              if (eq)
                *eq = '\0';
              json_object_set (st->args, w[i], json_object_get (scope, w[i]) ?: json_null ());
            }
        }
    }
  else if (strcmp (c, "LABEL") == 0)
    r = ch_instr_label (st, in, esc, vars, err);
  else if (strcmp (c, "MAINTAINER") == 0)
    {
      json_object_set_new (st->doc, "author", json_string (in->args));
      r = 0;
    }
  else if (strcmp (c, "EXPOSE") == 0)
    r = ch_instr_expose (st, in, esc, vars, err);
  else if (strcmp (c, "VOLUME") == 0)
    r = ch_instr_volume (st, in, esc, vars, err);
  else if (strcmp (c, "USER") == 0)
    r = ch_instr_string (st, "User", in, esc, vars, err);
  else if (strcmp (c, "STOPSIGNAL") == 0)
    r = ch_instr_string (st, "StopSignal", in, esc, vars, err);
  else if (strcmp (c, "SHELL") == 0)
    r = ch_instr_shell (st, in, err);
  else if (strcmp (c, "CMD") == 0 || strcmp (c, "ENTRYPOINT") == 0)
    r = ch_instr_cmd (st, in, err);
  else
    r = ch_error (err, 0, "%s is not supported by chuted build", c);
  if (r < 0)
    return -1;
  /* later steps' cache keys depend on the config as changed here (and on
   * ARG values): the chain takes the instruction as written plus the
   * variables it saw */
  {
    cleanup_free char *vs = json_dumps (vars, JSON_COMPACT | JSON_SORT_KEYS);
    cleanup_free char *ct = xasprintf ("%s\n%s", text, vs ? vs : "");
    if (strcmp (c, "ARG") == 0)
      {
        free (vs);
        vs = json_dumps (st->args, JSON_COMPACT | JSON_SORT_KEYS);
        free (ct);
        ct = xasprintf ("%s\n%s", text, vs ? vs : "");
      }
    chain (st, ct);
  }
  ch_bstage_history (st, text);
  return 0;
}

static int
parse_build_args (struct builder *b, ch_error_t *err)
{
  b->build_args = json_object ();
  b->meta_args = json_object ();
  b->used_args = json_object ();
  for (size_t i = 0; b->req->build_args && b->req->build_args[i]; i++)
    {
      const char *kv = b->req->build_args[i], *eq = strchr (kv, '=');
      cleanup_free char *k = eq ? xstrndup (kv, eq - kv) : xstrdup (kv);
      const char *v = eq ? eq + 1 : getenv (k);
      if (*k == '\0')
        return ch_error (err, 0, "--build-arg `%s`: want NAME=VALUE", kv);
      if (v)
        json_object_set_new (b->build_args, k, json_string (v));
    }
  return 0;
}

static int
load_dockerfile (struct builder *b, ch_error_t *err)
{
  cleanup_free char *path = b->req->dockerfile ? xstrdup (b->req->dockerfile)
                                               : xasprintf ("%s/Dockerfile", b->req->context);
  cleanup_free char *buf = NULL;
  const char *name = strrchr (path, '/') ? strrchr (path, '/') + 1 : path;
  size_t len;

  if (ch_read_file_max (path, CH_DOCKERFILE_MAX, &buf, &len, err) < 0)
    return ch_error_prefix (err, "Dockerfile");
  return ch_dockerfile_parse (name, buf, len, &b->df, err);
}

/* A signal the caller blocked for the build (INT, TERM, HUP) stops it
 * between steps, so that it can clean up; the RUN chute got it too. */
static int
interrupted (struct builder *b, ch_error_t *err)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
  sigset_t pend;

  if (sigpending (&pend) < 0)
    return 0;
  for (size_t i = 0; i < sizeof (sigs) / sizeof (sigs[0]); i++)
    if (sigismember (&pend, sigs[i]))
      {
        b->run_code = 128 + sigs[i];
        return ch_error (err, 0, "interrupted by SIG%s", sigabbrev_np (sigs[i]));
      }
  return 0;
}

/* Build dirs of killed builds: their step mounts first, then the store's
 * own cleaning of dead owners' temp entries can remove them. */
static void
unmount_stale (struct builder *b)
{
  cleanup_dir DIR *d = opendir (b->s->tmp);
  cleanup_error ch_error_t e = NULL;
  struct dirent *de;

  if (d == NULL)
    return;
  while ((de = readdir (d)))
    {
      long pid = ch_has_prefix (de->d_name, "build-") ? strtol (de->d_name + 6, NULL, 10) : 0;
      cleanup_dir DIR *sd = NULL;
      struct dirent *se;
      cleanup_free char *dir = NULL;
      if (pid <= 0 || pid == getpid () || kill ((pid_t) pid, 0) == 0 || errno != ESRCH)
        continue;
      dir = xasprintf ("%s/%s", b->s->tmp, de->d_name);
      sd = opendir (dir);
      while (sd && (se = readdir (sd)))
        {
          cleanup_free char *mnt = xasprintf ("%s/%s/mnt", dir, se->d_name);
          if (se->d_name[0] != '.')
            umount2 (mnt, MNT_DETACH | UMOUNT_NOFOLLOW);
        }
    }
  (void) ch_store_clean_tmp (b->s, false, &e);
}

static int
build (struct builder *b, struct ch_build_result *out, ch_error_t *err)
{
  for (size_t i = 0; i < b->df->n; i++)
    {
      const struct ch_df_instr *in = &b->df->v[i];
      cleanup_free char *text = instr_text (in);
      int r;

      b->step++;
      if (!b->req->quiet)
        printf ("STEP %u/%u: %s\n", b->step, b->steps, text);
      fflush (stdout);
      if (b->req->record_fd > 0 && ch_build_step_send (b->req->record_fd, b->step, b->steps, text, err) < 0)
        return ch_error_prefix (err, "--result-fd");
      if (strcmp (in->cmd, "FROM") == 0)
        r = do_from (b, in, err);
      else if (b->n_st == 0 && strcmp (in->cmd, "ARG") == 0)
        r = check_flags (in, NULL, err) < 0 ? -1
            : ch_instr_arg (b->meta_args, b->build_args, b->used_args, in, b->df->escape, b->meta_args, err);
      else if (b->n_st == 0)
        r = ch_error (err, 0, "%s before the first FROM (only ARG may come first)", in->cmd);
      else
        r = step (b, in, text, err);
      if (r == 0)
        r = interrupted (b, err);
      if (r < 0)
        {
          out->file = xstrdup (b->df->name);
          out->line = in->line;
          out->instruction = xstrdup (text);
          out->output = b->run_output;
          b->run_output = NULL;
          return ch_error_prefix (err, "%s:%d", b->df->name, in->line);
        }
      fflush (stdout);
    }
  if (b->n_st == 0)
    return ch_error (err, 0, "%s: no FROM instruction", b->df->name);
  {
    const char *k;
    json_t *v;
    json_object_foreach (b->build_args, k, v)
      if (json_object_get (b->used_args, k) == NULL)
        fprintf (stderr, "chuted-image: warning: --build-arg %s: no ARG in the Dockerfile takes it\n", k);
  }
  return ch_bstage_commit (b, &b->st[b->n_st - 1], out, err);
}

int
ch_build_dockerfile (const struct ch_build_request *req, struct ch_build_result *out, ch_error_t *err)
{
  struct builder b = { .req = req, .ctxfd = -1 };
  int r = -1;

  memset (out, 0, sizeof (*out));
  {
    struct ch_ref pr;
    if (req->tag == NULL || ch_ref_parse (req->tag, &pr, err) < 0)
      return req->tag ? ch_error_prefix (err, "-t") : ch_error (err, 0, "give the image's name with -t NAME[:TAG]");
    ch_ref_free (&pr);
  }
  b.ctxfd = open (req->context, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b.ctxfd < 0)
    return ch_error (err, errno, "build context `%s`", req->context);
  if (parse_build_args (&b, err) < 0 || load_dockerfile (&b, err) < 0 || ch_build_ignore_load (&b, err) < 0)
    goto out;
  b.steps = (unsigned) b.df->n;
  if (ch_store_open (req->root, false, &b.s, err) < 0)
    goto out;
  unmount_stale (&b);
  b.tmp = ch_store_tmp_template (b.s, "build");
  if (mkdtemp (b.tmp) == NULL)
    {
      ch_error (err, errno, "mkdtemp `%s`", b.tmp);
      free (b.tmp);
      b.tmp = NULL;
      goto out;
    }
  r = build (&b, out, err);
  out->steps = b.step;
  out->cached = b.cached;
  out->run_code = b.run_code;
out:
  if (b.tmp)
    {
      cleanup_error ch_error_t e = NULL;
      if (ch_rm_rf (b.tmp, &e) < 0)
        fprintf (stderr, "chuted-image: warning: %s\n", e->msg);
      free (b.tmp);
    }
  for (size_t i = 0; i < b.n_st; i++)
    ch_bstage_clear (&b.st[i]);
  free (b.st);
  ch_dockerfile_free (b.df);
  ch_strv_free (b.ignore);
  free (b.run_output);
  if (b.build_args)
    json_decref (b.build_args);
  if (b.meta_args)
    json_decref (b.meta_args);
  if (b.used_args)
    json_decref (b.used_args);
  ch_store_free (b.s);
  close (b.ctxfd);
  return r;
}
