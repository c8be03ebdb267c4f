/* libFuzzer: an image index / manifest list, platform selection for the
 * platforms chuted runs on. */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const platforms[] = { "linux/amd64", "linux/arm/v7", "linux/arm64/v8", "linux/mips" };
  const char *buf = (const char *) data;
  ch_error_t e = NULL;
  size_t i;

  for (i = 0; i < sizeof (platforms) / sizeof (*platforms); i++)
    {
      char *d = NULL, *mt = NULL;
      int64_t sz;
      if (ch_index_select (buf, size, platforms[i], &d, &sz, &mt, &e) == 0)
        {
          if (!ch_digest_valid (d))
            abort (); /* a selected manifest is always named by a valid digest */
          free (d);
          free (mt);
        }
      ch_error_release (&e);
    }
  return 0;
}
