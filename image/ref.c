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

/* The grammar of github.com/distribution/reference (regexp.go):
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*
 *   separator      := [_.] | __ | [-]+
 * so no empty, `.` or `..` component and nothing that is not a name. */
static bool
path_component_valid (const char *c, size_t n)
{
  size_t i = 0;

  for (;;)
    {
      size_t run = 0, sep = 0;
      while (i < n && ((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9')))
        i++, run++;
      if (run == 0)
        return false;
      if (i == n)
        return true;
      if (c[i] == '.')
        sep = 1;
      else if (c[i] == '_')
        sep = (i + 1 < n && c[i + 1] == '_') ? 2 : 1;
      else
        while (i + sep < n && c[i + sep] == '-')
          sep++;
      if (sep == 0)
        return false;
      i += sep;
    }
}

static bool
repo_valid (const char *r)
{
  for (;;)
    {
      const char *e = strchrnul (r, '/');
      if (!path_component_valid (r, e - r))
        return false;
      if (*e == '\0')
        return true;
      r = e + 1;
    }
}

/* domain := host [':' port]; host := domain-name | '[' IPv6 ']';
 * domain-name := component ('.' component)*, component := [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? */
static bool
domain_valid (const char *d, size_t n)
{
  const char *end = d + n, *p = d, *colon;

  if (n > 0 && *d == '[')
    {
      const char *close = memchr (d, ']', n);
      if (close == NULL || close == d + 1 || strspn (d + 1, "0123456789abcdefABCDEF:") < (size_t) (close - d - 1))
        return false;
      p = close + 1;
      colon = p < end && *p == ':' ? p : NULL;
      if (p < end && colon == NULL)
        return false;
    }
  else
    {
      colon = memchr (d, ':', n);
      while (p < (colon ? colon : end))
        {
          const char *stop = colon ? colon : end, *q = p;
          while (q < stop && *q != '.')
            q++;
          if (q == p || p[0] == '-' || q[-1] == '-')
            return false;
          for (; p < q; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
              return false;
          if (q < stop && q + 1 == stop)
            return false; /* a trailing '.' */
          p = q < stop ? q + 1 : q;
        }
      if (p == d)
        return false;
    }
  if (colon)
    {
      size_t digits = end - colon - 1;
      if (digits == 0 || strspn (colon + 1, "0123456789") < digits)
        return false;
    }
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
  if (strpbrk (s, "\n\r"))
    return ch_error (err, 0, "reference: a name cannot hold a line break");
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
      if (!domain_valid (name, slash - name))
        {
          ch_ref_free (out);
          return ch_error (err, 0, "reference `%s`: invalid registry `%.*s`", s, (int) (slash - name), name);
        }
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
  /* distribution/reference's NameTotalLengthMax */
  if (!repo_valid (name) || (size_t) (name - rest) + strlen (name) > 255)
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

bool
ch_ref_pinned (const char *s)
{
  cleanup_error ch_error_t e = NULL;
  struct ch_ref r = { 0 };
  bool pinned = ch_ref_parse (s, &r, &e) == 0 && r.digest != NULL;

  ch_ref_free (&r);
  return pinned;
}

/* Here, not in import.c: `chuted` tells an archive from a name without
 * linking the importer (libarchive). */
bool
ch_import_is_transport (const char *ref)
{
  return ch_has_prefix (ref, "oci-archive:") || ch_has_prefix (ref, "docker-archive:") || ch_has_prefix (ref, "oci:");
}
