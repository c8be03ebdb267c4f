#include "mgmt/image_users.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/disk.h"

#include <ctype.h>
#include <string.h>

/* The platform manifest REF resolves to, or NULL. */
static char *
manifest_of (struct ch_store *s, const char *ref)
{
  cleanup_json json_t *cfg = NULL;
  cleanup_error ch_error_t e = NULL;

  if (ref == NULL || ch_image_inspect (s, ref, NULL, &cfg, &e) < 0)
    return NULL;
  return ch_json_dup_str (cfg, "_manifest");
}

/* "sha256:..." or a hex prefix: an id or digest, which takes every name */
static bool
is_digest (const char *ref)
{
  if (ch_has_prefix (ref, "sha256:"))
    return true;
  for (const char *p = ref; *p; p++)
    if (!isxdigit ((unsigned char) *p) || isupper ((unsigned char) *p))
      return false;
  return strlen (ref) >= 3;
}

static char *
chute_manifest (const struct ch_ctx *ctx, struct ch_store *s, const char *name)
{
  cleanup_free char *dir = ch_disk_state_dir (ctx, name);
  cleanup_free char *mj = xasprintf ("%s/overlay/mount.json", dir);
  cleanup_json json_t *j = NULL;
  cleanup_error ch_error_t e = NULL;
  struct ch_chute c;
  char *md;

  if (ch_json_load_file (mj, &j, &e) == 0 && json_is_string (json_object_get (j, "manifest")))
    return ch_json_dup_str (j, "manifest");
  ch_chute_init (&c);
  ch_error_release (&e);
  md = ch_chute_load (ctx, name, &c, &e) == 0 ? manifest_of (s, c.image) : NULL;
  ch_chute_clear (&c);
  return md;
}

int
ch_image_users (const struct ch_ctx *ctx, struct ch_store *s, const char *ref, char ***chutes, ch_error_t *err)
{
  cleanup_free char *md = manifest_of (s, ref);
  cleanup_strv char **names = NULL;
  cleanup_json json_t *list = NULL;
  char **users = xzalloc (sizeof (char *));
  size_t n_names = 0, i;
  json_t *e;

  *chutes = users;
  if (md == NULL)
    return 0;
  if (!is_digest (ref))
    {
      if (ch_image_list (s, &list, err) < 0)
        return -1;
      json_array_foreach (list, i, e)
        {
          cleanup_free char *m = manifest_of (s, json_string_value (json_object_get (e, "ref")));
          n_names += m && strcmp (m, md) == 0;
        }
      if (n_names > 1)
        return 0;
    }
  if (ch_chute_list (ctx, &names, err) < 0)
    return -1;
  for (i = 0; names[i]; i++)
    {
      cleanup_free char *m = chute_manifest (ctx, s, names[i]);
      if (m && strcmp (m, md) == 0)
        ch_strv_append (chutes, names[i]);
    }
  return 0;
}

int
ch_image_check_unused (const struct ch_ctx *ctx, struct ch_store *s, const char *ref, ch_error_t *err)
{
  cleanup_strv char **users = NULL;
  cleanup_free char *list = NULL;
  struct ch_buf b = { 0 };

  if (ch_image_users (ctx, s, ref, &users, err) < 0)
    return -1;
  if (users[0] == NULL)
    return 0;
  for (size_t k = 0; users[k]; k++)
    ch_buf_printf (&b, "%s`%s`", k ? ", " : "", users[k]);
  list = ch_buf_steal (&b);
  return ch_error (err, 0, "image `%s` is used by chute%s %s (remove %s first, or rmi -f)", ref, users[1] ? "s" : "",
                   list, users[1] ? "them" : "it");
}
