/* libFuzzer: chute.yaml (mgmt/manifest*.c) from parse to plan. Whatever the
 * input, the parser returns: an accepted file has a valid name, one service
 * at least, each with an image or built by the deploy, and a refused one gets one line that starts
 * with the file's name. */
#include "common/util.h"
#include "mgmt/manifest.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* no chute on this root: ch_chutefile_conflicts lists an empty host */
  struct ch_ctx ctx = { .root = "/nonexistent/chuted-fuzz", .run_root = "/nonexistent/chuted-fuzz-run" };
  struct ch_chutefile m;
  ch_error_t e = NULL;
  int r;

  r = ch_chutefile_parse ("f.yaml", (const char *) data, size, &m, &e);
  if (r == 0)
    r = ch_chutefile_check (&m, &e);
  if (r == 0)
    r = ch_chutefile_conflicts (&ctx, &m, &e);
  if (r == 0)
    {
      json_t *plan = ch_chutefile_plan (&m);
      if (m.n_svc == 0 || m.name.s == NULL || plan == NULL)
        abort ();
      /* no image only where the deploy builds one: a normal service, or
       * the one service of a chute with a dockerfile: (issue 14) */
      for (size_t i = 0; i < m.n_svc; i++)
        {
          const struct ch_mservice *s = &m.svc[i];
          bool built = (s->type.s && strcmp (s->type.s, "normal") == 0) || (m.dockerfile.s && m.n_svc == 1);
          if (s->image.s == NULL && !built)
            abort ();
        }
      json_decref (plan);
    }
  else if (e == NULL || strncmp (e->msg, "f.yaml:", 7) != 0 || strchr (e->msg, '\n'))
    abort ();
  ch_error_release (&e);
  ch_chutefile_clear (&m);
  return 0;
}
