/* The default seccomp profile, linked in as data so the static binary needs
 * no file at run time. The Makefile makes this object depend on the JSON. */
#include "runtime/spec.h"

__asm__ (".section .rodata\n"
         ".global ch_seccomp_default_start\n"
         ".type ch_seccomp_default_start, @object\n"
         "ch_seccomp_default_start:\n"
         ".incbin \"runtime/seccomp_default.json\"\n"
         ".global ch_seccomp_default_end\n"
         "ch_seccomp_default_end:\n"
         ".byte 0\n"
         ".previous\n");

extern const char ch_seccomp_default_start[];
extern const char ch_seccomp_default_end[];

const char *
ch_seccomp_default_json (size_t *len)
{
  *len = (size_t) (ch_seccomp_default_end - ch_seccomp_default_start);
  return ch_seccomp_default_start;
}
