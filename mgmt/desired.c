/* Desired state of deployed chutes: see desired.h. Every write is
 * ch_write_file_durable (fsync, rename, directory fsync). */
#include "mgmt/desired.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
ch_desired_clear (struct ch_desired *d)
{
  free (d->name);
  free (d->version);
  free (d->previous);
  free (d->change);
  free (d->since);
  memset (d, 0, sizeof (*d));
}

char *
ch_deploy_dir (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/deploy", ctx->root);
}

static char *
chute_deploy_dir (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/deploy/chutes/%s", ctx->root, name);
}

char *
ch_desired_version_file (const struct ch_ctx *ctx, const char *name, const char *version)
{
  return xasprintf ("%s/deploy/chutes/%s/versions/%s/chute.yaml", ctx->root, name, version);
}

int
ch_desired_load (const struct ch_ctx *ctx, const char *name, struct ch_desired *d, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/deploy/chutes/%s/desired.json", ctx->root, name);
  cleanup_json json_t *j = NULL;

  memset (d, 0, sizeof (*d));
  if (access (path, F_OK) < 0 && errno == ENOENT)
    return 0;
  if (ch_json_load_file (path, &j, err) < 0)
    return -1;
  d->name = ch_json_dup_str (j, "name");
  d->version = ch_json_dup_str (j, "version");
  d->previous = ch_json_dup_str (j, "previous");
  d->change = ch_json_dup_str (j, "change");
  d->since = ch_json_dup_str (j, "since");
  d->generation = json_integer_value (json_object_get (j, "generation"));
  d->running = json_is_true (json_object_get (j, "running"));
  if (d->name == NULL || strcmp (d->name, name) != 0 || d->version == NULL || d->generation < 1)
    {
      ch_desired_clear (d);
      return ch_error (err, 0, "`%s`: not a desired state of chute `%s`", path, name);
    }
  return 1;
}

int
ch_desired_save (const struct ch_ctx *ctx, const struct ch_desired *d, ch_error_t *err)
{
  cleanup_free char *dir = chute_deploy_dir (ctx, d->name);
  cleanup_free char *path = xasprintf ("%s/desired.json", dir);
  cleanup_free char *text = NULL;
  cleanup_json json_t *j = json_pack ("{s:s, s:s, s:I, s:b}", "name", d->name, "version", d->version, "generation",
                                      (json_int_t) d->generation, "running", d->running);

  json_object_set_new (j, "previous", d->previous ? json_string (d->previous) : json_null ());
  if (d->change)
    json_object_set_new (j, "change", json_string (d->change));
  if (d->since)
    json_object_set_new (j, "since", json_string (d->since));
  text = json_dumps (j, JSON_INDENT (2));
  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_write_file_durable (path, text, strlen (text), 0600, err) < 0)
    return ch_error_prefix (err, "desired state of `%s`", d->name);
  return 0;
}

int
ch_desired_keep_version (const struct ch_ctx *ctx, const char *name, const char *version, const char *text,
                         size_t len, ch_error_t *err)
{
  cleanup_free char *file = ch_desired_version_file (ctx, name, version);
  cleanup_free char *dir = xstrdup (file);

  *strrchr (dir, '/') = '\0';
  if (ch_mkdir_p (dir, 0700, err) < 0 || ch_write_file_durable (file, text, len, 0600, err) < 0)
    return ch_error_prefix (err, "keep version `%s` of `%s`", version, name);
  return 0;
}

int
ch_desired_prune (const struct ch_ctx *ctx, const struct ch_desired *d, ch_error_t *err)
{
  cleanup_free char *vdir = xasprintf ("%s/deploy/chutes/%s/versions", ctx->root, d->name);
  DIR *dir = opendir (vdir);
  struct dirent *e;
  int r = 0;

  if (dir == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", vdir);
  while (r == 0 && (e = readdir (dir)))
    {
      if (e->d_name[0] == '.' || strcmp (e->d_name, d->version) == 0
          || (d->previous && strcmp (e->d_name, d->previous) == 0))
        continue;
      r = ch_rm_rf_at (dirfd (dir), e->d_name, err);
    }
  closedir (dir);
  return r;
}

int
ch_desired_remove (const struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *dir = chute_deploy_dir (ctx, name);
  return ch_rm_rf (dir, err);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
ch_desired_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err)
{
  cleanup_free char *path = xasprintf ("%s/deploy/chutes", ctx->root);
  DIR *dir = opendir (path);
  struct dirent *e;
  size_t n = 0;

  *names = xzalloc (sizeof (char *));
  if (dir == NULL)
    return errno == ENOENT ? 0 : ch_error (err, errno, "open `%s`", path);
  while ((e = readdir (dir)))
    {
      cleanup_free char *f = xasprintf ("%s/%s/desired.json", path, e->d_name);
      cleanup_error ch_error_t ne = NULL;
      if (e->d_name[0] == '.' || ch_chute_name_check (e->d_name, &ne) < 0 || access (f, F_OK) < 0)
        continue;
      ch_strv_append (names, e->d_name);
      n++;
    }
  closedir (dir);
  qsort (*names, n, sizeof (char *), cmp_str);
  return 0;
}
