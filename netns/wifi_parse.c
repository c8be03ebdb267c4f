/* The --wifi spec: "ssid=S,key=K,intf=I,dhcp=START:LIMIT:LEASE,radio=phyN,channel=C". */
#include "netns/wifi.h"

#include "common/parse.h"
#include "common/util.h"

#include <net/if.h>
#include <stdlib.h>
#include <string.h>

void
ch_wifi_config_defaults (struct ch_wifi_config *cfg)
{
  *cfg = (struct ch_wifi_config){ .dhcp_start = 100, .dhcp_limit = 50, .lease_secs = 12 * 3600, .channel = 1 };
}

void
ch_wifi_config_clear (struct ch_wifi_config *cfg)
{
  free (cfg->ssid);
  free (cfg->key);
  free (cfg->intf);
  free (cfg->radio);
  memset (cfg, 0, sizeof *cfg);
}

static int
parse_dhcp (const char *v, struct ch_wifi_config *c, ch_error_t *err)
{
  cleanup_free char *s = xstrdup (v);
  char *start = s, *limit = strchr (s, ':'), *lease = NULL;
  int64_t n;

  if (limit == NULL || (lease = strchr (limit + 1, ':')) == NULL)
    return ch_error (err, 0, "dhcp=`%s`: want START:LIMIT:LEASE (e.g. 100:50:12h)", v);
  *limit++ = '\0';
  *lease++ = '\0';
  if (ch_parse_int (start, 2, 254, &n, err) < 0)
    return ch_error_prefix (err, "dhcp start");
  c->dhcp_start = (unsigned) n;
  if (ch_parse_int (limit, 1, 253, &n, err) < 0)
    return ch_error_prefix (err, "dhcp limit");
  c->dhcp_limit = (unsigned) n;
  if (c->dhcp_start + c->dhcp_limit - 1 > 254)
    return ch_error (err, 0, "dhcp=`%s`: leases %u..%u do not fit in the /24 (last host is .254)", v, c->dhcp_start,
                     c->dhcp_start + c->dhcp_limit - 1);
  if (ch_parse_duration (lease, &c->lease_secs, err) < 0)
    return ch_error_prefix (err, "dhcp lease");
  if (c->lease_secs < 120)
    return ch_error (err, 0, "dhcp lease `%s` is below the 2 minute minimum", lease);
  return 0;
}

int
ch_wifi_parse_kv (const char *k, const char *v, struct ch_wifi_config *c, ch_error_t *err)
{
  int64_t n;

  if (strcmp (k, "ssid") == 0)
    {
      /* it is written into hostapd.conf as one line (checked first: the
       * length's message quotes it) */
      for (const char *p = v; *p; p++)
        if ((unsigned char) *p < 32 || *p == 127)
          return ch_error (err, 0, "ssid: control characters (line breaks, tabs) are not allowed");
      if (*v == '\0' || strlen (v) > 32)
        return ch_error (err, 0, "ssid `%s`: want 1 to 32 bytes", v);
      free (c->ssid);
      c->ssid = xstrdup (v);
    }
  else if (strcmp (k, "key") == 0)
    {
      size_t l = strlen (v);
      if (l < 8 || l > 63)
        return ch_error (err, 0, "key: a WPA2 passphrase is 8 to 63 characters (got %zu)", l);
      for (const char *p = v; *p; p++)
        if (*p < 32 || *p > 126)
          return ch_error (err, 0, "key: only printable ASCII characters are allowed in a WPA2 passphrase");
      free (c->key);
      c->key = xstrdup (v);
    }
  else if (strcmp (k, "intf") == 0 || strcmp (k, "intfName") == 0)
    {
      if (*v == '\0' || strlen (v) >= IFNAMSIZ || strcmp (v, ".") == 0 || strcmp (v, "..") == 0
          || strpbrk (v, "/: \t\n") != NULL)
        return ch_error (err, 0, "intf `%s`: not a valid interface name (1 to %d characters, no '/', ':' or spaces)", v,
                         IFNAMSIZ - 1);
      /* the chute's own wired interface and loopback are taken in every netns */
      if (strcmp (v, "eth0") == 0 || strcmp (v, "lo") == 0)
        return ch_error (err, 0, "intf `%s` clashes with the chute's `%s`: pick another name (e.g. wlan0)", v, v);
      free (c->intf);
      c->intf = xstrdup (v);
    }
  else if (strcmp (k, "dhcp") == 0)
    return parse_dhcp (v, c, err);
  else if (strcmp (k, "radio") == 0)
    {
      if (*v == '\0' || strlen (v) >= 64 || strchr (v, '/') != NULL)
        return ch_error (err, 0, "radio `%s`: want a wiphy name such as phy0", v);
      free (c->radio);
      c->radio = xstrdup (v);
    }
  else if (strcmp (k, "channel") == 0)
    {
      if (ch_parse_int (v, 1, 13, &n, err) < 0)
        return ch_error_prefix (err, "channel (2.4 GHz, 1-13)");
      c->channel = (unsigned) n;
    }
  else
    return ch_error (err, 0, "unknown key `%s` (want ssid, key, intf, dhcp, radio, channel)", k);
  return 0;
}

int
ch_wifi_parse (const char *spec, struct ch_wifi_config *out, ch_error_t *err)
{
  cleanup_free char *s = xstrdup (spec ? spec : "");
  struct ch_wifi_config c;
  char *save = NULL;

  memset (out, 0, sizeof *out);
  ch_wifi_config_defaults (&c);
  for (char *item = strtok_r (s, ",", &save); item; item = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (item, '=');
      if (eq == NULL)
        {
          ch_wifi_config_clear (&c);
          return ch_error (err, 0, "--wifi: `%s` is not KEY=VALUE", item);
        }
      *eq = '\0';
      if (ch_wifi_parse_kv (item, eq + 1, &c, err) < 0)
        {
          ch_wifi_config_clear (&c);
          return ch_error_prefix (err, "--wifi");
        }
    }
  if (c.ssid == NULL)
    {
      ch_wifi_config_clear (&c);
      return ch_error (err, 0, "--wifi: ssid=NAME is required");
    }
  if (c.intf == NULL)
    c.intf = xstrdup ("wlan0");
  *out = c;
  return 0;
}
