/* The device policy of a chute on cgroup v2: a BPF_CGROUP_DEVICE program
 * built from the rules (no libbpf: the instructions are few and fixed),
 * loaded with bpf(2) and attached to the chute's directory. */
#include "cgroups/internal.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define LDX_W(dst, src, off) INSN (BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
#define ALU32_IMM(op, dst, imm) INSN (BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) INSN (BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) INSN (BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JMP_IMM(op, dst, imm, off) INSN (BPF_JMP | (op) | BPF_K, dst, 0, off, imm)
#define EXIT() INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The kernel's access bits are the ones cgroup.h uses. */
_Static_assert ((int) CH_CGROUP_DEV_MKNOD == (int) BPF_DEVCG_ACC_MKNOD
                    && (int) CH_CGROUP_DEV_READ == (int) BPF_DEVCG_ACC_READ
                    && (int) CH_CGROUP_DEV_WRITE == (int) BPF_DEVCG_ACC_WRITE,
                "access bits");

struct prog
{
  struct bpf_insn *v;
  size_t n;
};

static void
emit (struct prog *p, struct bpf_insn i)
{
  p->v = xrealloc (p->v, (p->n + 1) * sizeof (*p->v));
  p->v[p->n++] = i;
}

/* One rule: each test jumps past the rule's "return allow" when the
 * request does not match. An allow rule matches when it grants every
 * access asked for; a deny rule when it refuses any of them (v1 removes
 * the denied bits from what was allowed). */
static void
emit_rule (struct prog *p, const struct ch_cgroup_device *d)
{
  bool type = d->type != 'a', acc = (d->access & CH_CGROUP_DEV_RWM) != CH_CGROUP_DEV_RWM;
  bool maj = d->major >= 0, min = d->minor >= 0;
  size_t start = p->n;
  int total = (type ? 1 : 0) + (acc ? 3 : 0) + (maj ? 1 : 0) + (min ? 1 : 0) + 2;
/* a jump emitted now lands on the first instruction after the rule */
#define PAST ((int16_t) (total - (int) (p->n - start) - 1))

  if (type)
    emit (p, JMP_IMM (BPF_JNE, BPF_REG_2, d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, PAST));
  if (acc)
    {
      emit (p, MOV32_REG (BPF_REG_1, BPF_REG_3));
      if (d->allow)
        {
          emit (p, ALU32_IMM (BPF_AND, BPF_REG_1, (int32_t) (~d->access & CH_CGROUP_DEV_RWM)));
          emit (p, JMP_IMM (BPF_JNE, BPF_REG_1, 0, PAST));
        }
      else
        {
          emit (p, ALU32_IMM (BPF_AND, BPF_REG_1, (int32_t) d->access));
          emit (p, JMP_IMM (BPF_JEQ, BPF_REG_1, 0, PAST));
        }
    }
  if (maj)
    emit (p, JMP_IMM (BPF_JNE, BPF_REG_4, (int32_t) d->major, PAST));
  if (min)
    emit (p, JMP_IMM (BPF_JNE, BPF_REG_5, (int32_t) d->minor, PAST));
#undef PAST
  emit (p, MOV64_IMM (BPF_REG_0, d->allow ? 1 : 0));
  emit (p, EXIT ());
}

int
ch_cgroup_devices_bpf_build (const struct ch_cgroup_device *d, size_t n, struct bpf_insn **out, size_t *len,
                             ch_error_t *err)
{
  struct prog p = { 0 };
  size_t i;

  for (i = 0; i < n; i++)
    if (d[i].major > INT32_MAX || d[i].minor > INT32_MAX || !strchr ("acb", d[i].type) || d[i].type == '\0')
      return ch_error (err, EINVAL, "device rule %zu: type `%c`, %lld:%lld cannot be expressed", i, d[i].type,
                       (long long) d[i].major, (long long) d[i].minor);
  /* r2 = type, r3 = access, r4 = major, r5 = minor (struct bpf_cgroup_dev_ctx) */
  emit (&p, LDX_W (BPF_REG_2, BPF_REG_1, 0));
  emit (&p, ALU32_IMM (BPF_AND, BPF_REG_2, 0xFFFF));
  emit (&p, LDX_W (BPF_REG_3, BPF_REG_1, 0));
  emit (&p, ALU32_IMM (BPF_RSH, BPF_REG_3, 16));
  emit (&p, LDX_W (BPF_REG_4, BPF_REG_1, 4));
  emit (&p, LDX_W (BPF_REG_5, BPF_REG_1, 8));
  /* the last rule wins: test from the end, the first match returns; a
   * rule for every device and access hides all the ones before it */
  for (i = n; i-- > 0;)
    {
      emit_rule (&p, &d[i]);
      if (ch_cgroup_device_is_all (&d[i]))
        break;
    }
  if (i == (size_t) -1)
    {
      /* no rule matched: deny */
      emit (&p, MOV64_IMM (BPF_REG_0, 0));
      emit (&p, EXIT ());
    }
  *out = p.v;
  *len = p.n;
  return 0;
}

static int
sys_bpf (int cmd, union bpf_attr *attr)
{
  return (int) syscall (SYS_bpf, cmd, attr, sizeof (*attr));
}

int
ch_cgroup_devices_bpf_load (const struct bpf_insn *prog, size_t len, int *fd, ch_error_t *err)
{
  union bpf_attr a;
  char log[4096];

  memset (&a, 0, sizeof (a));
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t) (uintptr_t) prog;
  a.insn_cnt = (uint32_t) len;
  a.license = (uint64_t) (uintptr_t) "GPL";
  *fd = sys_bpf (BPF_PROG_LOAD, &a);
  if (*fd >= 0)
    return 0;
  if (errno == EPERM)
    {
      /* before 5.11 programs count against RLIMIT_MEMLOCK */
      struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
      setrlimit (RLIMIT_MEMLOCK, &rl);
      *fd = sys_bpf (BPF_PROG_LOAD, &a);
      if (*fd >= 0)
        return 0;
    }
  /* again with the verifier's log, for the message */
  log[0] = '\0';
  a.log_level = 1;
  a.log_buf = (uint64_t) (uintptr_t) log;
  a.log_size = sizeof (log);
  *fd = sys_bpf (BPF_PROG_LOAD, &a);
  if (*fd >= 0)
    return 0;
  log[strcspn (log, "\n")] = '\0';
  return ch_error (err, errno, "load the device cgroup BPF program%s%s", log[0] ? ": " : "", log);
}

/* Attach PROG to DIR next to what is there (BPF_F_ALLOW_MULTI, as systemd
 * and crun do), then detach the device programs that were attached to DIR
 * itself before: an earlier chute's policy must not outlive it. */
static int
attach (int dirfd, int prog, ch_error_t *err)
{
  uint32_t ids[64];
  uint32_t n = 0;
  union bpf_attr a;

  memset (&a, 0, sizeof (a));
  a.query.target_fd = (uint32_t) dirfd;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uint64_t) (uintptr_t) ids;
  a.query.prog_cnt = sizeof (ids) / sizeof (ids[0]);
  if (sys_bpf (BPF_PROG_QUERY, &a) < 0)
    return ch_error (err, errno, "query the device programs attached");
  n = a.query.prog_cnt;

  memset (&a, 0, sizeof (a));
  a.target_fd = (uint32_t) dirfd;
  a.attach_bpf_fd = (uint32_t) prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &a) < 0)
    return ch_error (err, errno, "attach the device cgroup BPF program");

  for (uint32_t i = 0; i < n; i++)
    {
      cleanup_close int old = -1;
      memset (&a, 0, sizeof (a));
      a.prog_id = ids[i];
      old = sys_bpf (BPF_PROG_GET_FD_BY_ID, &a);
      if (old < 0)
        {
          if (errno == ENOENT)
            continue;
          return ch_error (err, errno, "open the earlier device program %u", ids[i]);
        }
      memset (&a, 0, sizeof (a));
      a.target_fd = (uint32_t) dirfd;
      a.attach_bpf_fd = (uint32_t) old;
      a.attach_type = BPF_CGROUP_DEVICE;
      if (sys_bpf (BPF_PROG_DETACH, &a) < 0 && errno != ENOENT)
        return ch_error (err, errno, "detach the earlier device program %u", ids[i]);
    }
  return 0;
}

int
cg_devices_bpf (bool fake, const char *dir, const struct ch_cgroup_device *d, size_t n, ch_error_t *err)
{
  cleanup_free struct bpf_insn *prog = NULL;
  cleanup_close int pfd = -1, dfd = -1;
  size_t len;

  if (ch_cgroup_devices_bpf_build (d, n, &prog, &len, err) < 0)
    return -1;
  /* a test tree is plain files: nothing to attach to */
  if (fake)
    return 0;
  if (ch_cgroup_devices_bpf_load (prog, len, &pfd, err) < 0)
    return -1;
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return ch_error (err, errno, "open `%s`", dir);
  return attach (dfd, pfd, err);
}
