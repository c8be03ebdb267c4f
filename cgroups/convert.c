/* runtime-spec (v1-flavoured) values -> cgroup v2 values, and the v1
 * ordering rule for memory+swap. Pure functions. */
#include "cgroups/layout.h"
#include "common/util.h"

#include <inttypes.h>

uint64_t
ch_cgroup_shares_to_weight (uint64_t shares)
{
  /* 0 is "not set" in runtime-spec; out-of-range values are clamped as the
   * v1 kernel does, so both backends give the same answer */
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t
ch_cgroup_blkio_to_io_weight (uint64_t weight)
{
  if (weight == 0)
    return 0;
  if (weight < 10)
    weight = 10;
  if (weight > 1000)
    weight = 1000;
  return 1 + ((weight - 10) * 9999) / 990;
}

bool
ch_cgroup_v1_memsw_first (int64_t cur_memsw, int64_t new_mem, int64_t new_memsw)
{
  if (new_memsw == CH_CGROUP_UNSET)
    return false;
  if (new_mem == CH_CGROUP_UNSET)
    return true;
  /* raising to unlimited: memsw must go up before memory can */
  if (new_memsw < 0 || new_mem < 0)
    return true;
  /* cur_memsw < 0 means unlimited (v1 reports a huge number we map to -1) */
  return cur_memsw >= 0 && new_mem > cur_memsw;
}

int
ch_cgroup_v2_swap_value (int64_t mem, int64_t swap, char **out, ch_error_t *err)
{
  if (swap < 0 && swap != CH_CGROUP_UNSET)
    {
      *out = xstrdup ("max");
      return 0;
    }
  if (mem < 0)
    return ch_error (err, 0, "a memory+swap limit (%" PRId64 ") needs a memory limit", swap);
  if (swap < mem)
    return ch_error (err, 0, "memory+swap limit %" PRId64 " is below the memory limit %" PRId64, swap, mem);
  *out = xasprintf ("%" PRId64, swap - mem);
  return 0;
}

char *
ch_cgroup_v2_cpu_max (int64_t quota, int64_t period)
{
  /* 100000 us is the kernel's default period */
  uint64_t p = period > 0 ? (uint64_t) period : 100000;

  if (quota < 0)
    return xasprintf ("max %" PRIu64, p);
  return xasprintf ("%" PRId64 " %" PRIu64, quota, p);
}
