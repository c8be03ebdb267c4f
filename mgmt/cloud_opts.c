/* The cloud link's options, one table for every program that hosts the
 * link (chuted-cloud now, the daemon's --cloud). */
#include "mgmt/cloud.h"

#include <getopt.h>

enum
{
  O_CLOUD = 256,
  O_NODE,
  O_CERT,
  O_KEY,
  O_CA,
  O_TRUST,
};

const struct ch_opt ch_opts_cloud[] = {
  { "cloud", O_CLOUD, "mqtts://HOST[:PORT]", "the MQTT broker (TLS, port 8883 by default)" },
  { "node", O_NODE, "ID", "this AP's node id: its topics are chuted/v1/ID/..." },
  { "cert", O_CERT, "FILE", "this AP's client certificate (PEM)" },
  { "key", O_KEY, "FILE", "its private key (PEM)" },
  { "ca", O_CA, "FILE", "the CA the broker's certificate is checked against (PEM)" },
  { "trust", O_TRUST, "FILE", "operator public keys whose signed desired documents are applied" },
  CH_OPT_END,
};

int
ch_cloud_parse_opt (struct ch_cloud_opts *o, int val, const char *arg)
{
  switch (val)
    {
    case O_CLOUD: o->url = arg; return 1;
    case O_NODE: o->node = arg; return 1;
    case O_CERT: o->cert = arg; return 1;
    case O_KEY: o->key = arg; return 1;
    case O_CA: o->ca = arg; return 1;
    case O_TRUST: o->trust = arg; return 1;
    }
  return 0;
}
