/* The chute's own /etc/passwd and /etc/group (as text already read from its
 * rootfs): names inside a chute mean what its files say, never the host's. */
#ifndef CH_PASSWD_H
#define CH_PASSWD_H

#include <stddef.h>
#include <sys/types.h>

struct ch_pwent
{
  char *name;
  uid_t uid;
  gid_t gid;
  char *home;
};
/* Find by NAME (when non-NULL) or by UID; 1 found, 0 not. */
int ch_passwd_find (const char *buf, const char *name, uid_t uid, struct ch_pwent *out);
void ch_pwent_clear (struct ch_pwent *p);
/* Group id of group NAME; 1 found, 0 not. */
int ch_group_find (const char *buf, const char *name, gid_t *gid);
/* Append the gids of groups listing USER as a member. */
void ch_group_members (const char *buf, const char *user, gid_t **gids, size_t *n);

#endif
