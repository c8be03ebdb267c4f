/* libFuzzer: the Dockerfile parser and Docker's word rules (quotes, escapes,
 * ${VAR} with its modifiers), as chuted build reads a Dockerfile from a
 * build context. Every error is one line naming the file and line; every
 * instruction starts on a line of the input, in order. */
#include "common/util.h"
#include "image/dockerfile.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
one_line (ch_error_t *e)
{
  if (strchr ((*e)->msg, '\n'))
    abort ();
  ch_error_release (e);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ch_dockerfile *df = NULL;
  ch_error_t e = NULL;
  json_t *vars = json_pack ("{s:s, s:s, s:n}", "A", "a b", "EMPTY", "", "NUL");
  size_t lines = 1;

  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  if (ch_dockerfile_parse ("Dockerfile", (const char *) data, size, &df, &e) < 0)
    {
      if (strncmp (e->msg, "Dockerfile", 10) != 0)
        abort ();
      one_line (&e);
      json_decref (vars);
      return 0;
    }
  for (size_t i = 0; i < df->n; i++)
    {
      struct ch_df_instr *in = &df->v[i];
      char **w = ch_df_split (in->args, df->escape);
      char *out = NULL;

      if (in->line < 1 || (size_t) in->line > lines || (i && in->line <= df->v[i - 1].line))
        abort ();
      if (strchr (in->args, '\n') || strchr (in->cmd, ' '))
        abort ();
      for (size_t k = 0; w[k]; k++)
        {
          if (ch_df_expand (w[k], df->escape, vars, &out, &e) < 0)
            one_line (&e);
          free (out);
          out = NULL;
        }
      if (ch_df_expand (in->args, df->escape, vars, &out, &e) < 0)
        one_line (&e);
      free (out);
      (void) ch_df_flag (in->flags, "from");
      ch_strv_free (w);
    }
  ch_dockerfile_free (df);
  json_decref (vars);
  return 0;
}
