/* Parsers for the human-written values of the CLI and chute.yaml. */
#ifndef CH_PARSE_H
#define CH_PARSE_H

#include "error.h"

#include <stdint.h>

/* "64M", "1G", "512k", "1024" (bytes); binary multiples, as docker. */
int ch_parse_size (const char *s, uint64_t *out, ch_error_t *err);

/* "10", "10s", "5m", "12h", "1d" -> seconds. */
int ch_parse_duration (const char *s, uint64_t *out, ch_error_t *err);

/* Decimal integer in [MIN, MAX], the whole string. */
int ch_parse_int (const char *s, int64_t min, int64_t max, int64_t *out, ch_error_t *err);

#endif
