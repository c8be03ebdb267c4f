/* mgmt/tls.h in one process: a client pump and a server pump over a
 * socketpair, each relaying a plain socketpair: the handshake, bytes both
 * ways, and the peer-name rules the client applies (a wildcard for the
 * whole first label only, an IP address against iPAddress entries only),
 * a chain of another CA refused, an expired certificate refused, a key not
 * of its certificate refused at load. Certificates made by openssl(1) in a
 * temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/util.h"
#include "mgmt/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static char dir[] = "/tmp/chuted-test-tls.XXXXXX";
static time_t made; /* when the certificates were made: old.crt valid until then at most */

static int
sh (const char *fmt, const char *arg)
{
  cleanup_free char *cmd = xasprintf (fmt, arg, arg, arg, arg, arg, arg, arg, arg);

  return system (cmd);
}

static int
setup (void **state)
{
  int r;

  if (mkdtemp (dir) == NULL)
    return -1;
  /* a CA, a server certificate for *.example.test and 127.0.0.2, a second CA */
  r = sh ("cd %s && for c in ca other; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
          " -keyout $c.key -out $c.crt -days 1 -subj /CN=$c >/dev/null 2>&1 || exit 1; done"
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr"
          " -subj /CN=srv >/dev/null 2>&1"
          " && printf 'subjectAltName=DNS:*.example.test,IP:127.0.0.2\\n' >srv.ext"
          " && openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1"
          " -extfile srv.ext >/dev/null 2>&1"
          " && openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out old.crt -days 0"
          " -extfile srv.ext >/dev/null 2>&1",
          dir);
  made = time (NULL);
  return r;
}

static int
teardown (void **state)
{
  return sh ("rm -rf %s", dir);
}

static struct ch_tls_conf *
conf (enum ch_tls_role role, const char *ca, const char *cert, const char *key, ch_error_t *err)
{
  cleanup_free char *c = ca ? xasprintf ("%s/%s", dir, ca) : NULL;
  cleanup_free char *t = xasprintf ("%s/%s", dir, cert), *k = xasprintf ("%s/%s", dir, key);
  struct ch_tls_files f = { c, t, k, "--ca", "--cert", "--key" };
  struct ch_tls_conf *out = NULL;

  ch_tls_conf_new (&out, role, &f, err);
  return out;
}

/* A handshake with the server as PEER over a socketpair, trusting CA; 0
 * and "ping" relayed client -> server and "pong" back, or -1 with ERR. */
static int
talk_to (const char *srv, const char *ca, const char *peer, ch_error_t *err)
{
  struct ch_tls_conf *cc = conf (CH_TLS_CLIENT, ca, "ca.crt", "ca.key", err);
  struct ch_tls_conf *sc = conf (CH_TLS_SERVER, NULL, srv, "srv.key", err);
  struct ch_tls_pump *cp = NULL, *sp = NULL;
  int net[2], cpl[2], spl[2], r = -1;
  char buf[8] = "";

  assert_non_null (cc);
  assert_non_null (sc);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, net), 0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, cpl), 0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, spl), 0);
  assert_int_equal (ch_tls_pump_new (&cp, cc, net[0], false, cpl[0], peer, err), 0);
  assert_int_equal (ch_tls_pump_new (&sp, sc, net[1], false, spl[0], NULL, err), 0);
  assert_int_equal (write (cpl[1], "ping", 4), 4);
  /* each run moves what it can: a few rounds carry the handshake and the bytes */
  for (int i = 0; i < 50 && r < 0; i++)
    {
      cleanup_error ch_error_t se = NULL;

      if (ch_tls_pump_run (cp, err) != 0)
        break;
      if (ch_tls_pump_run (sp, &se) != 0)
        break;
      if (read (spl[1], buf, 4) == 4)
        r = 0;
    }
  if (r == 0)
    {
      assert_memory_equal (buf, "ping", 4);
      assert_true (ch_tls_pump_up (cp) && ch_tls_pump_up (sp));
      assert_int_equal (write (spl[1], "pong", 4), 4);
      r = -1;
      for (int i = 0; i < 20 && r < 0; i++)
        if (ch_tls_pump_run (sp, err) == 0 && ch_tls_pump_run (cp, err) == 0 && read (cpl[1], buf, 4) == 4)
          r = 0;
      assert_int_equal (r, 0);
      assert_memory_equal (buf, "pong", 4);
      /* the client's local side closes: its pump says so, and the server's
       * sees the TLS end */
      close (cpl[1]);
      assert_int_equal (ch_tls_pump_run (cp, err), 1);
      ch_tls_pump_free (cp);
      cp = NULL;
      assert_int_equal (ch_tls_pump_run (sp, err), 1);
    }
  ch_tls_pump_free (cp);
  ch_tls_pump_free (sp);
  ch_tls_conf_free (cc);
  ch_tls_conf_free (sc);
  if (cp)
    close (cpl[1]);
  close (spl[1]);
  return r;
}

static int
talk (const char *ca, const char *peer, ch_error_t *err)
{
  return talk_to ("srv.crt", ca, peer, err);
}

static void
test_names (void **state)
{
  const char *ok[] = { "x.example.test", "X.Example.TEST", "127.0.0.2" };
  const char *bad[] = { "example.test", "a.x.example.test", "xexample.test", "127.0.0.1", "::1" };

  for (size_t i = 0; i < sizeof (ok) / sizeof (*ok); i++)
    {
      cleanup_error ch_error_t err = NULL;
      int r = talk ("ca.crt", ok[i], &err);

      if (r < 0)
        fail_msg ("%s: %s", ok[i], err ? err->msg : "no handshake");
    }
  for (size_t i = 0; i < sizeof (bad) / sizeof (*bad); i++)
    {
      cleanup_error ch_error_t err = NULL;
      cleanup_free char *want = xasprintf ("the peer's certificate is not for %s", bad[i]);

      assert_int_equal (talk ("ca.crt", bad[i], &err), -1);
      assert_non_null (err);
      if (strstr (err->msg, want) == NULL)
        fail_msg ("%s: %s", bad[i], err->msg);
    }
}

static void
test_other_ca (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *want = xasprintf ("does not chain to --ca %s/other.crt", dir);

  assert_int_equal (talk ("other.crt", "x.example.test", &err), -1);
  assert_non_null (strstr (err->msg, want));
}

static void
test_expired (void **state)
{
  cleanup_error ch_error_t err = NULL;

  while (time (NULL) <= made) /* old.crt's one second (-days 0) over */
    usleep (100 * 1000);
  assert_int_equal (talk_to ("old.crt", "ca.crt", "x.example.test", &err), -1);
  assert_non_null (strstr (err->msg, "the peer's certificate has expired"));
}

static void
test_files (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *want = xasprintf ("TLS: --key %s/other.key: no private key in it, or not the one of --cert", dir);

  assert_null (conf (CH_TLS_SERVER, NULL, "srv.crt", "other.key", &err));
  assert_non_null (strstr (err->msg, want));
  ch_error_release (&err);
  assert_null (conf (CH_TLS_CLIENT, "srv.key", "srv.crt", "srv.key", &err));
  assert_non_null (strstr (err->msg, "no CA certificate in it"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_other_ca),
    cmocka_unit_test (test_expired),
    cmocka_unit_test (test_files),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
