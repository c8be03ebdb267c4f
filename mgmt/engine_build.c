/* A chute built on the AP from its Dockerfile (the seed's `dockerfile:
 * {local: Dockerfile}`): the deploy builds it with `chuted build` in its
 * own phase, `building`, before the old version stops, and every version
 * runs the image its build left in the store, chute-NAME:VERSION, so a
 * rollback, a start or reconcile needs no build context. */
#include "common/util.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* dockerfile: and no image of its own (a pod's services name theirs) */
static bool
is_built (const struct ch_chutefile *m)
{
  return m->dockerfile.s && m->n_svc == 1 && m->svc[0].image.s == NULL;
}

void
ch_engine_built_image (struct ch_chutefile *m, const char *version)
{
  char *ref;

  if (!is_built (m))
    return;
  /* a repository name is lower case; a version is a valid tag already */
  ref = xasprintf ("localhost/chuted-build/%s:%s", m->chute.name, version);
  for (char *p = ref; *p != ':'; p++)
    *p = (char) tolower ((unsigned char) *p);
  m->svc[0].image.s = ref;
  free (m->chute.image);
  m->chute.image = xstrdup (ref);
  m->built = true;
}

int
ch_engine_build_check (const struct ch_chutefile *m, const char *dir, ch_error_t *err)
{
  cleanup_free char *file = NULL;
  struct stat st;

  if (!is_built (m))
    return 0;
  if (dir == NULL)
    return ch_chutefile_error (m, &m->dockerfile, err,
                               "a chute file sent alone has no directory to build in (send its directory or a chute package)");
  file = xasprintf ("%s/%s", dir, m->dockerfile.s);
  if (stat (file, &st) < 0 || !S_ISREG (st.st_mode))
    return ch_chutefile_error (m, &m->dockerfile, err, "`%s` is not in the chute's directory", m->dockerfile.s);
  return 0;
}

int
ch_engine_build (struct ch_engine *e, struct ch_change *c, const struct ch_chutefile *m, const char *dir,
                 ch_error_t *err)
{
  struct ch_ctx *ctx = e->ctx;
  cleanup_free char *file = NULL, *tool = NULL, *root = NULL;
  int status;
  pid_t pid;

  /* a file that names its image as well runs that one; DIR was checked
   * (ch_engine_build_check) before the change began */
  if (!m->built)
    return 0;
  file = xasprintf ("%s/%s", dir, m->dockerfile.s);
  tool = xasprintf ("%s/chuted-image", ctx->bin_dir);
  if (ch_engine_phase (e, c, "building", m->dockerfile.s, err) < 0)
    return -1;
  pid = fork ();
  if (pid < 0)
    return ch_error (err, errno, "fork");
  if (pid == 0)
    {
      char *argv[] = { tool, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "--cgroup-parent",
                       (char *) ctx->cgroup_parent, "build", "-q", "-t", m->chute.image, "-f", file, (char *) dir, NULL };
      /* the build's own lines (a failing RUN's output) go to our stderr;
       * its stdout (the image id) is not ours to print */
      int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0)
        dup2 (null, 1);
      execv (tool, argv);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ch_error (err, errno, "waitpid");
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  if (WIFEXITED (status))
    return ch_error (err, 0, "build of `%s` failed (chuted build exited %d; its error is above)", m->dockerfile.s,
                     WEXITSTATUS (status));
  return ch_error (err, 0, "build of `%s` killed by signal %d", m->dockerfile.s, WTERMSIG (status));
}
