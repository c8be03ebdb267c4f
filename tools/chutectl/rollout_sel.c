/* chutectl's fleet options: a group is a label selector over the labels
 * each AP reports in its retained status (`--label` of its link), and the
 * shape of a rollout (canary, batch, failure budget, per-AP timeout). */
#include "common/json.h"
#include "common/parse.h"
#include "common/util.h"
#include "tools/chutectl/chutectl.h"

#include <string.h>

void
ctl_fleet_init (struct ctl_fleet *f)
{
  memset (f, 0, sizeof (*f));
  f->timeout_s = 300;
}

void
ctl_fleet_clear (struct ctl_fleet *f)
{
  json_decref (f->labels);
  f->labels = NULL;
}

bool
ctl_fleet_given (const struct ctl_fleet *f)
{
  return f->all || f->labels;
}

static int
add_label (struct ctl_fleet *f, const char *kv, ch_error_t *err)
{
  const char *eq = strchr (kv, '=');
  cleanup_free char *k = eq ? xstrndup (kv, (size_t) (eq - kv)) : NULL;

  if (k == NULL || *k == '\0' || eq[1] == '\0')
    return ch_error (err, 0, "label selector `%s`: want KEY=VALUE", kv);
  if (f->labels == NULL)
    f->labels = json_object ();
  json_object_set_new (f->labels, k, json_string (eq + 1));
  return 0;
}

static int
number (const char *opt, const char *s, bool percent, int64_t max, long *out, ch_error_t *err)
{
  cleanup_free char *t = xstrdup (s);
  size_t n = strlen (t);
  int64_t v;

  if (percent && n && t[n - 1] == '%')
    t[n - 1] = '\0';
  if (ch_parse_int (t, 0, max, &v, err) < 0)
    return ch_error_prefix (err, "%s", opt);
  *out = (long) v;
  return 0;
}

int
ctl_fleet_opt (struct ctl_fleet *f, int argc, char **argv, int *i, ch_error_t *err)
{
  const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
  int r;

  if (strcmp (o, "--group") && strcmp (o, "-l") && strcmp (o, "--label") && strcmp (o, "--canary")
      && strcmp (o, "--batch") && strcmp (o, "--max-fail") && strcmp (o, "--timeout"))
    return 0;
  if (v == NULL)
    return ch_error (err, 0, "%s needs a value", o);
  ++*i;
  if (strcmp (o, "--group") == 0)
    {
      /* `all`: every AP that ever reported a status */
      if (strcmp (v, "all") == 0)
        f->all = true;
      else
        {
          cleanup_free char *kv = xasprintf ("group=%s", v);
          r = add_label (f, kv, err);
          return r < 0 ? -1 : 1;
        }
      return 1;
    }
  if (strcmp (o, "-l") == 0 || strcmp (o, "--label") == 0)
    return add_label (f, v, err) < 0 ? -1 : 1;
  if (strcmp (o, "--canary") == 0)
    r = number (o, v, false, 100000, &f->canary, err);
  else if (strcmp (o, "--batch") == 0)
    r = number (o, v, false, 100000, &f->batch, err);
  else if (strcmp (o, "--max-fail") == 0)
    r = number (o, v, true, 100, &f->max_fail, err);
  else
    r = number (o, v, false, 86400, &f->timeout_s, err);
  return r < 0 ? -1 : 1;
}

bool
ctl_fleet_match (const struct ctl_fleet *f, json_t *status)
{
  json_t *labels = json_object_get (status, "labels"), *v;
  const char *k;

  if (status == NULL)
    return false;
  if (f->all)
    return true;
  json_object_foreach (f->labels, k, v)
    if (!json_equal (json_object_get (labels, k), v))
      return false;
  return f->labels != NULL;
}

char *
ctl_topic_node (const char *topic, const char **rest)
{
  const char *n = topic + strlen ("chuted/v1/"), *slash;

  if (!ch_has_prefix (topic, "chuted/v1/") || (slash = strchr (n, '/')) == NULL)
    return NULL;
  *rest = slash + 1;
  return xstrndup (n, (size_t) (slash - n));
}

json_t *
ctl_by_node (json_t *got)
{
  json_t *nodes = json_object (), *v, *n;
  const char *topic, *rest;

  json_object_foreach (got, topic, v)
  {
    cleanup_free char *node = ctl_topic_node (topic, &rest);

    if (node == NULL || json_is_null (v) || strchr (rest, '/'))
      continue;
    if ((n = json_object_get (nodes, node)) == NULL)
      json_object_set_new (nodes, node, n = json_object ());
    json_object_set (n, rest, v);
  }
  return nodes;
}
