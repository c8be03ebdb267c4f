/* image/unpack.c against hostile layers, built here with libarchive's
 * writer: each case checks the refusal (or neutralisation) and that nothing
 * appeared next to the root (the "outside" directory). Runs as root (mknod,
 * trusted.* xattrs), as every test here does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/file.h"
#include "common/util.h"
#include "image/internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

struct t
{
  char *base, *root, *outside;
  int rootfd;
  struct archive *a;
  char *buf;
  size_t cap, used;
};

static int
setup (void **state)
{
  struct t *t = xzalloc (sizeof (*t));
  t->base = xstrdup ("/tmp/chuted-test-unit-unpack.XXXXXX");
  assert_non_null (mkdtemp (t->base));
  t->root = xasprintf ("%s/root", t->base);
  t->outside = xasprintf ("%s/outside", t->base);
  assert_int_equal (mkdir (t->root, 0755), 0);
  assert_int_equal (mkdir (t->outside, 0755), 0);
  t->rootfd = open (t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (t->rootfd >= 0);
  t->cap = 8 << 20;
  t->buf = xmalloc (t->cap);
  *state = t;
  return 0;
}

static int
teardown (void **state)
{
  struct t *t = *state;
  ch_error_t e = NULL;
  close (t->rootfd);
  ch_rm_rf (t->base, &e);
  ch_error_release (&e);
  free (t->base);
  free (t->root);
  free (t->outside);
  free (t->buf);
  free (t);
  return 0;
}

static void
tar_begin (struct t *t, bool gzip)
{
  t->a = archive_write_new ();
  archive_write_set_format_pax_restricted (t->a);
  if (gzip)
    archive_write_add_filter_gzip (t->a);
  archive_write_set_bytes_in_last_block (t->a, 1);
  assert_int_equal (archive_write_open_memory (t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

static void
add (struct t *t, const char *name, mode_t type, mode_t perm, const char *data, size_t len, const char *link,
     bool hard, dev_t rdev)
{
  struct archive_entry *e = archive_entry_new ();
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, type);
  archive_entry_set_perm (e, perm);
  archive_entry_set_size (e, type == AE_IFREG ? (la_int64_t) len : 0);
  if (link && hard)
    archive_entry_set_hardlink (e, link);
  else if (link)
    archive_entry_set_symlink (e, link);
  if (rdev)
    archive_entry_set_rdev (e, rdev);
  assert_int_equal (archive_write_header (t->a, e), ARCHIVE_OK);
  if (data && len)
    assert_int_equal (archive_write_data (t->a, data, len), (la_ssize_t) len);
  archive_entry_free (e);
}
#define FILE_(t, n, s) add (t, n, AE_IFREG, 0644, s, strlen (s), NULL, false, 0)
#define DIR_(t, n) add (t, n, AE_IFDIR, 0755, NULL, 0, NULL, false, 0)
#define SYMLINK_(t, n, to) add (t, n, AE_IFLNK, 0777, NULL, 0, to, false, 0)
#define HARDLINK_(t, n, to) add (t, n, AE_IFREG, 0644, NULL, 0, to, true, 0)

/* Unpack what was written; returns the result, *MSG the error (or NULL). */
static int
unpack (struct t *t, size_t truncate_to, uint64_t limit, bool devs, struct ch_unpack_stats *st, char **msg)
{
  struct ch_unpack_opts o = { .limit = limit, .keep_devices = devs };
  struct ch_unpack_stats st0;
  ch_error_t e = NULL;
  int fd, r;

  assert_int_equal (archive_write_close (t->a), ARCHIVE_OK);
  archive_write_free (t->a);
  t->a = NULL;
  fd = memfd_create ("layer", MFD_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, t->buf, truncate_to ? truncate_to : t->used),
                    (ssize_t) (truncate_to ? truncate_to : t->used));
  lseek (fd, 0, SEEK_SET);
  r = ch_unpack_fd (fd, t->rootfd, &o, st ? st : &st0, &e);
  close (fd);
  *msg = e ? xstrdup (e->msg) : NULL;
  ch_error_release (&e);
  return r;
}

static bool
outside_empty (struct t *t)
{
  DIR *d = opendir (t->outside);
  struct dirent *de;
  int n = 0;
  while ((de = readdir (d)))
    n += de->d_name[0] != '.';
  closedir (d);
  return n == 0;
}

static bool
exists (struct t *t, const char *rel)
{
  struct stat st;
  cleanup_free char *p = xasprintf ("%s/%s", t->root, rel);
  return lstat (p, &st) == 0;
}

static void
test_dotdot (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  tar_begin (t, false);
  FILE_ (t, "ok", "x");
  FILE_ (t, "../outside/pwned", "evil");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  assert_non_null (strstr (msg, "`..` would leave the root"));
  assert_true (outside_empty (t));
}

static void
test_absolute (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL, *abs = xasprintf ("%s/pwned", t->outside);
  tar_begin (t, false);
  FILE_ (t, abs, "evil");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  assert_non_null (strstr (msg, "absolute path"));
  assert_true (outside_empty (t));
}

static void
test_symlink_then_write_through (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  tar_begin (t, false);
  /* the link points at the real outside dir by absolute path, and at "/" */
  SYMLINK_ (t, "esc", t->outside);
  SYMLINK_ (t, "top", "/");
  SYMLINK_ (t, "up", "../../../../../../..");
  FILE_ (t, "top/landed", "inside");
  FILE_ (t, "up/landed2", "inside");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), 0);
  /* resolved inside the root: "/" and ".." of the root are the root */
  assert_true (exists (t, "landed"));
  assert_true (exists (t, "landed2"));
  assert_true (outside_empty (t));

  tar_begin (t, false);
  FILE_ (t, "esc/pwned", "evil");
  free (msg);
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  assert_true (outside_empty (t));
}

static void
test_hardlink_outside (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL, *secret = xasprintf ("%s/secret", t->outside);
  assert_int_equal (ch_write_file (secret, "s", 1, 0600, &(ch_error_t){ NULL }), 0);
  tar_begin (t, false);
  HARDLINK_ (t, "hl", "../outside/secret");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  assert_false (exists (t, "hl"));
  free (msg);
  tar_begin (t, false);
  HARDLINK_ (t, "hl", secret);
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  free (msg);
  /* through a symlink planted first */
  tar_begin (t, false);
  SYMLINK_ (t, "o", t->outside);
  HARDLINK_ (t, "hl", "o/secret");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
  assert_false (exists (t, "hl"));
  {
    struct stat st;
    assert_int_equal (stat (secret, &st), 0);
    assert_int_equal (st.st_nlink, 1);
  }
}

static void
test_root_symlink_cve_2021_29136 (void **state)
{
  struct t *t = *state;
  const char *names[] = { ".", "./", "./.", NULL };
  int i;
  for (i = 0; names[i]; i++)
    {
      cleanup_free char *msg = NULL;
      tar_begin (t, false);
      SYMLINK_ (t, names[i], t->outside);
      FILE_ (t, "x", "evil");
      assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
      assert_non_null (strstr (msg, "would replace the root"));
      assert_true (outside_empty (t));
    }
}

static void
test_devices_fifo (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  struct ch_unpack_stats st;
  struct stat sb;
  tar_begin (t, false);
  add (t, "null", AE_IFCHR, 0666, NULL, 0, NULL, false, makedev (1, 3));
  add (t, "sda", AE_IFBLK, 0660, NULL, 0, NULL, false, makedev (8, 0));
  add (t, "fifo", AE_IFIFO, 0644, NULL, 0, NULL, false, 0);
  add (t, "fake-whiteout", AE_IFCHR, 0644, NULL, 0, NULL, false, makedev (0, 0));
  assert_int_equal (unpack (t, 0, 0, false, &st, &msg), 0);
  assert_int_equal (st.dropped, 4);
  assert_false (exists (t, "null") || exists (t, "sda") || exists (t, "fifo") || exists (t, "fake-whiteout"));
  tar_begin (t, false);
  add (t, "null", AE_IFCHR, 0666, NULL, 0, NULL, false, makedev (1, 3));
  add (t, "fifo", AE_IFIFO, 0644, NULL, 0, NULL, false, 0);
  assert_int_equal (unpack (t, 0, 0, true, &st, &msg), 0);
  assert_int_equal (st.dropped, 0);
  {
    cleanup_free char *p = xasprintf ("%s/null", t->root);
    assert_int_equal (lstat (p, &sb), 0);
    assert_true (S_ISCHR (sb.st_mode));
  }
}

static void
test_setuid_kept (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL, *p = NULL;
  struct stat sb;
  tar_begin (t, false);
  add (t, "bin/su", AE_IFREG, 04755, "elf", 3, NULL, false, 0);
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), 0);
  p = xasprintf ("%s/bin/su", t->root);
  assert_int_equal (stat (p, &sb), 0);
  assert_int_equal (sb.st_mode & 07777, 04755);
}

static void
test_size_lies (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  char big[4096];
  memset (big, 'a', sizeof (big));
  tar_begin (t, false);
  add (t, "big", AE_IFREG, 0644, big, sizeof (big), NULL, false, 0);
  /* cut inside the data: the header promises 4096 bytes that never come */
  assert_int_equal (unpack (t, 512 + 1000, 0, false, NULL, &msg), -1);
  assert_non_null (msg);
}

static void
test_gzip_bomb (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  char *zero = xzalloc (1 << 20);
  int i;
  tar_begin (t, true);
  for (i = 0; i < 8; i++)
    {
      cleanup_free char *n = xasprintf ("zero%d", i);
      add (t, n, AE_IFREG, 0644, zero, 1 << 20, NULL, false, 0);
    }
  free (zero);
  assert_true (t->used < 100000); /* 8 MiB in well under 100 kB */
  assert_int_equal (unpack (t, 0, 3 << 20, false, NULL, &msg), -1);
  assert_non_null (strstr (msg, "disk limit"));
}

static void
test_many_empty_files_bomb (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  int i;
  tar_begin (t, true);
  for (i = 0; i < 5000; i++)
    {
      cleanup_free char *n = xasprintf ("e%d", i);
      add (t, n, AE_IFREG, 0644, NULL, 0, NULL, false, 0);
    }
  assert_int_equal (unpack (t, 0, 1 << 20, false, NULL, &msg), -1);
  assert_non_null (strstr (msg, "disk limit"));
}

static bool
is_whiteout (struct t *t, const char *rel)
{
  struct stat st;
  cleanup_free char *p = xasprintf ("%s/%s", t->root, rel);
  return lstat (p, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0);
}

static bool
is_opaque (struct t *t, const char *rel)
{
  char v[4] = "";
  cleanup_free char *p = xasprintf ("%s/%s", t->root, rel);
  return lgetxattr (p, "trusted.overlay.opaque", v, sizeof (v)) == 1 && v[0] == 'y';
}

static void
test_whiteouts (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  tar_begin (t, false);
  FILE_ (t, ".wh.top", "");          /* at the root, before anything */
  DIR_ (t, "a");
  FILE_ (t, "a/keep", "k");
  FILE_ (t, "a/.wh.gone", "");       /* in a dir, after a sibling */
  FILE_ (t, "b/c/.wh.deep", "");     /* parents created on demand */
  FILE_ (t, "d/x", "x");
  FILE_ (t, "d/.wh.x", "");          /* whiteout after the file it hides: the whiteout wins */
  DIR_ (t, "e");
  FILE_ (t, "e/.wh..wh..opq", "");   /* opaque dir */
  FILE_ (t, "e/new", "n");           /* content after the opaque marker stays */
  FILE_ (t, "f/.wh..wh..opq", "");   /* opaque before its dir entry */
  DIR_ (t, "f");
  FILE_ (t, ".wh..wh..opq", "");     /* opaque root */
  FILE_ (t, ".wh..wh.plnk", "");     /* aufs bookkeeping: ignored */
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), 0);
  assert_true (is_whiteout (t, "top"));
  assert_true (is_whiteout (t, "a/gone"));
  assert_true (exists (t, "a/keep"));
  assert_true (is_whiteout (t, "b/c/deep"));
  assert_true (is_whiteout (t, "d/x"));
  assert_true (is_opaque (t, "e"));
  assert_true (exists (t, "e/new"));
  assert_true (is_opaque (t, "f"));
  assert_true (is_opaque (t, "."));
  assert_false (exists (t, ".wh..wh.plnk"));
}

static void
test_bad_whiteouts (void **state)
{
  struct t *t = *state;
  const char *bad[] = { ".wh..", "a/.wh.", NULL };
  int i;
  for (i = 0; bad[i]; i++)
    {
      cleanup_free char *msg = NULL;
      tar_begin (t, false);
      FILE_ (t, bad[i], "");
      assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), -1);
      assert_true (outside_empty (t));
    }
}

static void
test_forged_overlay_xattr (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  struct archive_entry *e;
  tar_begin (t, false);
  e = archive_entry_new ();
  archive_entry_set_pathname (e, "sneaky");
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_xattr_add_entry (e, "trusted.overlay.opaque", "y", 1);
  archive_entry_xattr_add_entry (e, "user.overlay.opaque", "y", 1);
  assert_int_equal (archive_write_header (t->a, e), ARCHIVE_OK);
  archive_entry_free (e);
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), 0);
  assert_true (exists (t, "sneaky"));
  assert_false (is_opaque (t, "sneaky"));
}

static void
test_replace_and_symlink_final (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL, *victim = xasprintf ("%s/victim", t->outside), *buf = NULL;
  size_t len;
  /* a file entry whose name is an existing symlink must replace the link, not write through it */
  assert_int_equal (ch_write_file (victim, "orig", 4, 0644, &(ch_error_t){ NULL }), 0);
  tar_begin (t, false);
  SYMLINK_ (t, "f", victim);
  FILE_ (t, "f", "new");
  assert_int_equal (unpack (t, 0, 0, false, NULL, &msg), 0);
  assert_int_equal (ch_read_file (victim, &buf, &len, &(ch_error_t){ NULL }), 0);
  assert_string_equal (buf, "orig");
  {
    struct stat st;
    cleanup_free char *p = xasprintf ("%s/f", t->root);
    assert_int_equal (lstat (p, &st), 0);
    assert_true (S_ISREG (st.st_mode));
  }
}

static void
test_regular_tree_and_zstd (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  struct ch_unpack_stats st;
  tar_begin (t, false);
  archive_write_free (t->a);
  t->a = archive_write_new ();
  archive_write_set_format_pax_restricted (t->a);
  archive_write_add_filter_zstd (t->a);
  assert_int_equal (archive_write_open_memory (t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
  DIR_ (t, "usr");
  DIR_ (t, "usr/bin");
  FILE_ (t, "usr/bin/app", "#!/bin/sh\n");
  SYMLINK_ (t, "bin", "usr/bin");
  HARDLINK_ (t, "usr/bin/app2", "usr/bin/app");
  assert_int_equal (unpack (t, 0, 0, false, &st, &msg), 0);
  assert_int_equal (st.entries, 5);
  assert_true (exists (t, "usr/bin/app2"));
  assert_true (exists (t, "bin"));
}

/* A chute package (image/package.c's mode): what a layer may hold and a
 * chute's directory may not is refused, one entry at a time. */
static int
unpack_package (struct t *t, uint64_t max_entries, char **msg)
{
  struct ch_unpack_opts o = { .package = true, .max_entries = max_entries };
  struct ch_unpack_stats st;
  ch_error_t e = NULL;
  int fd, r;

  assert_int_equal (archive_write_close (t->a), ARCHIVE_OK);
  archive_write_free (t->a);
  t->a = NULL;
  fd = memfd_create ("package", MFD_CLOEXEC);
  assert_int_equal (write (fd, t->buf, t->used), (ssize_t) t->used);
  lseek (fd, 0, SEEK_SET);
  r = ch_unpack_fd (fd, t->rootfd, &o, &st, &e);
  close (fd);
  free (*msg);
  *msg = e ? xstrdup (e->msg) : NULL;
  ch_error_release (&e);
  return r;
}

static void
test_package_mode (void **state)
{
  struct t *t = *state;
  cleanup_free char *msg = NULL;
  struct stat sb;
  const struct
  {
    const char *name, *link, *want;
    mode_t type, perm;
  } bad[] = {
    { "null", NULL, "device node", AE_IFCHR, 0666 },
    { "fifo", NULL, "FIFO", AE_IFIFO, 0644 },
    { "sh", NULL, "setuid", AE_IFREG, 04755 },
    { "sg", NULL, "setuid/setgid", AE_IFREG, 02755 },
    { ".wh.chute.yaml", NULL, "whiteouts belong in image layers", AE_IFREG, 0644 },
    { "etc", "/etc", "points out of the package", AE_IFLNK, 0777 },
    { "up", "a/../../x", "point down into it only", AE_IFLNK, 0777 },
    { "up2", "..", "point down into it only", AE_IFLNK, 0777 },
  };

  for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
    {
      tar_begin (t, false);
      FILE_ (t, "chute.yaml", "name: x\n");
      add (t, bad[i].name, bad[i].type, bad[i].perm, NULL, 0, bad[i].link, false,
           bad[i].type == AE_IFCHR ? makedev (1, 3) : 0);
      assert_int_equal (unpack_package (t, 0, &msg), -1);
      if (strstr (msg, bad[i].want) == NULL)
        fail_msg ("%s: got `%s`, want `%s`", bad[i].name, msg, bad[i].want);
      assert_true (outside_empty (t));
    }
  /* links pointing down are kept; owners are not */
  tar_begin (t, false);
  {
    struct archive_entry *e = archive_entry_new ();
    archive_entry_set_pathname (e, "images/seccam.tar");
    archive_entry_set_filetype (e, AE_IFREG);
    archive_entry_set_perm (e, 0644);
    archive_entry_set_uid (e, 1234);
    archive_entry_set_size (e, 3);
    assert_int_equal (archive_write_header (t->a, e), ARCHIVE_OK);
    assert_int_equal (archive_write_data (t->a, "tar", 3), 3);
    archive_entry_free (e);
  }
  SYMLINK_ (t, "seccam.tar", "images/seccam.tar");
  SYMLINK_ (t, "here", ".");
  assert_int_equal (unpack_package (t, 0, &msg), 0);
  {
    cleanup_free char *p = xasprintf ("%s/seccam.tar", t->root);
    assert_int_equal (stat (p, &sb), 0);
    assert_int_equal (sb.st_size, 3);
    assert_int_equal (sb.st_uid, 0);
  }
  /* bounded in entries */
  tar_begin (t, false);
  for (int i = 0; i < 5; i++)
    {
      char n[16];
      snprintf (n, sizeof (n), "f%d", i);
      FILE_ (t, n, "x");
    }
  assert_int_equal (unpack_package (t, 4, &msg), -1);
  assert_non_null (strstr (msg, "more than 4 entries"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_dotdot, setup, teardown),
    cmocka_unit_test_setup_teardown (test_absolute, setup, teardown),
    cmocka_unit_test_setup_teardown (test_symlink_then_write_through, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hardlink_outside, setup, teardown),
    cmocka_unit_test_setup_teardown (test_root_symlink_cve_2021_29136, setup, teardown),
    cmocka_unit_test_setup_teardown (test_devices_fifo, setup, teardown),
    cmocka_unit_test_setup_teardown (test_setuid_kept, setup, teardown),
    cmocka_unit_test_setup_teardown (test_size_lies, setup, teardown),
    cmocka_unit_test_setup_teardown (test_gzip_bomb, setup, teardown),
    cmocka_unit_test_setup_teardown (test_many_empty_files_bomb, setup, teardown),
    cmocka_unit_test_setup_teardown (test_whiteouts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_whiteouts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_forged_overlay_xattr, setup, teardown),
    cmocka_unit_test_setup_teardown (test_replace_and_symlink_final, setup, teardown),
    cmocka_unit_test_setup_teardown (test_regular_tree_and_zstd, setup, teardown),
    cmocka_unit_test_setup_teardown (test_package_mode, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
