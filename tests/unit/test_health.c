/* The deploy engine's health probes (mgmt/engine_health.c): a chute file's
 * probe, its name in reasons, HTTP status lines, paths the chute file's
 * check refuses, tcp and http probes run for real against servers on
 * loopback in this process's own network namespace (the chute's init being
 * this process), and the exec probe's handling of `chuted exec`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/util.h"
#include "mgmt/health.h"

#include <dirent.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void
parse (const char *text, struct ch_chutefile *m)
{
  cleanup_error ch_error_t err = NULL;

  if (ch_chutefile_parse ("chute.yaml", text, strlen (text), m, &err) < 0 || ch_chutefile_check (m, &err) < 0)
    fail_msg ("%s", err->msg);
}

static void
test_probe_from (void **state)
{
  struct ch_chutefile m;
  struct ch_health_probe p;
  char *name;

  parse ("name: cam\nimage: x\nhealth: {http: \"8080/ping?x=1\", interval: 1s, timeout: 5s}\n", &m);
  ch_health_probe_from (&m, &p);
  assert_int_equal (p.kind, CH_HEALTH_HTTP);
  assert_int_equal (p.port, 8080);
  assert_string_equal (p.path, "/ping?x=1");
  assert_string_equal (name = ch_health_probe_name (&p), "http 8080/ping?x=1");
  free (name);
  ch_health_probe_clear (&p);
  ch_chutefile_clear (&m);

  parse ("name: cam\nimage: x\nhealth: {tcp: 53}\n", &m);
  ch_health_probe_from (&m, &p);
  assert_string_equal (name = ch_health_probe_name (&p), "tcp 53");
  free (name);
  ch_health_probe_clear (&p);
  ch_chutefile_clear (&m);

  parse ("name: cam\nimage: x\nhealth: {exec: [/bin/check, \"a \\\"b\\\"\"]}\n", &m);
  ch_health_probe_from (&m, &p);
  assert_string_equal (name = ch_health_probe_name (&p), "exec [\"/bin/check\",\"a \\\"b\\\"\"]");
  free (name);
  ch_health_probe_clear (&p);
  ch_chutefile_clear (&m);

  parse ("name: cam\nimage: x\n", &m);
  ch_health_probe_from (&m, &p);
  assert_string_equal (name = ch_health_probe_name (&p), "alive");
  free (name);
  ch_health_probe_clear (&p);
  ch_chutefile_clear (&m);
}

static void
test_check_path (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_chutefile m;
  const char *bad = "name: cam\nimage: x\nhealth: {http: \"80/a b\"}\n";

  assert_int_equal (ch_chutefile_parse ("chute.yaml", bad, strlen (bad), &m, &err), 0);
  assert_int_equal (ch_chutefile_check (&m, &err), -1);
  assert_string_equal (err->msg, "chute.yaml:3:16: health.http: the path may hold no space or control character "
                                 "(percent-encode it)");
  ch_chutefile_clear (&m);
  parse ("name: cam\nimage: x\nhealth: {http: \"80/a%20b\"}\n", &m);
  ch_chutefile_clear (&m);
}

static void
test_http_status (void **state)
{
#define S(x) ch_health_http_status (x, strlen (x))
  assert_int_equal (S ("HTTP/1.1 200 OK\r\n"), 200);
  assert_int_equal (S ("HTTP/1.0 503 Service Unavailable\r\n"), 503);
  assert_int_equal (S ("HTTP/1.0 302\r\n"), 302);
  assert_int_equal (S ("HTTP/1.1 204"), 204);
  assert_int_equal (S ("HTTP/1.1 20"), 0);      /* not all of it yet */
  assert_int_equal (S ("HTTP/2 200 OK\r\n"), 0); /* not what a 1.0 request gets */
  assert_int_equal (S ("HTTP/1.1 2000 OK\r\n"), 0);
  assert_int_equal (S ("HTTP/1.1 2x0 OK\r\n"), 0);
  assert_int_equal (S ("SSH-2.0-OpenSSH\r\n"), 0);
  assert_int_equal (S (""), 0);
#undef S
}

/* A server on 127.0.0.1 that reads a request on each connection and
 * answers ANSWER ("": none, it closes); its port in *PORT, its pid returned. */
static pid_t
serve (const char *answer, unsigned *port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof (a);
  int s = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  pid_t pid;

  assert_true (s >= 0);
  assert_int_equal (bind (s, (struct sockaddr *) &a, sizeof (a)), 0);
  assert_int_equal (listen (s, 8), 0);
  assert_int_equal (getsockname (s, (struct sockaddr *) &a, &len), 0);
  *port = ntohs (a.sin_port);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    for (;;)
      {
        char buf[512];
        int c = accept (s, NULL, NULL);
        if (c < 0)
          _exit (1);
        if (read (c, buf, sizeof (buf)) <= 0 || write (c, answer, strlen (answer)) < 0)
          _exit (1);
        close (c);
      }
  close (s);
  return pid;
}

static void
stop (pid_t pid)
{
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
}

static int
probe (enum ch_health_kind kind, unsigned port, const char *path, ch_error_t *err)
{
  struct ch_health_probe p = { .kind = kind, .port = port, .path = (char *) path };

  return ch_health_probe_once (NULL, &p, "cam", getpid (), 2000, err);
}

static void
test_probes (void **state)
{
  cleanup_error ch_error_t err = NULL;
  unsigned port;
  pid_t srv;

  srv = serve ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &port);
  assert_int_equal (probe (CH_HEALTH_HTTP, port, "/", &err), 0);
  assert_int_equal (probe (CH_HEALTH_TCP, port, NULL, &err), 0);
  stop (srv);

  srv = serve ("HTTP/1.1 503 Service Unavailable\r\n\r\n", &port);
  assert_int_equal (probe (CH_HEALTH_HTTP, port, "/ping", &err), -1);
  assert_string_equal (err->msg, "answered 503");
  ch_error_release (&err);
  stop (srv);

  srv = serve ("SSH-2.0-x\r\n", &port);
  assert_int_equal (probe (CH_HEALTH_HTTP, port, "/", &err), -1);
  assert_string_equal (err->msg, "no HTTP status line in the answer");
  ch_error_release (&err);
  stop (srv);

  srv = serve ("", &port);
  assert_int_equal (probe (CH_HEALTH_HTTP, port, "/", &err), -1);
  assert_string_equal (err->msg, "connection closed without an answer");
  ch_error_release (&err);
  stop (srv);

  /* nothing listens there any more */
  assert_int_equal (probe (CH_HEALTH_TCP, port, NULL, &err), -1);
  assert_string_equal (err->msg, "connection refused");
  ch_error_release (&err);

  /* a process that is gone has no network namespace to probe in */
  {
    struct ch_health_probe p = { .kind = CH_HEALTH_TCP, .port = port };
    pid_t dead = fork ();
    if (dead == 0)
      _exit (0);
    waitpid (dead, NULL, 0);
    assert_int_equal (ch_health_probe_once (NULL, &p, "cam", dead, 1000, &err), -1);
    assert_non_null (strstr (err->msg, "/ns/net"));
  }
}

/* Is a process running with command line ARGV0 ARG1? */
static bool
running (const char *argv0, const char *arg1)
{
  cleanup_dir DIR *d = opendir ("/proc");
  struct dirent *de;

  while ((de = readdir (d)))
    {
      cleanup_free char *path = xasprintf ("/proc/%s/cmdline", de->d_name), *buf = NULL;
      cleanup_error ch_error_t e = NULL;
      size_t len;
      if (de->d_name[0] < '1' || de->d_name[0] > '9' || ch_read_file_max (path, 4096, &buf, &len, &e) < 0)
        continue;
      if (len > strlen (argv0) + 1 && strcmp (buf, argv0) == 0 && strcmp (buf + strlen (argv0) + 1, arg1) == 0)
        return true;
    }
  return false;
}

/* The exec probe's side of `chuted exec`, with a stand-in for chuted in
 * BIN_DIR: the arguments it gets, its exit and last line as the reason,
 * and, out of time, the whole process group it started killed. */
static void
test_exec_probe (void **state)
{
  char dir[] = "/tmp/chuted-test-health.XXXXXX";
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *tool = NULL;
  struct ch_ctx ctx = { .root = "/R", .run_root = "/RR", .cgroup_parent = "cg" };
  char *argv[] = { "check", "-q", NULL };
  struct ch_health_probe p = { .kind = CH_HEALTH_EXEC, .argv = argv };
  const char *script = "#!/bin/sh\n"
                       "case \"$*\" in\n"
                       "  '--root /R --run-root /RR --cgroup-parent cg exec cam -- check -q') ;;\n"
                       "  *) echo \"args: $*\"; exit 9 ;;\n"
                       "esac\n"
                       "[ -e \"$(dirname \"$0\")/hang\" ] && { sleep 54321 & wait; }\n"
                       "[ -e \"$(dirname \"$0\")/ok\" ] && exit 0\n"
                       "echo starting; echo not ready yet; exit 3\n";

  assert_non_null (mkdtemp (dir));
  ctx.bin_dir = dir;
  tool = xasprintf ("%s/chuted", dir);
  assert_int_equal (ch_write_file (tool, script, strlen (script), 0755, &err), 0);

  assert_int_equal (ch_health_probe_once (&ctx, &p, "cam", 0, 5000, &err), -1);
  assert_string_equal (err->msg, "exited with code 3: not ready yet");
  ch_error_release (&err);
  {
    cleanup_free char *ok = xasprintf ("%s/ok", dir), *hang = xasprintf ("%s/hang", dir);
    assert_int_equal (ch_write_file (ok, "", 0, 0644, &err), 0);
    assert_int_equal (ch_health_probe_once (&ctx, &p, "cam", 0, 5000, &err), 0);
    assert_int_equal (ch_write_file (hang, "", 0, 0644, &err), 0);
    assert_int_equal (ch_health_probe_once (&ctx, &p, "cam", 0, 300, &err), -1);
    assert_string_equal (err->msg, "no result in time");
    ch_error_release (&err);
    assert_false (running ("sleep", "54321"));
  }
  ch_rm_rf (dir, &err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_probe_from),
    cmocka_unit_test (test_check_path),
    cmocka_unit_test (test_http_status),
    cmocka_unit_test (test_probes),
    cmocka_unit_test (test_exec_probe),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
