#include "sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int
address (const char *path, struct sockaddr_un *sa, ch_error_t *err)
{
  size_t len = strlen (path);

  if (len >= sizeof (sa->sun_path))
    return ch_error (err, ENAMETOOLONG, "socket `%s`", path);
  memset (sa, 0, sizeof (*sa));
  sa->sun_family = AF_UNIX;
  memcpy (sa->sun_path, path, len + 1);
  return 0;
}

int
ch_unix_connect (const char *path, int type, int *fd, ch_error_t *err)
{
  struct sockaddr_un sa;
  int s;

  if (address (path, &sa, err) < 0)
    return -1;
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

int
ch_unix_listen (const char *path, int flags, int backlog, int *fd, ch_error_t *err)
{
  struct sockaddr_un sa;
  mode_t old;
  int s, r, e;

  if (address (path, &sa, err) < 0)
    return -1;
  s = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  if (s < 0)
    return ch_error (err, errno, "socket");
  if (unlink (path) < 0 && errno != ENOENT)
    {
      e = errno;
      close (s);
      return ch_error (err, e, "remove the old socket `%s`", path);
    }
  old = umask (0177);
  r = bind (s, (struct sockaddr *) &sa, sizeof (sa));
  umask (old);
  if (r < 0 || listen (s, backlog) < 0)
    {
      e = errno;
      close (s);
      if (r == 0)
        unlink (path);
      return ch_error (err, e, "listen on `%s`", path);
    }
  *fd = s;
  return 0;
}
