/* libFuzzer: a layer (any compression, any tar) unpacked into a fresh
 * directory with a small disk limit, next to an "outside" directory that
 * must stay empty whatever the input: an escape aborts the run. */
#include "common/file.h"
#include "common/util.h"
#include "image/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static bool
empty_dir (const char *p)
{
  DIR *d = opendir (p);
  struct dirent *de;
  bool empty = true;
  if (d == NULL)
    return false;
  while ((de = readdir (d)))
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
      empty = false;
  closedir (d);
  return empty;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char base[] = "/dev/shm/chuted-test-fuzz.XXXXXX"; /* tmpfs: no disk I/O */
  char *root, *outside;
  struct ch_unpack_opts o = { .limit = 16 << 20 };
  struct ch_unpack_stats st;
  ch_error_t e = NULL;
  int fd, rootfd;

  if (mkdtemp (base) == NULL)
    abort ();
  root = xasprintf ("%s/r/o/o/t", base);
  outside = xasprintf ("%s/outside", base);
  if (ch_mkdir_p (root, 0755, &e) < 0 || mkdir (outside, 0755) < 0)
    abort ();
  fd = memfd_create ("layer", MFD_CLOEXEC);
  if (fd < 0 || write (fd, data, size) != (ssize_t) size || lseek (fd, 0, SEEK_SET) != 0)
    abort ();
  rootfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  (void) ch_unpack_fd (fd, rootfd, &o, &st, &e);
  ch_error_release (&e);
  close (fd);
  close (rootfd);
  if (!empty_dir (outside))
    abort ();
  {
    /* only r/o/o/t and outside may exist next to each other */
    char *r = xasprintf ("%s/r", base);
    DIR *d = opendir (base);
    struct dirent *de;
    while ((de = readdir (d)))
      if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && strcmp (de->d_name, "r")
          && strcmp (de->d_name, "outside"))
        abort ();
    closedir (d);
    free (r);
  }
  if (ch_rm_rf (base, &e) < 0)
    abort ();
  free (root);
  free (outside);
  return 0;
}
