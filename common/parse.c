#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
ch_parse_int (const char *s, int64_t min, int64_t max, int64_t *out, ch_error_t *err)
{
  char *end;
  long long v;

  errno = 0;
  if (s == NULL || *s == '\0' || isspace ((unsigned char) *s))
    return ch_error (err, 0, "`%s` is not a number", s ? s : "");
  v = strtoll (s, &end, 10);
  if (*end != '\0')
    return ch_error (err, 0, "`%s` is not a number", s);
  if (errno == ERANGE || v < min || v > max)
    return ch_error (err, 0, "`%s` is out of range [%lld, %lld]", s, (long long) min, (long long) max);
  *out = v;
  return 0;
}

static int
parse_scaled (const char *s, const char *what, const char *units, const uint64_t *mult, uint64_t *out, ch_error_t *err)
{
  char *end;
  unsigned long long v;
  uint64_t m = 1;

  errno = 0;
  if (s == NULL || !isdigit ((unsigned char) *s))
    return ch_error (err, 0, "`%s` is not a %s", s ? s : "", what);
  v = strtoull (s, &end, 10);
  if (errno == ERANGE)
    return ch_error (err, 0, "`%s` is too large", s);
  if (*end)
    {
      const char *u = strchr (units, tolower ((unsigned char) *end));
      /* accept "64M", "64MB", "64MiB" */
      if (u == NULL || *u == '\0'
          || !(end[1] == '\0' || strcasecmp (end + 1, "b") == 0 || strcasecmp (end + 1, "ib") == 0))
        return ch_error (err, 0, "`%s` is not a %s (unit `%s` unknown)", s, what, end);
      m = mult[u - units];
    }
  if (m && v > UINT64_MAX / m)
    return ch_error (err, 0, "`%s` is too large", s);
  *out = v * m;
  return 0;
}

int
ch_parse_size (const char *s, uint64_t *out, ch_error_t *err)
{
  static const uint64_t mult[] = { 1, 1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40 };
  return parse_scaled (s, "size", "bkmgt", mult, out, err);
}

int
ch_parse_duration (const char *s, uint64_t *out, ch_error_t *err)
{
  static const uint64_t mult[] = { 1, 60, 3600, 86400 };
  char *end;

  /* durations take no "b"/"ib" suffix: check the unit is one letter */
  if (s && *s)
    {
      strtoull (s, &end, 10);
      if (*end && end[1] != '\0')
        return ch_error (err, 0, "`%s` is not a duration (unit `%s` unknown)", s, end);
    }
  return parse_scaled (s, "duration", "smhd", mult, out, err);
}
