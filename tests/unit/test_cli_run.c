/* What run's podman flags become: volume specs (mgmt/volume.c), capability
 * names, devices, security options and their config.json (mgmt/security.c),
 * and what bash completion is told (mgmt/cli_doc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/json.h"
#include "common/util.h"
#include "mgmt/chute.h"
#include "mgmt/security.h"
#include "mgmt/volume.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
test_volume_spec (void **state)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_volume_spec v;
  cleanup_free char *f = NULL;
  char *vols[] = { "/tmp:/a:ro", "data:/b", NULL };

  assert_int_equal (ch_volume_spec_parse ("data:/data", &v, &err), 0);
  assert_null (v.host);
  assert_string_equal (v.name, "data");
  assert_string_equal (v.dest, "/data");
  assert_false (v.ro);
  ch_volume_spec_clear (&v);
  assert_int_equal (ch_volume_spec_parse ("/tmp/../tmp:/x:ro", &v, &err), 0);
  assert_string_equal (v.host, "/tmp");
  assert_true (v.ro);
  f = ch_volume_spec_format (&v);
  assert_string_equal (f, "/tmp:/x:ro");
  ch_volume_spec_clear (&v);
  {
    const char *bad[] = { "data", "data:rel", "data:/", "./x:/x", "data:/x:rw,z", "a$b:/x", "/no-such-dir-chuted:/x", "..:/x" };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
      {
        ch_error_release (&err);
        assert_int_equal (ch_volume_spec_parse (bad[i], &v, &err), -1);
        assert_non_null (err);
        assert_null (strchr (err->msg, '\n'));
        ch_volume_spec_clear (&v);
      }
  }
  assert_true (ch_volume_dest_taken (vols, "/a"));
  assert_true (ch_volume_dest_taken (vols, "/b"));
  assert_false (ch_volume_dest_taken (vols, "/"));
  assert_false (ch_volume_dest_taken (vols, "/ab"));
}

static void
test_caps_and_devices (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

  assert_int_equal (ch_cap_normalize ("net_admin", &a, &err), 0);
  assert_string_equal (a, "CAP_NET_ADMIN");
  assert_int_equal (ch_cap_normalize ("CAP_SYS_TIME", &b, &err), 0);
  assert_string_equal (b, "CAP_SYS_TIME");
  assert_int_equal (ch_cap_normalize ("all", &c, &err), 0);
  assert_string_equal (c, "ALL");
  assert_int_equal (ch_cap_normalize ("CAP_BOGUS", &d, &err), -1);
  ch_error_release (&err);

  free (a);
  assert_int_equal (ch_device_parse ("/dev/null", &a, &err), 0);
  assert_string_equal (a, "/dev/null:/dev/null:rwm");
  free (a);
  assert_int_equal (ch_device_parse ("/dev/null:r", &a, &err), 0);
  assert_string_equal (a, "/dev/null:/dev/null:r");
  free (a);
  assert_int_equal (ch_device_parse ("/dev/null:/dev/n0", &a, &err), 0);
  assert_string_equal (a, "/dev/null:/dev/n0:rwm");
  free (a);
  a = NULL;
  assert_int_equal (ch_device_parse ("/dev/null:/dev/n0:rwx", &a, &err), -1);
  ch_error_release (&err);
  assert_int_equal (ch_device_parse ("/tmp", &a, &err), -1);
  ch_error_release (&err);
  assert_int_equal (ch_device_parse ("/dev/null:n0", &a, &err), -1);
}

static bool
has (json_t *arr, const char *s)
{
  json_t *v;
  size_t i;
  json_array_foreach (arr, i, v)
    if (strcmp (json_string_value (v), s) == 0)
      return true;
  return false;
}

static void
test_security_apply (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *spec = ch_spec_default (false);
  cleanup_json json_t *priv = ch_spec_default (false);
  struct ch_chute c;
  json_t *caps, *rules;

  ch_chute_init (&c);
  ch_strv_append (&c.cap_add, "CAP_NET_ADMIN");
  ch_strv_append (&c.cap_drop, "CAP_CHOWN");
  ch_strv_append (&c.devices, "/dev/null:/dev/n0:r");
  assert_int_equal (ch_security_opt_parse (&c, "seccomp=unconfined", &err), 0);
  assert_int_equal (ch_security_opt_parse (&c, "no-new-privileges=false", &err), 0);
  assert_int_equal (ch_security_opt_parse (&c, "label=disable", &err), -1);
  ch_error_release (&err);
  assert_int_equal (ch_security_apply (spec, &c, &err), 0);
  caps = json_object_get (json_object_get (json_object_get (spec, "process"), "capabilities"), "bounding");
  assert_true (has (caps, "CAP_NET_ADMIN"));
  assert_false (has (caps, "CAP_CHOWN"));
  assert_true (has (caps, "CAP_KILL"));
  assert_null (json_object_get (json_object_get (spec, "linux"), "seccomp"));
  assert_true (json_is_false (json_object_get (json_object_get (spec, "process"), "noNewPrivileges")));
  assert_string_equal (json_string_value (json_object_get (
                           json_array_get (json_object_get (json_object_get (spec, "linux"), "devices"), 0), "path")),
                       "/dev/n0");
  rules = json_object_get (json_object_get (json_object_get (spec, "linux"), "resources"), "devices");
  assert_string_equal (json_string_value (json_object_get (json_array_get (rules, json_array_size (rules) - 1), "access")),
                       "r");
  ch_chute_clear (&c);

  /* cap-drop ALL keeps only what is added */
  ch_strv_append (&c.cap_drop, "ALL");
  ch_strv_append (&c.cap_add, "CAP_NET_RAW");
  {
    cleanup_json json_t *s2 = ch_spec_default (false);
    assert_int_equal (ch_security_apply (s2, &c, &err), 0);
    caps = json_object_get (json_object_get (json_object_get (s2, "process"), "capabilities"), "effective");
    assert_int_equal (json_array_size (caps), 1);
    assert_true (has (caps, "CAP_NET_RAW"));
    assert_non_null (json_object_get (json_object_get (s2, "linux"), "seccomp"));
  }
  ch_chute_clear (&c);

  c.privileged = true;
  assert_int_equal (ch_security_apply (priv, &c, &err), 0);
  assert_int_equal (json_array_size (json_object_get (json_object_get (priv, "linux"), "maskedPaths")), 0);
  assert_null (json_object_get (json_object_get (priv, "linux"), "seccomp"));
  assert_true (has (json_object_get (json_object_get (json_object_get (priv, "process"), "capabilities"), "bounding"),
                    "CAP_SYS_ADMIN"));
  ch_chute_clear (&c);
}

static void
test_chute_json_roundtrip (void **state)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_json json_t *j = NULL;
  struct ch_chute c, d;

  ch_chute_init (&c);
  c.name = xstrdup ("x");
  ch_strv_append (&c.volumes, "data:/data:ro");
  ch_strv_append (&c.cap_add, "CAP_NET_ADMIN");
  ch_strv_append (&c.devices, "/dev/null:/dev/null:rwm");
  c.seccomp_profile = json_pack ("{s:s}", "defaultAction", "SCMP_ACT_ALLOW");
  c.no_new_privs = false;
  c.disk_quota = true;
  j = ch_chute_to_json (&c);
  assert_int_equal (ch_chute_from_json (j, &d, &err), 0);
  assert_string_equal (d.volumes[0], "data:/data:ro");
  assert_string_equal (d.cap_add[0], "CAP_NET_ADMIN");
  assert_string_equal (d.devices[0], "/dev/null:/dev/null:rwm");
  assert_true (json_equal (d.seccomp_profile, c.seccomp_profile));
  assert_false (d.no_new_privs);
  assert_true (d.disk_quota);
  assert_false (d.seccomp_unconfined);
  ch_chute_clear (&c);
  ch_chute_clear (&d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_volume_spec),
    cmocka_unit_test (test_caps_and_devices),
    cmocka_unit_test (test_security_apply),
    cmocka_unit_test (test_chute_json_roundtrip),
  };
  return cmocka_run_group_tests_name ("cli_run", tests, NULL, NULL);
}
