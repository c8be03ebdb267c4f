/* A chute's confinement as podman's flags say it: --cap-add/--cap-drop,
 * --privileged, --security-opt seccomp=/no-new-privileges, --device. The
 * runtime enforces config.json; this turns the chute's flags into it. */
#ifndef CH_SECURITY_H
#define CH_SECURITY_H

#include "common/error.h"
#include "mgmt/chute.h"

#include <jansson.h>

/* "net_admin", "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "all" -> "ALL". */
int ch_cap_normalize (const char *name, char **out, ch_error_t *err);

/* --device HOST[:CTR][:PERMS] -> "HOST:CTR:PERMS" (HOST must be a device
 * node, CTR absolute, PERMS of r, w, m; default CTR = HOST, PERMS = rwm). */
int ch_device_parse (const char *spec, char **out, ch_error_t *err);

/* One --security-opt into C: seccomp=unconfined|FILE (read and checked
 * now: the chute keeps the profile it was created with),
 * no-new-privileges[=true|false]. */
int ch_security_opt_parse (struct ch_chute *c, const char *opt, ch_error_t *err);

/* Apply C's capabilities, devices, seccomp, no_new_privs and --privileged
 * to SPEC (a default runtime spec being filled by mgmt/bundle.c). */
int ch_security_apply (json_t *spec, const struct ch_chute *c, ch_error_t *err);

#endif
