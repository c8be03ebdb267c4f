/* Chutes built on the AP: the seed's `dockerfile: {local: Dockerfile}` of
 * a single-service chute with no image, and ParaDrop's service types
 * `normal` (the Dockerfile in the service's source: dir) and `light` (the
 * source on a named base, mgmt/build_light.c). The deploy builds them with
 * `chuted build`, one service after another, in its own phase, `building`,
 * before the old version stops; every version runs the images its build
 * left in the store, localhost/chuted-build/NAME[/SERVICE]:VERSION, so a
 * rollback, a start or reconcile needs no build context. A build that
 * fails sends its record on fd 3 (the step, file:line, exit code, last
 * output lines), which becomes the change's `failure`. */
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/build.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"
#include "image/dockerfile.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static bool
type_is (const struct ch_mservice *s, const char *type)
{
  return s->type.s && strcmp (s->type.s, type) == 0;
}

/* Service I of M is built: normal, light, or the paper's dockerfile: */
static bool
is_built (const struct ch_chutefile *m, size_t i)
{
  const struct ch_mservice *s = &m->svc[i];

  if (s->built || type_is (s, "normal") || type_is (s, "light"))
    return true;
  return m->dockerfile.s && m->n_svc == 1 && s->image.s == NULL;
}

void
ch_engine_built_image (struct ch_chutefile *m, const char *version)
{
  for (size_t i = 0; i < m->n_svc; i++)
    {
      struct ch_mservice *s = &m->svc[i];
      char *ref;

      if (s->built || !is_built (m, i))
        continue;
      ref = m->n_svc > 1 ? xasprintf ("localhost/chuted-build/%s/%s:%s", m->chute.name, s->name.s, version)
                         : xasprintf ("localhost/chuted-build/%s:%s", m->chute.name, version);
      /* a repository name is lower case; a version is a valid tag already */
      for (char *p = ref; *p != ':'; p++)
        *p = (char) tolower ((unsigned char) *p);
      if (type_is (s, "light"))
        s->base = s->image.s;
      else
        free (s->image.s);
      s->image.s = ref;
      s->built = true;
      m->built = true;
      if (m->n_svc == 1)
        {
          free (m->chute.image);
          m->chute.image = xstrdup (ref);
        }
    }
}

/* Where service S builds: its context dir and Dockerfile under DIR */
static void
build_paths (const struct ch_chutefile *m, const struct ch_mservice *s, const char *dir, char **context, char **file)
{
  const char *src = s->source.s ? s->source.s : ".";

  if (type_is (s, "normal") || type_is (s, "light"))
    {
      *context = xasprintf ("%s/%s", dir, src);
      *file = type_is (s, "normal") ? xasprintf ("%s/%s/Dockerfile", dir, src) : NULL;
      return;
    }
  *context = xstrdup (dir);
  *file = xasprintf ("%s/%s", dir, m->dockerfile.s);
}

/* S's place in the file for errors: its type, else the dockerfile: key */
static const struct ch_mval *
where (const struct ch_chutefile *m, const struct ch_mservice *s)
{
  return s->source.s ? &s->source : s->type.s ? &s->type : &m->dockerfile;
}

int
ch_engine_build_check (const struct ch_ctx *ctx, const struct ch_chutefile *m, const char *dir, ch_error_t *err)
{
  for (size_t i = 0; i < m->n_svc; i++)
    {
      const struct ch_mservice *s = &m->svc[i];
      cleanup_free char *context = NULL, *file = NULL;
      struct stat st;

      if (!is_built (m, i))
        continue;
      if (dir == NULL)
        return ch_chutefile_error (m, where (m, s), err,
                                   "a chute file sent alone has no directory to build in (send its directory or a "
                                   "chute package)");
      build_paths (m, s, dir, &context, &file);
      if (stat (context, &st) < 0 || !S_ISDIR (st.st_mode))
        return ch_chutefile_error (m, where (m, s), err, "`%s` is not a directory in the chute's directory",
                                   s->source.s ? s->source.s : ".");
      if (file && (stat (file, &st) < 0 || !S_ISREG (st.st_mode)))
        return ch_chutefile_error (m, where (m, s), err, "`%s` is not in the chute's directory", file + strlen (dir) + 1);
      if (type_is (s, "light"))
        {
          struct ch_light_base b;
          if (ch_light_base (ctx, s->base ? s->base : s->image.s, &b, err) < 0)
            return ch_chutefile_error (m, &s->image, err, "%s", (*err)->msg);
          ch_light_base_clear (&b);
        }
    }
  return 0;
}

/* One line of the builder's records: a step begins (an event of the
 * building phase, DETAIL's service named), or the failure (into *RECORD) */
static void
on_record (struct ch_engine *e, struct ch_change *c, const char *detail, const char *line, size_t len,
           json_t **record)
{
  cleanup_json json_t *j = json_loadb (line, len, 0, NULL);
  const char *type = json_string_value (json_object_get (j, "type"));

  if (type && strcmp (type, "step") == 0 && json_is_string (json_object_get (j, "text")))
    {
      cleanup_free char *d = xasprintf ("%s: step %lld/%lld: %s", detail,
                                        (long long) json_integer_value (json_object_get (j, "step")),
                                        (long long) json_integer_value (json_object_get (j, "steps")),
                                        json_string_value (json_object_get (j, "text")));
      cleanup_error ch_error_t e2 = NULL;
      /* progress: a journal that cannot say so does not stop the build */
      (void) ch_engine_phase (e, c, "building", d, &e2);
      return;
    }
  if (type == NULL && *record == NULL)
    *record = ch_build_failure_check (j);
}

/* Read the builder's record lines from FD to EOF */
static void
read_records (struct ch_engine *e, struct ch_change *c, const char *detail, int fd, json_t **record)
{
  struct ch_buf b = { 0 };
  char chunk[4096];
  ssize_t n;

  while ((n = read (fd, chunk, sizeof (chunk))) != 0)
    {
      char *nl;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        break;
      ch_buf_append (&b, chunk, (size_t) n);
      while ((nl = memchr (b.data, '\n', b.len)) != NULL)
        {
          size_t len = (size_t) (nl - b.data);
          on_record (e, c, detail, b.data, len, record);
          memmove (b.data, nl + 1, b.len - len - 1);
          b.len -= len + 1;
        }
      /* a line is small: a builder sending more is not ours */
      if (b.len > (1 << 20))
        break;
    }
  free (b.data);
}

/* chuted-image build ARGS (its records on fd 3, the steps as events): 0,
 * or < 0 with *RECORD the failure record it sent (NULL if none) and *ERR why */
static int
run_build (struct ch_engine *e, struct ch_change *c, const char *detail, char **args, json_t **record,
           ch_error_t *err)
{
  cleanup_strv char **argv = ch_build_argv (e->ctx, args);
  int fds[2], status;
  pid_t pid;

  *record = NULL;
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  fflush (stdout);
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      /* the build's own lines (a failing RUN's output) are in its record;
       * its stdout (the image id, the RUN steps' output) is not ours to print */
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 1);
      if (fds[1] == 3 ? fcntl (3, F_SETFD, 0) < 0 : dup2 (fds[1], 3) < 0)
        _exit (125);
      execv (argv[0], argv);
      _exit (127);
    }
  close (fds[1]);
  read_records (e, c, detail, fds[0], record);
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    {
      json_decref (*record);
      *record = NULL;
      return 0;
    }
  if (*record)
    return ch_error (err, 0, "%s", json_string_value (json_object_get (*record, "message")));
  if (WIFEXITED (status))
    return ch_error (err, 0, "chuted build exited %d (its error is above)", WEXITSTATUS (status));
  return ch_error (err, 0, "chuted build killed by signal %d", WTERMSIG (status));
}

/* ROOT/deploy/light-PID-XXXXXX: the Dockerfiles made for light services by
 * deploys that died before removing theirs (the pid in the name is gone) */
static void
sweep_light (const char *deploy_dir)
{
  cleanup_dir DIR *d = opendir (deploy_dir);
  struct dirent *de;

  while (d && (de = readdir (d)))
    {
      char *end;
      long pid;

      if (!ch_has_prefix (de->d_name, "light-"))
        continue;
      pid = strtol (de->d_name + 6, &end, 10);
      if (pid > 0 && *end == '-' && pid != getpid () && kill ((pid_t) pid, 0) < 0 && errno == ESRCH)
        unlinkat (dirfd (d), de->d_name, 0);
    }
}

static int
build_one (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, const struct ch_mservice *s,
           const char *dir, ch_error_t *err)
{
  struct ch_ctx *ctx = e->ctx;
  cleanup_free char *context = NULL, *file = NULL, *label = NULL, *detail = NULL, *disk = NULL, *gen = NULL;
  cleanup_strv char **args = xzalloc (sizeof (char *));
  json_t *record = NULL;
  int r;

  build_paths (m, s, dir, &context, &file);
  label = type_is (s, "light") ? xasprintf ("`%s` on base %s", s->source.s ? s->source.s : ".", s->base)
                               : xasprintf ("`%s`", file + strlen (dir) + 1);
  detail = m->n_svc > 1 ? xasprintf ("service %s: %s", s->name.s, label) : xstrdup (label);
  if (ch_engine_phase (e, c, "building", detail, err) < 0)
    return -1;
  if (type_is (s, "light"))
    {
      struct ch_light_base b;
      cleanup_free char *text = NULL;
      cleanup_close int fd = -1;
      if (ch_light_base (ctx, s->base, &b, err) < 0)
        return ch_error_prefix (err, "build of %s", detail);
      text = ch_light_dockerfile (s, &b, context);
      ch_light_base_clear (&b);
      /* made for this build, outside the context: its .dockerignore and COPY . leave it out */
      cleanup_free char *deploy_dir = xasprintf ("%s/deploy", ctx->root);
      sweep_light (deploy_dir);
      gen = xasprintf ("%s/light-%ld-XXXXXX", deploy_dir, (long) getpid ());
      fd = mkstemp (gen);
      if (fd < 0 || ch_write_all (fd, text, strlen (text), err) < 0)
        {
          if (fd < 0)
            ch_error (err, errno, "mkstemp `%s`", gen);
          else
            unlink (gen);
          return ch_error_prefix (err, "build of %s", detail);
        }
      file = xstrdup (gen);
    }
  ch_strv_append (&args, "build");
  ch_strv_append (&args, "-q");
  ch_strv_append (&args, "-t");
  ch_strv_append (&args, s->image.s);
  ch_strv_append (&args, "--result-fd");
  ch_strv_append (&args, "3");
  if (m->chute.disk)
    {
      /* the chute's disk: bounds its image's layers too */
      disk = xasprintf ("%llu", (unsigned long long) m->chute.disk);
      ch_strv_append (&args, "--disk-limit");
      ch_strv_append (&args, disk);
    }
  ch_strv_append (&args, "-f");
  ch_strv_append (&args, file);
  ch_strv_append (&args, context);
  r = run_build (e, c, detail, args, &record, err);
  if (gen)
    unlink (gen);
  if (r == 0)
    return 0;
  if (record)
    {
      if (m->n_svc > 1)
        json_object_set_new (record, "service", json_string (s->name.s));
      if (c->failure)
        json_decref (c->failure);
      c->failure = record;
    }
  return ch_error_prefix (err, "build of %s failed", m->n_svc > 1 ? detail : label);
}

int
ch_engine_build (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, const char *dir,
                 ch_error_t *err)
{
  /* DIR was checked (ch_engine_build_check) before the change began */
  for (size_t i = 0; i < m->n_svc; i++)
    if (m->svc[i].built && build_one (e, c, m, &m->svc[i], dir, err) < 0)
      return -1;
  return 0;
}

void
ch_engine_failure_print (FILE *f, const json_t *failure)
{
  const char *ins = json_string_value (json_object_get (failure, "instruction"));
  json_t *code = json_object_get (failure, "exit_code"), *out = json_object_get (failure, "output"), *v;
  size_t i;

  if (ins == NULL)
    return;
  fprintf (f, "  failed step: %s:%lld: %s", json_string_value (json_object_get (failure, "file")),
           (long long) json_integer_value (json_object_get (failure, "line")), ins);
  if (code)
    fprintf (f, " (exit code %lld)", (long long) json_integer_value (code));
  fprintf (f, "\n");
  if (json_array_size (out))
    fprintf (f, "  its last output:\n");
  json_array_foreach (out, i, v)
    fprintf (f, "  | %s\n", json_string_value (v));
}
