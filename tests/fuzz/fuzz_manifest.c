/* libFuzzer: an image manifest (OCI or Docker v2, from a registry or an
 * archive): its kind, then the parse. Must never crash, leak or hang. */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *buf = (const char *) data;
  ch_error_t e = NULL;
  struct ch_manifest *m = NULL;
  char *mt = NULL;

  if (ch_manifest_kind (buf, size, &mt, &e) == 0)
    free (mt);
  ch_error_release (&e);
  if (ch_manifest_parse (buf, size, &m, &e) == 0)
    ch_manifest_free (m);
  ch_error_release (&e);
  return 0;
}
