/* The Dockerfile parser: parser directives (escape), logical lines joined at
 * the escape character (comment and blank lines inside a continuation
 * dropped, as Docker does), the instruction's leading --flags, the JSON exec
 * form (jansson), and Docker's word rules: quotes, escapes and ${VAR}
 * substitution with its :- :+ - + :? modifiers. Outside input: every error
 * is one line naming the file and line. */
#include "image/dockerfile.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const known[] = {
  "FROM",    "RUN",        "CMD",    "LABEL",       "MAINTAINER", "EXPOSE",  "ENV",   "ADD",
  "COPY",    "ENTRYPOINT", "VOLUME", "USER",        "WORKDIR",    "ARG",     "ONBUILD", "STOPSIGNAL",
  "HEALTHCHECK", "SHELL",  NULL,
};
/* instructions whose arguments may be a JSON array */
static const char *const json_ok[] = { "RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME", NULL };

static bool
in_list (const char *const *l, const char *s)
{
  for (; *l; l++)
    if (strcmp (*l, s) == 0)
      return true;
  return false;
}

static void
instr_clear (struct ch_df_instr *in)
{
  free (in->cmd);
  ch_strv_free (in->flags);
  free (in->args);
  ch_strv_free (in->json);
}

void
ch_dockerfile_free (struct ch_dockerfile *df)
{
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->n; i++)
    instr_clear (&df->v[i]);
  free (df->v);
  free (df->name);
  free (df);
}

const char *
ch_df_flag (char *const *flags, const char *name)
{
  size_t n = strlen (name);
  for (; flags && *flags; flags++)
    if (strncmp (*flags + 2, name, n) == 0 && ((*flags)[2 + n] == '=' || (*flags)[2 + n] == '\0'))
      return (*flags)[2 + n] == '=' ? *flags + 3 + n : "";
  return NULL;
}

static char *
trim (const char *s, size_t len)
{
  while (len && isspace ((unsigned char) *s))
    s++, len--;
  while (len && isspace ((unsigned char) s[len - 1]))
    len--;
  return xstrndup (s, len);
}

/* A JSON array of strings, else NULL (then the text is the shell form). */
static char **
json_form (const char *s)
{
  json_error_t je;
  json_t *j, *v;
  char **out;
  size_t i;

  if (*s != '[')
    return NULL;
  j = json_loads (s, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_array (j))
    {
      json_decref (j);
      return NULL;
    }
  out = xzalloc (sizeof (char *));
  json_array_foreach (j, i, v)
    {
      if (!json_is_string (v) || memchr (json_string_value (v), '\0', json_string_length (v)))
        {
          ch_strv_free (out);
          json_decref (j);
          return NULL;
        }
      ch_strv_append (&out, json_string_value (v));
    }
  json_decref (j);
  return out;
}

/* One logical line: keyword, flags, arguments. */
static int
add_instr (struct ch_dockerfile *df, int line, const char *text, ch_error_t *err)
{
  struct ch_df_instr in = { .line = line };
  const char *p = text, *w;
  size_t i;

  while (isspace ((unsigned char) *p))
    p++;
  w = p;
  while (*p && !isspace ((unsigned char) *p))
    p++;
  in.cmd = xstrndup (w, p - w);
  for (i = 0; in.cmd[i]; i++)
    in.cmd[i] = (char) toupper ((unsigned char) in.cmd[i]);
  if (!in_list (known, in.cmd))
    {
      int r = ch_error (err, 0, "%s:%d: unknown instruction `%.40s`", df->name, line, w);
      instr_clear (&in);
      return r;
    }
  in.flags = xzalloc (sizeof (char *));
  for (;;)
    {
      while (isspace ((unsigned char) *p))
        p++;
      if (strncmp (p, "--", 2) != 0 || !isalpha ((unsigned char) p[2]))
        break;
      w = p;
      while (*p && !isspace ((unsigned char) *p))
        p++;
      {
        cleanup_free char *f = xstrndup (w, p - w);
        ch_strv_append (&in.flags, f);
      }
    }
  in.args = trim (p, strlen (p));
  /* BuildKit's heredocs would make the lines after this one its input */
  if ((strcmp (in.cmd, "RUN") == 0 || strcmp (in.cmd, "COPY") == 0 || strcmp (in.cmd, "ADD") == 0)
      && strncmp (in.args, "<<", 2) == 0 && (isalpha ((unsigned char) in.args[2]) || strchr ("-\"'", in.args[2])))
    {
      int r = ch_error (err, 0, "%s:%d: %s: heredocs (<<) are not supported", df->name, line, in.cmd);
      instr_clear (&in);
      return r;
    }
  if (in_list (json_ok, in.cmd))
    in.json = json_form (in.args);
  df->v = xrealloc (df->v, (df->n + 1) * sizeof (*df->v));
  df->v[df->n++] = in;
  return 0;
}

/* "# escape=`" and "# syntax=..." before the first instruction or comment. */
static bool
directive (const char *line, size_t len, struct ch_dockerfile *df, bool *done)
{
  cleanup_free char *l = trim (line, len);
  char *eq, *k, *v;

  if (*done || l[0] != '#')
    {
      *done = true;
      return false;
    }
  eq = strchr (l, '=');
  if (eq == NULL)
    {
      *done = true;
      return false;
    }
  *eq = '\0';
  k = trim (l + 1, strlen (l + 1));
  v = trim (eq + 1, strlen (eq + 1));
  for (char *c = k; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  if (strcmp (k, "escape") == 0 && (strcmp (v, "\\") == 0 || strcmp (v, "`") == 0))
    df->escape = v[0];
  else if (strcmp (k, "escape") != 0 && strcmp (k, "syntax") != 0 && strcmp (k, "check") != 0)
    *done = true;
  free (k);
  free (v);
  return true;
}

int
ch_dockerfile_parse (const char *name, const char *buf, size_t len, struct ch_dockerfile **out, ch_error_t *err)
{
  struct ch_dockerfile *df = xzalloc (sizeof (*df));
  struct ch_buf cur = { 0 };
  bool cont = false, directives_done = false;
  int line = 0, start = 0;
  size_t pos = 0;

  df->name = xstrdup (name);
  df->escape = '\\';
  if (memchr (buf, '\0', len))
    {
      ch_error (err, 0, "%s: not a text file (a NUL byte)", name);
      goto fail;
    }
  if (len >= 3 && memcmp (buf, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  while (pos < len)
    {
      const char *l = buf + pos, *nl = memchr (l, '\n', len - pos);
      size_t ll = nl ? (size_t) (nl - l) : len - pos, k = 0, e, from;

      pos += ll + (nl ? 1 : 0);
      line++;
      if (ll && l[ll - 1] == '\r')
        ll--;
      if (!cont && directive (l, ll, df, &directives_done))
        continue;
      while (k < ll && isspace ((unsigned char) l[k]))
        k++;
      /* blank and comment lines, also in the middle of a continuation */
      if (k == ll || l[k] == '#')
        continue;
      e = ll;
      while (e > k && isspace ((unsigned char) l[e - 1]))
        e--;
      /* a continued line keeps its leading white space, as Docker joins them */
      from = cont ? 0 : k;
      if (!cont)
        start = line;
      if (e > k && l[e - 1] == df->escape)
        {
          ch_buf_append (&cur, l + from, e - 1 - from);
          cont = true;
          continue;
        }
      ch_buf_append (&cur, l + from, e - from);
      cont = false;
      {
        cleanup_free char *text = ch_buf_steal (&cur);
        if (add_instr (df, start, text, err) < 0)
          goto fail;
      }
    }
  if (cont)
    {
      cleanup_free char *text = ch_buf_steal (&cur);
      if (add_instr (df, start, text, err) < 0)
        goto fail;
    }
  *out = df;
  return 0;
fail:
  free (ch_buf_steal (&cur));
  ch_dockerfile_free (df);
  return -1;
}

char **
ch_df_split (const char *s, char esc)
{
  char **out = xzalloc (sizeof (char *));
  struct ch_buf w = { 0 };
  bool have = false;
  char q = 0;

  for (; *s; s++)
    {
      if (q == 0 && isspace ((unsigned char) *s))
        {
          if (have)
            {
              cleanup_free char *x = ch_buf_steal (&w);
              ch_strv_append (&out, x ? x : "");
            }
          have = false;
          continue;
        }
      have = true;
      if (*s == esc && q != '\'' && s[1])
        {
          ch_buf_append (&w, s, 2);
          s++;
          continue;
        }
      if (q == 0 && (*s == '"' || *s == '\''))
        q = *s;
      else if (q == *s)
        q = 0;
      ch_buf_append (&w, s, 1);
    }
  if (have)
    {
      cleanup_free char *x = ch_buf_steal (&w);
      ch_strv_append (&out, x ? x : "");
    }
  return out;
}

static bool
name_char (char c)
{
  return isalnum ((unsigned char) c) || c == '_';
}

static int expand_until (const char **sp, char esc, json_t *vars, char stop, struct ch_buf *o, int depth,
                         ch_error_t *err);

/* After a '$': the variable or ${...} form, appended to O. */
static int
dollar (const char **sp, char esc, json_t *vars, struct ch_buf *o, int depth, ch_error_t *err)
{
  const char *s = *sp, *n0, *val;
  cleanup_free char *name = NULL;
  json_t *v;

  if (*s != '{')
    {
      n0 = s;
      while (name_char (*s))
        s++;
      if (s == n0)
        {
          ch_buf_append (o, "$", 1);
          return 0;
        }
      name = xstrndup (n0, s - n0);
      v = json_object_get (vars, name);
      if (json_is_string (v))
        ch_buf_append (o, json_string_value (v), json_string_length (v));
      *sp = s;
      return 0;
    }
  s++;
  n0 = s;
  while (name_char (*s))
    s++;
  if (s == n0)
    return ch_error (err, 0, "bad substitution `${%.20s`", n0);
  name = xstrndup (n0, s - n0);
  v = json_object_get (vars, name);
  val = json_is_string (v) ? json_string_value (v) : NULL;
  if (*s == '}')
    {
      if (val)
        ch_buf_append (o, val, strlen (val));
      *sp = s + 1;
      return 0;
    }
  {
    bool colon = *s == ':';
    char mod = colon ? s[1] : s[0];
    bool set = val && (!colon || *val);
    struct ch_buf word = { 0 };
    cleanup_free char *w = NULL;

    if (*s == '\0')
      return ch_error (err, 0, "missing `}` after `${%s`", name);
    if (mod != '-' && mod != '+' && mod != '?')
      return ch_error (err, 0, "unsupported modifier in `${%s%.2s...}`", name, s);
    s += colon ? 2 : 1;
    if (expand_until (&s, esc, vars, '}', &word, depth + 1, err) < 0)
      {
        free (ch_buf_steal (&word));
        return -1;
      }
    w = ch_buf_steal (&word);
    if (*s != '}')
      return ch_error (err, 0, "missing `}` after `${%s`", name);
    *sp = s + 1;
    if (mod == '-')
      {
        const char *r = set ? val : (w ? w : "");
        ch_buf_append (o, r, strlen (r));
      }
    else if (mod == '+')
      {
        if (set && w)
          ch_buf_append (o, w, strlen (w));
      }
    else if (!set)
      return ch_error (err, 0, "%s: %s", name, w && *w ? w : "is not set");
    else
      ch_buf_append (o, val, strlen (val));
    return 0;
  }
}

/* Expand from *SP up to STOP (0: the end) at quote level 0. */
static int
expand_until (const char **sp, char esc, json_t *vars, char stop, struct ch_buf *o, int depth, ch_error_t *err)
{
  const char *s = *sp;
  char q = 0;

  if (depth > 16)
    return ch_error (err, 0, "substitution nested too deep");
  /* an empty word still yields "" */
  ch_buf_append (o, "", 0);
  for (; *s; s++)
    {
      if (q == 0 && stop && *s == stop)
        break;
      if (q == '\'')
        {
          if (*s == '\'')
            q = 0;
          else
            ch_buf_append (o, s, 1);
          continue;
        }
      if (*s == esc && s[1])
        {
          /* in double quotes only ", $ and the escape itself are escaped */
          if (q == '"' && s[1] != '"' && s[1] != '$' && s[1] != esc)
            ch_buf_append (o, s, 1);
          ch_buf_append (o, s + 1, 1);
          s++;
          continue;
        }
      if (*s == '$')
        {
          s++;
          if (dollar (&s, esc, vars, o, depth, err) < 0)
            return -1;
          s--;
          continue;
        }
      if (q == 0 && (*s == '"' || *s == '\''))
        {
          q = *s;
          continue;
        }
      if (q == '"' && *s == '"')
        {
          q = 0;
          continue;
        }
      ch_buf_append (o, s, 1);
    }
  if (q)
    return ch_error (err, 0, "unterminated %s quote", q == '"' ? "double" : "single");
  *sp = s;
  return 0;
}

int
ch_df_expand (const char *word, char esc, json_t *vars, char **out, ch_error_t *err)
{
  struct ch_buf o = { 0 };
  const char *s = word;

  if (expand_until (&s, esc, vars, 0, &o, 0, err) < 0)
    {
      free (ch_buf_steal (&o));
      return ch_error_prefix (err, "`%.60s`", word);
    }
  *out = ch_buf_steal (&o);
  if (*out == NULL)
    *out = xstrdup ("");
  return 0;
}
