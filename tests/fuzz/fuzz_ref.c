/* libFuzzer: image references (command line, archive RepoTags, index
 * annotations). A parsed repository never has an empty or `..` component
 * and a name never carries a line break. */
#include "common/util.h"
#include "image/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = xstrndup ((const char *) data, size);
  ch_error_t e = NULL;
  struct ch_ref r;

  if (ch_ref_parse (s, &r, &e) == 0)
    {
      if (strstr (r.repo, "..") || strstr (r.repo, "//") || r.repo[0] == '/' || strchr (r.name, '\n'))
        abort ();
      ch_ref_free (&r);
    }
  else if (strchr (e->msg, '\n'))
    abort (); /* one line */
  ch_error_release (&e);
  (void) ch_digest_valid (s);
  free (s);
  return 0;
}
