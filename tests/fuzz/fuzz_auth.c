/* libFuzzer: a registry's WWW-Authenticate header value. */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  char *scheme, *realm, *service, *scope;

  if (ch_auth_parse_challenge (s, &scheme, &realm, &service, &scope) == 0)
    {
      free (scheme);
      free (realm);
      free (service);
      free (scope);
    }
  free (s);
  return 0;
}
