/* Unix sockets: the one place a path becomes a sockaddr_un. */
#ifndef CH_SOCK_H
#define CH_SOCK_H

#include "error.h"

/* A CLOEXEC unix socket of TYPE (SOCK_STREAM, SOCK_DGRAM) connected to PATH
 * into *FD; ENAMETOOLONG when PATH does not fit a sockaddr_un. */
int ch_unix_connect (const char *path, int type, int *fd, ch_error_t *err);
/* A CLOEXEC stream socket listening at PATH into *FD (FLAGS: SOCK_NONBLOCK
 * or 0), replacing what was there (the caller's lock says it was stale):
 * 0600 from its birth, so no other user can connect in between. */
int ch_unix_listen (const char *path, int flags, int backlog, int *fd, ch_error_t *err);

#endif
