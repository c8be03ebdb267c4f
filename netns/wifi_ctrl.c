/* hostapd's control interface: one datagram request, one reply. Status comes
 * from here, never from scraping hostapd's log; and the changes a user makes
 * on a live network (kick a station, rename the network) go through it. */
#include "netns/wifi_internal.h"

#include "common/file.h"
#include "common/json.h"
#include "common/sock.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX 8192

int
ch_wifi_ctrl (const char *ctrl_path, const char *cmd, char **out, ch_error_t *err)
{
  cleanup_close int fd = -1;
  sa_family_t local = AF_UNIX;
  cleanup_free char *buf = NULL;
  struct pollfd pfd;
  ssize_t n;
  int r;

  *out = NULL;
  if (ch_unix_connect (ctrl_path, SOCK_DGRAM, &fd, err) < 0)
    return ch_error_prefix (err, "hostapd control socket");
  /* hostapd replies to the sender's address: an abstract one (autobind)
   * needs no cleanup */
  if (bind (fd, (struct sockaddr *) &local, sizeof (local)) < 0)
    return ch_error (err, errno, "bind hostapd control client");
  if (send (fd, cmd, strlen (cmd), 0) < 0)
    return ch_error (err, errno, "send `%s` to hostapd", cmd);
  pfd = (struct pollfd) { .fd = fd, .events = POLLIN };
  do
    r = poll (&pfd, 1, 2000);
  while (r < 0 && errno == EINTR);
  if (r <= 0)
    return ch_error (err, r == 0 ? ETIMEDOUT : errno, "hostapd `%s`: no reply to `%s`", ctrl_path, cmd);
  buf = xmalloc (REPLY_MAX + 1);
  n = recv (fd, buf, REPLY_MAX, 0);
  if (n < 0)
    return ch_error (err, errno, "hostapd `%s`: read reply", ctrl_path);
  buf[n] = '\0';
  *out = steal_pointer (&buf);
  return 0;
}

char *
ch_wifi_ctrl_value (const char *reply, const char *key)
{
  size_t kl = strlen (key);
  for (const char *l = reply; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (strncmp (l, key, kl) == 0 && l[kl] == '=')
      return xstrndup (l + kl + 1, strcspn (l + kl + 1, "\n"));
  return NULL;
}

/* ERR's status set to WHY (ESRCH, EEXIST, EBUSY) for the caller to tell them apart,
 * without strerror in the message. */
static int __attribute__ ((format (printf, 3, 4)))
refuse (ch_error_t *err, int why, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  ch_verror (err, 0, fmt, ap);
  va_end (ap);
  (*err)->status = why;
  return -1;
}

/* Chute CHUTE's state.json and its hostapd control socket. */
static int
network_of (const char *run_root, const char *chute, json_t **st, char **ctrl_sock, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, chute);
  cleanup_free char *path = xasprintf ("%s/state.json", dir);

  *st = NULL;
  *ctrl_sock = NULL;
  if (access (path, F_OK) < 0)
    return refuse (err, ESRCH, "chute `%s` has no Wi-Fi network", chute);
  if (ch_json_load_file (path, st, err) < 0)
    return -1;
  *ctrl_sock = xasprintf ("%s/ctrl/%s", dir, json_string_value (json_object_get (*st, "ap_interface")) ?: "");
  return 0;
}

/* hostapd's reply to CMD must be OK. */
static int
ctrl_ok (const char *ctrl_sock, const char *cmd, ch_error_t *err)
{
  cleanup_free char *reply = NULL;

  if (ch_wifi_ctrl (ctrl_sock, cmd, &reply, err) < 0)
    return -1;
  if (strncmp (reply, "OK", 2) != 0)
    return ch_error (err, 0, "hostapd refused `%s`: %.*s", cmd, (int) strcspn (reply, "\n"), reply);
  return 0;
}

int
ch_wifi_kick (const char *run_root, const char *chute, const char *mac, ch_error_t *err)
{
  cleanup_json json_t *st = NULL;
  cleanup_free char *ctrl_sock = NULL, *reply = NULL, *cmd = xasprintf ("STA %s", mac);

  if (network_of (run_root, chute, &st, &ctrl_sock, err) < 0 || ch_wifi_ctrl (ctrl_sock, cmd, &reply, err) < 0)
    return ch_error_prefix (err, "kick `%s`", mac);
  /* DEAUTHENTICATE of a MAC hostapd does not know still answers OK: asked first */
  if (strncasecmp (reply, mac, strlen (mac)) != 0)
    return refuse (err, ESRCH, "no station `%s` on the network of chute `%s`", mac, chute);
  free (cmd);
  cmd = xasprintf ("DEAUTHENTICATE %s", mac);
  if (ctrl_ok (ctrl_sock, cmd, err) < 0)
    return ch_error_prefix (err, "kick `%s`", mac);
  return 0;
}

/* TEXT (a hostapd.conf chuted wrote) with its ssid= line set to SSID. */
static char *
conf_with_ssid (const char *text, const char *ssid)
{
  struct ch_buf b = { 0 };

  for (const char *l = text; *l;)
    {
      size_t n = strcspn (l, "\n");
      if (strncmp (l, "ssid=", 5) == 0)
        ch_buf_printf (&b, "ssid=%s\n", ssid);
      else
        ch_buf_printf (&b, "%.*s\n", (int) n, l);
      l += n + (l[n] == '\n');
    }
  return ch_buf_steal (&b);
}

static int
set_ssid_locked (const char *run_root, const char *chute, const char *ssid, ch_error_t *err)
{
  cleanup_free char *wdir = ch_wifi_dir (run_root, NULL), *dir = ch_wifi_dir (run_root, chute);
  cleanup_free char *conf_path = xasprintf ("%s/hostapd.conf", dir), *state_path = xasprintf ("%s/state.json", dir);
  cleanup_free char *ctrl_sock = NULL, *conf = NULL, *new_conf = NULL, *old = NULL, *cmd = NULL;
  cleanup_json json_t *st = NULL;
  cleanup_dir DIR *d = NULL;
  struct dirent *e;
  int r;

  if (network_of (run_root, chute, &st, &ctrl_sock, err) < 0)
    return -1;
  /* an SSID names one chute's network: the stations of one must not find another */
  d = opendir (wdir);
  while (d && (e = readdir (d)) != NULL)
    {
      cleanup_free char *p = xasprintf ("%s/%s/state.json", wdir, e->d_name);
      cleanup_json json_t *other = NULL;
      cleanup_error ch_error_t ignored = NULL;
      if (e->d_name[0] == '.' || strcmp (e->d_name, chute) == 0 || access (p, F_OK) < 0
          || ch_json_load_file (p, &other, &ignored) < 0)
        continue;
      if (strcmp (json_string_value (json_object_get (other, "ssid")) ?: "", ssid) == 0)
        return refuse (err, EEXIST, "SSID `%s` is already the network of chute `%s`", ssid, e->d_name);
    }
  old = xstrdup (json_string_value (json_object_get (st, "ssid")) ?: "");
  if (ch_read_file (conf_path, &conf, NULL, err) < 0)
    return -1;
  new_conf = conf_with_ssid (conf, ssid);
  json_object_set_new (st, "ssid", json_string (ssid));
  if (ch_write_file_atomic (conf_path, new_conf, strlen (new_conf), 0600, err) < 0
      || ch_json_save_file (state_path, st, 0600, err) < 0)
    return -1;
  cmd = xasprintf ("SET ssid %s", ssid);
  r = ctrl_ok (ctrl_sock, cmd, err);
  if (r == 0)
    r = ctrl_ok (ctrl_sock, "RELOAD", err);
  if (r < 0)
    {
      /* hostapd kept the old name: so do its file, the state, and what a
       * later RELOAD would apply */
      cleanup_error ch_error_t e2 = NULL;
      cleanup_free char *back = xasprintf ("SET ssid %s", old);
      ctrl_ok (ctrl_sock, back, &e2);
      ch_error_release (&e2);
      json_object_set_new (st, "ssid", json_string (old));
      if (ch_write_file_atomic (conf_path, conf, strlen (conf), 0600, &e2) == 0)
        ch_json_save_file (state_path, st, 0600, &e2);
      return -1;
    }
  return 0;
}

int
ch_wifi_set_ssid (const char *run_root, const char *chute, const char *ssid, ch_error_t *err)
{
  cleanup_free char *dir = ch_wifi_dir (run_root, NULL);
  cleanup_free char *lock = xasprintf ("%s/lock", dir);
  cleanup_close int lfd = -1;
  struct ch_wifi_config cfg = { 0 };
  int r;

  /* the spec's own rule (1..32 bytes, no control characters) */
  r = ch_wifi_parse_kv ("ssid", ssid, &cfg, err);
  ch_wifi_config_clear (&cfg);
  if (r < 0 || ch_mkdir_p (dir, 0700, err) < 0)
    return ch_error_prefix (err, "wifi: set the SSID of `%s`", chute);
  /* not waited for: a network being set up holds it for seconds, and the
   * caller (the daemon's one thread) serves everyone else meanwhile */
  lfd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0)
    return ch_error (err, errno, "open lock `%s`", lock);
  if (flock (lfd, LOCK_EX | LOCK_NB) < 0)
    return errno == EWOULDBLOCK ? refuse (err, EBUSY, "wifi: a network is being set up or removed: try again")
                                : ch_error (err, errno, "lock `%s`", lock);
  if (set_ssid_locked (run_root, chute, ssid, err) < 0)
    return ch_error_prefix (err, "wifi: set the SSID of `%s`", chute);
  return 0;
}
