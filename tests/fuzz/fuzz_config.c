/* libFuzzer: an image config (what a chute takes from it: Cmd, Env, ...). */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ch_error_t e = NULL;
  json_t *cfg = NULL;

  if (ch_config_parse ((const char *) data, size, &cfg, &e) == 0)
    json_decref (cfg);
  ch_error_release (&e);
  return 0;
}
