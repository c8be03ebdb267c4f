/* ParaDrop's light services: a source dir on a named base (python2, node,
 * ...), built as its Dockerfile template did: FROM the base, the app in
 * /opt/paradrop/app, its dependency file copied alone first and installed
 * (pip's requirements.txt, npm's package.json: a layer cached while they
 * do not change), then the rest of the source, CMD the service's command.
 * The names map to images as ParaDrop mapped them (Docker Hub's official
 * images), unless ROOT/config/light-bases says otherwise, one base a line:
 *     NAME IMAGE [DEPS-FILE INSTALL-COMMAND...]
 * (without a DEPS-FILE, the built-in install step of NAME, if any). */
#include "mgmt/build.h"
#include "common/file.h"
#include "common/json.h"
#include "common/util.h"
#include "mgmt/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct
{
  const char *name, *image, *deps, *install;
} builtin[] = {
  { "python2", "docker.io/library/python:2.7", "requirements.txt", "pip install --requirement requirements.txt" },
  { "python3", "docker.io/library/python:3.7", "requirements.txt", "pip install --requirement requirements.txt" },
  { "node", "docker.io/library/node:8.13", "package.json", "npm install" },
  { "go", "docker.io/library/golang:1.11", NULL, NULL },
  { "gradle", "docker.io/library/gradle:4.2", NULL, NULL },
  { "maven", "docker.io/library/maven:3.5", NULL, NULL },
};

void
ch_light_base_clear (struct ch_light_base *b)
{
  free (b->image);
  free (b->deps);
  free (b->install);
  memset (b, 0, sizeof (*b));
}

char *
ch_light_bases_file (const struct ch_ctx *ctx)
{
  return xasprintf ("%s/config/light-bases", ctx->root);
}

/* NAME's line in the config file TEXT into OUT: 1 found, 0 not */
static int
from_config (const char *file, char *text, const char *name, struct ch_light_base *out, ch_error_t *err)
{
  unsigned n = 0;

  for (char *line = text, *next; line; line = next)
    {
      char *w = line + strspn (line, " \t"), *img, *deps, *rest;
      size_t k;
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      n++;
      if (*w == '#' || *w == '\0')
        continue;
      k = strcspn (w, " \t");
      if (strncmp (w, name, k) != 0 || name[k] != '\0')
        continue;
      img = w + k + strspn (w + k, " \t");
      k = strcspn (img, " \t");
      if (k == 0)
        return ch_error (err, 0, "%s:%u: `%s` names no image (NAME IMAGE [DEPS-FILE INSTALL-COMMAND])", file, n, name);
      deps = img + k + strspn (img + k, " \t");
      out->image = xstrndup (img, k);
      k = strcspn (deps, " \t");
      if (k == 0)
        return 1;
      rest = deps + k + strspn (deps + k, " \t");
      if (*rest == '\0' || memchr (deps, '/', k))
        return ch_error (err, 0, "%s:%u: after the dependency file `%.*s`, its install command (and the file in the "
                                 "source's top directory)", file, n, (int) k, deps);
      out->deps = xstrndup (deps, k);
      out->install = xstrdup (rest);
      return 1;
    }
  return 0;
}

int
ch_light_base (const struct ch_ctx *ctx, const char *name, struct ch_light_base *out, ch_error_t *err)
{
  cleanup_free char *file = ch_light_bases_file (ctx), *text = NULL;
  size_t len, i;
  int r = 0;

  memset (out, 0, sizeof (*out));
  if (ch_read_file_max (file, 1 << 16, &text, &len, err) == 0)
    r = from_config (file, text, name, out, err);
  else if ((*err)->status != ENOENT)
    return -1;
  else
    ch_error_release (err);
  if (r < 0)
    {
      ch_light_base_clear (out);
      return -1;
    }
  for (i = 0; i < sizeof (builtin) / sizeof (builtin[0]) && strcmp (builtin[i].name, name) != 0; i++)
    ;
  if (r == 0 && i == sizeof (builtin) / sizeof (builtin[0]))
    return ch_error (err, 0, "no light base `%s`: ParaDrop's are python2, python3, node, go, gradle, maven; map "
                             "others to an image in %s (NAME IMAGE [DEPS-FILE INSTALL-COMMAND])", name, file);
  if (r == 0)
    out->image = xstrdup (builtin[i].image);
  if (out->deps == NULL && i < sizeof (builtin) / sizeof (builtin[0]) && builtin[i].deps)
    {
      out->deps = xstrdup (builtin[i].deps);
      out->install = xstrdup (builtin[i].install);
    }
  return 0;
}

char *
ch_light_dockerfile (const struct ch_mservice *s, const struct ch_light_base *b, const char *src_dir)
{
  struct ch_buf d = { 0 };
  cleanup_json json_t *cmd = json_array ();
  cleanup_free char *cmd_text = NULL;
  struct stat st;

  if (s->command_shell)
    {
      json_array_append_new (cmd, json_string ("/bin/sh"));
      json_array_append_new (cmd, json_string ("-c"));
    }
  for (size_t i = 0; i < s->command.n; i++)
    json_array_append_new (cmd, json_string (s->command.v[i].s));
  cmd_text = json_dumps (cmd, JSON_COMPACT);
  ch_buf_printf (&d, "# the light service `%s` on %s (chuted's build of ParaDrop's light chutes)\n",
                 s->name.s ? s->name.s : "", s->base ? s->base : "?");
  ch_buf_printf (&d, "FROM %s\nWORKDIR /opt/paradrop/app\n", b->image);
  if (b->deps)
    {
      cleanup_free char *f = xasprintf ("%s/%s", src_dir, b->deps);
      /* alone first: its layer and the install's stay cached while it does not change */
      if (lstat (f, &st) == 0 && S_ISREG (st.st_mode))
        ch_buf_printf (&d, "COPY %s /opt/paradrop/app/\nRUN %s\n", b->deps, b->install);
    }
  ch_buf_printf (&d, "COPY . /opt/paradrop/app/\nCMD %s\n", cmd_text);
  return ch_buf_steal (&d);
}
