/* Layer unpack. libarchive only reads (decompression + tar parsing); every
 * write goes through fds resolved inside the layer root with openat2
 * RESOLVE_IN_ROOT, so `..`, absolute symlinks and links planted by earlier
 * entries are clamped to the root instead of trusted by a string check.
 * Whiteouts become overlayfs ones (char 0:0, trusted.overlay.opaque=y), so a
 * layer is unpacked once and stacked by any number of chutes. */
#include "internal.h"
#include "common/file.h"
#include "common/path.h"
#include "common/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

/* What an entry costs besides its content (inode, dirent): makes a bomb of
 * millions of empty files hit the limit too. */
#define ENTRY_COST 512

struct unpack
{
  int rootfd;
  const struct ch_unpack_opts *opts;
  struct ch_unpack_stats *st;
  uint64_t limit;
  char *parent;  /* last parent dir resolved, and its fd */
  int parent_fd;
};

static void
forget_parent (struct unpack *u)
{
  free (u->parent);
  u->parent = NULL;
  if (u->parent_fd >= 0)
    close (u->parent_fd);
  u->parent_fd = -1;
}

/* Normalise an entry name to "a/b/c" (no "." or empty components); "" for the
 * root. A ".." component or an absolute path is refused outright. */
static int
clean_path (const char *p, char **out, ch_error_t *err)
{
  struct ch_buf b = { 0 };
  const char *s = p;

  if (*p == '/')
    return ch_error (err, 0, "entry `%s`: absolute path", p);
  while (*s)
    {
      const char *e = strchrnul (s, '/');
      size_t n = e - s;
      if (n == 2 && s[0] == '.' && s[1] == '.')
        {
          free (b.data);
          return ch_error (err, 0, "entry `%s`: `..` would leave the root", p);
        }
      if (n > 0 && !(n == 1 && s[0] == '.'))
        {
          if (b.len)
            ch_buf_append (&b, "/", 1);
          ch_buf_append (&b, s, n);
        }
      s = *e ? e + 1 : e;
    }
  ch_buf_append (&b, "", 1);
  *out = ch_buf_steal (&b);
  return 0;
}

/* fd (O_PATH) of PATH's parent inside the root, created if missing; *NAME
 * points into PATH. The fd stays owned by U. */
static int
parent_of (struct unpack *u, char *path, const char **name, ch_error_t *err)
{
  char *slash = strrchr (path, '/');
  const char *dir = "";
  int fd;

  if (slash)
    {
      *slash = '\0';
      dir = path;
      *name = slash + 1;
    }
  else
    *name = path;
  if (u->parent && strcmp (u->parent, dir) == 0)
    {
      if (slash)
        *slash = '/';
      return u->parent_fd;
    }
  forget_parent (u);
  {
    cleanup_error ch_error_t e = NULL;
    fd = ch_open_in_root (u->rootfd, dir, O_PATH | O_DIRECTORY, 0, &e);
    if (fd < 0 && e->status == ENOENT)
      fd = ch_mkdir_in_root (u->rootfd, dir, 0755, err);
    else if (fd < 0)
      {
        *err = steal_pointer (&e);
      }
  }
  if (fd < 0)
    {
      if (slash)
        *slash = '/';
      return ch_error_prefix (err, "entry `%s`", path);
    }
  u->parent = xstrdup (dir);
  u->parent_fd = fd;
  if (slash)
    *slash = '/';
  return fd;
}

/* Make room for NAME: whatever is there goes, a directory too unless KEEP_DIR. */
static int
clear_name (struct unpack *u, int pfd, const char *name, bool keep_dir, bool *is_dir, ch_error_t *err)
{
  struct stat st;

  *is_dir = false;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : ch_error (err, errno, "stat `%s`", name);
  if (S_ISDIR (st.st_mode))
    {
      if (keep_dir)
        {
          *is_dir = true;
          return 0;
        }
      return ch_rm_rf_at (pfd, name, err);
    }
  if (unlinkat (pfd, name, 0) < 0)
    return ch_error (err, errno, "unlink `%s`", name);
  return 0;
}

static bool
xattr_allowed (const char *name)
{
  /* trusted.overlay.* / user.overlay.* from a layer would forge whiteouts or
   * redirects in our overlay stack. */
  if (strcmp (name, "security.capability") == 0)
    return true;
  return ch_has_prefix (name, "user.") && !ch_has_prefix (name, "user.overlay.");
}

static int
apply_meta (struct unpack *u, int fd, struct archive_entry *e, bool times, ch_error_t *err)
{
  const char *xn;
  const void *xv;
  size_t xl;

  if (fchown (fd, archive_entry_uid (e), archive_entry_gid (e)) < 0 && errno != EPERM)
    return ch_error (err, errno, "chown");
  /* after chown, which clears setuid bits */
  if (fchmod (fd, archive_entry_mode (e) & 07777) < 0)
    return ch_error (err, errno, "chmod");
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &xn, &xv, &xl) == ARCHIVE_OK)
    if (xattr_allowed (xn))
      (void) fsetxattr (fd, xn, xv, xl, 0); /* best effort: not every fs takes user.* */
  if (times)
    {
      struct timespec ts[2] = { { archive_entry_mtime (e), archive_entry_mtime_nsec (e) },
                                { archive_entry_mtime (e), archive_entry_mtime_nsec (e) } };
      (void) futimens (fd, ts);
    }
  return 0;
}

static int
account (struct unpack *u, uint64_t bytes, ch_error_t *err)
{
  if (u->st->bytes + bytes > u->limit || u->st->bytes + bytes < u->st->bytes)
    return ch_image_error (err, EFBIG, "unpacked content exceeds the disk limit of %llu bytes",
                     (unsigned long long) u->limit);
  u->st->bytes += bytes;
  return 0;
}

static int
write_data (struct unpack *u, struct archive *a, int fd, struct archive_entry *e, ch_error_t *err)
{
  const void *buf;
  size_t len;
  la_int64_t off, end = 0;
  int r;

  for (;;)
    {
      r = archive_read_data_block (a, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return ch_error (err, 0, "read data: %s", archive_error_string (a));
      if (off < 0 || (uint64_t) off + len < (uint64_t) end)
        return ch_error (err, 0, "bad data offset");
      /* the declared size was charged already; anything past it is a lie */
      if ((uint64_t) off + len > (uint64_t) archive_entry_size (e))
        return ch_error (err, 0, "more data than the %lld bytes declared", (long long) archive_entry_size (e));
      if (off != end && lseek (fd, off, SEEK_SET) < 0)
        return ch_error (err, errno, "seek");
      if (ch_write_all (fd, buf, len, err) < 0)
        return -1;
      end = off + len;
    }
  if (end < archive_entry_size (e) && ftruncate (fd, archive_entry_size (e)) < 0)
    return ch_error (err, errno, "truncate");
  return 0;
}

static int
do_whiteout (struct unpack *u, char *path, const char *base, ch_error_t *err)
{
  const char *name;
  int pfd;
  bool d;

  if (strcmp (base, ".wh..wh..opq") == 0)
    {
      cleanup_close int dfd = -1;
      char *slash = strrchr (path, '/');
      if (slash)
        *slash = '\0';
      else
        path[0] = '\0';
      forget_parent (u);
      dfd = ch_mkdir_in_root (u->rootfd, path, 0755, err);
      if (dfd >= 0)
        {
          close (dfd);
          dfd = ch_open_in_root (u->rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, err);
        }
      if (dfd < 0)
        return -1;
      if (fsetxattr (dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return ch_error (err, errno, "opaque whiteout on `/%s`", path);
      return 0;
    }
  if (ch_has_prefix (base, ".wh..wh."))
    return 0; /* aufs bookkeeping (.wh..wh.plnk etc.): not content */
  pfd = parent_of (u, path, &name, err);
  if (pfd < 0)
    return -1;
  name += 4;
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return ch_error (err, 0, "entry `%s`: invalid whiteout", path);
  if (clear_name (u, pfd, name, false, &d, err) < 0)
    return -1;
  forget_parent (u);
  pfd = parent_of (u, path, &name, err);
  if (pfd < 0)
    return -1;
  if (mknodat (pfd, name + 4, S_IFCHR | 0, makedev (0, 0)) < 0)
    return ch_error (err, errno, "whiteout `%s`", path);
  return 0;
}

static int
do_entry (struct unpack *u, struct archive *a, struct archive_entry *e, ch_error_t *err)
{
  cleanup_free char *path = NULL;
  const char *raw = archive_entry_pathname (e), *name, *base, *link;
  mode_t type = archive_entry_filetype (e);
  int pfd;
  bool isdir;

  if (raw == NULL)
    return ch_error (err, 0, "entry without a name");
  if (clean_path (raw, &path, err) < 0)
    return -1;
  u->st->entries++;
  if (account (u, ENTRY_COST, err) < 0)
    return -1;
  if (*path == '\0')
    {
      /* "/." as a symlink (umoci CVE-2021-29136) would swap the root itself */
      if (type == AE_IFDIR && archive_entry_hardlink (e) == NULL)
        return 0;
      return ch_error (err, 0, "entry `%s`: would replace the root", raw);
    }
  base = strrchr (path, '/');
  base = base ? base + 1 : path;
  if (ch_has_prefix (base, ".wh."))
    return do_whiteout (u, path, base, err);

  link = archive_entry_hardlink (e);
  if (link)
    {
      cleanup_free char *target = NULL;
      cleanup_close int tfd = -1;
      struct stat st;

      if (clean_path (link, &target, err) < 0)
        return ch_error_prefix (err, "hardlink `%s`", raw);
      tfd = ch_open_in_root (u->rootfd, target, O_PATH | O_NOFOLLOW, 0, err);
      if (tfd < 0)
        return ch_error_prefix (err, "hardlink `%s`", raw);
      if (fstat (tfd, &st) < 0 || S_ISDIR (st.st_mode))
        return ch_image_error (err, EPERM, "hardlink `%s` to directory `%s`", raw, link);
      if ((pfd = parent_of (u, path, &name, err)) < 0 || clear_name (u, pfd, name, false, &isdir, err) < 0)
        return -1;
      if (linkat (tfd, "", pfd, name, AT_EMPTY_PATH) < 0)
        return ch_error (err, errno, "hardlink `%s` -> `%s`", raw, link);
      return 0;
    }

  if ((pfd = parent_of (u, path, &name, err)) < 0)
    return -1;
  switch (type)
    {
    case AE_IFDIR:
      {
        cleanup_close int fd = -1;
        if (clear_name (u, pfd, name, true, &isdir, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        if (!isdir && mkdirat (pfd, name, 0700) < 0)
          return ch_error (err, errno, "mkdir `%s`", raw);
        fd = openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
          return ch_error (err, errno, "open `%s`", raw);
        if (apply_meta (u, fd, e, false, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        return 0;
      }
    case AE_IFREG:
      {
        cleanup_close int fd = -1;
        if (archive_entry_size (e) < 0 || account (u, archive_entry_size (e), err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        if (clear_name (u, pfd, name, false, &isdir, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        if (isdir)
          forget_parent (u);
        fd = openat (pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
          return ch_error (err, errno, "create `%s`", raw);
        if (write_data (u, a, fd, e, err) < 0 || apply_meta (u, fd, e, true, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        return 0;
      }
    case AE_IFLNK:
      {
        const char *target = archive_entry_symlink (e);
        struct timespec ts[2] = { { archive_entry_mtime (e), 0 }, { archive_entry_mtime (e), 0 } };
        if (target == NULL || *target == '\0')
          return ch_error (err, 0, "entry `%s`: symlink without a target", raw);
        if (clear_name (u, pfd, name, false, &isdir, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        /* the target is stored as is: it is only ever resolved inside a root */
        if (symlinkat (target, pfd, name) < 0)
          return ch_error (err, errno, "symlink `%s`", raw);
        if (fchownat (pfd, name, archive_entry_uid (e), archive_entry_gid (e), AT_SYMLINK_NOFOLLOW) < 0
            && errno != EPERM)
          return ch_error (err, errno, "chown `%s`", raw);
        (void) utimensat (pfd, name, ts, AT_SYMLINK_NOFOLLOW);
        forget_parent (u);
        return 0;
      }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
    case AE_IFSOCK:
      if (!u->opts->keep_devices || type == AE_IFSOCK)
        {
          u->st->dropped++;
          return 0;
        }
      if (clear_name (u, pfd, name, false, &isdir, err) < 0)
        return ch_error_prefix (err, "entry `%s`", raw);
      if (mknodat (pfd, name, type | (archive_entry_mode (e) & 07777), archive_entry_rdev (e)) < 0)
        return ch_error (err, errno, "mknod `%s`", raw);
      if (fchownat (pfd, name, archive_entry_uid (e), archive_entry_gid (e), AT_SYMLINK_NOFOLLOW) < 0
          && errno != EPERM)
        return ch_error (err, errno, "chown `%s`", raw);
      return 0;
    default:
      return ch_error (err, 0, "entry `%s`: unsupported file type 0%o", raw, (unsigned) type);
    }
}

int
ch_unpack_fd (int fd, int rootfd, const struct ch_unpack_opts *opts, struct ch_unpack_stats *stats, ch_error_t *err)
{
  struct archive *a = archive_read_new ();
  struct archive_entry *e;
  struct unpack u = { .rootfd = rootfd, .opts = opts, .st = stats, .parent_fd = -1 };
  int r, ret = 0;

  memset (stats, 0, sizeof (*stats));
  u.limit = opts->limit ? opts->limit : CH_DEFAULT_DISK_LIMIT;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_filter_none (a);
  archive_read_support_format_tar (a);
  archive_read_support_format_empty (a);
  if (archive_read_open_fd (a, fd, 128 * 1024) != ARCHIVE_OK)
    {
      ret = ch_error (err, 0, "not a tar archive: %s", archive_error_string (a));
      goto out;
    }
  for (;;)
    {
      r = archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          ret = ch_error (err, 0, "bad tar: %s", archive_error_string (a));
          goto out;
        }
      if (do_entry (&u, a, e, err) < 0)
        {
          ret = -1;
          goto out;
        }
    }
out:
  forget_parent (&u);
  archive_read_free (a);
  return ret;
}

int
ch_store_unpack_layer (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts,
                       uint64_t *size_out, ch_error_t *err)
{
  cleanup_free char *dir = ch_store_layer_dir (s, l->digest);
  cleanup_free char *tmp = NULL, *fs = NULL, *blob = NULL, *sz = NULL;
  cleanup_close int bfd = -1, rootfd = -1;
  struct ch_unpack_stats st;
  char buf[32];
  int n;

  if (ch_store_layer_size (s, l->digest, size_out) == 0)
    return 0;
  tmp = xasprintf ("%s/layer-%.12s-XXXXXX", s->tmp, l->digest + 7);
  if (mkdtemp (tmp) == NULL)
    return ch_error (err, errno, "layer %s: mkdtemp in `%s`", l->digest, s->tmp);
  fs = xasprintf ("%s/fs", tmp);
  blob = ch_store_blob_path (s, l->digest);
  if (mkdir (fs, 0755) < 0)
    {
      ch_error (err, errno, "mkdir `%s`", fs);
      goto fail;
    }
  rootfd = open (fs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  bfd = open (blob, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (rootfd < 0 || bfd < 0)
    {
      ch_error (err, errno, "open `%s`", rootfd < 0 ? fs : blob);
      goto fail;
    }
  if (ch_unpack_fd (bfd, rootfd, opts, &st, err) < 0)
    goto fail;
  n = snprintf (buf, sizeof (buf), "%llu\n", (unsigned long long) st.bytes);
  sz = xasprintf ("%s/size", tmp);
  if (ch_write_file (sz, buf, n, 0644, err) < 0)
    goto fail;
  if (rename (tmp, dir) < 0)
    {
      /* someone else finished the same layer first: theirs is as good */
      if ((errno == EEXIST || errno == ENOTEMPTY) && ch_store_layer_size (s, l->digest, size_out) == 0)
        {
          cleanup_error ch_error_t e = NULL;
          ch_rm_rf (tmp, &e);
          return 0;
        }
      ch_error (err, errno, "rename `%s` into place", tmp);
      goto fail;
    }
  if (st.dropped)
    fprintf (stderr, "chuted-image: layer %s: %llu device nodes/FIFOs dropped (unprivileged)\n", l->digest,
             (unsigned long long) st.dropped);
  *size_out = st.bytes;
  return 0;
fail:
  {
    cleanup_error ch_error_t e = NULL;
    ch_rm_rf (tmp, &e);
  }
  return ch_error_prefix (err, "layer %s", l->digest);
}

/* Unpack layer I in a child process; its error line comes back through a pipe. */
static pid_t
unpack_child (struct ch_store *s, const struct ch_layer *l, const struct ch_unpack_opts *opts, int *rfd,
              ch_error_t *err)
{
  int p[2];
  pid_t pid;

  if (pipe2 (p, O_CLOEXEC) < 0)
    return ch_error (err, errno, "pipe");
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return ch_error (err, errno, "fork");
    }
  if (pid == 0)
    {
      ch_error_t e = NULL;
      uint64_t sz;
      close (p[0]);
      if (ch_store_unpack_layer (s, l, opts, &sz, &e) < 0)
        {
          (void) ch_write_all (p[1], e->msg, strlen (e->msg), &(ch_error_t){ NULL });
          _exit (1);
        }
      _exit (0);
    }
  close (p[1]);
  *rfd = p[0];
  return pid;
}

/* Layers are independent directories: unpack the missing ones in parallel
 * (one process each, up to the CPU count), since unpacking is bound by file
 * creation in the kernel. Each layer is bounded by the limit on its own, and
 * the sum is checked once all are there. */
int
ch_store_unpack_image (struct ch_store *s, struct ch_image *img, const struct ch_unpack_opts *opts, ch_error_t *err)
{
  uint64_t limit = opts->limit ? opts->limit : CH_DEFAULT_DISK_LIMIT, sz;
  size_t n = img->manifest->n_layers, i, next = 0, running = 0, missing = 0;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  size_t jobs = cpus > 1 ? (size_t) cpus : 1;
  struct ch_unpack_opts o = *opts;
  pid_t *pids;
  int *fds, ret = 0;
  char **msgs;

  o.limit = limit;
  for (i = 0; i < n; i++)
    missing += ch_store_layer_size (s, img->manifest->layers[i].digest, &sz) < 0;
  if (missing <= 1 || jobs == 1)
    {
      for (i = 0; i < n; i++)
        {
          if (ch_store_unpack_layer (s, &img->manifest->layers[i], &o, &sz, err) < 0)
            return -1;
        }
      return ch_store_image_size (s, img, limit, NULL, err);
    }
  pids = xzalloc (sizeof (*pids) * n);
  fds = xzalloc (sizeof (*fds) * n);
  msgs = xzalloc (sizeof (*msgs) * n);
  for (i = 0; i < n; i++)
    fds[i] = -1;
  while (next < n || running > 0)
    {
      int st = 0;
      while (ret == 0 && next < n && running < jobs)
        {
          if (ch_store_layer_size (s, img->manifest->layers[next].digest, &sz) == 0)
            {
              next++;
              continue;
            }
          pids[next] = unpack_child (s, &img->manifest->layers[next], &o, &fds[next], err);
          if (pids[next] < 0)
            {
              pids[next] = 0;
              ret = -1;
              break;
            }
          next++;
          running++;
        }
      if (running == 0)
        break;
      /* a child's pipe reaches EOF when it exits: wait for exactly our children */
      {
        struct pollfd *pf = xzalloc (sizeof (*pf) * running);
        size_t *idx = xzalloc (sizeof (*idx) * running), k = 0, j;
        for (i = 0; i < n; i++)
          if (pids[i] > 0)
            {
              pf[k].fd = fds[i];
              pf[k].events = POLLIN;
              idx[k++] = i;
            }
        while (poll (pf, k, -1) < 0 && errno == EINTR)
          ;
        for (j = 0; j < k; j++)
          {
            cleanup_error ch_error_t e = NULL;
            char *msg = NULL;
            size_t len = 0;
            i = idx[j];
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
              continue;
            (void) ch_read_fd (fds[i], &msg, &len, &e);
            while (waitpid (pids[i], &st, 0) < 0 && errno == EINTR)
              ;
            pids[i] = 0;
            running--;
            close (fds[i]);
            fds[i] = -1;
            if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
              {
                msgs[i] = len ? msg : xasprintf ("layer %s: unpack died", img->manifest->layers[i].digest);
                if (len == 0)
                  free (msg);
                msg = NULL;
                if (ret == 0)
                  ret = 1;
              }
            free (msg);
          }
        free (pf);
        free (idx);
      }
    }
  /* the first failing layer in manifest order names the error */
  if (ret > 0)
    for (i = 0; i < n; i++)
      if (msgs[i])
        {
          ret = ch_error (err, 0, "%s", msgs[i]);
          break;
        }
  for (i = 0; i < n; i++)
    {
      if (pids[i] > 0)
        waitpid (pids[i], NULL, 0);
      if (fds[i] >= 0)
        close (fds[i]);
      free (msgs[i]);
    }
  free (pids);
  free (fds);
  free (msgs);
  if (ret < 0)
    return -1;
  return ch_store_image_size (s, img, limit, NULL, err);
}
