/* process.terminal: the pty is opened inside the container (its devpts), the
 * slave becomes stdio and controlling tty, the master goes to whoever holds
 * the console socket (runc's --console-socket protocol: one SCM_RIGHTS fd). */
#include "runtime/init.h"

#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int
ch_send_fd (int sock, int fd, ch_error_t *err)
{
  char data[] = "/dev/ptmx";
  struct iovec iov = { data, sizeof (data) };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { 0 };
  struct cmsghdr *c;

  memset (&u, 0, sizeof (u));
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof (u.buf);
  c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof (int));
  if (sendmsg (sock, &msg, MSG_NOSIGNAL) < 0)
    return ch_error (err, errno, "send the terminal over the console socket");
  return 0;
}

int
ch_recv_fd (int sock, int *fd, ch_error_t *err)
{
  char data[256];
  struct iovec iov = { data, sizeof (data) };
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = { 0 };
  struct cmsghdr *c;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = u.buf;
  msg.msg_controllen = sizeof (u.buf);
  if (recvmsg (sock, &msg, MSG_CMSG_CLOEXEC) < 0)
    return ch_error (err, errno, "receive from the console socket");
  c = CMSG_FIRSTHDR (&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS)
    return ch_error (err, EBADMSG, "console socket: no fd received");
  memcpy (fd, CMSG_DATA (c), sizeof (int));
  return 0;
}

int
ch_tty_setup (int console_fd, ch_error_t *err)
{
  cleanup_close int master = -1;
  cleanup_close int slave = -1;
  char name[64];
  int i;

  master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return ch_error (err, errno, "open /dev/ptmx");
  if (unlockpt (master) < 0 || ptsname_r (master, name, sizeof (name)) != 0)
    return ch_error (err, errno, "unlock pty");
  slave = open (name, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return ch_error (err, errno, "open `%s`", name);
  if (setsid () < 0 && errno != EPERM)
    return ch_error (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return ch_error (err, errno, "make `%s` the controlling terminal", name);
  for (i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      return ch_error (err, errno, "dup2 terminal");
  if (console_fd >= 0 && ch_send_fd (console_fd, master, err) < 0)
    return -1;
  return 0;
}
