/* COPY and ADD: files from the build context (minus .dockerignore), from an
 * earlier stage or from an image, into the stage's filesystem. Sources are
 * opened inside their root (openat2 RESOLVE_IN_ROOT: a symlink in the
 * context cannot reach the host), destinations inside the stage's mounted
 * rootfs the same way, and every file is created with O_NOFOLLOW. ADD
 * unpacks a local tar archive with the layer unpacker (the same refusals
 * as a pulled layer). The cache key is the stage's chain, the instruction
 * and a digest of what is copied (paths, types, modes, contents). */
#include "image/dockerfile_int.h"
#include "common/file.h"
#include "common/path.h"
#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cp
{
  struct builder *b;
  struct ch_hash *h; /* hash only (the cache key), nothing is written */
  bool ctx;          /* from the context or a URL: owner root */
  bool ignore;       /* from the context: .dockerignore applies */
  bool url;          /* fetched by ADD: never unpacked */
  bool chown;
  uint32_t uid, gid;
  bool chmod;
  mode_t mode;
  ch_error_t *err;
};

/* ---- .dockerignore ---- */

/* PATTERN's segments against PATH's; "**" spans any number of segments. */
static bool
match_segs (const char *pat, const char *path)
{
  const char *ps = strchr (pat, '/'), *xs = strchr (path, '/');
  cleanup_free char *p = ps ? xstrndup (pat, ps - pat) : xstrdup (pat);
  cleanup_free char *x = NULL;

  if (strcmp (p, "**") == 0)
    {
      if (ps == NULL)
        return true;
      for (const char *q = path; q; q = strchr (q, '/') ? strchr (q, '/') + 1 : NULL)
        if (match_segs (ps + 1, q))
          return true;
      return false;
    }
  x = xs ? xstrndup (path, xs - path) : xstrdup (path);
  if (fnmatch (p, x, 0) != 0)
    return false;
  if (ps == NULL)
    return true; /* a pattern naming a directory covers what is below it */
  return xs != NULL && match_segs (ps + 1, xs + 1);
}

bool
ch_build_ignored (char *const *patterns, const char *rel)
{
  bool ignored = false;
  for (; patterns && *patterns; patterns++)
    {
      const char *p = *patterns;
      bool neg = *p == '!';
      if (match_segs (neg ? p + 1 : p, rel))
        ignored = !neg;
    }
  return ignored;
}

int
ch_build_ignore_load (struct builder *b, ch_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_error ch_error_t e = NULL;
  char *save = NULL, *line;
  size_t len;

  b->ignore = xzalloc (sizeof (char *));
  if (ch_read_file_at_max (b->ctxfd, ".dockerignore", CH_DOCKERFILE_MAX, &buf, &len, &e) < 0)
    {
      if (e->status == ENOENT)
        return 0;
      return ch_error (err, e->status, ".dockerignore: %s", e->msg);
    }
  for (line = strtok_r (buf, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *p = line, *end;
      bool neg;
      while (*p == ' ' || *p == '\t')
        p++;
      end = p + strlen (p);
      while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
      if (*p == '\0' || *p == '#')
        continue;
      neg = *p == '!';
      if (neg)
        p++;
      while (*p == '/' || (p[0] == '.' && p[1] == '/'))
        p += *p == '/' ? 1 : 2;
      while (end > p && end[-1] == '/')
        *--end = '\0';
      if (*p == '\0')
        continue;
      {
        cleanup_free char *pat = xasprintf ("%s%s", neg ? "!" : "", p);
        ch_strv_append (&b->ignore, pat);
      }
    }
  return 0;
}

/* ---- the walk: hash or copy ---- */

static void
hash_entry (struct cp *c, const char *rel, const struct stat *st, int fd, const char *target)
{
  char hdr[96];
  int n = snprintf (hdr, sizeof (hdr), "%o %lld %u %u", (unsigned) st->st_mode, (long long) st->st_size,
                    c->ctx ? 0U : (unsigned) st->st_uid, c->ctx ? 0U : (unsigned) st->st_gid);
  ch_hash_update (c->h, rel, strlen (rel) + 1);
  ch_hash_update (c->h, hdr, n + 1);
  if (target)
    ch_hash_update (c->h, target, strlen (target) + 1);
  if (fd >= 0)
    {
      char buf[65536];
      ssize_t r;
      while ((r = read (fd, buf, sizeof (buf))) > 0)
        ch_hash_update (c->h, buf, r);
    }
}

static int
set_meta (struct cp *c, int dfd, const char *name, const struct stat *st)
{
  uid_t u = c->chown ? c->uid : c->ctx ? 0 : st->st_uid;
  gid_t g = c->chown ? c->gid : c->ctx ? 0 : st->st_gid;
  struct timespec ts[2] = { st->st_mtim, st->st_mtim };

  if (fchownat (dfd, name, u, g, AT_SYMLINK_NOFOLLOW) < 0)
    return ch_error (c->err, errno, "chown `%s`", name);
  if (!S_ISLNK (st->st_mode) && fchmodat (dfd, name, c->chmod ? c->mode : st->st_mode & 07777, 0) < 0)
    return ch_error (c->err, errno, "chmod `%s`", name);
  (void) utimensat (dfd, name, ts, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int copy_dir (struct cp *c, int sfd, const char *rel, int dfd);

/* Replace whatever DFD/NAME is (unless both are directories). */
static int
make_room (struct cp *c, int dfd, const char *name, bool dir)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (dir && S_ISDIR (st.st_mode))
    return 1;
  return ch_rm_rf_at (dfd, name, c->err) < 0 ? -1 : 0;
}

static int
copy_entry (struct cp *c, int sdir, const char *sname, int sfd_in, const char *rel, int dfd, const char *dname)
{
  struct stat st;
  cleanup_close int sfd = sfd_in;

  if (sfd < 0)
    {
      if (fstatat (sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return ch_error (c->err, errno, "stat `%s`", rel);
    }
  else if (fstat (sfd, &st) < 0)
    return ch_error (c->err, errno, "stat `%s`", rel);
  if (c->ignore && *rel && ch_build_ignored (c->b->ignore, rel))
    return 0;
  if (S_ISDIR (st.st_mode))
    {
      cleanup_close int s = sfd >= 0 ? dup (sfd) : openat (sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      cleanup_close int d = -1;
      if (s < 0)
        return ch_error (c->err, errno, "open `%s`", rel);
      if (c->h)
        {
          hash_entry (c, rel, &st, -1, NULL);
          return copy_dir (c, s, rel, -1);
        }
      if (make_room (c, dfd, dname, true) == 0 && mkdirat (dfd, dname, 0755) < 0)
        return ch_error (c->err, errno, "mkdir `%s`", dname);
      d = openat (dfd, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0)
        return ch_error (c->err, errno, "open `%s`", dname);
      if (copy_dir (c, s, rel, d) < 0)
        return -1;
      return set_meta (c, dfd, dname, &st);
    }
  if (S_ISLNK (st.st_mode))
    {
      cleanup_free char *t = xzalloc (st.st_size + 2);
      if (readlinkat (sdir, sname, t, st.st_size + 1) < 0)
        return ch_error (c->err, errno, "readlink `%s`", rel);
      if (c->h)
        {
          hash_entry (c, rel, &st, -1, t);
          return 0;
        }
      if (make_room (c, dfd, dname, false) < 0 || symlinkat (t, dfd, dname) < 0)
        return ch_error (c->err, errno, "symlink `%s`", dname);
      return set_meta (c, dfd, dname, &st);
    }
  if (!S_ISREG (st.st_mode))
    return 0; /* sockets, FIFOs and devices are not build input */
  if (sfd < 0)
    sfd = openat (sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (sfd < 0)
    return ch_error (c->err, errno, "open `%s`", rel);
  if (c->h)
    {
      hash_entry (c, rel, &st, sfd, NULL);
      return 0;
    }
  {
    cleanup_close int d = -1;
    off_t left = st.st_size;
    if (make_room (c, dfd, dname, false) < 0)
      return -1;
    d = openat (dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0)
      return ch_error (c->err, errno, "create `%s`", dname);
    while (left > 0)
      {
        ssize_t n = copy_file_range (sfd, NULL, d, NULL, left, 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL))
          {
            char buf[65536];
            n = read (sfd, buf, sizeof (buf));
            if (n > 0 && ch_write_all (d, buf, n, c->err) < 0)
              return -1;
          }
        if (n < 0)
          return ch_error (c->err, errno, "copy `%s`", rel);
        if (n == 0)
          break;
        left -= n;
      }
  }
  return set_meta (c, dfd, dname, &st);
}

static int
copy_dir (struct cp *c, int sfd, const char *rel, int dfd)
{
  struct dirent **list = NULL;
  int n, i, r = 0;

  n = scandirat (sfd, ".", &list, NULL, alphasort);
  if (n < 0)
    return ch_error (c->err, errno, "scandir `%s`", *rel ? rel : ".");
  for (i = 0; i < n; i++)
    {
      const char *name = list[i]->d_name;
      if (r == 0 && strcmp (name, ".") != 0 && strcmp (name, "..") != 0)
        {
          cleanup_free char *sub = *rel ? xasprintf ("%s/%s", rel, name) : xstrdup (name);
          r = copy_entry (c, sfd, name, -1, sub, dfd, name);
        }
      free (list[i]);
    }
  free (list);
  return r;
}

/* ---- sources and destination ---- */

static bool
is_archive (const char *name)
{
  static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst", NULL };
  for (size_t i = 0; ext[i]; i++)
    if (ch_has_suffix (name, ext[i]))
      return true;
  return false;
}

/* Context-relative form of SRC: no leading "/" or "./". */
static const char *
clean_rel (const char *src)
{
  while (*src == '/' || (src[0] == '.' && src[1] == '/'))
    src += *src == '/' ? 1 : 2;
  return src;
}

/* SRCS with wildcards matched in the context (glob), each kept relative. */
static int
expand_sources (struct builder *b, int rootfd, const char *rootpath, char *const *srcs, char ***out, ch_error_t *err)
{
  *out = xzalloc (sizeof (char *));
  for (size_t i = 0; srcs[i]; i++)
    {
      const char *s = clean_rel (srcs[i]);
      glob_t g;
      if (strpbrk (s, "*?[") == NULL || rootpath == NULL)
        {
          ch_strv_append (out, *s ? s : ".");
          continue;
        }
      {
        cleanup_free char *pat = xasprintf ("%s/%s", rootpath, s);
        size_t pl = strlen (rootpath) + 1;
        if (glob (pat, 0, NULL, &g) != 0)
          return ch_error (err, ENOENT, "no source file matches `%s`", srcs[i]);
        for (size_t k = 0; k < g.gl_pathc; k++)
          if (strlen (g.gl_pathv[k]) > pl && !ch_build_ignored (b->ignore, g.gl_pathv[k] + pl))
            ch_strv_append (out, g.gl_pathv[k] + pl);
        globfree (&g);
      }
      if (*out == NULL || (*out)[0] == NULL)
        return ch_error (err, ENOENT, "no source file matches `%s`", srcs[i]);
    }
  (void) rootfd;
  return 0;
}

static const char *
base_name (const char *p)
{
  const char *s = strrchr (p, '/');
  return s ? s + 1 : p;
}

/* Copy (or with C->h, hash) every source below SROOT into the stage at DROOT. */
static int
copy_all (struct cp *c, const struct bcopy *bc, int sroot, char **srcs, int droot, const char *dest, ch_error_t *err)
{
  size_t n = ch_strv_len (srcs);
  bool dest_dir = ch_has_suffix (dest, "/") || n > 1;
  struct stat dst;

  if (!dest_dir && droot >= 0)
    {
      cleanup_close int fd = ch_open_in_root (droot, dest, O_PATH, 0, err);
      if (fd >= 0 && fstat (fd, &dst) == 0 && S_ISDIR (dst.st_mode))
        dest_dir = true;
      ch_error_release (err);
    }
  for (size_t i = 0; i < n; i++)
    {
      cleanup_close int sfd = ch_open_in_root (sroot, srcs[i], O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, err);
      cleanup_close int pfd = -1;
      cleanup_free char *name = NULL;
      struct stat st;
      const char *rel = clean_rel (srcs[i]);

      if (sfd < 0)
        return ch_error_prefix (err, "source `%s`", srcs[i]);
      if (fstat (sfd, &st) < 0)
        return ch_error (err, errno, "stat `%s`", srcs[i]);
      if (c->ignore && *rel && strcmp (rel, ".") != 0 && ch_build_ignored (c->b->ignore, rel))
        return ch_error (err, ENOENT, "source `%s` is excluded by .dockerignore", srcs[i]);
      if (strcmp (rel, ".") == 0)
        rel = "";
      if (c->h)
        {
          if (copy_entry (c, -1, NULL, steal_fd (&sfd), rel, -1, NULL) < 0)
            return -1;
          continue;
        }
      if (S_ISDIR (st.st_mode) || (bc->add && !c->url && S_ISREG (st.st_mode) && is_archive (srcs[i])))
        {
          pfd = ch_mkdir_in_root (droot, dest, 0755, err);
          if (pfd < 0)
            return ch_error_prefix (err, "destination `%s`", dest);
          if (S_ISDIR (st.st_mode))
            {
              cleanup_close int d = openat (pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
              if (d < 0 || copy_dir (c, sfd, rel, d) < 0)
                return d < 0 ? ch_error (err, errno, "open `%s`", dest) : -1;
              continue;
            }
          {
            struct ch_unpack_opts uo = { .limit = c->b->req->disk_limit };
            struct ch_unpack_stats us;
            if (ch_unpack_fd (sfd, pfd, &uo, &us, err) < 0)
              return ch_error_prefix (err, "ADD %s", srcs[i]);
            continue;
          }
        }
      if (dest_dir)
        {
          pfd = ch_mkdir_in_root (droot, dest, 0755, err);
          name = xstrdup (base_name (srcs[i]));
        }
      else
        pfd = ch_parent_in_root (droot, dest, true, 0755, &name, err);
      if (pfd < 0)
        return ch_error_prefix (err, "destination `%s`", dest);
      if (copy_entry (c, -1, NULL, steal_fd (&sfd), rel, pfd, name) < 0)
        return -1;
    }
  return 0;
}

static int
parse_chmod (const char *s, mode_t *out, ch_error_t *err)
{
  char *end;
  unsigned long v = strtoul (s, &end, 8);
  if (*s == '\0' || *end || v > 07777)
    return ch_error (err, 0, "--chmod `%s`: want an octal mode", s);
  *out = (mode_t) v;
  return 0;
}

/* --from: a stage by name or index, else an image. */
static int
source_stage (struct builder *b, const char *from, struct bstage *tmp, const struct bstage **out, ch_error_t *err)
{
  char *end;
  long idx = strtol (from, &end, 10);

  if (*from && *end == '\0' && idx >= 0 && (size_t) idx < b->n_st)
    {
      *out = &b->st[idx];
      return 0;
    }
  for (size_t i = 0; i < b->n_st; i++)
    if (b->st[i].name && strcasecmp (b->st[i].name, from) == 0)
      {
        *out = &b->st[i];
        return 0;
      }
  if (ch_bstage_from (b, from, tmp, err) < 0)
    return ch_error_prefix (err, "--from=%s", from);
  *out = tmp;
  return 0;
}

struct copy_make
{
  struct cp *c;
  const struct bcopy *bc;
  int sroot;
  char **srcs;
  const char *dest;
};

/* A cache miss: copy into the stage's mounted rootfs; its upper dir is the layer. */
static int
make_copy (struct builder *b, struct bstage *st, void *data, struct ch_layer *l, bool *empty, ch_error_t *err)
{
  struct copy_make *cm = data;
  struct bmount dm;
  cleanup_close int droot = -1;
  int r = -1;

  if (ch_bmount (b, st, &dm, err) < 0)
    goto out;
  droot = open (dm.mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (droot < 0)
    {
      ch_error (err, errno, "open `%s`", dm.mnt);
      goto out;
    }
  if (cm->bc->chown)
    {
      if (b->req->resolve_user (dm.mnt, cm->bc->chown, &cm->c->uid, &cm->c->gid, err) < 0)
        {
          ch_error_prefix (err, "--chown");
          goto out;
        }
      cm->c->chown = true;
    }
  if (copy_all (cm->c, cm->bc, cm->sroot, cm->srcs, droot, cm->dest, err) < 0)
    goto out;
  ch_bunmount (&dm, false);
  r = ch_build_layer (b, st, &dm, l, empty, err);
out:
  ch_bunmount (&dm, true);
  return r;
}

int
ch_build_copy (struct builder *b, struct bstage *st, const struct bcopy *bc, const char *text, ch_error_t *err)
{
  struct cp c = { .b = b, .ctx = bc->from == NULL, .ignore = bc->from == NULL, .err = err };
  struct bstage tmp = { 0 };
  const struct bstage *from = NULL;
  struct bmount sm = { 0 };
  cleanup_strv char **srcs = NULL;
  cleanup_free char *what = NULL, *inputs = NULL, *dest = NULL, *ctxpath = NULL, *dl = NULL;
  cleanup_strv char **names = NULL;
  size_t nurl = 0;
  cleanup_close int sroot = -1;
  const char *wd = json_string_value (json_object_get (ch_bstage_config (st), "WorkingDir"));
  int r = -1;

  if (bc->chmod && parse_chmod (bc->chmod, &c.mode, err) < 0)
    return -1;
  c.chmod = bc->chmod != NULL;
  for (size_t i = 0; bc->srcs[i]; i++)
    nurl += strstr (bc->srcs[i], "://") != NULL;
  if (nurl && (!bc->add || nurl != ch_strv_len (bc->srcs)))
    return ch_error (err, 0, "%s", bc->add ? "ADD: URLs and local files in one instruction are not supported"
                                           : "COPY takes no URL (ADD fetches them)");
  dest = bc->dest[0] == '/' ? xstrdup (bc->dest)
                            : xasprintf ("%s/%s", wd && *wd ? wd : "", bc->dest);
  if (nurl)
    {
      /* fetched on every build, like Docker: their contents are the cache key */
      dl = xasprintf ("%s/dl-%u", b->tmp, ++b->seq);
      if (ch_build_fetch_urls (b, bc->srcs, dl, &names, err) < 0)
        goto out;
      sroot = open (dl, O_PATH | O_DIRECTORY | O_CLOEXEC);
      ctxpath = xstrdup (dl);
      c.ignore = false;
      c.url = true;
    }
  else if (bc->from)
    {
      if (source_stage (b, bc->from, &tmp, &from, err) < 0)
        goto out;
      if (ch_bmount (b, from, &sm, err) < 0)
        goto out;
      sroot = open (sm.mnt, O_PATH | O_DIRECTORY | O_CLOEXEC);
      ctxpath = xstrdup (sm.mnt);
    }
  else
    {
      sroot = dup (b->ctxfd);
      ctxpath = realpath (b->req->context, NULL);
    }
  if (sroot < 0)
    {
      ch_error (err, errno, "open the source root");
      goto out;
    }
  if (expand_sources (b, sroot, ctxpath, names ? names : bc->srcs, &srcs, err) < 0)
    goto out;
  /* what the step copies decides its cache entry */
  if (from)
    inputs = xstrdup (from->chain);
  else
    {
      c.h = ch_hash_new ();
      r = copy_all (&c, bc, sroot, srcs, -1, dest, err);
      inputs = ch_hash_final (c.h);
      ch_hash_free (c.h);
      c.h = NULL;
      if (r < 0)
        goto out;
      r = -1;
    }
  what = xasprintf ("%s\n%s", text, inputs);
  {
    struct copy_make cm = { .c = &c, .bc = bc, .sroot = sroot, .srcs = srcs, .dest = dest };
    r = ch_build_step (b, st, text, what, make_copy, &cm, err);
  }
out:
  ch_bunmount (&sm, true);
  ch_bstage_clear (&tmp);
  if (dl)
    {
      cleanup_error ch_error_t e = NULL;
      (void) ch_rm_rf (dl, &e);
    }
  return r;
}
