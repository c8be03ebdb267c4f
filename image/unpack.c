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
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

/* What an entry costs besides its data blocks (inode, dirent): makes a bomb
 * of millions of empty files hit the limit too. */
#define ENTRY_COST 512
/* ext4 keeps a symlink target shorter than this in the inode */
#define INLINE_SYMLINK 60

struct unpack
{
  int rootfd;
  const struct ch_unpack_opts *opts;
  struct ch_unpack_stats *st;
  uint64_t limit;
  uint64_t block; /* the filesystem's block size: data is charged as whole blocks */
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

  if (!u->opts->package && fchown (fd, archive_entry_uid (e), archive_entry_gid (e)) < 0 && errno != EPERM)
    return ch_error (err, errno, "chown");
  /* after chown, which clears setuid bits */
  if (fchmod (fd, archive_entry_mode (e) & 07777) < 0)
    return ch_error (err, errno, "chmod");
  archive_entry_xattr_reset (e);
  while (!u->opts->package && archive_entry_xattr_next (e, &xn, &xv, &xl) == ARCHIVE_OK)
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

/* BYTES of data as the whole blocks the filesystem allocates for them: a
 * one-byte file takes a block, not a byte. */
static int
account_blocks (struct unpack *u, uint64_t bytes, ch_error_t *err)
{
  uint64_t rounded = (bytes + u->block - 1) / u->block * u->block;

  if (rounded < bytes)
    return account (u, UINT64_MAX, err);
  return account (u, rounded, err);
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

/* What a chute package may not hold. Its symlinks point down only: with no
 * `..` in any target nor entry name, no chain of links resolves out of the
 * package, wherever its parents lead, so the chute's files can be read
 * from it with plain paths. */
static int
package_refuses (const char *raw, struct archive_entry *e, ch_error_t *err)
{
  mode_t type = archive_entry_filetype (e);
  const char *target = archive_entry_symlink (e);

  if (type != AE_IFDIR && type != AE_IFREG && type != AE_IFLNK)
    return ch_image_error (err, EPERM, "entry `%s`: a device node, FIFO or socket has no place in a chute package",
                           raw);
  if (archive_entry_mode (e) & (S_ISUID | S_ISGID))
    return ch_image_error (err, EPERM, "entry `%s`: setuid/setgid files have no place in a chute package", raw);
  if (type == AE_IFLNK && target)
    {
      const char *s = target;
      if (*target == '/')
        return ch_image_error (err, EPERM, "symlink `%s` -> `%s`: points out of the package", raw, target);
      while (*s)
        {
          const char *end = strchrnul (s, '/');
          if (end - s == 2 && s[0] == '.' && s[1] == '.')
            return ch_image_error (err, EPERM, "symlink `%s` -> `%s`: a package's links point down into it only",
                                   raw, target);
          s = *end ? end + 1 : end;
        }
    }
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
  if (u->opts->max_entries && u->st->entries > u->opts->max_entries)
    return ch_image_error (err, EFBIG, "more than %llu entries", (unsigned long long) u->opts->max_entries);
  if (account (u, ENTRY_COST, err) < 0)
    return -1;
  if (u->opts->package && package_refuses (raw, e, err) < 0)
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
    {
      if (u->opts->package)
        return ch_image_error (err, EPERM, "entry `%s`: whiteouts belong in image layers, not chute packages", raw);
      return do_whiteout (u, path, base, err);
    }

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
        if (account_blocks (u, 1, err) < 0 || clear_name (u, pfd, name, true, &isdir, err) < 0)
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
        if (archive_entry_size (e) < 0 || account_blocks (u, archive_entry_size (e), err) < 0)
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
        if (strlen (target) >= INLINE_SYMLINK && account_blocks (u, strlen (target), err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        if (clear_name (u, pfd, name, false, &isdir, err) < 0)
          return ch_error_prefix (err, "entry `%s`", raw);
        /* the target is stored as is: it is only ever resolved inside a root */
        if (symlinkat (target, pfd, name) < 0)
          return ch_error (err, errno, "symlink `%s`", raw);
        if (!u->opts->package
            && fchownat (pfd, name, archive_entry_uid (e), archive_entry_gid (e), AT_SYMLINK_NOFOLLOW) < 0
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
  {
    struct statfs sf;
    u.block = fstatfs (rootfd, &sf) == 0 && sf.f_bsize >= 512 && sf.f_bsize <= 65536 ? (uint64_t) sf.f_bsize : 4096;
  }
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
