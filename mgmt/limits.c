#include "mgmt/limits.h"
#include "common/parse.h"
#include "common/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEMORY_MIN (4LL << 20) /* below this a chute cannot even exec (docker: 6 MiB) */
#define CPU_PERIOD 100000      /* us: --cpus N is a quota of N periods, as docker */

static int
flag_size (const char *flag, const char *v, int64_t *out, ch_error_t *err)
{
  uint64_t n;

  if (ch_parse_size (v, &n, err) < 0)
    return ch_error_prefix (err, "--%s", flag);
  if (n > INT64_MAX)
    return ch_error (err, 0, "--%s: `%s` is too large", flag, v);
  *out = (int64_t) n;
  return 0;
}

static int
flag_int (const char *flag, const char *v, int64_t min, int64_t max, int64_t *out, ch_error_t *err)
{
  if (ch_parse_int (v, min, max, out, err) < 0)
    return ch_error_prefix (err, "--%s", flag);
  return 0;
}

/* As docker: a decimal number of CPUs from 0.01 to the host's count. */
static int
flag_cpus (const char *v, struct ch_chute *c, ch_error_t *err)
{
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);
  char *end;
  double d;

  if (ncpu < 1)
    ncpu = 1;
  d = strtod (v, &end);
  if (*v == '\0' || *end || !isfinite (d))
    return ch_error (err, 0, "--cpus: `%s` is not a number of CPUs (e.g. 0.5, 2)", v);
  if (d < 0.01 || d > (double) ncpu)
    return ch_error (err, 0, "--cpus: `%s`: range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available",
                     v, ncpu, ncpu);
  c->cpu_period = CPU_PERIOD;
  c->cpu_quota = (int64_t) (d * CPU_PERIOD + 0.5);
  return 0;
}

/* "0-3,5": what cpuset.cpus takes; the kernel checks the CPUs exist. */
static int
flag_cpuset (const char *v, struct ch_chute *c, ch_error_t *err)
{
  if (*v == '\0' || strspn (v, "0123456789,-") != strlen (v) || strlen (v) > 1024)
    return ch_error (err, 0, "--cpuset-cpus: `%s` is not a CPU list (e.g. 0-1,3)", v);
  free (c->cpuset_cpus);
  c->cpuset_cpus = xstrdup (v);
  return 0;
}

int
ch_limits_flag (struct ch_chute *c, const char *flag, const char *v, ch_error_t *err)
{
  if (strcmp (flag, "memory") == 0)
    {
      int64_t m;
      if (flag_size (flag, v, &m, err) < 0)
        return -1;
      if (m < MEMORY_MIN)
        return ch_error (err, 0, "--memory: `%s` is below the 4 MiB minimum", v);
      c->memory = m;
      return 0;
    }
  if (strcmp (flag, "memory-swap") == 0)
    {
      if (strcmp (v, "-1") == 0)
        {
          c->memory_swap = -1;
          return 0;
        }
      return flag_size (flag, v, &c->memory_swap, err);
    }
  if (strcmp (flag, "cpus") == 0)
    return flag_cpus (v, c, err);
  if (strcmp (flag, "cpu-shares") == 0)
    return flag_int (flag, v, 2, 262144, &c->cpu_shares, err);
  if (strcmp (flag, "cpu-quota") == 0)
    return flag_int (flag, v, 1000, INT32_MAX, &c->cpu_quota, err);
  if (strcmp (flag, "cpu-period") == 0)
    return flag_int (flag, v, 1000, 1000000, &c->cpu_period, err);
  if (strcmp (flag, "pids") == 0 || strcmp (flag, "pids-limit") == 0)
    return flag_int (flag, v, 1, INT32_MAX, &c->pids, err);
  if (strcmp (flag, "blkio-weight") == 0)
    return flag_int (flag, v, 10, 1000, &c->blkio_weight, err);
  if (strcmp (flag, "cpuset-cpus") == 0)
    return flag_cpuset (v, c, err);
  return 1;
}

static int
range (const char *what, int64_t v, int64_t min, int64_t max, ch_error_t *err)
{
  if (v != -1 && (v < min || v > max))
    return ch_error (err, 0, "%s %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", what, v, min, max);
  return 0;
}

int
ch_limits_resources (const struct ch_chute *c, struct ch_cgroup_resources *res, ch_error_t *err)
{
  ch_cgroup_resources_init (res);
  /* chute.json and chute.yaml come here without the flags' checks */
  if (range ("memory", c->memory, MEMORY_MIN, INT64_MAX, err) < 0 || range ("memory-swap", c->memory_swap, 0, INT64_MAX, err) < 0
      || range ("cpu-shares", c->cpu_shares, 2, 262144, err) < 0
      || range ("cpu-quota", c->cpu_quota, 1000, INT32_MAX, err) < 0
      || range ("cpu-period", c->cpu_period, 1000, 1000000, err) < 0 || range ("pids", c->pids, 1, INT32_MAX, err) < 0
      || range ("blkio-weight", c->blkio_weight, 10, 1000, err) < 0)
    return -1;
  if (c->memory_swap >= 0 && c->memory < 0)
    return ch_error (err, 0, "--memory-swap needs --memory (it is memory + swap)");
  if (c->memory_swap >= 0 && c->memory_swap < c->memory)
    return ch_error (err, 0,
                     "--memory-swap (%" PRId64 ") must be at least --memory (%" PRId64 "): it is memory + swap; give both",
                     c->memory_swap, c->memory);
  res->memory_limit = c->memory;
  res->memory_swap = c->memory_swap >= 0 ? c->memory_swap : c->memory >= 0 ? CH_CGROUP_MAX : CH_CGROUP_UNSET;
  res->cpu_shares = c->cpu_shares;
  res->cpu_quota = c->cpu_quota;
  res->cpu_period = c->cpu_period;
  res->pids_limit = c->pids;
  res->blkio_weight = c->blkio_weight;
  res->cpuset_cpus = c->cpuset_cpus ? xstrdup (c->cpuset_cpus) : NULL;
  return 0;
}

static void
set_limit (json_t *o, const char *k, int64_t v)
{
  /* runtime-spec: -1 is "no limit" */
  if (v != CH_CGROUP_UNSET)
    json_object_set_new (o, k, json_integer (v < 0 ? -1 : v));
}

json_t *
ch_limits_to_oci (const struct ch_cgroup_resources *res)
{
  json_t *r = json_object (), *mem = json_object (), *cpu = json_object ();

  set_limit (mem, "limit", res->memory_limit);
  set_limit (mem, "swap", res->memory_swap);
  set_limit (cpu, "shares", res->cpu_shares);
  set_limit (cpu, "quota", res->cpu_quota);
  set_limit (cpu, "period", res->cpu_period);
  if (res->cpuset_cpus)
    json_object_set_new (cpu, "cpus", json_string (res->cpuset_cpus));
  if (json_object_size (mem))
    json_object_set (r, "memory", mem);
  if (json_object_size (cpu))
    json_object_set (r, "cpu", cpu);
  if (res->pids_limit != CH_CGROUP_UNSET)
    json_object_set_new (r, "pids", json_pack ("{s:I}", "limit", (json_int_t) (res->pids_limit < 0 ? -1 : res->pids_limit)));
  if (res->blkio_weight != CH_CGROUP_UNSET)
    json_object_set_new (r, "blockIO", json_pack ("{s:I}", "weight", (json_int_t) res->blkio_weight));
  json_decref (mem);
  json_decref (cpu);
  return r;
}
