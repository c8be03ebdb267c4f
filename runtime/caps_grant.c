/* Which of the requested capabilities the container's process can get,
 * decided by create and exec before the clone. runtime-spec v1.1 (config.md,
 * process.capabilities): a value that cannot be mapped to the kernel or
 * cannot be granted MUST be logged as a warning and runtimes SHOULD NOT fail,
 * as runc does. The init then asks the kernel only for what it can give. */
#include "runtime/init.h"

#include "common/util.h"

#include <stdio.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>

struct said
{
  struct ch_buf b;
  uint64_t done;
};

static void
say (struct said *w, uint64_t caps, const char *why)
{
  for (int i = 0; i < 64; i++)
    if ((caps & ~w->done) & (1ULL << i))
      {
        const char *name = ch_cap_name (i);
        ch_buf_printf (&w->b, "%s%s (%s)", w->b.len ? ", " : "", name ? name : "?", why);
        w->done |= 1ULL << i;
      }
}

char *
ch_caps_restrict (struct ch_caps *c, char *const *unknown, int last_cap, uint64_t grantable)
{
  uint64_t kernel = last_cap >= 63 ? ~0ULL : (1ULL << (last_cap + 1)) - 1;
  uint64_t all = c->bounding | c->effective | c->inheritable | c->permitted | c->ambient;
  uint64_t keep;
  struct said w = { { 0 }, 0 };

  for (; unknown && *unknown; unknown++)
    ch_buf_printf (&w.b, "%s%s (unknown)", w.b.len ? ", " : "", *unknown);
  say (&w, all & ~kernel, "unknown to this kernel");
  say (&w, all & kernel & ~grantable, "not in the bounding set this runtime runs with");
  keep = kernel & grantable;
  c->bounding &= keep;
  /* capset: permitted and inheritable within the bounding set, effective
   * within permitted; an ambient one must be permitted and inheritable */
  say (&w, (c->effective | c->permitted | c->inheritable) & keep & ~c->bounding,
       "not in process.capabilities.bounding");
  c->permitted &= c->bounding;
  c->inheritable &= c->bounding;
  say (&w, c->effective & c->bounding & ~c->permitted, "effective but not permitted");
  c->effective &= c->permitted;
  say (&w, c->ambient & keep & ~(c->permitted & c->inheritable), "ambient but not permitted and inheritable");
  c->ambient &= c->permitted & c->inheritable;
  if (w.b.len == 0)
    return NULL;
  {
    cleanup_free char *list = ch_buf_steal (&w.b);
    return xasprintf ("process.capabilities: skipping %s", list);
  }
}

static bool
same_ns (const char *path, const char *own)
{
  struct stat a, b;
  return stat (path, &a) == 0 && stat (own, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void
ch_caps_check (struct ch_spec *s, ch_warn_fn warn, void *data)
{
  const struct ch_spec_ns *u = &s->ns[CH_NS_USER];
  uint64_t grantable = ~0ULL;
  int last = cap_max_bits () - 1;
  cleanup_free char *msg = NULL;

  if (!s->has_caps)
    return;
  /* A user namespace of its own (new or joined) gives the process every
   * capability there; otherwise it can keep only what we hold. */
  if (!u->enabled || (u->path && same_ns (u->path, "/proc/self/ns/user")))
    {
      uint64_t want = s->caps.bounding | s->caps.effective | s->caps.inheritable | s->caps.permitted | s->caps.ambient;
      for (int i = 0; i <= last && i < 64; i++)
        if ((want & (1ULL << i)) && prctl (PR_CAPBSET_READ, (unsigned long) i, 0, 0, 0) != 1)
          grantable &= ~(1ULL << i);
    }
  msg = ch_caps_restrict (&s->caps, s->caps_unknown, last, grantable);
  if (msg == NULL)
    return;
  ch_warn_say (warn, data, msg);
}

void
ch_warn_say (ch_warn_fn warn, void *data, const char *msg)
{
  if (warn)
    warn (data, msg);
  else
    fprintf (stderr, "chuted: warning: %s\n", msg);
}
