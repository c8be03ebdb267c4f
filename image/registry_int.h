/* The registry v2 client of registry.c, for the pulls that are not of an
 * image: a chute package (registry_package.c) goes through the same
 * connection, auth negotiation, digest-checked manifest and blob fetches. */
#ifndef CH_IMAGE_REGISTRY_INT_H
#define CH_IMAGE_REGISTRY_INT_H

#include "internal.h"

struct reg
{
  const struct ch_pull_opts *opts;
  char *host, *repo, *base; /* base = scheme://host */
  char *user, *pass;
  char *auth_hdr;           /* "Authorization: ..." once negotiated */
  char *ca;                 /* <root>/certs.d/HOST/ca.crt or --ca-file */
  const char *capath;       /* else the system's hashed CA directory, if any */
  bool verify;
};

/* G->opts and G->repo set: pick the scheme for HOST, load its credentials
 * and CA, answer its first challenge. */
int ch_reg_connect (struct reg *g, const char *host, ch_error_t *err);
/* A manifest by tag or digest (WHAT), its bytes checked against EXPECT (may
 * be NULL) and the registry's Docker-Content-Digest. */
int ch_reg_get_manifest (struct reg *g, const char *what, const char *expect, char **buf, size_t *len, char **digest,
                         ch_error_t *err);
/* The N blobs of WANT into the store, each checked against its digest and size. */
int ch_reg_fetch_blobs (struct reg *g, struct ch_store *s, const struct ch_layer *want, size_t n, ch_error_t *err);
void ch_reg_free (struct reg *g);

#endif
