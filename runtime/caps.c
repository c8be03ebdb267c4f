/* Capabilities through libcap: bounding set first (needs CAP_SETPCAP),
 * then effective/permitted/inheritable after the uid change, then ambient. */
#include "runtime/init.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>

static void
cap_freep (cap_t *c)
{
  if (*c)
    cap_free (*c);
}

int
ch_caps_drop_bounding (const struct ch_caps *c, ch_error_t *err)
{
  int last = cap_max_bits () - 1, i;

  for (i = 0; i <= last && i < 64; i++)
    if (!(c->bounding & (1ULL << i)) && cap_drop_bound ((cap_value_t) i) < 0 && errno != EINVAL)
      return ch_error (err, errno, "drop capability %d from the bounding set", i);
  return 0;
}

/* capset's EPERM names no capability: find the one the kernel refused.
 * A permitted, effective or inheritable capability must be in the bounding
 * set, which by now is the config's bounding set cut down to the one this
 * runtime runs with (a host or sandbox may withhold some from root). */
static int
capset_error (const struct ch_caps *c, int errnum, ch_error_t *err)
{
  uint64_t wanted = c->permitted | c->effective | c->inheritable;
  int last = cap_max_bits () - 1, i;

  if (errnum == EPERM)
    for (i = 0; i <= last && i < 64; i++)
      if ((wanted & (1ULL << i)) && cap_get_bound ((cap_value_t) i) == 0)
        {
          char *name = cap_to_name ((cap_value_t) i);
          bool in_config = c->bounding & (1ULL << i);
          char *p;
          int r;

          for (p = name; p && *p; p++)
            *p = (char) toupper ((unsigned char) *p);
          r = ch_error (err, 0, "process.capabilities: %s is not in %s", name ? name : "?",
                        in_config ? "the bounding set this runtime was started with"
                                  : "process.capabilities.bounding");
          cap_free (name);
          return r;
        }
  return ch_error (err, errnum, "set capabilities");
}

int
ch_caps_apply (const struct ch_caps *c, ch_error_t *err)
{
  __attribute__ ((cleanup (cap_freep))) cap_t caps = cap_init ();
  int last = cap_max_bits () - 1, i;

  if (caps == NULL)
    return ch_error (err, errno, "cap_init");
  for (i = 0; i <= last && i < 64; i++)
    {
      cap_value_t v = (cap_value_t) i;
      if (c->effective & (1ULL << i))
        cap_set_flag (caps, CAP_EFFECTIVE, 1, &v, CAP_SET);
      if (c->permitted & (1ULL << i))
        cap_set_flag (caps, CAP_PERMITTED, 1, &v, CAP_SET);
      if (c->inheritable & (1ULL << i))
        cap_set_flag (caps, CAP_INHERITABLE, 1, &v, CAP_SET);
    }
  if (cap_set_proc (caps) < 0)
    return capset_error (c, errno, err);
  if (cap_reset_ambient () < 0 && errno != EINVAL)
    return ch_error (err, errno, "reset ambient capabilities");
  for (i = 0; i <= last && i < 64; i++)
    /* An ambient cap must be permitted and inheritable; runc skips the rest. */
    if ((c->ambient & (1ULL << i)) && (c->permitted & c->inheritable & (1ULL << i))
        && cap_set_ambient ((cap_value_t) i, CAP_SET) < 0)
      return ch_error (err, errno, "raise ambient capability %d", i);
  return 0;
}
