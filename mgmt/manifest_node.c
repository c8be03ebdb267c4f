/* Walking libyaml's document: values with their marks, mappings with known
 * keys given once, and the one-line error format of chute.yaml. */
#include "mgmt/manifest_internal.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 4096


/* Values are quoted into messages by the rules they go through, and a YAML
 * value can hold line breaks and control characters: escaped here, so an
 * error stays one line. */
static char *
one_line (const char *s)
{
  struct ch_buf b = { 0 };

  for (; *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '\n')
        ch_buf_printf (&b, "\\n");
      else if (c < 0x20 || c == 0x7f)
        ch_buf_printf (&b, "\\x%02x", c);
      else
        ch_buf_append (&b, s, 1);
    }
  return ch_buf_steal (&b);
}

static int
verror_at (const char *file, unsigned line, unsigned col, const char *path, ch_error_t *err, const char *fmt,
           va_list ap)
{
  cleanup_free char *msg = xvasprintf (fmt, ap);
  cleanup_free char *full = NULL, *clean = NULL;

  if (path && *path)
    full = xasprintf ("%s:%u:%u: %s: %s", file, line, col, path, msg);
  else
    full = xasprintf ("%s:%u:%u: %s", file, line, col, msg);
  clean = one_line (full);
  return ch_error (err, 0, "%s", clean);
}

int
ch_chutefile_error (const struct ch_chutefile *m, const struct ch_mval *v, ch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = verror_at (m->file, v->line ? v->line : 1, v->col ? v->col : 1, v->path, err, fmt, ap);
  va_end (ap);
  return r;
}

int
mf_error_at (struct mf_walk *w, yaml_node_t *n, const char *path, ch_error_t *err, const char *fmt, ...)
{
  va_list ap;
  int r;

  va_start (ap, fmt);
  r = verror_at (w->m->file, n->start_mark.line + 1, n->start_mark.column + 1, path, err, fmt, ap);
  va_end (ap);
  return r;
}

const char *
mf_kind (yaml_node_t *n)
{
  return n->type == YAML_MAPPING_NODE ? "a mapping" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a single value";
}

bool
mf_is_null (yaml_node_t *n)
{
  const char *s = (const char *) n->data.scalar.value;

  return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
         && (n->data.scalar.length == 0 || strcmp (s, "~") == 0 || strcmp (s, "null") == 0
             || strcmp (s, "Null") == 0 || strcmp (s, "NULL") == 0);
}

void
mf_mark (struct ch_mval *v, const char *path, yaml_node_t *n)
{
  free (v->path);
  v->path = xstrdup (path);
  v->line = n->start_mark.line + 1;
  v->col = n->start_mark.column + 1;
}

int
mf_scalar (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mval *out, ch_error_t *err)
{
  if (n->type != YAML_SCALAR_NODE)
    return mf_error_at (w, n, path, err, "want a single value, not %s", mf_kind (n));
  if (mf_is_null (n))
    return mf_error_at (w, n, path, err, "no value given");
  if (memchr (n->data.scalar.value, '\0', n->data.scalar.length))
    return mf_error_at (w, n, path, err, "a NUL byte in the value");
  free (out->s);
  out->s = xstrndup ((const char *) n->data.scalar.value, n->data.scalar.length);
  mf_mark (out, path, n);
  return 0;
}

/* A mapping mf_given (its own contents read by its handler): S = "". */
void
mf_given (struct ch_mval *v, const char *path, yaml_node_t *n)
{
  free (v->s);
  v->s = xstrdup ("");
  mf_mark (v, path, n);
}

struct ch_mval *
mf_list_add (struct ch_mlist *l)
{
  l->v = xrealloc (l->v, (l->n + 1) * sizeof *l->v);
  memset (&l->v[l->n], 0, sizeof *l->v);
  return &l->v[l->n++];
}

int
mf_each_key (struct mf_walk *w, yaml_node_t *n, const char *path, mf_key_fn fn, ch_error_t *err)
{
  if (n->type != YAML_MAPPING_NODE)
    return mf_error_at (w, n, path, err, "want a mapping (KEY: VALUE lines), not %s", mf_kind (n));
  /* keys are checked for repeats pairwise: bound the work a hostile file can ask for */
  if (n->data.mapping.pairs.top - n->data.mapping.pairs.start > MAX_KEYS)
    return mf_error_at (w, n, path, err, "more than %d keys", MAX_KEYS);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
      yaml_node_t *k = yaml_document_get_node (w->doc, p->key), *v = yaml_document_get_node (w->doc, p->value);
      cleanup_free char *sub = NULL;
      const char *key;

      if (k == NULL || v == NULL)
        return mf_error_at (w, n, path, err, "broken mapping");
      if (k->type != YAML_SCALAR_NODE || mf_is_null (k) || memchr (k->data.scalar.value, '\0', k->data.scalar.length))
        return mf_error_at (w, k, path, err, "a key must be a name, not %s", mf_kind (k));
      key = (const char *) k->data.scalar.value;
      for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++)
        {
          yaml_node_t *k2 = yaml_document_get_node (w->doc, q->key);
          if (k2->type == YAML_SCALAR_NODE && strcmp ((const char *) k2->data.scalar.value, key) == 0)
            return mf_error_at (w, k, *path ? path : NULL, err, "`%s` given twice (first at %lu:%lu)", key,
                             (unsigned long) k2->start_mark.line + 1, (unsigned long) k2->start_mark.column + 1);
        }
      sub = *path ? xasprintf ("%s.%s", path, key) : xstrdup (key);
      if (fn (w, key, k, v, sub, err) < 0)
        return -1;
    }
  return 0;
}

int
mf_unknown (struct mf_walk *w, yaml_node_t *k, const char *path, const char *known, ch_error_t *err)
{
  return mf_error_at (w, k, path, err, "unknown key (known here: %s)", known);
}

/* A list of values, or with ONE_OK a single value (then *SINGLE = true). */
int
mf_values (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mlist *out, bool one_ok, bool *single,
        ch_error_t *err)
{
  if (one_ok && n->type == YAML_SCALAR_NODE)
    {
      *single = true;
      return mf_scalar (w, n, path, mf_list_add (out), err);
    }
  if (n->type != YAML_SEQUENCE_NODE)
    return mf_error_at (w, n, path, err, "want a list%s, not %s", one_ok ? " or a single value" : "", mf_kind (n));
  if (single)
    *single = false;
  for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++)
    {
      cleanup_free char *sub = xasprintf ("%s[%ld]", path, (long) (i - n->data.sequence.items.start));
      yaml_node_t *it = yaml_document_get_node (w->doc, *i);
      if (it == NULL || mf_scalar (w, it, sub, mf_list_add (out), err) < 0)
        return it ? -1 : mf_error_at (w, n, path, err, "broken list");
    }
  return 0;
}

/* environment: {K: V} -> "K=V" entries. */
static int
env_key (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path, ch_error_t *err)
{
  struct ch_mval *e;

  if (strchr (key, '=') || strchr (key, ' '))
    return mf_error_at (w, k, path, err, "an environment variable name has no `=` or space");
  e = mf_list_add (w->env);
  if (mf_scalar (w, v, path, e, err) < 0)
    return -1;
  char *kv = xasprintf ("%s=%s", key, e->s);
  free (e->s);
  e->s = kv;
  return 0;
}

int
mf_environment (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mlist *out, ch_error_t *err)
{
  w->env = out;
  return mf_each_key (w, n, path, env_key, err);
}

void
mf_mval_clear (struct ch_mval *v)
{
  free (v->s);
  free (v->path);
  memset (v, 0, sizeof *v);
}

void
mf_mlist_clear (struct ch_mlist *l)
{
  for (size_t i = 0; i < l->n; i++)
    mf_mval_clear (&l->v[i]);
  free (l->v);
  memset (l, 0, sizeof *l);
}

