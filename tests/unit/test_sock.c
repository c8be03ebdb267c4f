/* common/sock.c: the one unix-socket connect, for a stream peer (attach,
 * console socket) and a datagram one (hostapd's control socket, through
 * netns/wifi_ctrl.c, which must be able to get a reply). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/sock.h"
#include "common/util.h"
#include "netns/wifi.h"
#include "netns/wifi_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int
bound (int type, const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int s = socket (AF_UNIX, type | SOCK_CLOEXEC, 0);

  assert_true (s >= 0);
  strcpy (sa.sun_path, path);
  assert_int_equal (bind (s, (struct sockaddr *) &sa, sizeof (sa)), 0);
  if (type == SOCK_STREAM)
    assert_int_equal (listen (s, 1), 0);
  return s;
}

static void
test_stream (void **state)
{
  char dir[] = "/tmp/chuted-test-sock.XXXXXX";
  cleanup_free char *path = NULL, *longp = NULL;
  ch_error_t e = NULL;
  int l, fd = -1, a;

  assert_non_null (mkdtemp (dir));
  path = xasprintf ("%s/s", dir);
  l = bound (SOCK_STREAM, path);
  assert_int_equal (ch_unix_connect (path, SOCK_STREAM, &fd, &e), 0);
  a = accept (l, NULL, NULL);
  assert_true (a >= 0);
  assert_int_equal (write (fd, "x", 1), 1);
  close (a), close (fd), close (l);
  unlink (path);
  /* nobody listening: the error names the path */
  assert_int_equal (ch_unix_connect (path, SOCK_STREAM, &fd, &e), -1);
  assert_int_equal (e->status, ENOENT);
  assert_non_null (strstr (e->msg, path));
  ch_error_release (&e);
  longp = xasprintf ("%s/%0200d", dir, 0);
  assert_int_equal (ch_unix_connect (longp, SOCK_STREAM, &fd, &e), -1);
  assert_int_equal (e->status, ENAMETOOLONG);
  ch_error_release (&e);
  rmdir (dir);
}

/* A hostapd stand-in answers the client at the address it sent from: the
 * client must be bound (autobind after the shared connect). */
static void
test_dgram_reply (void **state)
{
  char dir[] = "/tmp/chuted-test-sock.XXXXXX";
  cleanup_free char *path = NULL, *out = NULL;
  ch_error_t e = NULL;
  int srv, st;
  pid_t pid;

  assert_non_null (mkdtemp (dir));
  path = xasprintf ("%s/wlan0", dir);
  srv = bound (SOCK_DGRAM, path);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct sockaddr_un from;
      socklen_t fl = sizeof (from);
      char buf[64];
      ssize_t n = recvfrom (srv, buf, sizeof (buf) - 1, 0, (struct sockaddr *) &from, &fl);
      if (n != 6 || memcmp (buf, "STATUS", 6) != 0)
        _exit (1);
      _exit (sendto (srv, "state=ENABLED\n", 14, 0, (struct sockaddr *) &from, fl) == 14 ? 0 : 2);
    }
  assert_int_equal (ch_wifi_ctrl (path, "STATUS", &out, &e), 0);
  assert_string_equal (out, "state=ENABLED\n");
  assert_int_equal (waitpid (pid, &st, 0), pid);
  assert_int_equal (st, 0);
  close (srv);
  unlink (path);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stream),
    cmocka_unit_test (test_dgram_reply),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
