/* hostapd's control interface: one datagram request, one reply. Status comes
 * from here, never from scraping hostapd's log. */
#include "netns/wifi_internal.h"

#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
