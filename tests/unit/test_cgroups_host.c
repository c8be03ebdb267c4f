/* The cgroup backends against this host's real cgroup fs (root only):
 * create with limits, enter, stats, freeze/thaw, OOM, kill-all, destroy,
 * and the all-or-nothing failure path. Everything is "chuted-test-<pid>/..". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgroups/cgroup.h"
#include "cgroups/layout.h"
#include "common/file.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct host
{
  struct ch_cgroup_layout l;
  char *parent; /* chuted-test-<pid> */
};

static int
setup (void **state)
{
  ch_error_t err = NULL;
  struct host *h = xzalloc (sizeof (*h));

  unsetenv ("CHUTED_CGROUP_ROOT");
  /* forked grandchildren come back to us to be reaped, not to pid 1 */
  prctl (PR_SET_CHILD_SUBREAPER, 1);
  h->parent = xasprintf ("chuted-test-%d", (int) getpid ());
  if (ch_cgroup_layout_detect (&h->l, &err) < 0)
    {
      ch_error_release (&err);
      h->l.mode = (enum ch_cgroup_mode) - 1;
    }
  *state = h;
  return 0;
}

/* Independent of the code under test: kill and rmdir whatever a failed
 * test left under chuted-test-<pid>. */
static void
scrub (const char *dir)
{
  cleanup_free char *procs = xasprintf ("%s/cgroup.procs", dir);
  cleanup_free char *s = NULL;
  cleanup_dir DIR *d = NULL;
  ch_error_t err = NULL;
  struct dirent *de;

  if (ch_read_file (procs, &s, NULL, &err) == 0)
    for (char *p = s; *p;)
      {
        char *end;
        long v = strtol (p, &end, 10);
        if (end == p)
          break;
        if (v > 0)
          kill ((pid_t) v, SIGKILL);
        p = end + (*end != '\0');
      }
  ch_error_release (&err);
  d = opendir (dir);
  while (d && (de = readdir (d)))
    if (de->d_type == DT_DIR && de->d_name[0] != '.')
      {
        cleanup_free char *sub = xasprintf ("%s/%s", dir, de->d_name);
        scrub (sub);
      }
  for (int i = 0; i < 100 && rmdir (dir) < 0 && errno == EBUSY; i++)
    usleep (10000);
}

static int
scrub_all (void **state)
{
  struct host *h = *state;

  for (int i = 0; i < CH_CG_NCTRL; i++)
    if (h->l.v1[i])
      {
        cleanup_free char *d = xasprintf ("%s/%s", h->l.v1[i], h->parent);
        scrub (d);
      }
  if (h->l.unified)
    {
      cleanup_free char *d = xasprintf ("%s/%s", h->l.unified, h->parent);
      scrub (d);
    }
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  return 0;
}

static int
teardown (void **state)
{
  struct host *h = *state;

  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;

  ch_cgroup_layout_clear (&h->l);
  free (h->parent);
  free (h);
  return 0;
}

/* skip unless root on a v1/hybrid host (v2 runs in the VM suite) */
static struct host *
need_host (void **state)
{
  struct host *h = *state;
  if (geteuid () != 0 || ((int) h->l.mode != CH_CGROUP_V1 && h->l.mode != CH_CGROUP_HYBRID))
    skip ();
  return h;
}

static char *
read_value (const char *mount, const char *path, const char *file)
{
  ch_error_t err = NULL;
  cleanup_free char *p = xasprintf ("%s/%s/%s", mount, path, file);
  char *s = NULL;

  if (ch_read_file (p, &s, NULL, &err) < 0)
    {
      print_error ("%s\n", err->msg);
      ch_error_release (&err);
      return xstrdup ("<unreadable>");
    }
  s[strcspn (s, "\n")] = '\0';
  return s;
}

static bool
exists (const char *mount, const char *path)
{
  cleanup_free char *p = xasprintf ("%s/%s", mount, path);
  struct stat st;
  return stat (p, &st) == 0;
}

/* Nothing named chuted-test-<pid> is left in any hierarchy. */
static void
assert_nothing_left (struct host *h)
{
  for (int i = 0; i < CH_CG_NCTRL; i++)
    if (h->l.v1[i] && exists (h->l.v1[i], h->parent))
      fail_msg ("left behind: %s/%s", h->l.v1[i], h->parent);
  if (h->l.unified && exists (h->l.unified, h->parent))
    fail_msg ("left behind: %s/%s", h->l.unified, h->parent);
}

static char
proc_state (pid_t pid)
{
  cleanup_free char *p = xasprintf ("/proc/%d/status", (int) pid);
  cleanup_free char *s = NULL;
  ch_error_t err = NULL;
  char *st;

  if (ch_read_file (p, &s, NULL, &err) < 0)
    {
      ch_error_release (&err);
      return '?';
    }
  st = strstr (s, "\nState:\t");
  return st ? st[8] : '?';
}

static pid_t
spawn_sleeper (int ready_fd_out[2])
{
  pid_t pid;

  assert_int_equal (pipe (ready_fd_out), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      char c;
      close (ready_fd_out[1]);
      /* wait until the parent has moved us, then idle */
      if (read (ready_fd_out[0], &c, 1) < 0)
        _exit (2);
      for (;;)
        pause ();
    }
  close (ready_fd_out[0]);
  return pid;
}

static void
test_lifecycle (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  cleanup_free char *path = xasprintf ("%s/x", h->parent);
  int fds[2];
  pid_t pid;
  int status;

  ch_cgroup_resources_init (&r);
  r.memory_limit = 64 << 20;
  r.memory_swap = 64 << 20;
  r.pids_limit = 16;
  r.cpu_shares = 512;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  r.cpuset_cpus = xstrdup ("0");
  r.cpuset_mems = xstrdup ("0");
  if (ch_cgroup_create_in (&h->l, path, &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  ch_cgroup_resources_clear (&r);

  /* the values landed in the v1 files */
  {
    cleanup_free char *mem = read_value (h->l.v1[CH_CG_MEMORY], path, "memory.limit_in_bytes");
    cleanup_free char *sw = read_value (h->l.v1[CH_CG_MEMORY], path, "memory.memsw.limit_in_bytes");
    cleanup_free char *pids = read_value (h->l.v1[CH_CG_PIDS], path, "pids.max");
    cleanup_free char *shares = read_value (h->l.v1[CH_CG_CPU], path, "cpu.shares");
    cleanup_free char *quota = read_value (h->l.v1[CH_CG_CPU], path, "cpu.cfs_quota_us");
    cleanup_free char *cpus = read_value (h->l.v1[CH_CG_CPUSET], path, "cpuset.cpus");
    cleanup_free char *pcpus = read_value (h->l.v1[CH_CG_CPUSET], h->parent, "cpuset.cpus");
    cleanup_free char *pmems = read_value (h->l.v1[CH_CG_CPUSET], h->parent, "cpuset.mems");
    assert_string_equal (mem, "67108864");
    if (exists (h->l.v1[CH_CG_MEMORY], "memory.memsw.limit_in_bytes"))
      assert_string_equal (sw, "67108864");
    assert_string_equal (pids, "16");
    assert_string_equal (shares, "512");
    assert_string_equal (quota, "50000");
    assert_string_equal (cpus, "0");
    /* the intermediate dir got its cpuset from the root */
    assert_true (pcpus[0] != '\0');
    assert_true (pmems[0] != '\0');
    if (h->l.mode == CH_CGROUP_HYBRID)
      assert_true (exists (h->l.unified, path));
  }
  {
    cleanup_strv char **paths = ch_cgroup_paths (cg);
    bool mem = false;
    for (size_t i = 0; paths[i]; i++)
      mem |= ch_has_prefix (paths[i], "memory:") && ch_has_suffix (paths[i], path);
    assert_true (mem);
  }

  pid = spawn_sleeper (fds);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    fail_msg ("enter: %s", err->msg);
  assert_int_equal (write (fds[1], "x", 1), 1);
  close (fds[1]);
  {
    cleanup_free char *p = xasprintf ("/proc/%d/cgroup", (int) pid);
    cleanup_free char *s = NULL;
    cleanup_free char *want = xasprintf (":memory:/%s\n", path);
    assert_int_equal (ch_read_file (p, &s, NULL, &err), 0);
    assert_non_null (strstr (s, want));
  }

  /* stats from another process's point of view: open by path */
  {
    struct ch_cgroup *o = NULL;
    if (ch_cgroup_open (path, &o, &err) < 0)
      fail_msg ("open: %s", err->msg);
    if (ch_cgroup_stats (o, &st, &err) < 0)
      fail_msg ("stats: %s", err->msg);
    ch_cgroup_free (o);
  }
  assert_int_equal (st.pids_current, 1);
  assert_int_equal (st.pids_limit, 16);
  assert_int_equal (st.memory_limit, 64 << 20);
  assert_int_equal (st.oom_kills, 0);

  if (ch_cgroup_freeze (cg, true, &err) < 0)
    fail_msg ("freeze: %s", err->msg);
  {
    cleanup_free char *fs = read_value (h->l.v1[CH_CG_FREEZER], path, "freezer.state");
    assert_string_equal (fs, "FROZEN");
  }
  /* a frozen task sleeps uninterruptibly ("D") */
  assert_int_equal (proc_state (pid), 'D');
  if (ch_cgroup_freeze (cg, false, &err) < 0)
    fail_msg ("thaw: %s", err->msg);
  /* thawed: the task leaves D once the scheduler runs it again */
  {
    char c = 'D';
    for (int i = 0; i < 200 && (c = proc_state (pid)) == 'D'; i++)
      usleep (5000);
    assert_true (c == 'S' || c == 'R');
  }

  if (ch_cgroup_kill_all (cg, SIGKILL, &err) < 0)
    fail_msg ("kill_all: %s", err->msg);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_nothing_left (h);
}

static void
test_bad_value_leaves_nothing (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  cleanup_free char *path = xasprintf ("%s/bad", h->parent);
  cleanup_free char *want = NULL;

  ch_cgroup_resources_init (&r);
  r.memory_limit = 64 << 20;
  r.pids_limit = 16;
  r.cpu_quota = 500; /* below the kernel's 1 ms minimum */
  assert_int_equal (ch_cgroup_create_in (&h->l, path, &r, &cg, &err), -1);
  assert_null (cg);
  want = xasprintf ("cgroup %s: write cpu.cfs_quota_us=500: Invalid argument", path);
  assert_string_equal (err->msg, want);
  ch_error_release (&err);
  assert_nothing_left (h);

  /* an impossible cpuset, after the other limits were written */
  ch_cgroup_resources_init (&r);
  r.cpu_shares = 512;
  r.cpuset_cpus = xstrdup ("9999");
  assert_int_equal (ch_cgroup_create_in (&h->l, path, &r, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "cpuset.cpus=9999"));
  ch_error_release (&err);
  ch_cgroup_resources_clear (&r);
  assert_nothing_left (h);

  /* swap below memory is refused before anything reaches the kernel */
  ch_cgroup_resources_init (&r);
  r.memory_limit = 64 << 20;
  r.memory_swap = 32 << 20;
  assert_int_equal (ch_cgroup_create_in (&h->l, path, &r, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "below the memory limit"));
  ch_error_release (&err);
  assert_nothing_left (h);
}

/* A sibling keeps the shared parent alive: destroy removes the parent only
 * when it made it and it is empty (never one that holds another chute). */
static void
test_shared_parent (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup *a = NULL, *b = NULL;
  cleanup_free char *pa = xasprintf ("%s/a", h->parent);
  cleanup_free char *pb = xasprintf ("%s/b", h->parent);

  if (ch_cgroup_create_in (&h->l, pa, NULL, &a, &err) < 0 || ch_cgroup_create_in (&h->l, pb, NULL, &b, &err) < 0)
    fail_msg ("create: %s", err->msg);
  /* b did not make the parent: it stays, with a in it */
  if (ch_cgroup_destroy (b, &err) < 0)
    fail_msg ("destroy b: %s", err->msg);
  for (int i = 0; i < CH_CG_NCTRL; i++)
    if (h->l.v1[i])
      {
        assert_false (exists (h->l.v1[i], pb));
        assert_true (exists (h->l.v1[i], pa));
      }
  /* a made it and leaves it empty: gone */
  if (ch_cgroup_destroy (a, &err) < 0)
    fail_msg ("destroy a: %s", err->msg);
  ch_cgroup_free (a);
  ch_cgroup_free (b);
  assert_nothing_left (h);

  /* the maker goes first while a sibling is still there: the parent stays */
  if (ch_cgroup_create_in (&h->l, pa, NULL, &a, &err) < 0 || ch_cgroup_create_in (&h->l, pb, NULL, &b, &err) < 0)
    fail_msg ("create: %s", err->msg);
  if (ch_cgroup_destroy (a, &err) < 0)
    fail_msg ("destroy a: %s", err->msg);
  assert_false (exists (h->l.v1[CH_CG_MEMORY], pa));
  assert_true (exists (h->l.v1[CH_CG_MEMORY], pb));
  if (ch_cgroup_destroy (b, &err) < 0)
    fail_msg ("destroy b: %s", err->msg);
  assert_false (exists (h->l.v1[CH_CG_MEMORY], pb));
  assert_true (exists (h->l.v1[CH_CG_MEMORY], h->parent));
  ch_cgroup_free (a);
  ch_cgroup_free (b);
  /* what is left is an empty parent nobody owns any more */
  for (int i = 0; i < CH_CG_NCTRL; i++)
    if (h->l.v1[i])
      {
        cleanup_free char *d = xasprintf ("%s/%s", h->l.v1[i], h->parent);
        rmdir (d);
      }
  if (h->l.unified)
    {
      cleanup_free char *d = xasprintf ("%s/%s", h->l.unified, h->parent);
      rmdir (d);
    }
  assert_nothing_left (h);
}

/* The memory limit OOM-kills a hog and the kill is counted afterwards. */
static void
test_oom_counted (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  cleanup_free char *path = xasprintf ("%s/oom", h->parent);
  int fds[2], status;
  pid_t pid;

  ch_cgroup_resources_init (&r);
  r.memory_limit = 16 << 20;
  r.memory_swap = 16 << 20;
  if (ch_cgroup_create_in (&h->l, path, &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  assert_int_equal (pipe (fds), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      char c;
      close (fds[1]);
      if (read (fds[0], &c, 1) != 1)
        _exit (2);
      size_t n = 256 << 20;
      char *p = mmap (NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        _exit (3);
      for (size_t i = 0; i < n; i += 4096)
        p[i] = 1;
      _exit (0);
    }
  close (fds[0]);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    fail_msg ("enter: %s", err->msg);
  assert_int_equal (write (fds[1], "x", 1), 1);
  close (fds[1]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  if (ch_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  assert_int_equal (st.oom_kills, 1);
  assert_true (st.memory_peak >= (12 << 20));
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_nothing_left (h);
}

/* pids.max stops forks; kill-all from another process then empties a
 * cgroup whose tasks keep forking, and destroy copes with the rest. */
static void
test_pids_and_kill_from_elsewhere (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  cleanup_free char *path = xasprintf ("%s/pids", h->parent);
  int fds[2], res[2], status;
  pid_t pid, killer;
  int forked = -1;

  ch_cgroup_resources_init (&r);
  r.pids_limit = 4;
  if (ch_cgroup_create_in (&h->l, path, &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  assert_int_equal (pipe (fds), 0);
  assert_int_equal (pipe (res), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      char c;
      int n = 0;
      close (fds[1]);
      close (res[0]);
      if (read (fds[0], &c, 1) != 1)
        _exit (2);
      /* 1 of 4 is us: only 3 forks may succeed */
      for (int i = 0; i < 8; i++)
        {
          pid_t k = fork ();
          if (k == 0)
            for (;;)
              pause ();
          if (k > 0)
            n++;
        }
      if (write (res[1], &n, sizeof n) != sizeof n)
        _exit (3);
      for (;;)
        pause ();
    }
  close (fds[0]);
  close (res[1]);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    fail_msg ("enter: %s", err->msg);
  assert_int_equal (write (fds[1], "x", 1), 1);
  close (fds[1]);
  assert_int_equal (read (res[0], &forked, sizeof forked), sizeof forked);
  close (res[0]);
  assert_int_equal (forked, 3);
  if (ch_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  assert_int_equal (st.pids_current, 4);

  killer = fork ();
  assert_true (killer >= 0);
  if (killer == 0)
    {
      struct ch_cgroup *o = NULL;
      ch_error_t e = NULL;
      _exit (ch_cgroup_open (path, &o, &e) < 0 || ch_cgroup_kill_all (o, SIGKILL, &e) < 0 ? 1 : 0);
    }
  assert_int_equal (waitpid (killer, &status, 0), killer);
  assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_nothing_left (h);
}

/* Destroy with a live task kills it first (the task is our unreaped
 * child afterwards: a zombie must not block the rmdir). */
static void
test_destroy_kills (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup *cg = NULL;
  cleanup_free char *path = xasprintf ("%s/live", h->parent);
  int fds[2], status;
  pid_t pid;

  if (ch_cgroup_create_in (&h->l, path, NULL, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  pid = spawn_sleeper (fds);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    fail_msg ("enter: %s", err->msg);
  close (fds[1]);
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  assert_nothing_left (h);
}

/* A new process joins without anyone writing its pid to cgroup.procs:
 * born into the v2 hierarchy (CLONE_INTO_CGROUP), joining each v1 one
 * itself through `tasks`. /proc/PID/cgroup must then name the chute's path
 * in every hierarchy the chute has. */
static void
test_join_without_procs_write (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_join j;
  struct clone_args ca = { .exit_signal = SIGCHLD };
  cleanup_free char *path = xasprintf ("%s/join", h->parent);
  cleanup_free char *s = NULL, *p = NULL;
  int fds[2], status, want = 0, seen = 0;
  long pid;
  char c;

  if (ch_cgroup_create_in (&h->l, path, NULL, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  if (ch_cgroup_join_open (cg, &j, &err) < 0)
    fail_msg ("join_open: %s", err->msg);
  assert_int_equal (j.v2_fd >= 0, h->l.unified != NULL);
  if (j.v2_fd >= 0)
    {
      ca.flags = CLONE_INTO_CGROUP;
      ca.cgroup = (uint64_t) j.v2_fd;
    }
  assert_int_equal (pipe (fds), 0);
  pid = syscall (SYS_clone3, &ca, sizeof (ca));
  assert_true (pid >= 0);
  if (pid == 0)
    {
      ch_error_t e = NULL;
      close (fds[0]);
      if (ch_cgroup_join_self (&j, &e) < 0)
        _exit (3);
      if (write (fds[1], "j", 1) != 1)
        _exit (2);
      for (;;)
        pause ();
    }
  close (fds[1]);
  ch_cgroup_join_close (&j);
  assert_int_equal (j.v2_fd, -1);
  assert_int_equal (read (fds[0], &c, 1), 1);
  close (fds[0]);
  p = xasprintf ("/proc/%ld/cgroup", pid);
  assert_int_equal (ch_read_file (p, &s, NULL, &err), 0);
  for (char *line = strtok (s, "\n"); line; line = strtok (NULL, "\n"))
    {
      const char *ctrl = strchr (line, ':') + 1, *at = strchr (ctrl, ':') + 1;
      bool ours = h->l.unified && ctrl[0] == ':';
      for (int i = 0; i < CH_CG_NCTRL; i++)
        ours |= h->l.v1[i] && strncmp (ctrl, "name=", 5) != 0 && ch_has_prefix (ctrl, ch_cgroup_ctrl_names[i]);
      if (!ours)
        continue;
      want++;
      seen += strcmp (at + 1, path) == 0;
    }
  assert_true (want > 0);
  assert_int_equal (seen, want);
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_int_equal (waitpid ((pid_t) pid, &status, 0), pid);
  assert_nothing_left (h);
}

/* The kernel refuses memory > memsw at every step: update must order the
 * two writes both ways (raise: memsw first; lower: memory first). */
static void
test_v1_update_memsw_order (void **state)
{
  struct host *h = need_host (state);
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  cleanup_free char *path = xasprintf ("%s/upd", h->parent);
  const char *m = h->l.v1[CH_CG_MEMORY];
  struct
  {
    int64_t mem, sw;
    const char *want_mem, *want_sw;
  } steps[] = {
    { 128 << 20, 128 << 20, "134217728", "134217728" }, /* raise both */
    { 16 << 20, 16 << 20, "16777216", "16777216" },     /* lower both */
    { 16 << 20, 64 << 20, "16777216", "67108864" },     /* swap only up */
    { CH_CGROUP_MAX, CH_CGROUP_MAX, "9223372036854771712", "9223372036854771712" },
  };
  cleanup_free char *swfile = xasprintf ("%s/memory.memsw.limit_in_bytes", m);

  if (access (swfile, F_OK) < 0)
    skip (); /* no swap accounting on this kernel */
  ch_cgroup_resources_init (&r);
  r.memory_limit = 32 << 20;
  r.memory_swap = 32 << 20;
  if (ch_cgroup_create_in (&h->l, path, &r, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  for (size_t i = 0; i < sizeof (steps) / sizeof (steps[0]); i++)
    {
      r.memory_limit = steps[i].mem;
      r.memory_swap = steps[i].sw;
      if (ch_cgroup_update (cg, &r, &err) < 0)
        fail_msg ("update %zu: %s", i, err->msg);
      cleanup_free char *gm = read_value (m, path, "memory.limit_in_bytes");
      cleanup_free char *gs = read_value (m, path, "memory.memsw.limit_in_bytes");
      assert_string_equal (gm, steps[i].want_mem);
      assert_string_equal (gs, steps[i].want_sw);
    }
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  assert_nothing_left (h);
}

/* The v2 backend on a real cgroup2 fs: this host's unified mount has no
 * controllers, but the core files (procs, freeze, events, kill, cpu.stat)
 * are the kernel's own. */
static void
test_v2_backend_on_unified (void **state)
{
  struct host *h = *state;
  struct ch_cgroup_layout l2;
  ch_error_t err = NULL;
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  struct ch_cgroup_stats st;
  cleanup_free char *path = xasprintf ("%s/v2", h->parent);
  int fds[2], status;
  pid_t pid;

  if (geteuid () != 0 || h->l.mode != CH_CGROUP_HYBRID)
    skip ();
  assert_int_equal (ch_cgroup_layout_from_dir (h->l.unified, &l2, &err), 0);
  assert_int_equal (l2.mode, CH_CGROUP_V2);
  assert_false (l2.fake);

  /* a limit whose controller this hierarchy lacks: named, nothing left */
  ch_cgroup_resources_init (&r);
  r.pids_limit = 4;
  assert_int_equal (ch_cgroup_create_in (&l2, path, &r, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "pids.max=4: controller not enabled"));
  ch_error_release (&err);
  assert_false (exists (h->l.unified, h->parent));

  if (ch_cgroup_create_in (&l2, path, NULL, &cg, &err) < 0)
    fail_msg ("create: %s", err->msg);
  pid = spawn_sleeper (fds);
  if (ch_cgroup_enter (cg, pid, &err) < 0)
    fail_msg ("enter: %s", err->msg);
  assert_int_equal (write (fds[1], "x", 1), 1);
  close (fds[1]);

  if (ch_cgroup_freeze (cg, true, &err) < 0)
    fail_msg ("freeze: %s", err->msg);
  {
    cleanup_free char *f = NULL;
    cleanup_free char *p = xasprintf ("%s/%s/cgroup.events", h->l.unified, path);
    assert_int_equal (ch_read_file (p, &f, NULL, &err), 0);
    assert_non_null (strstr (f, "frozen 1"));
  }
  if (ch_cgroup_freeze (cg, false, &err) < 0)
    fail_msg ("thaw: %s", err->msg);
  if (ch_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  /* no memory/pids controller here: those read as 0 */
  assert_int_equal (st.pids_current, 0);
  assert_int_equal (st.oom_kills, 0);

  /* cgroup.kill */
  if (ch_cgroup_kill_all (cg, SIGKILL, &err) < 0)
    fail_msg ("kill_all: %s", err->msg);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  if (ch_cgroup_destroy (cg, &err) < 0)
    fail_msg ("destroy: %s", err->msg);
  ch_cgroup_free (cg);
  ch_cgroup_layout_clear (&l2);
  assert_false (exists (h->l.unified, h->parent));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_lifecycle, scrub_all),
    cmocka_unit_test_teardown (test_bad_value_leaves_nothing, scrub_all),
    cmocka_unit_test_teardown (test_shared_parent, scrub_all),
    cmocka_unit_test_teardown (test_oom_counted, scrub_all),
    cmocka_unit_test_teardown (test_pids_and_kill_from_elsewhere, scrub_all),
    cmocka_unit_test_teardown (test_destroy_kills, scrub_all),
    cmocka_unit_test_teardown (test_join_without_procs_write, scrub_all),
    cmocka_unit_test_teardown (test_v1_update_memsw_order, scrub_all),
    cmocka_unit_test_teardown (test_v2_backend_on_unified, scrub_all),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
