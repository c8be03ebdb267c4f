/* linux.resources -> struct ch_cgroup_resources (runtime-spec units). */
#include "runtime/spec.h"

#include "common/util.h"

#include <stdlib.h>

static int
get_i64 (json_t *obj, const char *key, const char *name, int64_t *out, ch_error_t *err)
{
  json_t *v;
  if (ch_spec_get (obj, key, name, JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v)
    *out = json_integer_value (v);
  return 0;
}

static int
get_str (json_t *obj, const char *key, const char *name, char **out, ch_error_t *err)
{
  json_t *v;
  if (ch_spec_get (obj, key, name, JSON_STRING, false, &v, err) < 0)
    return -1;
  if (v && json_string_value (v)[0])
    {
      free (*out);
      *out = xstrdup (json_string_value (v));
    }
  return 0;
}

static int
get_throttle (json_t *obj, const char *name, struct ch_cgroup_throttle **out, size_t *n, ch_error_t *err)
{
  json_t *arr, *e;
  size_t i;
  cleanup_free char *key = xasprintf ("linux.resources.blockIO.%s", name);

  if (ch_spec_get (obj, "linux.resources.blockIO", name, JSON_ARRAY, false, &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  *out = xzalloc (sizeof (**out) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      static const char *const f[3] = { "major", "minor", "rate" };
      static const uint64_t max[3] = { UINT32_MAX, UINT32_MAX, UINT64_MAX };
      cleanup_free char *k = xasprintf ("%s[%zu]", key, i);
      uint64_t val[3];
      if (ch_spec_u64_fields (e, k, f, max, 3, val, err) < 0)
        return -1;
      (*out)[i] = (struct ch_cgroup_throttle) { (uint32_t) val[0], (uint32_t) val[1], val[2] };
      (*n)++;
    }
  return 0;
}

int
ch_spec_parse_resources (struct ch_cgroup_resources *r, json_t *res, ch_error_t *err)
{
  json_t *o;

  if (ch_spec_get (res, "linux.resources", "memory", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o
      && (get_i64 (o, "linux.resources.memory", "limit", &r->memory_limit, err) < 0
          || get_i64 (o, "linux.resources.memory", "swap", &r->memory_swap, err) < 0
          || get_i64 (o, "linux.resources.memory", "reservation", &r->memory_reservation, err) < 0))
    return -1;
  if (ch_spec_get (res, "linux.resources", "cpu", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o
      && (get_i64 (o, "linux.resources.cpu", "shares", &r->cpu_shares, err) < 0
          || get_i64 (o, "linux.resources.cpu", "quota", &r->cpu_quota, err) < 0
          || get_i64 (o, "linux.resources.cpu", "period", &r->cpu_period, err) < 0
          || get_str (o, "linux.resources.cpu", "cpus", &r->cpuset_cpus, err) < 0
          || get_str (o, "linux.resources.cpu", "mems", &r->cpuset_mems, err) < 0))
    return -1;
  if (r->cpu_shares != CH_CGROUP_UNSET && (r->cpu_shares < 2 || r->cpu_shares > 262144))
    return ch_spec_err (err, "linux.resources.cpu.shares", "%lld is outside 2..262144", (long long) r->cpu_shares);
  if (ch_spec_get (res, "linux.resources", "pids", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o && get_i64 (o, "linux.resources.pids", "limit", &r->pids_limit, err) < 0)
    return -1;
  if (ch_spec_get (res, "linux.resources", "blockIO", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o)
    {
      if (get_i64 (o, "linux.resources.blockIO", "weight", &r->blkio_weight, err) < 0)
        return -1;
      if (r->blkio_weight != CH_CGROUP_UNSET && (r->blkio_weight < 10 || r->blkio_weight > 1000))
        return ch_spec_err (err, "linux.resources.blockIO.weight", "%lld is outside 10..1000",
                            (long long) r->blkio_weight);
      if (get_throttle (o, "throttleReadBpsDevice", &r->read_bps, &r->n_read_bps, err) < 0
          || get_throttle (o, "throttleWriteBpsDevice", &r->write_bps, &r->n_write_bps, err) < 0
          || get_throttle (o, "throttleReadIOPSDevice", &r->read_iops, &r->n_read_iops, err) < 0
          || get_throttle (o, "throttleWriteIOPSDevice", &r->write_iops, &r->n_write_iops, err) < 0)
        return -1;
    }
  return 0;
}
