/* A created or running container's cgroup, for runc's pause, resume,
 * update and ps: found through the state, never rebuilt from a name. */
#include "runtime/init.h"

#include "cgroups/cgroup.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>

static int
open_cgroup (const char *state_dir, const char *what, struct ch_cgroup **cg, ch_error_t *err)
{
  struct ch_state st;
  int ret = -1;

  if (ch_state_load (state_dir, &st, err) < 0)
    return -1;
  if (st.status == CH_STATUS_STOPPED)
    ch_error (err, 0, "%s: container `%s` is not running", what, st.id);
  else if (st.cgroup_path == NULL)
    ch_error (err, 0, "%s: container `%s` has no cgroup", what, st.id);
  else if (ch_cgroup_open (st.cgroup_path, cg, err) == 0)
    ret = 0;
  ch_state_clear (&st);
  return ret;
}

int
ch_container_pause (const char *state_dir, bool pause, ch_error_t *err)
{
  struct ch_cgroup *cg = NULL;
  int ret;

  if (open_cgroup (state_dir, pause ? "pause" : "resume", &cg, err) < 0)
    return -1;
  ret = ch_cgroup_freeze (cg, pause, err);
  ch_cgroup_free (cg);
  return ret;
}

int
ch_container_paused (const char *state_dir, bool *paused, ch_error_t *err)
{
  struct ch_cgroup *cg = NULL;
  int ret;

  *paused = false;
  if (open_cgroup (state_dir, "state", &cg, err) < 0)
    return -1;
  ret = ch_cgroup_frozen (cg, paused, err);
  ch_cgroup_free (cg);
  return ret;
}

int
ch_container_update (const char *state_dir, json_t *resources, ch_error_t *err)
{
  struct ch_cgroup_resources r;
  struct ch_cgroup *cg = NULL;
  int ret = -1;

  ch_cgroup_resources_init (&r);
  if (ch_spec_parse_resources (&r, resources, err) < 0)
    goto out;
  if (open_cgroup (state_dir, "update", &cg, err) < 0)
    goto out;
  ret = ch_cgroup_update (cg, &r, err);
out:
  ch_cgroup_free (cg);
  ch_cgroup_resources_clear (&r);
  return ret;
}

int
ch_container_pids (const char *state_dir, pid_t **pids, size_t *n, ch_error_t *err)
{
  struct ch_cgroup *cg = NULL;
  int ret;

  if (open_cgroup (state_dir, "ps", &cg, err) < 0)
    return -1;
  ret = ch_cgroup_procs (cg, pids, n, err);
  ch_cgroup_free (cg);
  return ret;
}
