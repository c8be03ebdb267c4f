/* A chute package (DESIGN.md: a tar or tar.gz of the chute's directory),
 * unpacked by the layer unpacker in its package mode: every entry resolved
 * inside the directory, nothing but directories, regular files and links
 * pointing down, bounded in size and entries. `chuted-image package unpack`
 * runs it for `chuted deploy`, which does not link libarchive. */
#include "internal.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

int
ch_package_unpack (const char *file, const char *dir, uint64_t limit, uint64_t max_entries, ch_error_t *err)
{
  struct ch_unpack_opts uo = { .limit = limit, .package = true, .max_entries = max_entries };
  struct ch_unpack_stats st;
  cleanup_close int fd = -1, dfd = -1;
  struct stat sb;

  /* a FIFO would hang us, a device would be read forever */
  fd = open (file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return ch_error (err, errno, "package `%s`", file);
  if (fstat (fd, &sb) < 0)
    return ch_error (err, errno, "package `%s`", file);
  if (!S_ISREG (sb.st_mode))
    return ch_error (err, EINVAL, "package `%s`: not a regular file", file);
  dfd = open (dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return ch_error (err, errno, "package `%s`: open `%s`", file, dir);
  if (ch_unpack_fd (fd, dfd, &uo, &st, err) < 0)
    return ch_error_prefix (err, "package `%s`", file);
  return 0;
}
