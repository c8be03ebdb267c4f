/* libFuzzer: an OCI runtime config.json, through the runtime's parser
 * (runtime/spec*.c, which fills cgroups/ resources). */
#include "common/util.h"
#include "common/json.h"
#include "runtime/runtime.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_t *j = NULL;
  ch_error_t e = NULL;
  struct ch_spec *s = NULL;

  if (ch_json_load_buf ("config.json", (const char *) data, size, &j, &e) < 0)
    {
      ch_error_release (&e);
      return 0;
    }
  if (ch_spec_from_json (j, "/bundle", &s, &e) == 0)
    ch_spec_free (s);
  ch_error_release (&e);
  json_decref (j);
  return 0;
}
