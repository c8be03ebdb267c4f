/* image/: references, manifest/index/config parsing, platform selection,
 * WWW-Authenticate parsing, and the store's digest-checking blob writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/util.h"
#include "image/internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static char *
errmsg_of (int r, ch_error_t *e)
{
  char *m;
  assert_int_equal (r, -1);
  m = xstrdup ((*e)->msg);
  ch_error_release (e);
  return m;
}

/* The cloud link's "package" entries (docs/CLOUD.md "Packages") are accepted
 * only pinned by a full sha256 digest, so the AP fetches exactly what the
 * operator signed whatever a registry's tags say later. */
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static void
test_ref_pinned (void **state)
{
  assert_true (ch_ref_pinned ("127.0.0.1:5000/seccam@sha256:" HEX64));
  assert_true (ch_ref_pinned ("reg.example/team/seccam@sha256:" HEX64));
  assert_true (ch_ref_pinned ("reg.example/team/seccam:2@sha256:" HEX64));
  /* a tag, a short or upper-case digest, another algorithm, no name, a bad name */
  assert_false (ch_ref_pinned ("127.0.0.1:5000/seccam:2"));
  assert_false (ch_ref_pinned ("127.0.0.1:5000/seccam@sha256:0123"));
  assert_false (ch_ref_pinned ("127.0.0.1:5000/seccam@sha256:" HEX64 "0"));
  assert_false (ch_ref_pinned ("127.0.0.1:5000/seccam@sha256:0123456789ABCDEF"
                               "0123456789abcdef0123456789abcdef0123456789abcdef"));
  assert_false (ch_ref_pinned ("127.0.0.1:5000/seccam@sha512:" HEX64));
  assert_false (ch_ref_pinned ("@sha256:" HEX64));
  assert_false (ch_ref_pinned ("127.0.0.1:5000/../x@sha256:" HEX64));
  assert_false (ch_ref_pinned (""));
}

static void
test_refs (void **state)
{
  struct ch_ref r;
  ch_error_t e = NULL;

  assert_int_equal (ch_ref_parse ("127.0.0.1:5000/cam:1.2", &r, &e), 0);
  assert_string_equal (r.registry, "127.0.0.1:5000");
  assert_string_equal (r.repo, "cam");
  assert_string_equal (r.tag, "1.2");
  assert_string_equal (r.name, "127.0.0.1:5000/cam:1.2");
  ch_ref_free (&r);
  assert_int_equal (ch_ref_parse ("cam", &r, &e), 0);
  assert_string_equal (r.registry, "docker.io");
  assert_string_equal (r.repo, "library/cam");
  assert_string_equal (r.name, "cam:latest");
  ch_ref_free (&r);
  assert_int_equal (ch_ref_parse ("localhost/a/b@" D1, &r, &e), 0);
  assert_string_equal (r.registry, "localhost");
  assert_string_equal (r.repo, "a/b");
  assert_null (r.tag);
  assert_string_equal (r.digest, D1);
  ch_ref_free (&r);
  free (errmsg_of (ch_ref_parse ("cam@sha512:abc", &r, &e), &e));
  free (errmsg_of (ch_ref_parse ("Cam:1", &r, &e), &e));
  free (errmsg_of (ch_ref_parse ("cam:bad tag", &r, &e), &e));
  free (errmsg_of (ch_ref_parse ("reg.io//x", &r, &e), &e));
  /* distribution/reference's grammar: no `..`, no empty or dot components,
   * separators only between alphanumerics, a valid host[:port] */
  {
    static const char *const bad[] = { "../../../etc:evil", "a/../b", "./x", "a/./b", "a..b", "a.-b", "-a", "a-",
                                       "a___b", "reg.io/.x", "reg..io/x", "-reg.io/x", "reg.io:/x", "reg.io:5x/x",
                                       "[::1/x", "a b", "a\nb", "x/", "/x", "a:b:c" };
    size_t i;
    char *msg;
    for (i = 0; i < sizeof (bad) / sizeof (*bad); i++)
      {
        msg = errmsg_of (ch_ref_parse (bad[i], &r, &e), &e);
        assert_null (strchr (msg, '\n'));
        free (msg);
      }
    msg = errmsg_of (ch_ref_parse ("../../../etc:evil", &r, &e), &e);
    assert_non_null (strstr (msg, "`../../../etc:evil`"));
    free (msg);
  }
  {
    static const char *const good[] = { "a__b/c-d", "a--b.c_d", "reg-1.io:5000/x/y:T_1", "[::1]:5000/x", "localhost:5000/a",
                                        "my.reg/a.b/c@" D1 };
    size_t i;
    for (i = 0; i < sizeof (good) / sizeof (*good); i++)
      {
        assert_int_equal (ch_ref_parse (good[i], &r, &e), 0);
        ch_ref_free (&r);
      }
  }
}

static void
test_manifest_ok (void **state)
{
  const char *m = "{\"schemaVersion\":2,\"mediaType\":\"" CH_MT_OCI_MANIFEST "\","
                  "\"config\":{\"mediaType\":\"" CH_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":10},"
                  "\"layers\":[{\"mediaType\":\"" CH_MT_OCI_LAYER_GZ "\",\"digest\":\"" D2 "\",\"size\":20},"
                  "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"" D3
                  "\",\"size\":30}]}";
  struct ch_manifest *man = NULL;
  ch_error_t e = NULL;

  assert_int_equal (ch_manifest_parse (m, strlen (m), &man, &e), 0);
  assert_string_equal (man->config_digest, D1);
  assert_int_equal (man->n_layers, 2);
  assert_string_equal (man->layers[1].digest, D3);
  assert_int_equal (man->layers[1].size, 30);
  ch_manifest_free (man);
}

static void
test_manifest_bad (void **state)
{
  static const char *const bad[] = {
    "{not json",
    "[]",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:" "00" "\",\"size\":1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":-1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1}}",
    "{\"schemaVersion\":1,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"" D2
    "\",\"size\":1,\"mediaType\":\"text/html\"}]}",
    "{\"schemaVersion\":2,\"config\":{\"digest\":\"" D1 "\",\"size\":1},\"layers\":[{\"digest\":\"sha256:../../x\","
    "\"size\":1,\"mediaType\":\"" CH_MT_OCI_LAYER "\"}]}",
    "{\"schemaVersion\":2,\"mediaType\":\"" CH_MT_OCI_INDEX "\",\"manifests\":[]}",
    NULL,
  };
  int i;
  for (i = 0; bad[i]; i++)
    {
      struct ch_manifest *man = NULL;
      ch_error_t e = NULL;
      char *msg = errmsg_of (ch_manifest_parse (bad[i], strlen (bad[i]), &man, &e), &e);
      assert_null (strchr (msg, '\n'));
      free (msg);
    }
  {
    ch_error_t e = NULL;
    struct ch_manifest *man = NULL;
    char *msg = errmsg_of (ch_manifest_parse (bad[2], strlen (bad[2]), &man, &e), &e);
    assert_non_null (strstr (msg, "unsupported digest"));
    free (msg);
  }
}

static void
test_index_select (void **state)
{
  const char *idx = "{\"schemaVersion\":2,\"manifests\":["
                    "{\"mediaType\":\"" CH_MT_OCI_MANIFEST "\",\"digest\":\"" D1
                    "\",\"size\":1,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
                    "{\"mediaType\":\"" CH_MT_OCI_MANIFEST "\",\"digest\":\"" D2
                    "\",\"size\":2,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                    "{\"mediaType\":\"" CH_MT_DOCKER_MANIFEST "\",\"digest\":\"" D3
                    "\",\"size\":3,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
  char *d = NULL, *mt = NULL, *msg;
  int64_t sz;
  ch_error_t e = NULL;

  assert_int_equal (ch_index_select (idx, strlen (idx), "linux/arm/v7", &d, &sz, &mt, &e), 0);
  assert_string_equal (d, D2);
  assert_int_equal (sz, 2);
  free (d);
  free (mt);
  assert_int_equal (ch_index_select (idx, strlen (idx), "linux/amd64", &d, &sz, &mt, &e), 0);
  assert_string_equal (d, D3);
  assert_string_equal (mt, CH_MT_DOCKER_MANIFEST);
  free (d);
  free (mt);
  msg = errmsg_of (ch_index_select (idx, strlen (idx), "linux/mips", &d, &sz, &mt, &e), &e);
  assert_non_null (strstr (msg, "no image for platform linux/mips"));
  free (msg);
  d = ch_platform_default ();
  assert_true (ch_has_prefix (d, "linux/"));
  free (d);
}

static void
test_config (void **state)
{
  const char *c = "{\"architecture\":\"amd64\",\"config\":{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"A=1\"],\"WorkingDir\":"
                  "\"/w\",\"User\":\"1000\",\"Other\":1},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\"]}}";
  const char *bad1 = "{\"config\":{\"Cmd\":\"/bin/sh\"}}";
  const char *bad2 = "{\"rootfs\":{\"diff_ids\":[\"md5:abc\"]}}";
  const char *bad3 = "{\"config\":{\"Env\":[1]}}";
  json_t *out = NULL;
  ch_error_t e = NULL;
  char *msg;

  assert_int_equal (ch_config_parse (c, strlen (c), &out, &e), 0);
  assert_string_equal (json_string_value (json_array_get (json_object_get (out, "Cmd"), 0)), "/bin/sh");
  assert_string_equal (json_string_value (json_object_get (out, "User")), "1000");
  assert_null (json_object_get (out, "Other"));
  json_decref (out);
  free (errmsg_of (ch_config_parse (bad1, strlen (bad1), &out, &e), &e));
  msg = errmsg_of (ch_config_parse (bad2, strlen (bad2), &out, &e), &e);
  assert_non_null (strstr (msg, "unsupported digest `md5:abc`"));
  free (msg);
  free (errmsg_of (ch_config_parse (bad3, strlen (bad3), &out, &e), &e));
  free (errmsg_of (ch_config_parse ("{", 1, &out, &e), &e));
}

static void
test_challenge (void **state)
{
  char *scheme, *realm, *service, *scope;
  assert_int_equal (ch_auth_parse_challenge ("Bearer realm=\"https://auth.example/token\",service=\"reg\","
                                             "scope=\"repository:cam:pull\"",
                                             &scheme, &realm, &service, &scope),
                    0);
  assert_string_equal (scheme, "Bearer");
  assert_string_equal (realm, "https://auth.example/token");
  assert_string_equal (service, "reg");
  assert_string_equal (scope, "repository:cam:pull");
  free (scheme), free (realm), free (service), free (scope);
  assert_int_equal (ch_auth_parse_challenge ("Basic realm=\"r\"", &scheme, &realm, &service, &scope), 0);
  assert_string_equal (scheme, "Basic");
  assert_null (service);
  free (scheme), free (realm);
}

static void
test_blob_writer (void **state)
{
  char dir[] = "/tmp/chuted-test-unit-store.XXXXXX";
  struct ch_store *s = NULL;
  struct ch_blob_writer *w = NULL;
  ch_error_t e = NULL;
  char *d = NULL, *msg, *good;
  cleanup_free char *tmpd = NULL;

  assert_non_null (mkdtemp (dir));
  assert_int_equal (ch_store_open (dir, false, &s, &e), 0);
  good = ch_digest_buf ("hello", 5);
  /* wrong content for the digest: refused, and the partial blob is gone */
  assert_int_equal (ch_blob_writer_new (s, good, 5, &w, &e), 0);
  assert_int_equal (ch_blob_writer_write (w, "hellO", 5, &e), 0);
  msg = errmsg_of (ch_blob_writer_commit (w, NULL, &e), &e);
  assert_non_null (strstr (msg, "digest mismatch"));
  assert_non_null (strstr (msg, good));
  free (msg);
  ch_blob_writer_free (w);
  assert_false (ch_store_has_blob (s, good, -1));
  {
    DIR *dd = opendir (s->tmp);
    struct dirent *de;
    int n = 0;
    while ((de = readdir (dd)))
      n += de->d_name[0] != '.';
    closedir (dd);
    assert_int_equal (n, 0);
  }
  /* too long / truncated */
  assert_int_equal (ch_blob_writer_new (s, good, 5, &w, &e), 0);
  free (errmsg_of (ch_blob_writer_write (w, "hello!", 6, &e), &e));
  ch_blob_writer_free (w);
  assert_int_equal (ch_blob_writer_new (s, good, 5, &w, &e), 0);
  assert_int_equal (ch_blob_writer_write (w, "hel", 3, &e), 0);
  msg = errmsg_of (ch_blob_writer_commit (w, NULL, &e), &e);
  assert_non_null (strstr (msg, "truncated"));
  free (msg);
  ch_blob_writer_free (w);
  /* right */
  assert_int_equal (ch_blob_writer_new (s, good, 5, &w, &e), 0);
  assert_int_equal (ch_blob_writer_write (w, "hello", 5, &e), 0);
  assert_int_equal (ch_blob_writer_commit (w, &d, &e), 0);
  ch_blob_writer_free (w);
  assert_string_equal (d, good);
  assert_true (ch_store_has_blob (s, good, 5));
  /* tagging and resolving */
  assert_int_equal (ch_store_tag (s, "cam:1", good, 5, CH_MT_OCI_MANIFEST, &e), 0);
  free (d);
  assert_int_equal (ch_store_resolve (s, "cam:1", &d, &e), 0);
  assert_string_equal (d, good);
  free (d);
  free (errmsg_of (ch_store_resolve (s, "cam:2", &d, &e), &e));
  assert_int_equal (ch_store_untag (s, "cam:1", NULL, &e), 0);
  free (errmsg_of (ch_store_resolve (s, "cam:1", &d, &e), &e));
  free (good);
  tmpd = xstrdup (dir);
  ch_store_free (s);
  assert_int_equal (ch_rm_rf (tmpd, &e), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_refs), cmocka_unit_test (test_ref_pinned),          cmocka_unit_test (test_manifest_ok), cmocka_unit_test (test_manifest_bad),
    cmocka_unit_test (test_index_select),  cmocka_unit_test (test_config),      cmocka_unit_test (test_challenge),
    cmocka_unit_test (test_blob_writer),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
