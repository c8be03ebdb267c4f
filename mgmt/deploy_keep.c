/* A chute's image archives named by relative paths (`image:
 * oci-archive:seccam.tar`, docker-archive:, oci:DIR[:TAG]) are part of the
 * chute's directory: resolved against it, never out of it, and kept with
 * the version (ROOT/deploy/chutes/NAME/versions/V/) beside its chute file,
 * so a version started again (rollback, `chute start`, a reboot) finds the
 * very archive it was deployed with. Absolute paths are the host's files,
 * taken as written (not from a package). */
#include "mgmt/deploy_source.h"
#include "common/file.h"
#include "common/util.h"
#include "image/image.h"
#include "mgmt/desired.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct archive_ref
{
  char *transport;       /* "oci-archive:" ... */
  char *path;            /* the archive's path as written */
  const char *tail;      /* ":TAG" after it, or "" */
};

/* REF as an archive reference; false when it is a registry one. Its path is
 * the whole rest when that exists under DIR, else what comes before the
 * first ':' (import.c's split_src, against the chute's directory). */
static bool
archive_ref (const char *ref, const char *dir, struct archive_ref *a)
{
  const char *rest, *colon;

  memset (a, 0, sizeof (*a));
  if (!ch_import_is_transport (ref))
    return false;
  rest = strchr (ref, ':') + 1;
  a->transport = xstrndup (ref, rest - ref);
  colon = strchr (rest, ':');
  if (colon && *rest != '/' && dir)
    {
      cleanup_free char *whole = xasprintf ("%s/%s", dir, rest);
      if (access (whole, F_OK) == 0)
        colon = NULL;
    }
  else if (colon && access (rest, F_OK) == 0)
    colon = NULL;
  a->path = colon ? xstrndup (rest, colon - rest) : xstrdup (rest);
  a->tail = colon ? colon : "";
  return true;
}

/* A relative archive path must lead down into the chute's directory. */
static int
check_relative (const char *path, ch_error_t *err)
{
  const char *s = path;

  if (*path == '\0')
    return ch_error (err, 0, "empty archive path");
  while (*s)
    {
      const char *end = strchrnul (s, '/');
      if (end - s == 2 && s[0] == '.' && s[1] == '.')
        return ch_error (err, 0, "`%s` leaves the chute's directory", path);
      s = *end ? end + 1 : end;
    }
  return 0;
}

int
ch_deploy_source_check_images (const struct ch_deploy_source *src, const struct ch_chutefile *m, ch_error_t *err)
{
  for (size_t i = 0; i < m->n_svc; i++)
    {
      const struct ch_mval *v = &m->svc[i].image;
      struct archive_ref a;
      cleanup_free char *full = NULL;
      int r = 0;

      if (v->s == NULL || !archive_ref (v->s, src->dir, &a))
        continue;
      if (*a.path == '/')
        {
          if (src->tmp)
            r = ch_error (err, 0, "a chute package names its own files only, not the host's `%s`", a.path);
        }
      else if (src->dir == NULL)
        r = ch_error (err, 0, "`%s`: a chute file sent alone has no directory to find it in (send a chute package)",
                      a.path);
      else if ((r = check_relative (a.path, err)) == 0)
        {
          full = xasprintf ("%s/%s", src->dir, a.path);
          if (access (full, F_OK) < 0)
            r = ch_error (err, errno == ENOENT ? 0 : errno, "`%s` is not in the chute's directory", a.path);
        }
      free (a.path);
      free (a.transport);
      if (r < 0)
        return ch_chutefile_error (m, v, err, "%s", (*err)->msg);
    }
  return 0;
}

void
ch_deploy_images_at (struct ch_chutefile *m, const char *dir)
{
  for (size_t i = 0; i < m->n_svc; i++)
    {
      struct ch_mval *v = &m->svc[i].image;
      struct archive_ref a;
      char *ref;

      if (v->s == NULL || !archive_ref (v->s, dir, &a))
        continue;
      if (*a.path != '/')
        {
          ref = xasprintf ("%s%s/%s%s", a.transport, dir, a.path, a.tail);
          if (i == 0 && m->chute.image && strcmp (m->chute.image, v->s) == 0)
            {
              free (m->chute.image);
              m->chute.image = xstrdup (ref);
            }
          free (v->s);
          v->s = ref;
        }
      free (a.path);
      free (a.transport);
    }
}

static int
fsync_path (int dfd, const char *name, ch_error_t *err)
{
  cleanup_close int fd = openat (dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0 || fsync (fd) < 0)
    return ch_error (err, errno, "fsync `%s`", name);
  return 0;
}

static int
copy_file (int sfd, int dfd, const char *name, ch_error_t *err)
{
  cleanup_close int out = openat (dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  ssize_t n = 0;

  if (out < 0)
    return ch_error (err, errno, "create `%s`", name);
  /* a reflink where the filesystem has them, else an in-kernel copy */
  if (ioctl (out, FICLONE, sfd) < 0)
    while ((n = copy_file_range (sfd, NULL, out, NULL, 1 << 30, 0)) > 0)
      ;
  if (n < 0)
    return ch_error (err, errno, "copy `%s`", name);
  if (fsync (out) < 0)
    return ch_error (err, errno, "fsync `%s`", name);
  return 0;
}

/* Copy SNAME under SFD (a file or an OCI layout's tree) to DNAME under DFD,
 * durably; MOVE: it is ours (a package's), renamed instead, then synced. */
static int
place (int sfd, const char *sname, int dfd, const char *dname, bool move, ch_error_t *err)
{
  cleanup_close int in = openat (sfd, sname, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  cleanup_dir DIR *d = NULL;
  struct dirent *de;
  struct stat st, lst;
  int out;

  if (in < 0 || fstat (in, &st) < 0 || fstatat (sfd, sname, &lst, AT_SYMLINK_NOFOLLOW) < 0)
    return ch_error (err, errno, "open `%s`", sname);
  if (S_ISREG (st.st_mode))
    {
      /* a link (pointing down the package) is replaced by what it names */
      if (move && !S_ISLNK (lst.st_mode))
        return renameat (sfd, sname, dfd, dname) < 0 ? ch_error (err, errno, "rename `%s`", sname)
                                                       : fsync_path (dfd, dname, err);
      return copy_file (in, dfd, dname, err);
    }
  if (!S_ISDIR (st.st_mode))
    return ch_error (err, EINVAL, "`%s`: neither a file nor a directory", sname);
  if (mkdirat (dfd, dname, 0700) < 0)
    return ch_error (err, errno, "mkdir `%s`", dname);
  out = openat (dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out < 0)
    return ch_error (err, errno, "open `%s`", dname);
  d = fdopendir (in);
  if (d == NULL)
    {
      close (out);
      return ch_error (err, errno, "open `%s`", sname);
    }
  in = -1;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..")
        && place (dirfd (d), de->d_name, out, de->d_name, move, err) < 0)
      {
        close (out);
        return ch_error_prefix (err, "%s", sname);
      }
  if (fsync (out) < 0)
    {
      close (out);
      return ch_error (err, errno, "fsync `%s`", dname);
    }
  close (out);
  return 0;
}

/* DIR/PATH into VDIR/PATH, its parents made, what was there replaced. */
static int
keep_one (const char *dir, const char *vdir, const char *path, bool move, ch_error_t *err)
{
  cleanup_free char *dst = xasprintf ("%s/%s", vdir, path), *parent = NULL;
  cleanup_close int sfd = -1, dfd = -1;
  const char *slash = strrchr (dst, '/');

  parent = xstrndup (dst, slash - dst);
  if (ch_rm_rf (dst, err) < 0 || ch_mkdir_p (parent, 0700, err) < 0)
    return -1;
  sfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  dfd = open (parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0 || dfd < 0)
    return ch_error (err, errno, "open `%s`", sfd < 0 ? dir : parent);
  if (place (sfd, path, dfd, slash + 1, move, err) < 0)
    {
      cleanup_error ch_error_t e = NULL;
      ch_rm_rf (dst, &e);
      return -1;
    }
  if (fsync (dfd) < 0)
    return ch_error (err, errno, "fsync `%s`", parent);
  return 0;
}

int
ch_deploy_keep_images (struct ch_ctx *ctx, const char *name, const char *version, struct ch_chutefile *m,
                       const char *dir, bool move, ch_error_t *err)
{
  cleanup_free char *file = ch_desired_version_file (ctx, name, version);
  cleanup_free char *vdir = xstrndup (file, strrchr (file, '/') - file);
  cleanup_strv char **done = NULL;

  if (dir == NULL)
    return 0;
  for (size_t i = 0; i < m->n_svc; i++)
    {
      struct archive_ref a;
      int r = 0;

      if (m->svc[i].image.s == NULL || !archive_ref (m->svc[i].image.s, dir, &a))
        continue;
      /* services sharing one archive: kept once */
      if (*a.path != '/' && !ch_strv_contains (done, a.path))
        {
          r = keep_one (dir, vdir, a.path, move, err);
          ch_strv_append (&done, a.path);
        }
      free (a.path);
      free (a.transport);
      if (r < 0)
        return ch_error_prefix (err, "keep the image archive of version %s", version);
    }
  ch_deploy_images_at (m, vdir);
  return 0;
}
