/* The kinds of chute interface. Wi-Fi (nl80211 + hostapd + dnsmasq) joins
 * as one more entry of this table, with its own iface_wifi.c. */
#include "netns/net_internal.h"

#include <string.h>

static const struct ch_net_iface_kind *const kinds[] = { &ch_net_iface_veth };

const struct ch_net_iface_kind *
ch_net_iface_kind (const char *kind)
{
  size_t i;
  for (i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp (kinds[i]->kind, kind) == 0)
      return kinds[i];
  return NULL;
}
