/* The device policy of a chute on v1: devices.deny "a", then each rule in
 * order (a later write wins, as the kernel applies them one by one). */
#include "cgroups/internal.h"
#include "common/util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static char *
access_text (unsigned a)
{
  return xasprintf ("%s%s%s", a & CH_CGROUP_DEV_READ ? "r" : "", a & CH_CGROUP_DEV_WRITE ? "w" : "",
                    a & CH_CGROUP_DEV_MKNOD ? "m" : "");
}

static char *
num (int64_t v)
{
  return v < 0 ? xstrdup ("*") : xasprintf ("%" PRId64, v);
}

bool
ch_cgroup_device_is_all (const struct ch_cgroup_device *d)
{
  return d->type == 'a' && d->major < 0 && d->minor < 0 && (d->access & CH_CGROUP_DEV_RWM) == CH_CGROUP_DEV_RWM;
}

char *
ch_cgroup_device_v1_rule (const struct ch_cgroup_device *d, char type)
{
  cleanup_free char *acc = access_text (d->access);
  cleanup_free char *maj = num (d->major);
  cleanup_free char *min = num (d->minor);

  if (type == 'a')
    return xstrdup ("a");
  return xasprintf ("%c %s:%s %s", type, maj, min, acc);
}

static int
write_rule (bool fake, const char *dir, const struct ch_cgroup_device *d, char type, ch_error_t *err)
{
  cleanup_free char *rule = ch_cgroup_device_v1_rule (d, type);
  const char *file = d->allow ? "devices.allow" : "devices.deny";

  if (cg_write (fake, dir, file, rule, err) == 0)
    return 0;
  /* a v1 child never gets more than its parent */
  if ((*err)->status == EPERM && d->allow)
    {
      ch_error_release (err);
      return ch_error (err, EPERM, "%s `%s`: the parent cgroup does not allow this device", file, rule);
    }
  return -1;
}

/* Does A's match cover B's and more (a wildcard where B names a number)? */
static bool
broader (const struct ch_cgroup_device *a, const struct ch_cgroup_device *b)
{
  bool covers = (a->type == 'a' || a->type == b->type) && (a->major < 0 || a->major == b->major)
                && (a->minor < 0 || a->minor == b->minor) && (a->access & b->access);
  return covers && !(a->type == b->type && a->major == b->major && a->minor == b->minor);
}

/* v1 removes a denied device from the allowed ones only where both name
 * it the same way: "deny c 10:229" after "allow c 10:*" would leave 10:229
 * allowed. Refuse that instead of applying something else. */
static int
check_v1_expressible (const struct ch_cgroup_device *d, size_t n, ch_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      if (d[i].allow || ch_cgroup_device_is_all (&d[i]))
        continue;
      for (size_t j = i; j-- > 0 && !ch_cgroup_device_is_all (&d[j]);)
        if (d[j].allow && broader (&d[j], &d[i]))
          {
            cleanup_free char *a = ch_cgroup_device_v1_rule (&d[j], d[j].type);
            cleanup_free char *b = ch_cgroup_device_v1_rule (&d[i], d[i].type);
            return ch_error (err, EINVAL,
                             "device rule %zu (deny `%s`) narrows rule %zu (allow `%s`): cgroup v1 cannot "
                             "express that",
                             i, b, j, a);
          }
    }
  return 0;
}

int
cg_devices_v1 (bool fake, const char *dir, const struct ch_cgroup_device *d, size_t n, ch_error_t *err)
{
  if (check_v1_expressible (d, n, err) < 0)
    return -1;
  /* a fresh deny-all list: nothing from the parent or an earlier chute */
  if (cg_write (fake, dir, "devices.deny", "a", err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      /* the kernel reads any rule starting with "a" as "every device,
       * every access": a narrower any-type rule is one per type */
      if (d[i].type == 'a' && !ch_cgroup_device_is_all (&d[i]))
        {
          if (write_rule (fake, dir, &d[i], 'c', err) < 0 || write_rule (fake, dir, &d[i], 'b', err) < 0)
            return -1;
        }
      else if (write_rule (fake, dir, &d[i], d[i].type, err) < 0)
        return -1;
    }
  return 0;
}
