/* `chuted deploy PATH`'s PATH: a chute directory, a chute file, or a chute
 * package unpacked by chuted-image into a private directory under ROOT.
 * The REST API's deploy reads its uploads through the same calls. */
#include "mgmt/deploy_source.h"
#include "common/file.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/desired.h"
#include "mgmt/engine_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_PREFIX "pkg-"

/* ParaDrop's name for the chute file, after ours. */
static const char *const chute_file_names[] = { "chute.yaml", "paradrop.yaml", NULL };

void
ch_deploy_source_close (struct ch_deploy_source *src)
{
  if (src->tmp)
    {
      cleanup_error ch_error_t e = NULL;
      if (ch_rm_rf (src->tmp, &e) < 0)
        fprintf (stderr, "chuted: warning: %s\n", e->msg);
    }
  free (src->file);
  free (src->dir);
  free (src->text);
  free (src->tmp);
  memset (src, 0, sizeof (*src));
}

static bool
is_package (const char *path)
{
  return ch_has_suffix (path, ".tar") || ch_has_suffix (path, ".tar.gz") || ch_has_suffix (path, ".tgz");
}

/* The chute file's name in DIR, NULL when it holds none. */
static const char *
chute_file_in (const char *dir)
{
  for (size_t i = 0; chute_file_names[i]; i++)
    {
      cleanup_free char *p = xasprintf ("%s/%s", dir, chute_file_names[i]);
      if (access (p, F_OK) == 0)
        return chute_file_names[i];
    }
  return NULL;
}

/* ROOT/deploy/tmp/pkg-PID-XXXXXX of deploys that died (killed, power cut)
 * before they removed their own: the pid in the name is gone. */
static void
sweep_tmp (const char *tmpdir)
{
  cleanup_dir DIR *d = opendir (tmpdir);
  struct dirent *de;

  while (d && (de = readdir (d)))
    {
      cleanup_error ch_error_t e = NULL;
      char *end;
      long pid;

      if (!ch_has_prefix (de->d_name, TMP_PREFIX))
        continue;
      pid = strtol (de->d_name + strlen (TMP_PREFIX), &end, 10);
      if (pid <= 0 || *end != '-' || pid == getpid () || kill ((pid_t) pid, 0) == 0 || errno != ESRCH)
        continue;
      ch_rm_rf_at (dirfd (d), de->d_name, &e);
    }
}

/* Unpack package PATH into a new SRC->tmp (the caller removes it). */
static int
unpack_package (struct ch_ctx *ctx, const char *path, struct ch_deploy_source *src, ch_error_t *err)
{
  cleanup_free char *deploy = ch_deploy_dir (ctx), *tmpdir = xasprintf ("%s/tmp", deploy);
  cleanup_free char *tool = xasprintf ("%s/chuted-image", ctx->bin_dir);
  struct ch_image_result res;
  int r;

  if (ch_mkdir_p (tmpdir, 0700, err) < 0)
    return -1;
  sweep_tmp (tmpdir);
  src->tmp = xasprintf ("%s/" TMP_PREFIX "%ld-XXXXXX", tmpdir, (long) getpid ());
  if (mkdtemp (src->tmp) == NULL)
    {
      r = ch_error (err, errno, "mkdtemp `%s`", src->tmp);
      free (src->tmp);
      src->tmp = NULL;
      return r;
    }
  {
    char *argv[] = { tool, "--root", (char *) ctx->root, "--run-root", (char *) ctx->run_root, "package", "unpack",
                     "--result-fd", "3", (char *) path, src->tmp, NULL };
    r = ch_image_run_child (argv, "chuted-image package", &res, err);
  }
  if (r == 0 && res.status != CH_IMAGE_OK)
    r = ch_image_result_error (&res, err);
  ch_image_result_clear (&res);
  return r;
}

static bool
is_dir_at (int dfd, const struct dirent *de)
{
  struct stat st;

  if (de->d_type != DT_UNKNOWN)
    return de->d_type == DT_DIR;
  return fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

/* A package's chute file: at its top, as ParaDrop's daemon looks for it, or
 * in its one top-level directory (`tar czf seccam.tar.gz seccam/`, GitHub's
 * archives). *SUB: that directory's name, or NULL. */
static const char *
package_chute_file (const char *top, char **sub)
{
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  char *only = NULL;
  const char *name;
  int n = 0;

  *sub = NULL;
  if ((name = chute_file_in (top)))
    return name;
  d = opendir (top);
  while (d && (de = readdir (d)))
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (n++ == 0 && is_dir_at (dirfd (d), de))
        only = xstrdup (de->d_name);
    }
  if (n == 1 && only)
    {
      cleanup_free char *dir = xasprintf ("%s/%s", top, only);
      if ((name = chute_file_in (dir)))
        {
          *sub = only;
          return name;
        }
    }
  free (only);
  return NULL;
}

static int
open_source (struct ch_ctx *ctx, const char *path, struct ch_deploy_source *src, ch_error_t *err)
{
  cleanup_free char *real = NULL;
  struct stat st;

  if (stat (path, &st) < 0)
    return ch_error (err, errno, "%s", path);
  if (S_ISDIR (st.st_mode))
    {
      const char *name = chute_file_in (path);
      if (name == NULL)
        return ch_error (err, 0, "%s: no chute.yaml (or paradrop.yaml) in this directory", path);
      src->dir = xstrdup (path);
      src->file = xasprintf ("%s%s%s", path, ch_has_suffix (path, "/") ? "" : "/", name);
      real = xstrdup (src->file);
    }
  else if (S_ISREG (st.st_mode) && is_package (path))
    {
      cleanup_free char *sub = NULL;
      const char *name;

      if (unpack_package (ctx, path, src, err) < 0)
        return -1;
      name = package_chute_file (src->tmp, &sub);
      if (name == NULL)
        return ch_error (err, 0,
                         "%s: no chute.yaml (or paradrop.yaml) at the package's top or in its one top-level directory",
                         path);
      src->dir = sub ? xasprintf ("%s/%s", src->tmp, sub) : xstrdup (src->tmp);
      src->file = xasprintf ("%s:%s%s%s", path, sub ? sub : "", sub ? "/" : "", name);
      real = xasprintf ("%s/%s", src->dir, name);
    }
  else
    {
      const char *slash = strrchr (path, '/');
      src->dir = slash ? xstrndup (path, slash == path ? 1 : (size_t) (slash - path)) : xstrdup (".");
      src->file = xstrdup (path);
      real = xstrdup (path);
    }
  if (ch_read_file_max (real, CH_CHUTE_FILE_MAX, &src->text, &src->len, err) < 0)
    return ch_error_prefix (err, "%s", src->file);
  return 0;
}

int
ch_deploy_source_open (struct ch_ctx *ctx, const char *path, struct ch_deploy_source *src, ch_error_t *err)
{
  memset (src, 0, sizeof (*src));
  if (open_source (ctx, path, src, err) == 0)
    return 0;
  ch_deploy_source_close (src);
  return -1;
}
