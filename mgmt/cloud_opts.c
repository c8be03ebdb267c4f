/* The cloud link's options, one table for every program that hosts the
 * link (chuted-cloud, chuted daemon --cloud). */
#include "mgmt/cloud.h"

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
    }
  return 0;
}

int
ch_cloud_opts_check (struct ch_ctx *ctx, const struct ch_cloud_opts *o, ch_error_t *err)
{
  bool any = o->url || o->node || o->cert || o->key || o->ca || o->trust;

  if (!any)
    return 0;
  if (!(o->url && o->node && o->cert && o->key && o->ca && o->trust))
    return ch_cli_usage_error (ctx, err, "the cloud link needs --cloud, --node, --cert, --key, --ca and --trust");
  return 1;
}
