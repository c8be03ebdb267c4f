/* Shared by manifest_parse.c and manifest_node.c: walking libyaml's document with marks. */
#ifndef CH_MANIFEST_INTERNAL_H
#define CH_MANIFEST_INTERNAL_H

#include "mgmt/manifest.h"

#include <yaml.h>

struct mf_walk
{
  struct ch_chutefile *m;
  yaml_document_t *doc;
  struct ch_mservice top;     /* image/command of a single-service file */
  struct ch_mservice *svc;    /* the service being read */
  struct ch_mlist *env;       /* the environment being read */
  struct ch_mval bind_ext, bind_int; /* the port-binding being read */
};

typedef int (*mf_key_fn) (struct mf_walk *w, const char *key, yaml_node_t *k, yaml_node_t *v, const char *path,
                       ch_error_t *err);

/* "FILE:LINE:COL: PATH: FMT" at node N; returns -1. */
int mf_error_at (struct mf_walk *w, yaml_node_t *n, const char *path, ch_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));
/* "a mapping", "a list", "a single value". */
const char *mf_kind (yaml_node_t *n);
bool mf_is_null (yaml_node_t *n);
void mf_mark (struct ch_mval *v, const char *path, yaml_node_t *n);
/* A scalar (not null) into OUT with its place. */
int mf_scalar (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mval *out, ch_error_t *err);
/* A mapping was given (S = ""), its keys read by its own handler. */
void mf_given (struct ch_mval *v, const char *path, yaml_node_t *n);
struct ch_mval *mf_list_add (struct ch_mlist *l);
/* FN on every key of mapping N (keys must be names, given once). */
int mf_each_key (struct mf_walk *w, yaml_node_t *n, const char *path, mf_key_fn fn, ch_error_t *err);
int mf_unknown (struct mf_walk *w, yaml_node_t *k, const char *path, const char *known, ch_error_t *err);
/* A list of values, or with ONE_OK a single value (then *SINGLE = true). */
int mf_values (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mlist *out, bool one_ok, bool *single,
            ch_error_t *err);
/* environment: {K: V} -> "K=V" entries of OUT. */
int mf_environment (struct mf_walk *w, yaml_node_t *n, const char *path, struct ch_mlist *out, ch_error_t *err);
void mf_mval_clear (struct ch_mval *v);
void mf_mlist_clear (struct ch_mlist *l);

#endif
