/* Joining a chute's cgroup without a cgroup.procs write (see cgroup.h). */
#include "cgroups/cgroup.h"
#include "cgroups/internal.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int
ch_cgroup_join_open (struct ch_cgroup *cg, struct ch_cgroup_join *j, ch_error_t *err)
{
  *j = (struct ch_cgroup_join){ .v2_fd = -1 };
  /* a fake tree (unit tests) has no kernel behind it to join */
  if (cg->fake)
    return 0;
  j->tasks_fds = xzalloc (cg->n_hier * sizeof (*j->tasks_fds));
  j->tasks_names = xzalloc (cg->n_hier * sizeof (*j->tasks_names));
  for (size_t i = 0; i < cg->n_hier; i++)
    {
      cleanup_free char *p = NULL;
      int fd;

      if ((int) i == cg->unified)
        {
          j->v2_fd = open (cg->hier[i].dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
          if (j->v2_fd < 0)
            goto fail;
          continue;
        }
      p = xasprintf ("%s/tasks", cg->hier[i].dir);
      fd = open (p, O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        goto fail;
      j->tasks_names[j->n_tasks] = cg->hier[i].name;
      j->tasks_fds[j->n_tasks++] = fd;
      continue;
    fail:
      {
        int e = errno;
        ch_cgroup_join_close (j);
        return ch_error (err, e, "cgroup %s (%s): open", cg->path, cg->hier[i].name);
      }
    }
  return 0;
}

int
ch_cgroup_join_self (const struct ch_cgroup_join *j, ch_error_t *err)
{
  for (size_t i = 0; i < j->n_tasks; i++)
    if (write (j->tasks_fds[i], "0", 1) != 1)
      return ch_error (err, errno, "join cgroup (%s)", j->tasks_names[i]);
  return 0;
}

int
ch_cgroup_enter_v2 (struct ch_cgroup *cg, pid_t pid, ch_error_t *err)
{
  cleanup_free char *v = xasprintf ("%d", (int) pid);

  if (cg->unified < 0)
    return 0;
  if (cg_write (cg->fake, cg->hier[cg->unified].dir, "cgroup.procs", v, err) < 0)
    return ch_error_prefix (err, "cgroup %s (%s)", cg->path, cg->hier[cg->unified].name);
  return 0;
}

void
ch_cgroup_join_close (struct ch_cgroup_join *j)
{
  for (size_t i = 0; i < j->n_tasks; i++)
    close (j->tasks_fds[i]);
  if (j->v2_fd >= 0)
    close (j->v2_fd);
  free (j->tasks_fds);
  free (j->tasks_names);
  *j = (struct ch_cgroup_join){ .v2_fd = -1 };
}
