/* /api/v1/chutes/NAME/networks[/N[/stations|/leases|/ssid]]: a chute's Wi-Fi
 * network as netns/ reports it (hostapd's control socket for the stations,
 * dnsmasq's lease file), N being its interface name in the chute (ParaDrop's
 * network name). Read only: kicking a station and changing the SSID are not
 * served yet. */
#include "mgmt/api.h"
#include "common/json.h"
#include "netns/wifi.h"

#include <string.h>

enum MHD_Result
dm_api_wifi (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, const char *name, char **seg,
             size_t n)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *all = NULL;
  json_t *mine = json_array (), *net, *one = NULL;
  size_t i;

  if (n > 3 || (n == 3 && strcmp (seg[2], "stations") != 0 && strcmp (seg[2], "leases") != 0
                && strcmp (seg[2], "ssid") != 0))
    {
      json_decref (mine);
      return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no such path under .../%s/networks", name);
    }
  if (strcmp (method, "GET") != 0)
    {
      json_decref (mine);
      return dm_reply_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                             "%s: GET only here (kicking stations and changing the SSID are not served yet)", method);
    }
  if (!dm_chute_recorded (d, name))
    {
      json_decref (mine);
      return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no chute `%s`", name);
    }
  if (ch_wifi_list (d->ctx->root, d->ctx->run_root, &all, &err) < 0)
    {
      json_decref (mine);
      return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "wifi", "%s", err->msg);
    }
  json_array_foreach (json_object_get (all, "networks"), i, net)
  {
    if (strcmp (json_string_value (json_object_get (net, "chute")) ?: "", name) != 0)
      continue;
    json_array_append (mine, net);
    if (n >= 2 && strcmp (json_string_value (json_object_get (net, "intf")) ?: "", seg[1]) == 0)
      one = net;
  }
  if (n == 1)
    return dm_reply_json (conn, MHD_HTTP_OK, mine);
  json_decref (mine);
  if (one == NULL)
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "chute `%s` has no network `%s`", name, seg[1]);
  if (n == 2)
    return dm_reply_json (conn, MHD_HTTP_OK, json_incref (one));
  if (strcmp (seg[2], "ssid") == 0)
    return dm_reply_json (conn, MHD_HTTP_OK, json_pack ("{s:O}", "ssid", json_object_get (one, "ssid")));
  return dm_reply_json (conn, MHD_HTTP_OK, json_incref (json_object_get (one, seg[2])));
}
