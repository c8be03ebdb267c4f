/* The builder's parts (image/build_*.c), shared among them only. */
#ifndef CH_DOCKERFILE_INT_H
#define CH_DOCKERFILE_INT_H

#include "image/dockerfile.h"
#include "image/internal.h"

/* One stage's image as it is being built. */
struct bstage
{
  char *name;            /* FROM ... AS name (lower case), or NULL */
  json_t *doc;           /* the image config document: config{}, rootfs.diff_ids, history */
  struct ch_layer *layers;
  size_t n_layers;
  char *chain;           /* cache key of everything so far */
  json_t *args;          /* ARGs declared in this stage: name -> value (null: no value) */
  char **shell;          /* SHELL, default /bin/sh -c */
  char *created;         /* when the newest layer was first made (the image's "created") */
  bool cmd_set;          /* CMD given in this stage (ENTRYPOINT then keeps it) */
};

struct builder
{
  const struct ch_build_request *req;
  struct ch_store *s;
  struct ch_dockerfile *df;
  json_t *build_args;  /* --build-arg: name -> value */
  json_t *meta_args;   /* ARGs before the first FROM: name -> value or null */
  json_t *used_args;   /* build args some ARG declared (the rest are warned about) */
  struct bstage *st;
  size_t n_st;
  char **ignore;       /* .dockerignore patterns */
  char *tmp;           /* images/tmp/build-PID-XXXXXX: every step's mounts */
  unsigned step, steps, cached, seq;
  int ctxfd;           /* the context directory */
  int run_code;        /* the exit code of a RUN that failed */
  char *run_output;    /* ...and the end of what it printed (CH_BUILD_TAIL bytes at most) */
};

/* A stage's layers stacked by overlay with a fresh upper dir, at DIR/mnt. */
struct bmount
{
  char *dir, *upper, *mnt;
  bool mounted;
};
int ch_bmount (struct builder *b, const struct bstage *st, struct bmount *m, ch_error_t *err);
/* Unmount (lazy) and, with REMOVE, delete DIR; safe on a zeroed M. */
void ch_bunmount (struct bmount *m, bool remove);

/* build_layer.c: the upper dir of M as a layer (tar, whiteouts in OCI's
 * .wh. form) written to the store and unpacked there; *EMPTY when the step
 * changed nothing (no layer then). */
int ch_build_layer (struct builder *b, const struct bstage *st, struct bmount *m, struct ch_layer *out, bool *empty,
                    ch_error_t *err);

/* build_cache.c */
char *ch_bcache_key (const char *chain, const char *what);
/* A filesystem step: made by MAKE (the layer, or *EMPTY) on a cache miss;
 * KEY_TEXT (the step and its inputs) with ST's chain is its key. Then the
 * layer (or a history entry) goes on ST and the chain moves on. */
typedef int (*ch_build_make_fn) (struct builder *b, struct bstage *st, void *data, struct ch_layer *out, bool *empty,
                                 ch_error_t *err);
int ch_build_step (struct builder *b, struct bstage *st, const char *text, const char *key_text, ch_build_make_fn make,
                   void *data, ch_error_t *err);

/* build_run.c: RUN ARGV in a chute on ST's layers; the layer it made. */
int ch_build_run (struct builder *b, struct bstage *st, char **argv, json_t *env, struct ch_layer *out, bool *empty,
                  ch_error_t *err);

/* ARGV with stdin from /dev/null (and stdout to OUT_FD, unless -1): its
 * exit code, < 0 if it could not run. With TAIL, its stdout and stderr go
 * through a pipe to our stdout instead, and *TAIL gets the last
 * CH_BUILD_TAIL bytes of them. */
int ch_build_spawn (char **argv, int out_fd, char **tail, ch_error_t *err);
/* ADD's URLS fetched into DIR (made) by the request's fetcher; *NAMES the files. */
int ch_build_fetch_urls (struct builder *b, char *const *urls, const char *dir, char ***names, ch_error_t *err);

/* build_copy.c: COPY/ADD */
struct bcopy
{
  char **srcs;           /* as written (expanded) */
  const char *dest;      /* expanded */
  const char *from;      /* --from: a stage name/index or an image, NULL: the context */
  const char *chown, *chmod;
  bool add;              /* ADD: local archives unpacked */
};
int ch_build_copy (struct builder *b, struct bstage *st, const struct bcopy *c, const char *text, ch_error_t *err);
int ch_build_ignore_load (struct builder *b, ch_error_t *err);
bool ch_build_ignored (char *const *patterns, const char *rel);

/* build_stage.c: FROM's base, layers added, the final commit */
int ch_bstage_from (struct builder *b, const char *ref, struct bstage *st, ch_error_t *err);
void ch_bstage_clear (struct bstage *st);
void ch_bstage_add_layer (struct bstage *st, const struct ch_layer *l, const char *created_by);
void ch_bstage_history (struct bstage *st, const char *created_by);
json_t *ch_bstage_config (struct bstage *st); /* the doc's "config" object, made if missing */
/* Env as an object (for substitution and RUN), ARGs under it. */
json_t *ch_bstage_vars (struct builder *b, struct bstage *st);
int ch_bstage_commit (struct builder *b, struct bstage *st, struct ch_build_result *out, ch_error_t *err);

/* build_instr.c: instructions that change only the config (VARS: what
 * $VAR means here) */
int ch_instr_env (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err);
/* ARG into SCOPE: --build-arg's value (marked in USED), else the default */
int ch_instr_arg (json_t *scope, json_t *build_args, json_t *used, const struct ch_df_instr *in, char esc,
                  json_t *vars, ch_error_t *err);
int ch_instr_label (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err);
int ch_instr_expose (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err);
int ch_instr_volume (struct bstage *st, const struct ch_df_instr *in, char esc, json_t *vars, ch_error_t *err);
/* config KEY = the substituted argument (USER, STOPSIGNAL) */
int ch_instr_string (struct bstage *st, const char *key, const struct ch_df_instr *in, char esc, json_t *vars,
                     ch_error_t *err);
/* the exec form, or SHELL + the text */
char **ch_instr_command (const struct bstage *st, const struct ch_df_instr *in);
int ch_instr_cmd (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err); /* CMD, ENTRYPOINT */
int ch_instr_shell (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err);
int ch_instr_healthcheck (struct bstage *st, const struct ch_df_instr *in, ch_error_t *err);

#endif
