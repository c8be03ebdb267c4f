/* Image references: [REGISTRY/]REPO[:TAG][@sha256:HEX]. */
#include "internal.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

bool
ch_digest_valid (const char *digest)
{
  size_t i;

  if (digest == NULL || strncmp (digest, "sha256:", 7) != 0 || strlen (digest) != 7 + 64)
    return false;
  for (i = 7; i < 7 + 64; i++)
    if (!((digest[i] >= '0' && digest[i] <= '9') || (digest[i] >= 'a' && digest[i] <= 'f')))
      return false;
  return true;
}

static bool
repo_valid (const char *r)
{
  size_t i;

  if (*r == '\0' || *r == '/' || r[strlen (r) - 1] == '/' || strstr (r, "//"))
    return false;
  for (i = 0; r[i]; i++)
    if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || strchr ("._-/", r[i])))
      return false;
  return true;
}

static bool
tag_valid (const char *t)
{
  size_t n = strlen (t);
  return n > 0 && n <= 128 && strspn (t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n
         && t[0] != '.' && t[0] != '-';
}

int
ch_ref_parse (const char *s, struct ch_ref *out, ch_error_t *err)
{
  cleanup_free char *rest = xstrdup (s);
  char *at, *slash, *colon, *name;

  memset (out, 0, sizeof (*out));
  at = strchr (rest, '@');
  if (at)
    {
      *at = '\0';
      if (!ch_digest_valid (at + 1))
        return ch_error (err, 0, "reference `%s`: invalid digest `%s`", s, at + 1);
      out->digest = xstrdup (at + 1);
    }
  name = rest;
  slash = strchr (name, '/');
  if (slash && (memchr (name, '.', slash - name) || memchr (name, ':', slash - name)
                || (slash - name == 9 && strncmp (name, "localhost", 9) == 0)))
    {
      out->registry = xstrndup (name, slash - name);
      name = slash + 1;
    }
  else
    out->registry = xstrdup ("docker.io");
  colon = strrchr (name, ':');
  if (colon)
    {
      *colon = '\0';
      if (!tag_valid (colon + 1))
        {
          ch_ref_free (out);
          return ch_error (err, 0, "reference `%s`: invalid tag `%s`", s, colon + 1);
        }
      out->tag = xstrdup (colon + 1);
    }
  else if (out->digest == NULL)
    out->tag = xstrdup ("latest");
  if (!repo_valid (name))
    {
      ch_ref_free (out);
      return ch_error (err, 0, "reference `%s`: invalid repository name `%s`", s, name);
    }
  if (strcmp (out->registry, "docker.io") == 0 && strchr (name, '/') == NULL)
    out->repo = xasprintf ("library/%s", name);
  else
    out->repo = xstrdup (name);
  /* The store keeps the name as written (no docker.io/library/ added). */
  {
    size_t keep = (size_t) (name - rest) + strlen (name);
    cleanup_free char *base = xstrndup (rest, keep);
    if (out->tag)
      out->name = xasprintf ("%s:%s", base, out->tag);
    else
      out->name = xasprintf ("%s@%s", base, out->digest);
  }
  return 0;
}

void
ch_ref_free (struct ch_ref *r)
{
  free (r->registry);
  free (r->repo);
  free (r->tag);
  free (r->digest);
  free (r->name);
  memset (r, 0, sizeof (*r));
}
