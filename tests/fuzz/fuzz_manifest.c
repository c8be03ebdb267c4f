/* libFuzzer: everything that parses registry/archive JSON or user strings in
 * image/: manifest kind + parse, index platform selection, image config,
 * references, WWW-Authenticate. Must never crash, leak or hang. */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *buf = (const char *) data;
  ch_error_t e = NULL;
  struct ch_manifest *m = NULL;
  char *mt = NULL, *d = NULL, *s = NULL;
  json_t *cfg = NULL;
  int64_t sz;

  if (ch_manifest_kind (buf, size, &mt, &e) == 0)
    free (mt);
  ch_error_release (&e);
  if (ch_manifest_parse (buf, size, &m, &e) == 0)
    ch_manifest_free (m);
  ch_error_release (&e);
  if (ch_index_select (buf, size, "linux/amd64", &d, &sz, &mt, &e) == 0)
    {
      free (d);
      free (mt);
    }
  ch_error_release (&e);
  if (ch_index_select (buf, size, "linux/arm/v7", &d, &sz, &mt, &e) == 0)
    {
      free (d);
      free (mt);
    }
  ch_error_release (&e);
  if (ch_config_parse (buf, size, &cfg, &e) == 0)
    json_decref (cfg);
  ch_error_release (&e);

  s = xstrndup (buf, size);
  {
    struct ch_ref r;
    char *a, *b, *c, *dd;
    if (ch_ref_parse (s, &r, &e) == 0)
      ch_ref_free (&r);
    ch_error_release (&e);
    if (ch_auth_parse_challenge (s, &a, &b, &c, &dd) == 0)
      {
        free (a);
        free (b);
        free (c);
        free (dd);
      }
    (void) ch_digest_valid (s);
  }
  free (s);
  return 0;
}
