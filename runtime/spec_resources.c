/* linux.resources -> struct ch_cgroup_resources (runtime-spec units). */
#include "runtime/spec.h"

#include "common/util.h"

#include <stdlib.h>
#include <string.h>

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

static int
get_weight (json_t *obj, const char *key, const char *name, int64_t *out, ch_error_t *err)
{
  if (get_i64 (obj, key, name, out, err) < 0)
    return -1;
  if (*out != CH_CGROUP_UNSET && (*out < 10 || *out > 1000))
    {
      cleanup_free char *k = xasprintf ("%s.%s", key, name);
      return ch_spec_err (err, k, "%lld is outside 10..1000", (long long) *out);
    }
  return 0;
}

/* linux.resources.blockIO.weightDevice[I]: a device's weight, leafWeight or both */
static int
get_weight_devices (json_t *obj, struct ch_cgroup_resources *r, ch_error_t *err)
{
  json_t *arr, *e;
  size_t i;

  if (ch_spec_get (obj, "linux.resources.blockIO", "weightDevice", JSON_ARRAY, false, &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  r->weight_devices = xzalloc (sizeof (*r->weight_devices) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      static const char *const f[2] = { "major", "minor" };
      static const uint64_t max[2] = { UINT32_MAX, UINT32_MAX };
      cleanup_free char *k = xasprintf ("linux.resources.blockIO.weightDevice[%zu]", i);
      struct ch_cgroup_weight_device *w = &r->weight_devices[i];
      uint64_t val[2];

      if (ch_spec_u64_fields (e, k, f, max, 2, val, err) < 0)
        return -1;
      *w = (struct ch_cgroup_weight_device) { (uint32_t) val[0], (uint32_t) val[1], CH_CGROUP_UNSET, CH_CGROUP_UNSET };
      if (get_weight (e, k, "weight", &w->weight, err) < 0 || get_weight (e, k, "leafWeight", &w->leaf_weight, err) < 0)
        return -1;
      r->n_weight_devices++;
    }
  return 0;
}

/* linux.resources.devices[I]: major/minor absent or -1 is "any". */
static int
get_device_rule (json_t *e, size_t i, struct ch_cgroup_device *d, ch_error_t *err)
{
  cleanup_free char *k = xasprintf ("linux.resources.devices[%zu]", i);
  const char *nums[2] = { "major", "minor" };
  int64_t *outs[2] = { &d->major, &d->minor };
  json_t *v;

  if (!json_is_object (e))
    return ch_spec_err (err, k, "must be an object");
  if (ch_spec_get (e, k, "allow", JSON_TRUE, true, &v, err) < 0)
    return -1;
  d->allow = json_is_true (v);
  if (ch_spec_get (e, k, "type", JSON_STRING, false, &v, err) < 0)
    return -1;
  d->type = v ? json_string_value (v)[0] : 'a';
  if (v && (strlen (json_string_value (v)) != 1 || !strchr ("acb", d->type)))
    {
      cleanup_free char *kk = xasprintf ("%s.type", k);
      return ch_spec_err (err, kk, "`%s` is not a, c or b", json_string_value (v));
    }
  for (int j = 0; j < 2; j++)
    {
      cleanup_free char *kk = xasprintf ("%s.%s", k, nums[j]);
      *outs[j] = -1;
      if (ch_spec_get (e, k, nums[j], JSON_INTEGER, false, &v, err) < 0)
        return -1;
      if (v && (json_integer_value (v) < -1 || json_integer_value (v) > INT32_MAX))
        return ch_spec_err (err, kk, "%lld is not a device number", (long long) json_integer_value (v));
      if (v)
        *outs[j] = json_integer_value (v);
    }
  if (ch_spec_get (e, k, "access", JSON_STRING, false, &v, err) < 0)
    return -1;
  /* runtime-spec: absent is "rwm" */
  d->access = v ? 0 : CH_CGROUP_DEV_RWM;
  for (const char *a = v ? json_string_value (v) : ""; *a; a++)
    {
      unsigned bit = *a == 'r' ? CH_CGROUP_DEV_READ : *a == 'w' ? CH_CGROUP_DEV_WRITE : *a == 'm' ? CH_CGROUP_DEV_MKNOD : 0;
      if (bit == 0)
        {
          cleanup_free char *kk = xasprintf ("%s.access", k);
          return ch_spec_err (err, kk, "`%s`: only r, w and m", json_string_value (v));
        }
      d->access |= bit;
    }
  if (d->access == 0)
    {
      cleanup_free char *kk = xasprintf ("%s.access", k);
      return ch_spec_err (err, kk, "must not be empty");
    }
  return 0;
}

static int
get_devices (struct ch_cgroup_resources *r, json_t *arr, ch_error_t *err)
{
  size_t i;
  json_t *e;

  r->devices = xzalloc (sizeof (*r->devices) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      if (get_device_rule (e, i, &r->devices[r->n_devices], err) < 0)
        return -1;
      r->n_devices++;
    }
  return 0;
}

/* hugepageLimits[]: {pageSize, limit}; the size is part of a file name */
static int
get_hugepages (struct ch_cgroup_resources *r, json_t *arr, ch_error_t *err)
{
  size_t i;
  json_t *e, *v;

  r->hugepages = xzalloc (sizeof (*r->hugepages) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("linux.resources.hugepageLimits[%zu]", i);
      cleanup_free char *kl = xasprintf ("%s.limit", k);
      const char *ps;
      uint64_t limit;

      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "pageSize", JSON_STRING, true, &v, err) < 0)
        return -1;
      ps = json_string_value (v);
      if (*ps == '\0' || ps[strspn (ps, "0123456789KMGBkmgb")] != '\0')
        {
          cleanup_free char *kp = xasprintf ("%s.pageSize", k);
          return ch_spec_err (err, kp, "`%s` is not a page size like 2MB", ps);
        }
      if (ch_spec_get (e, k, "limit", JSON_INTEGER, true, &v, err) < 0 || ch_spec_u64 (v, kl, &limit, err) < 0)
        return -1;
      r->hugepages[r->n_hugepages++] = (struct ch_cgroup_hugepage){ xstrdup (ps), limit };
    }
  return 0;
}

/* network: {classID, priorities[]: {name, priority}} */
static int
get_network (struct ch_cgroup_resources *r, json_t *o, ch_error_t *err)
{
  json_t *v, *arr, *e;
  uint64_t n;
  size_t i;

  if (ch_spec_get (o, "linux.resources.network", "classID", JSON_INTEGER, false, &v, err) < 0)
    return -1;
  if (v && (ch_spec_u64 (v, "linux.resources.network.classID", &n, err) < 0 || n > UINT32_MAX))
    return n > UINT32_MAX ? ch_spec_err (err, "linux.resources.network.classID", "out of range") : -1;
  if (v)
    r->net_classid = (int64_t) n;
  if (ch_spec_get (o, "linux.resources.network", "priorities", JSON_ARRAY, false, &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  r->net_prios = xzalloc (sizeof (*r->net_prios) * (json_array_size (arr) + 1));
  json_array_foreach (arr, i, e)
    {
      cleanup_free char *k = xasprintf ("linux.resources.network.priorities[%zu]", i);
      cleanup_free char *kp = xasprintf ("%s.priority", k);
      const char *name;
      if (!json_is_object (e))
        return ch_spec_err (err, k, "must be an object");
      if (ch_spec_get (e, k, "name", JSON_STRING, true, &v, err) < 0)
        return -1;
      name = json_string_value (v);
      if (*name == '\0' || strpbrk (name, " \t\n/"))
        {
          cleanup_free char *kn = xasprintf ("%s.name", k);
          return ch_spec_err (err, kn, "`%s` is not an interface name", name);
        }
      if (ch_spec_get (e, k, "priority", JSON_INTEGER, true, &v, err) < 0 || ch_spec_u64 (v, kp, &n, err) < 0)
        return -1;
      if (n > UINT32_MAX)
        return ch_spec_err (err, kp, "out of range");
      r->net_prios[r->n_net_prios++] = (struct ch_cgroup_ifprio){ xstrdup (name), (uint32_t) n };
    }
  return 0;
}

/* runc's default set: what every program expects to open. Nothing else,
 * not even mknod (a chute has CAP_MKNOD: it must not reach the host's
 * consoles, disks, tun or fuse through a node of its own). */
static const struct ch_cgroup_device default_devices[] = {
  { true, 'c', 1, 3, CH_CGROUP_DEV_RWM },  /* null */
  { true, 'c', 1, 5, CH_CGROUP_DEV_RWM },  /* zero */
  { true, 'c', 1, 7, CH_CGROUP_DEV_RWM },  /* full */
  { true, 'c', 1, 8, CH_CGROUP_DEV_RWM },  /* random */
  { true, 'c', 1, 9, CH_CGROUP_DEV_RWM },  /* urandom */
  { true, 'c', 5, 0, CH_CGROUP_DEV_RWM },  /* tty */
  { true, 'c', 5, 2, CH_CGROUP_DEV_RWM },  /* ptmx */
  { true, 'c', 136, -1, CH_CGROUP_DEV_RWM }, /* pts */
};

void
ch_spec_device_policy (struct ch_spec *s)
{
  struct ch_cgroup_resources *r = &s->resources;
  size_t nd = sizeof (default_devices) / sizeof (default_devices[0]);

  /* as runc and crun: config.json's rules, then the default set after
   * them (so a rule cannot take those away), then mknod of the nodes
   * linux.devices asks the runtime itself to make */
  r->devices = xrealloc (r->devices, (r->n_devices + nd + s->n_devices + 1) * sizeof (*r->devices));
  memcpy (r->devices + r->n_devices, default_devices, sizeof (default_devices));
  r->n_devices += nd;
  for (size_t i = 0; i < s->n_devices; i++)
    if (s->devices[i].type != 'p')
      r->devices[r->n_devices++] = (struct ch_cgroup_device){
        true, s->devices[i].type == 'b' ? 'b' : 'c', s->devices[i].major, s->devices[i].minor, CH_CGROUP_DEV_MKNOD
      };
  r->devices_set = true;
}

int
ch_spec_parse_resources (struct ch_cgroup_resources *r, json_t *res, ch_error_t *err)
{
  static const char *const no_res[] = { "rdma", "unified" };
  static const char *const no_mem[] = { "useHierarchy", "checkBeforeUpdate" };
  static const char *const no_cpu[] = { "realtimeRuntime", "realtimePeriod", "idle", "burst" };
  json_t *o;

  if (ch_spec_refuse (res, "linux.resources", no_res, 2, err) < 0)
    return -1;
  if (ch_spec_get (res, "linux.resources", "memory", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o && ch_spec_refuse (o, "linux.resources.memory", no_mem, 2, err) < 0)
    return -1;
  if (o
      && (get_i64 (o, "linux.resources.memory", "limit", &r->memory_limit, err) < 0
          || get_i64 (o, "linux.resources.memory", "swap", &r->memory_swap, err) < 0
          || get_i64 (o, "linux.resources.memory", "reservation", &r->memory_reservation, err) < 0
          || get_i64 (o, "linux.resources.memory", "swappiness", &r->memory_swappiness, err) < 0
          || get_i64 (o, "linux.resources.memory", "kernelTCP", &r->kernel_tcp, err) < 0
          || get_i64 (o, "linux.resources.memory", "kernel", &r->kernel_memory, err) < 0))
    return -1;
  /* runc's -1 for "leave it" */
  if (r->memory_swappiness == -1)
    r->memory_swappiness = CH_CGROUP_UNSET;
  if (r->memory_swappiness != CH_CGROUP_UNSET && (r->memory_swappiness < 0 || r->memory_swappiness > 100))
    return ch_spec_err (err, "linux.resources.memory.swappiness", "%lld is outside 0..100",
                        (long long) r->memory_swappiness);
  if (o)
    {
      json_t *v;
      if (ch_spec_get (o, "linux.resources.memory", "disableOOMKiller", JSON_TRUE, false, &v, err) < 0)
        return -1;
      r->disable_oom_killer = v && json_is_true (v);
    }
  if (ch_spec_get (res, "linux.resources", "hugepageLimits", JSON_ARRAY, false, &o, err) < 0)
    return -1;
  if (o && get_hugepages (r, o, err) < 0)
    return -1;
  if (ch_spec_get (res, "linux.resources", "network", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o && get_network (r, o, err) < 0)
    return -1;
  if (ch_spec_get (res, "linux.resources", "cpu", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o && ch_spec_refuse (o, "linux.resources.cpu", no_cpu, 4, err) < 0)
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
  if (ch_spec_get (res, "linux.resources", "devices", JSON_ARRAY, false, &o, err) < 0)
    return -1;
  if (o && get_devices (r, o, err) < 0)
    return -1;
  if (ch_spec_get (res, "linux.resources", "blockIO", JSON_OBJECT, false, &o, err) < 0)
    return -1;
  if (o)
    {
      if (get_weight (o, "linux.resources.blockIO", "weight", &r->blkio_weight, err) < 0
          || get_weight (o, "linux.resources.blockIO", "leafWeight", &r->blkio_leaf_weight, err) < 0
          || get_weight_devices (o, r, err) < 0)
        return -1;
      if (get_throttle (o, "throttleReadBpsDevice", &r->read_bps, &r->n_read_bps, err) < 0
          || get_throttle (o, "throttleWriteBpsDevice", &r->write_bps, &r->n_write_bps, err) < 0
          || get_throttle (o, "throttleReadIOPSDevice", &r->read_iops, &r->n_read_iops, err) < 0
          || get_throttle (o, "throttleWriteIOPSDevice", &r->write_iops, &r->n_write_iops, err) < 0)
        return -1;
    }
  return 0;
}
