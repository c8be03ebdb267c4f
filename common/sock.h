/* Unix sockets: the one place a path becomes a sockaddr_un. */
#ifndef CH_SOCK_H
#define CH_SOCK_H

#include "error.h"

/* A CLOEXEC unix socket of TYPE (SOCK_STREAM, SOCK_DGRAM) connected to PATH
 * into *FD; ENAMETOOLONG when PATH does not fit a sockaddr_un. */
int ch_unix_connect (const char *path, int type, int *fd, ch_error_t *err);

#endif
