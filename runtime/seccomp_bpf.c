/* The compiled filter: libseccomp needs ~10 ms to turn Docker's profile
 * for three ABIs into BPF, on every container start. The program depends
 * only on the profile and the libseccomp version, so it is compiled once
 * and kept in CACHE_DIR (root-only: chuted's chutes keep it under the root,
 * so that it outlives a reboot; else beside the OCI state) keyed by a hash of
 * both (and the kernel's release); the init then loads the raw program with seccomp(2). The profile
 * itself is kept next to it and compared on every hit, so that two
 * profiles with the same (non-cryptographic) hash never share a program. */
#include "runtime/init.h"

#include "common/file.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

/* bump when compile() changes what it makes of the same profile */
#define CACHE_FORMAT "v2:optimize=2"

static uint64_t
fnv1a (uint64_t h, const void *data, size_t len)
{
  const unsigned char *p = data;
  size_t i;
  for (i = 0; i < len; i++)
    h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

static int
compile (const struct ch_seccomp *sc, char **prog, size_t *len, ch_error_t *err)
{
  scmp_filter_ctx ctx = NULL;
  cleanup_close int fd = -1;
  int ret;

  if (ch_seccomp_build (sc, &ctx, err) < 0)
    return -1;
  fd = memfd_create ("seccomp", MFD_CLOEXEC);
  if (fd < 0)
    {
      seccomp_release (ctx);
      return ch_error (err, errno, "memfd_create");
    }
  ret = seccomp_export_bpf (ctx, fd);
  seccomp_release (ctx);
  if (ret < 0)
    return ch_error (err, -ret, "compile the seccomp filter");
  if (lseek (fd, 0, SEEK_SET) < 0)
    return ch_error (err, errno, "lseek");
  return ch_read_fd (fd, prog, len, err);
}

/* A cached program for TEXT at PATH (its profile at KEYPATH): 1 found, 0
 * not there, -1 another profile with the same hash (compile, cache nothing). */
static int
cache_lookup (const char *path, const char *keypath, const char *text, struct ch_bpf *out)
{
  cleanup_error ch_error_t ignore = NULL;
  cleanup_free char *key = NULL;
  size_t keylen;

  if (ch_read_file (keypath, &key, &keylen, &ignore) < 0)
    return 0;
  if (keylen != strlen (text) || memcmp (key, text, keylen) != 0)
    return -1;
  if (ch_read_file (path, &out->prog, &out->len, &ignore) == 0 && out->len > 0
      && out->len % sizeof (struct sock_filter) == 0)
    return 1;
  ch_bpf_clear (out);
  return 0;
}

int
ch_seccomp_compile (const struct ch_seccomp *sc, json_t *profile, const char *cache_dir, struct ch_bpf *out,
                    ch_error_t *err)
{
  cleanup_free char *text = profile ? json_dumps (profile, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  cleanup_free char *path = NULL, *keypath = NULL;
  cleanup_close int lock = -1;
  const struct scmp_version *v = seccomp_version ();
  uint64_t h = 0xcbf29ce484222325ULL;
  cleanup_error ch_error_t ignore = NULL;
  struct utsname u;
  int found = 0;

  memset (out, 0, sizeof (*out));
  if (text && cache_dir)
    {
      h = fnv1a (h, CACHE_FORMAT, sizeof (CACHE_FORMAT));
      h = fnv1a (h, text, strlen (text));
      h = fnv1a (h, v, sizeof (*v));
      /* the cache outlives a reboot: libseccomp asks the running kernel
       * which actions it has, so a new kernel compiles anew */
      if (uname (&u) == 0)
        h = fnv1a (h, u.release, strlen (u.release));
      path = xasprintf ("%s/%016llx.bpf", cache_dir, (unsigned long long) h);
      keypath = xasprintf ("%s/%016llx.json", cache_dir, (unsigned long long) h);
      found = cache_lookup (path, keypath, text, out);
      /* chutes started at once (a boot restore) mostly share a profile:
       * one compiles, the others wait for its program */
      if (found == 0 && ch_mkdir_p (cache_dir, 0700, &ignore) == 0)
        {
          lock = open (cache_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (lock >= 0 && flock (lock, LOCK_EX) == 0)
            found = cache_lookup (path, keypath, text, out);
        }
      if (found == 1)
        return 0;
      if (found < 0)
        {
          free (path);
          path = NULL;
        }
      ch_error_release (&ignore);
    }
  if (compile (sc, &out->prog, &out->len, err) < 0)
    return -1;
  /* a cache that cannot be written only costs time; the profile goes first,
   * so a program is never found without the profile it was made from */
  if (path
      && (ch_write_file_atomic (keypath, text, strlen (text), 0600, &ignore) < 0
          || ch_write_file_atomic (path, out->prog, out->len, 0600, &ignore) < 0))
    ch_error_release (&ignore);
  return 0;
}

int
ch_seccomp_load_bpf (const struct ch_bpf *b, ch_error_t *err)
{
  struct sock_fprog prog = { (unsigned short) (b->len / sizeof (struct sock_filter)), (struct sock_filter *) b->prog };

  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return ch_error (err, errno, "load seccomp filter");
  return 0;
}

void
ch_bpf_clear (struct ch_bpf *b)
{
  free (b->prog);
  b->prog = NULL;
  b->len = 0;
}

char *
ch_seccomp_cache_dir (const char *state_dir)
{
  const char *slash = strrchr (state_dir, '/');
  if (slash == NULL || slash == state_dir)
    return NULL;
  return xasprintf ("%.*s/.seccomp", (int) (slash - state_dir), state_dir);
}
