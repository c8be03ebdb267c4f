/* The cloud link's options, one table for every program that hosts the
 * link (chuted-cloud, chuted daemon --cloud). */
#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/cloud.h"

#include <string.h>

const struct ch_opt ch_opts_cloud[] = {
  CH_CLOUD_OPTS,
  CH_OPT_END,
};

int
ch_cloud_parse_opt (struct ch_cloud_opts *o, int val, const char *arg)
{
  switch (val)
    {
    case CH_O_CLOUD_URL: o->url = arg; return 1;
    case CH_O_CLOUD_NODE: o->node = arg; return 1;
    case CH_O_CLOUD_CERT: o->cert = arg; return 1;
    case CH_O_CLOUD_KEY: o->key = arg; return 1;
    case CH_O_CLOUD_CA: o->ca = arg; return 1;
    case CH_O_CLOUD_TRUST: o->trust = arg; return 1;
    case CH_O_CLOUD_LABEL:
      /* one past the end marks "too many" for ch_cloud_opts_check */
      if (o->n_labels < CH_CLOUD_LABELS_MAX)
        o->labels[o->n_labels] = arg;
      if (o->n_labels <= CH_CLOUD_LABELS_MAX)
        o->n_labels++;
      return 1;
    }
  return 0;
}

int
ch_cloud_labels (const struct ch_cloud_opts *o, json_t **out, ch_error_t *err)
{
  cleanup_json json_t *j = json_object ();

  *out = NULL;
  if (o->n_labels > CH_CLOUD_LABELS_MAX)
    return ch_error (err, 0, "--label: at most %d labels", CH_CLOUD_LABELS_MAX);
  for (size_t i = 0; i < o->n_labels; i++)
    {
      const char *eq = strchr (o->labels[i], '=');
      cleanup_free char *k = eq ? xstrndup (o->labels[i], (size_t) (eq - o->labels[i])) : NULL;

      /* the chute name rule for both: a label is a selector's word and may
       * become a topic level of a bridge's mapping */
      if (k == NULL)
        return ch_error (err, 0, "--label %.80s: want KEY=VALUE", o->labels[i]);
      if (ch_name_check ("label key", k, err) < 0 || ch_name_check ("label value", eq + 1, err) < 0)
        return ch_error_prefix (err, "--label %.80s", o->labels[i]);
      if (json_object_get (j, k))
        return ch_error (err, 0, "--label %s: key `%s` given twice", o->labels[i], k);
      json_object_set_new (j, k, json_string (eq + 1));
    }
  *out = ch_steal_pointer (&j);
  return 0;
}

int
ch_cloud_opts_check (struct ch_ctx *ctx, const struct ch_cloud_opts *o, ch_error_t *err)
{
  bool any = o->url || o->node || o->cert || o->key || o->ca || o->trust || o->n_labels;
  cleanup_json json_t *labels = NULL;
  cleanup_error ch_error_t e = NULL;

  if (!any)
    return 0;
  if (!(o->url && o->node && o->cert && o->key && o->ca && o->trust))
    return ch_cli_usage_error (ctx, err, "the cloud link needs --cloud, --node, --cert, --key, --ca and --trust");
  if (ch_cloud_labels (o, &labels, &e) < 0)
    return ch_cli_usage_error (ctx, err, "%s", e->msg);
  return 1;
}
