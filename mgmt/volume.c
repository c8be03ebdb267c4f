#include "mgmt/volume.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void
ch_volume_spec_clear (struct ch_volume_spec *v)
{
  free (v->host);
  free (v->name);
  free (v->dest);
  memset (v, 0, sizeof (*v));
}

int
ch_volume_spec_parse (const char *spec, struct ch_volume_spec *v, ch_error_t *err)
{
  cleanup_free char *s = xstrdup (spec);
  char *dest = strchr (s, ':'), *mode;
  struct stat st;

  memset (v, 0, sizeof (*v));
  if (dest == NULL)
    return ch_error (err, 0, "volume `%s`: give SRC:DEST (a host path or a volume name, then a path in the chute)",
                     spec);
  *dest++ = '\0';
  mode = strchr (dest, ':');
  if (mode)
    *mode++ = '\0';
  if (mode && strcmp (mode, "ro") != 0 && strcmp (mode, "rw") != 0)
    return ch_error (err, 0, "volume `%s`: unknown option `%s` (ro or rw)", spec, mode);
  if (dest[0] != '/')
    return ch_error (err, 0, "volume `%s`: the path in the chute `%s` must be absolute", spec, dest);
  if (strcmp (dest, "/") == 0)
    return ch_error (err, 0, "volume `%s`: cannot mount over the chute's root", spec);
  if (s[0] == '/')
    {
      /* a host path must exist: a typo is not silently a new empty dir */
      if (stat (s, &st) < 0)
        return ch_error (err, errno, "volume `%s`: host path `%s`", spec, s);
      v->host = realpath (s, NULL);
      if (v->host == NULL)
        return ch_error (err, errno, "volume `%s`: host path `%s`", spec, s);
    }
  else if (s[0] == '.' || s[0] == '~' || s[0] == '\0')
    return ch_error (err, 0, "volume `%s`: a host path must be absolute", spec);
  else
    {
      if (ch_name_check ("volume", s, err) < 0)
        return ch_error_prefix (err, "volume `%s`", spec);
      v->name = xstrdup (s);
    }
  v->dest = xstrdup (dest);
  v->ro = mode && strcmp (mode, "ro") == 0;
  return 0;
}

char *
ch_volume_spec_format (const struct ch_volume_spec *v)
{
  return xasprintf ("%s:%s%s", v->host ? v->host : v->name, v->dest, v->ro ? ":ro" : "");
}

bool
ch_volume_dest_taken (char *const *volumes, const char *dest)
{
  for (size_t i = 0; volumes && volumes[i]; i++)
    {
      const char *d = strchr (volumes[i], ':');
      size_t n = strlen (dest);
      if (d && strncmp (d + 1, dest, n) == 0 && (d[n + 1] == '\0' || d[n + 1] == ':'))
        return true;
    }
  return false;
}

char *
ch_volumes_dir (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/volumes", ctx->root);
}

char *
ch_volume_data_dir (const struct ch_ctx *ctx, const char *name)
{
  return xasprintf ("%s/volumes/%s/_data", ctx->root, name);
}

bool
ch_volume_exists (const struct ch_ctx *ctx, const char *name)
{
  cleanup_free char *meta = xasprintf ("%s/volumes/%s/volume.json", ctx->root, name);
  return access (meta, F_OK) == 0;
}

int
ch_volume_create (const struct ch_ctx *ctx, const char *name, bool exist_ok, ch_error_t *err)
{
  cleanup_free char *dir = ch_volumes_dir (ctx);
  cleanup_free char *final = xasprintf ("%s/%s", dir, name);
  cleanup_free char *tmp = xasprintf ("%s/.new-%s.%d", dir, name, (int) getpid ());
  cleanup_free char *data = xasprintf ("%s/_data", tmp);
  cleanup_free char *meta = xasprintf ("%s/volume.json", tmp);
  cleanup_free char *created = ch_rfc3339 (time (NULL), -1);
  cleanup_json json_t *j = NULL;
  cleanup_error ch_error_t e2 = NULL;

  if (ch_name_check ("volume", name, err) < 0)
    return -1;
  if (access (final, F_OK) == 0)
    return exist_ok ? 0 : ch_error (err, 0, "volume `%s` already exists", name);
  if (ch_mkdir_p (dir, 0700, err) < 0)
    return -1;
  ch_rm_rf (tmp, &e2);
  j = json_pack ("{s:s, s:s}", "name", name, "created", created);
  if (ch_mkdir_p (data, 0755, err) < 0 || ch_json_save_file (meta, j, 0600, err) < 0)
    goto fail;
  if (rename (tmp, final) < 0)
    {
      /* made meanwhile by another chuted */
      if ((errno == EEXIST || errno == ENOTEMPTY) && exist_ok)
        {
          ch_rm_rf (tmp, &e2);
          return 0;
        }
      ch_error (err, errno, "volume `%s`: rename into `%s`", name, final);
      goto fail;
    }
  return 0;

fail:
  ch_rm_rf (tmp, &e2);
  return -1;
}

int
ch_volume_source (const struct ch_ctx *ctx, const struct ch_volume_spec *v, char **out, ch_error_t *err)
{
  if (v->host)
    {
      *out = xstrdup (v->host);
      return 0;
    }
  if (ch_volume_create (ctx, v->name, true, err) < 0)
    return -1;
  *out = ch_volume_data_dir (ctx, v->name);
  return 0;
}

int
ch_volume_users (const struct ch_ctx *ctx, const char *name, char ***chutes, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  char **users = xzalloc (sizeof (char *));

  if (ch_chute_list (ctx, &names, err) < 0)
    {
      free (users);
      return -1;
    }
  for (size_t i = 0; names[i]; i++)
    {
      cleanup_error ch_error_t e = NULL;
      struct ch_chute c;
      bool uses = false;

      ch_chute_init (&c);
      if (ch_chute_load (ctx, names[i], &c, &e) == 0)
        for (size_t k = 0; c.volumes && c.volumes[k] && !uses; k++)
          {
            struct ch_volume_spec v;
            cleanup_error ch_error_t e2 = NULL;
            /* parsed as stored: a host path gone since does not matter here */
            if (c.volumes[k][0] != '/' && ch_volume_spec_parse (c.volumes[k], &v, &e2) == 0)
              {
                uses = v.name && strcmp (v.name, name) == 0;
                ch_volume_spec_clear (&v);
              }
          }
      ch_chute_clear (&c);
      if (uses)
        ch_strv_append (&users, names[i]);
    }
  *chutes = users;
  return 0;
}

int
ch_volume_inspect (const struct ch_ctx *ctx, const char *name, json_t **out, ch_error_t *err)
{
  cleanup_free char *dir = ch_volumes_dir (ctx);
  cleanup_free char *meta = NULL;
  cleanup_free char *data = NULL;
  cleanup_strv char **users = NULL;
  cleanup_json json_t *j = NULL;

  if (ch_name_check ("volume", name, err) < 0)
    return -1;
  meta = xasprintf ("%s/%s/volume.json", dir, name);
  if (access (meta, F_OK) < 0)
    return ch_error (err, 0, "no such volume `%s`", name);
  if (ch_json_load_file (meta, &j, err) < 0 || ch_volume_users (ctx, name, &users, err) < 0)
    return -1;
  data = ch_volume_data_dir (ctx, name);
  *out = json_pack ("{s:s, s:s, s:O, s:o}", "name", name, "mountpoint", data, "created",
                    json_object_get (j, "created") ?: json_null (), "chutes", ch_json_from_strv (users));
  return 0;
}

static int
volume_name_ok (const char *name, ch_error_t *err)
{
  return ch_name_check ("volume", name, err);
}

int
ch_volume_list (const struct ch_ctx *ctx, char ***names, ch_error_t *err)
{
  cleanup_free char *dir = ch_volumes_dir (ctx);
  return ch_list_marked (dir, "volume.json", volume_name_ok, names, err);
}

int
ch_volume_remove (const struct ch_ctx *ctx, const char *name, ch_error_t *err)
{
  cleanup_free char *dir = ch_volumes_dir (ctx);
  cleanup_free char *vol = NULL;
  cleanup_free char *meta = NULL;
  cleanup_strv char **users = NULL;

  if (ch_name_check ("volume", name, err) < 0)
    return -1;
  vol = xasprintf ("%s/%s", dir, name);
  meta = xasprintf ("%s/volume.json", vol);
  if (access (meta, F_OK) < 0)
    return ch_error (err, 0, "no such volume `%s`", name);
  if (ch_volume_users (ctx, name, &users, err) < 0)
    return -1;
  if (users[0])
    {
      cleanup_free char *list = NULL;
      struct ch_buf b = { 0 };
      for (size_t i = 0; users[i]; i++)
        ch_buf_printf (&b, "%s`%s`", i ? ", " : "", users[i]);
      list = ch_buf_steal (&b);
      return ch_error (err, 0, "volume `%s` is used by chute%s %s (remove %s first)", name,
                       users[1] ? "s" : "", list, users[1] ? "them" : "it");
    }
  /* the metadata goes first: a half-removed volume is no longer listed */
  if (unlink (meta) < 0)
    return ch_error (err, errno, "remove `%s`", meta);
  return ch_rm_rf (vol, err);
}
