/* What the REST API reads from a client, apart from libmicrohttpd: the
 * path, the Content-Type, a chute file's body, If-Match, ?tail=, the SSID
 * body. The handlers (api*.c) turn an error here into a 400 with ERR's
 * line as its detail and *TITLE as its error; tests/fuzz/fuzz_api.c feeds
 * these anything. */
#ifndef CH_API_PARSE_H
#define CH_API_PARSE_H

#include "common/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PATH (after /api/v1/) split at '/'; a trailing '/' is allowed, an empty
 * part elsewhere is not (NULL). */
char **dm_split_path (const char *path);

/* Content-Type CT (NULL: none): a chute package (gzipped or not), JSON. */
void dm_content_type (const char *ct, bool *package, bool *gzip, bool *json);

/* The body as a chute file's text (*TEXT, *TEXT_LEN): the body itself, or
 * when JSON, {config: a chute file as an object (YAML reads JSON) or as
 * text}. */
int dm_parse_chute_body (const char *body, size_t len, bool json, char **text, size_t *text_len, const char **title,
                         ch_error_t *err);

/* If-Match H (NULL: none): 0 when absent or "*", 1 with the generation it
 * names in *ASKED (a bare, quoted or weak tag). */
int dm_parse_if_match (const char *h, int64_t *asked, ch_error_t *err);

/* ?tail=Q (NULL: none): *TAIL lines, -1 for all (absent or "all"). */
int dm_parse_tail (const char *q, int64_t *tail, ch_error_t *err);
/* The start of the last TAIL lines of S (TAIL < 0: all). */
size_t dm_tail_start (const char *s, size_t len, int64_t tail);

/* The new SSID of a PUT .../ssid body {"ssid": S}, checked by the --wifi
 * spec's own rule. */
int dm_parse_ssid_body (const char *body, size_t len, char **ssid, const char **title, ch_error_t *err);

#endif
