/* cgroups/ without a real cgroup fs: conversions, layout detection from
 * mountinfo text, the v2 backend against a temp tree shaped like cgroup2,
 * stats parsing, and the v1 memory+swap ordering rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/cgroup.h"
#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- conversions ---- */

static void
test_shares_to_weight (void **state)
{
  assert_int_equal (ch_cgroup_shares_to_weight (2), 1);
  assert_int_equal (ch_cgroup_shares_to_weight (1024), 39);
  assert_int_equal (ch_cgroup_shares_to_weight (262144), 10000);
  assert_int_equal (ch_cgroup_shares_to_weight (0), 0); /* unset */
  assert_int_equal (ch_cgroup_shares_to_weight (1), 1); /* clamped like v1 */
  assert_int_equal (ch_cgroup_shares_to_weight (1000000), 10000);
}

static void
test_blkio_to_io_weight (void **state)
{
  assert_int_equal (ch_cgroup_blkio_to_io_weight (10), 1);
  assert_int_equal (ch_cgroup_blkio_to_io_weight (500), 4950);
  assert_int_equal (ch_cgroup_blkio_to_io_weight (1000), 10000);
  assert_int_equal (ch_cgroup_blkio_to_io_weight (0), 0);
  assert_int_equal (ch_cgroup_blkio_to_io_weight (5000), 10000);
}

static void
test_v2_values (void **state)
{
  ch_error_t err = NULL;
  char *s;

  s = ch_cgroup_v2_cpu_max (50000, 100000);
  assert_string_equal (s, "50000 100000");
  free (s);
  s = ch_cgroup_v2_cpu_max (CH_CGROUP_MAX, 20000);
  assert_string_equal (s, "max 20000");
  free (s);
  s = ch_cgroup_v2_cpu_max (30000, CH_CGROUP_UNSET);
  assert_string_equal (s, "30000 100000");
  free (s);

  assert_int_equal (ch_cgroup_v2_swap_value (64 << 20, 96 << 20, &s, &err), 0);
  assert_string_equal (s, "33554432");
  free (s);
  assert_int_equal (ch_cgroup_v2_swap_value (64 << 20, 64 << 20, &s, &err), 0);
  assert_string_equal (s, "0");
  free (s);
  assert_int_equal (ch_cgroup_v2_swap_value (64 << 20, CH_CGROUP_MAX, &s, &err), 0);
  assert_string_equal (s, "max");
  free (s);
  assert_int_equal (ch_cgroup_v2_swap_value (64 << 20, 32 << 20, &s, &err), -1);
  assert_non_null (strstr (err->msg, "below the memory limit"));
  ch_error_release (&err);
  assert_int_equal (ch_cgroup_v2_swap_value (CH_CGROUP_UNSET, 32 << 20, &s, &err), -1);
  assert_non_null (strstr (err->msg, "needs a memory limit"));
  ch_error_release (&err);
}

/* ---- v1 memory+swap ordering: memsw >= memory at every step ---- */

static void
test_v1_memsw_order (void **state)
{
  const int64_t M = 1 << 20;
  /* fresh cgroup (memsw unlimited): memory first */
  assert_false (ch_cgroup_v1_memsw_first (-1, 64 * M, 128 * M));
  /* raising above the current memsw: memsw first */
  assert_true (ch_cgroup_v1_memsw_first (128 * M, 256 * M, 512 * M));
  /* lowering both: memory first */
  assert_false (ch_cgroup_v1_memsw_first (128 * M, 32 * M, 64 * M));
  /* equal to the current memsw: memory first is allowed */
  assert_false (ch_cgroup_v1_memsw_first (128 * M, 128 * M, 128 * M));
  /* to unlimited: memsw has to go first */
  assert_true (ch_cgroup_v1_memsw_first (128 * M, CH_CGROUP_MAX, CH_CGROUP_MAX));
  assert_true (ch_cgroup_v1_memsw_first (128 * M, 64 * M, CH_CGROUP_MAX));
  /* only one of them */
  assert_false (ch_cgroup_v1_memsw_first (128 * M, 64 * M, CH_CGROUP_UNSET));
  assert_true (ch_cgroup_v1_memsw_first (128 * M, CH_CGROUP_UNSET, 256 * M));
}

/* ---- layout detection from mountinfo text ---- */

static const char mi_hybrid[]
    = "23 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
      "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
      "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
      "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
      "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
      "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
      "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
      "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
      "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
      "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
      "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

/* systemd's v1 layout: co-mounted controllers, optional fields, no cgroup2 */
static const char mi_v1[]
    = "25 18 0:22 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755\n"
      "27 25 0:24 / /sys/fs/cgroup/systemd rw shared:10 - cgroup cgroup rw,xattr,name=systemd\n"
      "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:13 master:1 - cgroup cgroup rw,cpu,cpuacct\n"
      "31 25 0:28 / /sys/fs/cgroup/net_cls,net_prio rw shared:14 - cgroup cgroup rw,net_cls,net_prio\n"
      "32 25 0:29 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
      "33 25 0:30 / /sys/fs/cgroup/blkio rw shared:16 - cgroup cgroup rw,blkio\n"
      "34 25 0:31 / /sys/fs/cgroup/pids rw shared:17 - cgroup cgroup rw,pids\n";

static const char mi_v2[] = "22 1 0:20 / /proc rw - proc proc rw\n"
                            "26 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - cgroup2 cgroup2 "
                            "rw,nsdelegate,memory_recursiveprot\n"
                            "90 80 0:23 / /var/lib/x/rootfs/sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

static void
test_detect_hybrid (void **state)
{
  struct ch_cgroup_layout l;
  ch_error_t err = NULL;

  assert_int_equal (ch_cgroup_layout_parse (mi_hybrid, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_HYBRID);
  assert_string_equal (ch_cgroup_mode_name (l.mode), "hybrid");
  assert_string_equal (l.unified, "/sys/fs/cgroup/unified");
  assert_string_equal (l.v1[CH_CG_CPU], "/sys/fs/cgroup/cpu");
  assert_string_equal (l.v1[CH_CG_CPUACCT], "/sys/fs/cgroup/cpuacct");
  assert_string_equal (l.v1[CH_CG_MEMORY], "/sys/fs/cgroup/memory");
  assert_string_equal (l.v1[CH_CG_FREEZER], "/sys/fs/cgroup/freezer");
  assert_string_equal (l.v1[CH_CG_PIDS], "/sys/fs/cgroup/pids");
  assert_false (l.fake);
  ch_cgroup_layout_clear (&l);
}

static void
test_detect_v1 (void **state)
{
  struct ch_cgroup_layout l;
  ch_error_t err = NULL;

  assert_int_equal (ch_cgroup_layout_parse (mi_v1, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_V1);
  assert_null (l.unified);
  assert_string_equal (l.v1[CH_CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
  assert_string_equal (l.v1[CH_CG_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
  assert_null (l.v1[CH_CG_CPUSET]);
  assert_null (l.v1[CH_CG_FREEZER]);
  assert_string_equal (l.v1[CH_CG_MEMORY], "/sys/fs/cgroup/memory");
  ch_cgroup_layout_clear (&l);
}

static void
test_detect_v2 (void **state)
{
  struct ch_cgroup_layout l;
  ch_error_t err = NULL;

  assert_int_equal (ch_cgroup_layout_parse (mi_v2, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_V2);
  /* the host's mount, not the later one inside a container rootfs */
  assert_string_equal (l.unified, "/sys/fs/cgroup");
  for (int i = 0; i < CH_CG_NCTRL; i++)
    assert_null (l.v1[i]);
  ch_cgroup_layout_clear (&l);
}

static void
test_detect_none_and_escapes (void **state)
{
  struct ch_cgroup_layout l;
  ch_error_t err = NULL;

  assert_int_equal (ch_cgroup_layout_parse ("22 1 0:20 / /proc rw - proc proc rw\n", &l, &err), -1);
  assert_non_null (strstr (err->msg, "no cgroup filesystem"));
  ch_error_release (&err);
  assert_int_equal (ch_cgroup_layout_parse ("", &l, &err), -1);
  ch_error_release (&err);
  /* a named-only v1 hierarchy is not a controller */
  assert_int_equal (
      ch_cgroup_layout_parse ("27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n", &l, &err), -1);
  ch_error_release (&err);
  /* mountinfo octal escapes; no trailing newline */
  assert_int_equal (ch_cgroup_layout_parse ("26 21 0:23 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw", &l, &err), 0);
  assert_string_equal (l.unified, "/mnt/my cg");
  ch_cgroup_layout_clear (&l);
}

/* ---- a temp tree shaped like a cgroup2 fs ---- */

struct tree
{
  char *root;
};

static void
put (const char *dir, const char *file, const char *content)
{
  ch_error_t err = NULL;
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  if (ch_write_file (p, content, strlen (content), 0644, &err) < 0)
    fail_msg ("%s", err->msg);
}

static char *
get (const char *dir, const char *file)
{
  ch_error_t err = NULL;
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  char *s = NULL;
  if (ch_read_file (p, &s, NULL, &err) < 0)
    {
      ch_error_release (&err);
      return xstrdup ("<missing>");
    }
  return s;
}

static bool
exists (const char *dir, const char *file)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  struct stat st;
  return stat (p, &st) == 0;
}

static int
tree_setup (void **state)
{
  struct tree *t = xzalloc (sizeof (*t));
  char tmpl[] = "/tmp/chuted-test-cgroup.XXXXXX";

  if (mkdtemp (tmpl) == NULL)
    return -1;
  t->root = xstrdup (tmpl);
  *state = t;
  return 0;
}

static int
tree_teardown (void **state)
{
  struct tree *t = *state;
  ch_error_t err = NULL;
  unsetenv ("CHUTED_CGROUP_ROOT");
  ch_rm_rf (t->root, &err);
  ch_error_release (&err);
  free (t->root);
  free (t);
  return 0;
}

static void
make_v2_root (struct tree *t)
{
  put (t->root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  put (t->root, "cgroup.subtree_control", "");
  put (t->root, "cgroup.procs", "1\n");
}

static void
test_v2_create_writes (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  struct ch_cgroup_throttle rbps = { 8, 0, 1048576 };
  cleanup_free char *parent = NULL, *leaf = NULL;

  make_v2_root (t);
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_V2);
  assert_true (l.fake);

  ch_cgroup_resources_init (&r);
  r.cpu_shares = 1024;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.memory_limit = 64 << 20;
  r.memory_swap = 96 << 20;
  r.memory_reservation = 32 << 20;
  r.pids_limit = 0;
  r.blkio_weight = 500;
  r.cpuset_cpus = xstrdup ("0-1");
  r.cpuset_mems = xstrdup ("0");
  r.read_bps = xmalloc (sizeof (rbps));
  r.read_bps[0] = rbps;
  r.n_read_bps = 1;
  if (ch_cgroup_create_in (&l, "chuted-test-p/web", &r, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  ch_cgroup_resources_clear (&r);

  parent = xasprintf ("%s/chuted-test-p", t->root);
  leaf = xasprintf ("%s/web", parent);
  {
    cleanup_free char *rs = get (t->root, "cgroup.subtree_control");
    cleanup_free char *ps = get (parent, "cgroup.subtree_control");
    /* every controller the chute needs, enabled at each level above it,
     * and only those the level offers */
    assert_string_equal (rs, "+cpu +cpuset +io +memory +pids +hugetlb");
    assert_string_equal (ps, "+cpu +cpuset +io +memory +pids +hugetlb");
    assert_false (exists (leaf, "cgroup.subtree_control"));
  }
  {
    cleanup_free char *w = get (leaf, "cpu.weight");
    cleanup_free char *m = get (leaf, "cpu.max");
    cleanup_free char *mm = get (leaf, "memory.max");
    cleanup_free char *sw = get (leaf, "memory.swap.max");
    cleanup_free char *lo = get (leaf, "memory.low");
    cleanup_free char *pm = get (leaf, "pids.max");
    cleanup_free char *iw = get (leaf, "io.weight");
    cleanup_free char *im = get (leaf, "io.max");
    cleanup_free char *cc = get (leaf, "cpuset.cpus");
    cleanup_free char *cm = get (leaf, "cpuset.mems");
    assert_string_equal (w, "39");
    assert_string_equal (m, "50000 100000");
    assert_string_equal (mm, "67108864");
    assert_string_equal (sw, "33554432");
    assert_string_equal (lo, "33554432");
    assert_string_equal (pm, "max");
    assert_string_equal (iw, "default 4950");
    assert_string_equal (im, "8:0 rbps=1048576");
    assert_string_equal (cc, "0-1");
    assert_string_equal (cm, "0");
    /* v1 files never appear on v2 */
    assert_false (exists (leaf, "memory.limit_in_bytes"));
    assert_false (exists (leaf, "cpu.shares"));
  }
  {
    cleanup_strv char **p = ch_cgroup_paths (cg);
    cleanup_free char *want = xasprintf ("unified:%s", leaf);
    assert_int_equal (ch_strv_len (p), 1);
    assert_string_equal (p[0], want);
  }
  /* update: only what is set is written */
  ch_cgroup_resources_init (&r);
  r.pids_limit = 32;
  r.memory_limit = CH_CGROUP_MAX;
  if (ch_cgroup_update (cg, &r, &err) < 0)
    fail_msg ("%s", err->msg);
  {
    cleanup_free char *pm = get (leaf, "pids.max");
    cleanup_free char *mm = get (leaf, "memory.max");
    cleanup_free char *m = get (leaf, "cpu.max");
    assert_string_equal (pm, "32");
    assert_string_equal (mm, "max");
    assert_string_equal (m, "50000 100000");
  }
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("%s", err->msg);
  ch_cgroup_free (cg);
  /* the leaf and the parent create made are gone, the root stays */
  assert_false (exists (parent, ""));
  assert_true (exists (t->root, "cgroup.controllers"));
  ch_cgroup_layout_clear (&l);
}

static void
test_v2_only_offered_controllers (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  cleanup_free char *rs = NULL;

  put (t->root, "cgroup.controllers", "memory pids\n");
  put (t->root, "cgroup.subtree_control", "pids\n");
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  if (ch_cgroup_create_in (&l, "chuted-test-p", NULL, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  rs = get (t->root, "cgroup.subtree_control");
  /* pids was already on: only memory is added */
  assert_string_equal (rs, "pids +memory");
  assert_int_equal (ch_cgroup_destroy (cg, &err), 0);
  ch_cgroup_free (cg);
  ch_cgroup_layout_clear (&l);
}

static void
test_v2_bad_swap_leaves_nothing (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;

  make_v2_root (t);
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  ch_cgroup_resources_init (&r);
  r.memory_limit = 64 << 20;
  r.memory_swap = 32 << 20;
  assert_int_equal (ch_cgroup_create_in (&l, "chuted-test-p/web", &r, &cg, &err), -1);
  assert_null (cg);
  assert_string_equal (err->msg,
                       "cgroup chuted-test-p/web: memory+swap limit 33554432 is below the memory limit 67108864");
  ch_error_release (&err);
  assert_false (exists (t->root, "chuted-test-p"));
  ch_cgroup_layout_clear (&l);
}

static void
test_bad_paths (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  const char *bad[] = { "", "/abs", "a/../b", "a//b", "a/", ".", "a/./b" };

  make_v2_root (t);
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      assert_int_equal (ch_cgroup_create_in (&l, bad[i], NULL, &cg, &err), -1);
      assert_non_null (strstr (err->msg, "cgroup path"));
      ch_error_release (&err);
    }
  /* open of something that is not there */
  assert_int_equal (ch_cgroup_open_in (&l, "chuted-test-nope/x", &cg, &err), -1);
  assert_int_equal (err->status, ENOENT);
  ch_error_release (&err);
  ch_cgroup_layout_clear (&l);
}

/* CHUTED_CGROUP_ROOT points the public API at the tree. */
static void
test_env_root (void **state)
{
  struct tree *t = *state;
  enum ch_cgroup_mode mode;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  cleanup_free char *leaf = xasprintf ("%s/chuted-test-e/x", t->root);

  make_v2_root (t);
  setenv ("CHUTED_CGROUP_ROOT", t->root, 1);
  assert_int_equal (ch_cgroup_detect (&mode, &err), 0);
  assert_int_equal (mode, CH_CGROUP_V2);
  if (ch_cgroup_create ("chuted-test-e/x", NULL, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_true (exists (leaf, ""));
  ch_cgroup_free (cg);
  if (ch_cgroup_open ("chuted-test-e/x", &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (ch_cgroup_enter (cg, 4242, &err), 0);
  {
    cleanup_free char *p = get (leaf, "cgroup.procs");
    assert_string_equal (p, "4242");
  }
  put (leaf, "cgroup.procs", "");
  assert_int_equal (ch_cgroup_destroy (cg, &err), 0);
  ch_cgroup_free (cg);
  /* open does not own the parent: it stays */
  assert_false (exists (leaf, ""));
  assert_true (exists (t->root, "chuted-test-e"));
  unsetenv ("CHUTED_CGROUP_ROOT");
}

/* ---- stats parsing from sample files ---- */

static void
test_v2_stats (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  ch_error_t err = NULL;
  cleanup_free char *d = xasprintf ("%s/chuted-test-s", t->root);

  make_v2_root (t);
  mkdir (d, 0755);
  put (d, "cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
  put (d, "memory.current", "1048576\n");
  put (d, "memory.peak", "2097152\n");
  put (d, "memory.max", "max\n");
  /* "oom" precedes "oom_kill": the key must match whole */
  put (d, "memory.events", "low 0\nhigh 0\nmax 7\noom 3\noom_kill 2\noom_group_kill 0\n");
  put (d, "pids.current", "5\n");
  put (d, "pids.max", "64\n");
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  if (ch_cgroup_open_in (&l, "chuted-test-s", &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  if (ch_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (st.cpu_usage_ns, 1500000);
  assert_int_equal (st.memory_current, 1048576);
  assert_int_equal (st.memory_peak, 2097152);
  assert_true (st.memory_limit == UINT64_MAX);
  assert_int_equal (st.oom_kills, 2);
  assert_int_equal (st.pids_current, 5);
  assert_int_equal (st.pids_limit, 64);

  /* memory.peak is absent before 5.19: 0, not an error */
  {
    cleanup_free char *p = xasprintf ("%s/memory.peak", d);
    unlink (p);
  }
  assert_int_equal (ch_cgroup_stats (cg, &st, &err), 0);
  assert_int_equal (st.memory_peak, 0);
  /* garbage is an error naming the file */
  put (d, "pids.current", "lots\n");
  assert_int_equal (ch_cgroup_stats (cg, &st, &err), -1);
  assert_non_null (strstr (err->msg, "pids.current"));
  ch_error_release (&err);
  ch_cgroup_free (cg);
  ch_cgroup_layout_clear (&l);
}

static void
test_v1_stats_and_limits (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  struct ch_cgroup_resources r;
  ch_error_t err = NULL;

  for (int i = 0; i < CH_CG_NCTRL; i++)
    {
      cleanup_free char *d = xasprintf ("%s/%s", t->root, ch_cgroup_ctrl_names[i]);
      mkdir (d, 0755);
    }
  {
    cleanup_free char *cs = xasprintf ("%s/cpuset", t->root);
    put (cs, "cpuset.cpus", "0-3\n");
    put (cs, "cpuset.mems", "0\n");
  }
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_V1);

  ch_cgroup_resources_init (&r);
  r.memory_limit = 64 << 20;
  r.memory_swap = 128 << 20;
  r.cpu_shares = 512;
  r.pids_limit = 0;
  if (ch_cgroup_create_in (&l, "chuted-test-p/v", &r, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  {
    cleanup_free char *m = xasprintf ("%s/memory/chuted-test-p/v", t->root);
    cleanup_free char *c = xasprintf ("%s/cpu/chuted-test-p/v", t->root);
    cleanup_free char *p = xasprintf ("%s/pids/chuted-test-p/v", t->root);
    cleanup_free char *csp = xasprintf ("%s/cpuset/chuted-test-p", t->root);
    cleanup_free char *ml = get (m, "memory.limit_in_bytes");
    cleanup_free char *sw = get (m, "memory.memsw.limit_in_bytes");
    cleanup_free char *sh = get (c, "cpu.shares");
    cleanup_free char *pm = get (p, "pids.max");
    assert_string_equal (ml, "67108864");
    assert_string_equal (sw, "134217728");
    assert_string_equal (sh, "512");
    assert_string_equal (pm, "max");
    cleanup_free char *csl = xasprintf ("%s/cpuset/chuted-test-p/v", t->root);
    cleanup_free char *pc = get (csp, "cpuset.cpus");
    cleanup_free char *pmm = get (csp, "cpuset.mems");
    cleanup_free char *lc = get (csl, "cpuset.cpus");
    /* cpuset inherited at every level, or no task could join */
    assert_string_equal (pc, "0-3");
    assert_string_equal (pmm, "0");
    assert_string_equal (lc, "0-3");

    put (m, "memory.usage_in_bytes", "4096\n");
    put (m, "memory.max_usage_in_bytes", "8192\n");
    put (m, "memory.limit_in_bytes", "9223372036854771712\n");
    put (m, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    put (p, "pids.current", "2\n");
  }
  {
    cleanup_free char *a = xasprintf ("%s/cpuacct/chuted-test-p/v", t->root);
    put (a, "cpuacct.usage", "123456789\n");
  }
  if (ch_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (st.cpu_usage_ns, 123456789);
  assert_int_equal (st.memory_current, 4096);
  assert_int_equal (st.memory_peak, 8192);
  assert_true (st.memory_limit == UINT64_MAX); /* v1's "unlimited" */
  assert_int_equal (st.oom_kills, 3);
  assert_int_equal (st.pids_current, 2);
  assert_true (st.pids_limit == UINT64_MAX);
  {
    cleanup_strv char **p = ch_cgroup_paths (cg);
    assert_int_equal (ch_strv_len (p), CH_CG_NCTRL);
  }
  assert_int_equal (ch_cgroup_destroy (cg, &err), 0);
  ch_cgroup_free (cg);
  {
    cleanup_free char *m = xasprintf ("%s/memory", t->root);
    assert_false (exists (m, "chuted-test-p"));
  }
  ch_cgroup_layout_clear (&l);
}

/* Debian's co-mounted "cpu,cpuacct" with cpu/cpuacct symlinks: one dir. */
static void
test_v1_comounted_dir (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  cleanup_free char *cc = xasprintf ("%s/cpu,cpuacct", t->root);
  cleanup_free char *u = xasprintf ("%s/unified", t->root);
  cleanup_free char *m = xasprintf ("%s/memory", t->root);

  mkdir (cc, 0755);
  mkdir (u, 0755);
  mkdir (m, 0755);
  {
    cleanup_free char *a = xasprintf ("%s/cpu", t->root);
    cleanup_free char *b = xasprintf ("%s/cpuacct", t->root);
    assert_int_equal (symlink ("cpu,cpuacct", a), 0);
    assert_int_equal (symlink ("cpu,cpuacct", b), 0);
  }
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  assert_int_equal (l.mode, CH_CGROUP_HYBRID);
  assert_string_equal (l.v1[CH_CG_CPU], l.v1[CH_CG_CPUACCT]);
  if (ch_cgroup_create_in (&l, "chuted-test-c", NULL, &cg, &err) < 0)
    fail_msg ("%s", err->msg);
  {
    cleanup_strv char **p = ch_cgroup_paths (cg);
    /* cpu,cpuacct + memory + unified */
    assert_int_equal (ch_strv_len (p), 3);
    assert_true (ch_has_prefix (p[0], "cpu,cpuacct:"));
    assert_true (ch_has_prefix (p[2], "unified:"));
  }
  assert_true (exists (u, "chuted-test-c"));
  assert_int_equal (ch_cgroup_destroy (cg, &err), 0);
  assert_false (exists (u, "chuted-test-c"));
  assert_false (exists (cc, "chuted-test-c"));
  ch_cgroup_free (cg);
  ch_cgroup_layout_clear (&l);
}

static void
test_keyed_parse (void **state)
{
  uint64_t v = 99;

  assert_true (ch_cgroup_keyed_u64 ("oom 3\noom_kill 2\n", "oom_kill", &v));
  assert_int_equal (v, 2);
  assert_true (ch_cgroup_keyed_u64 ("oom 3\noom_kill 2\n", "oom", &v));
  assert_int_equal (v, 3);
  assert_false (ch_cgroup_keyed_u64 ("oom_group_kill 1\n", "oom_kill", &v));
  assert_false (ch_cgroup_keyed_u64 ("", "oom_kill", &v));
  assert_true (ch_cgroup_parse_u64 ("max\n", &v));
  assert_true (v == UINT64_MAX);
  assert_true (ch_cgroup_parse_u64 ("42\n", &v));
  assert_int_equal (v, 42);
  assert_false (ch_cgroup_parse_u64 ("42x\n", &v));
  assert_false (ch_cgroup_parse_u64 ("", &v));
}

/* v2 freeze waits for cgroup.events to say so (here the "kernel" already did). */
static void
test_v2_freeze_files (void **state)
{
  struct tree *t = *state;
  struct ch_cgroup_layout l;
  struct ch_cgroup *cg = NULL;
  ch_error_t err = NULL;
  cleanup_free char *d = xasprintf ("%s/chuted-test-f", t->root);
  cleanup_free char *f = NULL;

  make_v2_root (t);
  mkdir (d, 0755);
  put (d, "cgroup.events", "populated 1\nfrozen 1\n");
  assert_int_equal (ch_cgroup_layout_from_dir (t->root, &l, &err), 0);
  assert_int_equal (ch_cgroup_open_in (&l, "chuted-test-f", &cg, &err), 0);
  if (ch_cgroup_freeze (cg, true, &err) < 0)
    fail_msg ("%s", err->msg);
  f = get (d, "cgroup.freeze");
  assert_string_equal (f, "1");
  {
    bool frozen = false;
    assert_int_equal (ch_cgroup_frozen (cg, &frozen, &err), 0);
    assert_true (frozen);
    put (d, "cgroup.freeze", "0\n");
    assert_int_equal (ch_cgroup_frozen (cg, &frozen, &err), 0);
    assert_false (frozen);
  }
  ch_cgroup_free (cg);
  ch_cgroup_layout_clear (&l);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_shares_to_weight),
    cmocka_unit_test (test_blkio_to_io_weight),
    cmocka_unit_test (test_v2_values),
    cmocka_unit_test (test_v1_memsw_order),
    cmocka_unit_test (test_detect_hybrid),
    cmocka_unit_test (test_detect_v1),
    cmocka_unit_test (test_detect_v2),
    cmocka_unit_test (test_detect_none_and_escapes),
    cmocka_unit_test (test_keyed_parse),
    cmocka_unit_test_setup_teardown (test_v2_create_writes, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v2_only_offered_controllers, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v2_bad_swap_leaves_nothing, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_bad_paths, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_env_root, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v2_stats, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v1_stats_and_limits, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v1_comounted_dir, tree_setup, tree_teardown),
    cmocka_unit_test_setup_teardown (test_v2_freeze_files, tree_setup, tree_teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
