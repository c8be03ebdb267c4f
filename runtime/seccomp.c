/* Build and load the libseccomp filter from a parsed linux.seccomp. */
#include "runtime/init.h"

#include "common/util.h"

#include <errno.h>
#include <seccomp.h>
#include <string.h>

static void
seccomp_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

static int
add_rule (scmp_filter_ctx ctx, uint32_t action, int nr, const struct ch_seccomp_rule *r, const char *name,
          ch_error_t *err)
{
  struct scmp_arg_cmp cmp[6];
  bool repeated = false;
  size_t i, j;
  int ret;

  for (i = 0; i < r->n_args; i++)
    {
      cmp[i] = (struct scmp_arg_cmp) { r->args[i].index, r->args[i].op, r->args[i].value, r->args[i].value_two };
      for (j = 0; j < i; j++)
        if (r->args[j].index == r->args[i].index)
          repeated = true;
    }
  /* runc: args on distinct indexes are ANDed in one rule; several on the
   * same index cannot be, so each becomes its own rule (ORed). */
  if (r->n_args > 6 || repeated)
    {
      for (i = 0; i < r->n_args; i++)
        {
          ret = seccomp_rule_add_array (ctx, action, nr, 1, &cmp[i < 6 ? i : 5]);
          if (ret < 0)
            return ch_error (err, -ret, "seccomp rule for `%s`", name);
        }
      return 0;
    }
  ret = seccomp_rule_add_array (ctx, action, nr, (unsigned) r->n_args, cmp);
  if (ret < 0)
    return ch_error (err, -ret, "seccomp rule for `%s`", name);
  return 0;
}

int
ch_seccomp_build (const struct ch_seccomp *sc, scmp_filter_ctx *out, ch_error_t *err)
{
  __attribute__ ((cleanup (seccomp_releasep))) scmp_filter_ctx ctx = NULL;
  size_t i, j;
  int ret;

  ctx = seccomp_init (sc->default_action);
  if (ctx == NULL)
    return ch_error (err, EINVAL, "seccomp_init");
  /* no_new_privs is the spec's business (process.noNewPrivileges), not libseccomp's */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  /* a binary search over the syscall numbers instead of a chain of ~350
   * comparisons per architecture: shorter to load into the kernel at every
   * start and cheaper on every syscall the chute makes (libseccomp >= 2.5) */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  for (i = 0; i < sc->n_arches; i++)
    {
      ret = seccomp_arch_add (ctx, sc->arches[i]);
      if (ret < 0 && ret != -EEXIST)
        return ch_error (err, -ret, "seccomp: add architecture");
    }
  for (i = 0; i < sc->n_rules; i++)
    {
      const struct ch_seccomp_rule *r = &sc->rules[i];
      if (r->action == sc->default_action)
        continue; /* libseccomp refuses it, and it is a no-op */
      for (j = 0; r->names[j]; j++)
        {
          int nr = seccomp_syscall_resolve_name (r->names[j]);
          if (nr == __NR_SCMP_ERROR)
            continue; /* unknown to this libseccomp/arch: skipped, as runc */
          if (add_rule (ctx, r->action, nr, r, r->names[j], err) < 0)
            return -1;
        }
    }
  *out = steal_pointer (&ctx);
  return 0;
}

int
ch_spec_seccomp_load (const struct ch_spec *s, ch_error_t *err)
{
  if (s->seccomp_bpf.prog)
    return ch_seccomp_load_bpf (&s->seccomp_bpf, err);
  return ch_seccomp_load (s->seccomp, err);
}

int
ch_seccomp_load (const struct ch_seccomp *sc, ch_error_t *err)
{
  __attribute__ ((cleanup (seccomp_releasep))) scmp_filter_ctx ctx = NULL;
  int ret;

  if (ch_seccomp_build (sc, &ctx, err) < 0)
    return -1;
  ret = seccomp_load (ctx);
  if (ret < 0)
    return ch_error (err, -ret, "load seccomp filter");
  return 0;
}
