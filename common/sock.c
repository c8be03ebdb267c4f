#include "sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
ch_unix_connect (const char *path, int type, int *fd, ch_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len = strlen (path);
  int s;

  if (len >= sizeof (sa.sun_path))
    return ch_error (err, ENAMETOOLONG, "socket `%s`", path);
  memcpy (sa.sun_path, path, len + 1);
  s = socket (AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (s < 0)
    return ch_error (err, errno, "socket");
  if (connect (s, (struct sockaddr *) &sa, sizeof (sa)) < 0)
    {
      int e = errno;
      close (s);
      return ch_error (err, e, "connect to `%s`", path);
    }
  *fd = s;
  return 0;
}
