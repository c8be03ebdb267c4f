/* /api/v1/chutes/NAME/networks[/N[/stations[/MAC]|/leases|/ssid]]: a
 * chute's Wi-Fi network as netns/ reports it (hostapd's control socket for
 * the stations, dnsmasq's lease file), N being its interface name in the
 * chute (ParaDrop's network name); DELETE .../stations/MAC kicks a station,
 * PUT .../ssid {"ssid": S} renames the network. Both are done here, at once,
 * not as queued changes: they take a moment and leave the chute running. */
#include "mgmt/api.h"
#include "mgmt/api_parse.h"
#include "common/json.h"
#include "mgmt/chute.h"
#include "mgmt/pod.h"
#include "netns/wifi.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static enum MHD_Result
not_allowed (struct MHD_Connection *conn, const char *method, const char *allow)
{
  return dm_reply_error (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed", "%s: %s only here", method, allow);
}

/* "aa:bb:cc:dd:ee:ff", any case; lowered in place (hostapd's own spelling). */
static bool
mac_ok (char *mac)
{
  if (strlen (mac) != 17)
    return false;
  for (size_t i = 0; i < 17; i++)
    {
      if (i % 3 == 2 ? mac[i] != ':' : !isxdigit ((unsigned char) mac[i]))
        return false;
      mac[i] = (char) tolower ((unsigned char) mac[i]);
    }
  return true;
}

/* The new SSID of a PUT .../ssid body; NULL after a 400 is queued in *RET. */
static char *
body_ssid (struct MHD_Connection *conn, struct dm_req *r, enum MHD_Result *ret)
{
  cleanup_error ch_error_t err = NULL;
  const char *title;
  char *ssid;

  if (dm_parse_ssid_body (r->body.data, r->body.len, &ssid, &title, &err) < 0)
    *ret = dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, title, "%s", err->msg);
  return ssid;
}

/* SPEC (ssid=...,key=...,...) with its ssid set to SSID. */
static char *
spec_with_ssid (const char *spec, const char *ssid)
{
  struct ch_buf b = { 0 };

  for (const char *p = spec; *p;)
    {
      size_t n = strcspn (p, ",");
      if (strncmp (p, "ssid=", 5) == 0)
        ch_buf_printf (&b, "%sssid=%s", b.len ? "," : "", ssid);
      else
        ch_buf_printf (&b, "%s%.*s", b.len ? "," : "", (int) n, p);
      p += n + (p[n] == ',');
    }
  return ch_buf_steal (&b);
}

struct record
{
  struct ch_chute c;
  char *old_spec;
  int lock;
};

/* The records of chute NAME that hold its Wi-Fi spec (a pod's services or
 * its own), each under its chute lock, taken without waiting: the daemon's
 * one thread must not sit behind a change being applied (409). */
static int
records_lock (struct ch_daemon *d, const char *name, struct record **out, size_t *n, ch_error_t *err)
{
  cleanup_strv char **names = NULL;
  struct record *v;
  size_t i;

  if (ch_pod_is (d->ctx, name))
    {
      if (ch_pod_services (d->ctx, name, &names, err) < 0)
        return -1;
    }
  else
    {
      names = xzalloc (sizeof (char *));
      ch_strv_append (&names, name);
    }
  v = xzalloc ((ch_strv_len (names) + 1) * sizeof (*v));
  *out = v;
  *n = 0;
  for (i = 0; names[i]; i++)
    {
      cleanup_free char *path = ch_chute_lock_path (d->ctx, names[i]);
      struct record *rec = &v[(*n)++];

      ch_chute_init (&rec->c);
      rec->lock = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (rec->lock < 0)
        return ch_error (err, errno, "open lock `%s`", path);
      if (flock (rec->lock, LOCK_EX | LOCK_NB) < 0)
        {
          if (errno != EWOULDBLOCK)
            return ch_error (err, errno, "lock `%s`", path);
          ch_error (err, 0, "chute `%s` is busy (a change is being applied): try again", names[i]);
          (*err)->status = EBUSY;
          return -1;
        }
      if (ch_chute_load (d->ctx, names[i], &rec->c, err) < 0)
        return -1;
    }
  return 0;
}

static void
records_free (struct record *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      ch_chute_clear (&v[i].c);
      free (v[i].old_spec);
      if (v[i].lock >= 0)
        close (v[i].lock);
    }
  free (v);
}

/* The chute other than NAME whose record claims SSID (a stopped one's
 * network would not come back under it), as deploy's conflict check
 * (manifest_plan.c) judges chute files; NULL if none. */
static char *
ssid_claimed (struct ch_daemon *d, const char *name, const char *ssid)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_strv char **names = NULL;

  if (ch_chute_list (d->ctx, &names, &err) < 0)
    return NULL;
  for (char **n = names; *n; n++)
    {
      cleanup_free char *pod = ch_pod_of (*n);
      struct ch_chute c;
      struct ch_wifi_config theirs = { 0 };
      bool clash = false;

      if (strcmp (pod ? pod : *n, name) == 0)
        continue;
      ch_chute_init (&c);
      if (ch_chute_load (d->ctx, *n, &c, &err) == 0 && c.wifi && ch_wifi_parse (c.wifi, &theirs, &err) == 0)
        clash = strcmp (theirs.ssid, ssid) == 0;
      ch_error_release (&err);
      ch_wifi_config_clear (&theirs);
      ch_chute_clear (&c);
      if (clash)
        return xstrdup (pod ? pod : *n);
    }
  return NULL;
}

/* Rename chute NAME's network: its records first (what a restart or a
 * reboot brings back; undone if hostapd refuses), then the live network. */
static enum MHD_Result
set_ssid (struct ch_daemon *d, struct MHD_Connection *conn, const char *name, const char *ssid)
{
  cleanup_error ch_error_t err = NULL;
  struct record *recs = NULL;
  cleanup_free char *holder = ssid_claimed (d, name, ssid);
  size_t n = 0, i;
  int r, status;

  if (holder)
    return dm_reply_error (conn, MHD_HTTP_CONFLICT, "conflict", "SSID `%s` is already claimed by chute `%s`", ssid,
                           holder);
  r = records_lock (d, name, &recs, &n, &err);
  for (i = 0; r == 0 && i < n; i++)
    if (recs[i].c.wifi)
      {
        recs[i].old_spec = recs[i].c.wifi;
        recs[i].c.wifi = spec_with_ssid (recs[i].old_spec, ssid);
        r = ch_chute_save (d->ctx, &recs[i].c, &err);
      }
  if (r == 0)
    r = ch_wifi_set_ssid (d->ctx->run_root, name, ssid, &err);
  if (r < 0)
    {
      cleanup_error ch_error_t e2 = NULL;
      for (i = 0; i < n; i++)
        if (recs[i].old_spec)
          {
            free (recs[i].c.wifi);
            recs[i].c.wifi = steal_pointer (&recs[i].old_spec);
            ch_chute_save (d->ctx, &recs[i].c, &e2);
          }
      records_free (recs, n);
      status = err->status == EBUSY || err->status == EEXIST ? MHD_HTTP_CONFLICT
               : err->status == ESRCH                        ? MHD_HTTP_NOT_FOUND
                                                             : MHD_HTTP_INTERNAL_SERVER_ERROR;
      return dm_reply_error (conn, status,
                             status == MHD_HTTP_NOT_FOUND  ? "not found"
                             : status == MHD_HTTP_CONFLICT ? "conflict"
                                                           : "wifi",
                             "%s", err->msg);
    }
  records_free (recs, n);
  return dm_reply_json (conn, MHD_HTTP_OK, json_pack ("{s:s}", "ssid", ssid));
}

static enum MHD_Result
kick (struct ch_daemon *d, struct MHD_Connection *conn, const char *name, const char *mac)
{
  cleanup_error ch_error_t err = NULL;

  if (ch_wifi_kick (d->ctx->run_root, name, mac, &err) < 0)
    return dm_reply_error (conn, err->status == ESRCH ? MHD_HTTP_NOT_FOUND : MHD_HTTP_INTERNAL_SERVER_ERROR,
                           err->status == ESRCH ? "not found" : "wifi", "%s", err->msg);
  return dm_reply_json (conn, MHD_HTTP_OK, json_pack ("{s:s, s:b}", "station", mac, "kicked", 1));
}

enum MHD_Result
dm_api_wifi (struct ch_daemon *d, struct MHD_Connection *conn, const char *method, const char *name, char **seg,
             size_t n, struct dm_req *r)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *all = NULL;
  cleanup_free char *ssid = NULL;
  json_t *mine = NULL, *net, *one = NULL;
  enum MHD_Result ret = MHD_NO;
  bool put_ssid = false;
  size_t i;

  if (n > 4 || (n >= 3 && strcmp (seg[2], "stations") != 0 && strcmp (seg[2], "leases") != 0
                && strcmp (seg[2], "ssid") != 0)
      || (n == 4 && strcmp (seg[2], "stations") != 0))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no such path under .../%s/networks", name);
  /* what each path takes, and what it is given checked before anything is looked up */
  if (n == 4)
    {
      if (strcmp (method, "DELETE") != 0)
        return not_allowed (conn, method, "DELETE");
      if (!mac_ok (seg[3]))
        return dm_reply_error (conn, MHD_HTTP_BAD_REQUEST, "bad station",
                               "`%s`: a station is named by its MAC address, aa:bb:cc:dd:ee:ff", seg[3]);
    }
  else if (n == 3 && strcmp (seg[2], "ssid") == 0 && strcmp (method, "PUT") == 0)
    {
      put_ssid = true;
      if ((ssid = body_ssid (conn, r, &ret)) == NULL)
        return ret;
    }
  else if (strcmp (method, "GET") != 0)
    return not_allowed (conn, method, n == 3 && strcmp (seg[2], "ssid") == 0 ? "GET, PUT" : "GET");

  if (!dm_chute_recorded (d, name) && !ch_pod_is (d->ctx, name))
    return dm_reply_error (conn, MHD_HTTP_NOT_FOUND, "not found", "no chute `%s`", name);
  if (ch_wifi_list (d->ctx->root, d->ctx->run_root, &all, &err) < 0)
    return dm_reply_error (conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "wifi", "%s", err->msg);
  mine = json_array ();
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
  if (n == 4)
    return kick (d, conn, name, seg[3]);
  if (put_ssid)
    return set_ssid (d, conn, name, ssid);
  if (strcmp (seg[2], "ssid") == 0)
    return dm_reply_json (conn, MHD_HTTP_OK, json_pack ("{s:O}", "ssid", json_object_get (one, "ssid")));
  return dm_reply_json (conn, MHD_HTTP_OK, json_incref (json_object_get (one, seg[2])));
}
