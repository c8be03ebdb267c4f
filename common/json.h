/* jansson helpers: load/save with errors in our type, and cleanup. */
#ifndef CH_JSON_H
#define CH_JSON_H

#include "error.h"

#include <jansson.h>

static inline void
ch_json_decrefp (json_t **j)
{
  if (*j)
    json_decref (*j);
  *j = NULL;
}
#define cleanup_json __attribute__ ((cleanup (ch_json_decrefp)))

int ch_json_load_file (const char *path, json_t **out, ch_error_t *err);
int ch_json_load_buf (const char *what, const char *buf, size_t len, json_t **out, ch_error_t *err);
/* A JSON array of strings to a NULL-terminated vector (non-strings become
 * ""), NULL when A is not an array; and back. */
char **ch_json_to_strv (json_t *a);
/* A copy of O's string member K, NULL when it is missing or not a string. */
char *ch_json_dup_str (json_t *o, const char *k);
json_t *ch_json_from_strv (char *const *v);

/* Atomic replace (temp + rename), pretty-printed. */
int ch_json_save_file (const char *path, json_t *j, mode_t mode, ch_error_t *err);

#endif
