/* Dockerfiles: the parser (dockerfile.c: logical lines, flags, the JSON exec
 * form, Docker's ${VAR} substitution) and the builder that turns one into an
 * image in the store (build_*.c). chuted-image's `build` calls
 * ch_build_dockerfile; the fuzzer calls the parser. */
#ifndef CH_DOCKERFILE_H
#define CH_DOCKERFILE_H

#include "common/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A Dockerfile bigger than this is not a Dockerfile */
#define CH_DOCKERFILE_MAX (1U << 20)
/* What ADD fetches from a URL, unless the build's disk limit says less */
#define CH_DOCKERFILE_URL_MAX (1ULL << 30)

struct ch_df_instr
{
  int line;      /* where the instruction starts (1-based) */
  char *cmd;     /* keyword, upper case ("RUN") */
  char **flags;  /* leading --name[=value] words, as written */
  char *args;    /* the rest, trimmed (shell form) */
  char **json;   /* the exec form when ARGS is a JSON array of strings, else NULL */
};

struct ch_dockerfile
{
  char *name; /* for messages: "Dockerfile" */
  char escape;
  size_t n;
  struct ch_df_instr *v;
};

/* Parse BUF (LEN bytes) named NAME. Unknown instructions, a NUL byte, a
 * continuation at the end of the file: "NAME:LINE: ..." errors. */
int ch_dockerfile_parse (const char *name, const char *buf, size_t len, struct ch_dockerfile **out, ch_error_t *err);
void ch_dockerfile_free (struct ch_dockerfile *df);

/* Split S at unquoted white space, quotes and escapes kept (ENV/LABEL's
 * key=value words, COPY's sources). */
char **ch_df_split (const char *s, char escape);
/* One word with $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word}, ${VAR-word},
 * ${VAR+word}, ${VAR:?msg} substituted from VARS (a JSON object of
 * strings; absent = unset) and quotes and escapes removed, as Docker does
 * (single quotes: nothing substituted). */
int ch_df_expand (const char *word, char escape, json_t *vars, char **out, ch_error_t *err);
/* --NAME=VALUE among FLAGS: VALUE (or "" for a bare --NAME), NULL if absent. */
const char *ch_df_flag (char *const *flags, const char *name);

/* ---- the builder (build_*.c) ---- */

/* Resolve "user[:group]" inside ROOTFS (the image's own /etc/passwd). */
typedef int (*ch_build_user_fn) (const char *rootfs, const char *spec, uint32_t *uid, uint32_t *gid,
                                 ch_error_t *err);

struct ch_build_request
{
  const char *root;       /* chuted's --root (the store is ROOT/images) */
  const char *context;    /* the build context directory */
  const char *dockerfile; /* path of the Dockerfile (default CONTEXT/Dockerfile) */
  const char *tag;        /* NAME[:TAG] the image is stored as */
  char **build_args;      /* K=V (--build-arg) */
  bool no_cache;
  bool quiet;             /* no step lines on stdout */
  uint64_t disk_limit;    /* each layer and the whole image (0: CH_DEFAULT_DISK_LIMIT) */
  /* RUN: this argv (`chuted --root R --run-root RR --cgroup-parent P`) +
   * `run --rm --rootfs DIR ... -- COMMAND` */
  char **run_prefix;
  char **run_opts;        /* after `run --rm`: the RUN chutes' limits and network (--memory M ...) */
  /* FROM an image absent from the store that names a registry of its own:
   * this argv + REF pulls it and sends its image record on fd 3
   * (`chuted-image-pull --root R pull -q --result-fd 3`); NULL: no pulls */
  char **pull_prefix;
  /* ADD's URLs: this argv + URL writes the body on stdout (`chuted-image-pull fetch-url`) */
  char **fetch_prefix;
  ch_build_user_fn resolve_user;
  int record_fd;          /* > 0: a step record on it as each step begins (ch_build_step_send) */
};

struct ch_build_result
{
  char *ref;      /* the store's name */
  char *manifest; /* manifest digest */
  char *image_id; /* config digest */
  unsigned steps, cached;
  /* on failure: a RUN's exit code (> 0), else 0; the step that failed
   * (FILE:LINE INSTRUCTION, NULL when none did: a bad Dockerfile, a bad
   * context) and the last lines the RUN printed */
  int run_code;
  char *file, *instruction, *output;
  int line;
};

/* build_fetch.c, in chuted-image-pull (libcurl): URL's body to FD, at most
 * LIMIT bytes (0: CH_DOCKERFILE_URL_MAX); http and https only. */
int ch_url_fetch (const char *url, int fd, uint64_t limit, ch_error_t *err);

/* build_cache.c: drop the build cache's entries whose layer gc removed
 * (`image prune`): they could only miss. */
struct ch_store;
void ch_build_cache_prune (struct ch_store *s);

int ch_build_dockerfile (const struct ch_build_request *req, struct ch_build_result *out, ch_error_t *err);
void ch_build_result_clear (struct ch_build_result *r);

/* build_record.c: what a build that failed sends its caller (chuted-image
 * build --result-fd), one JSON object: {kind: "build", message, file, line,
 * instruction, exit_code, output: [last lines]} (the step's fields absent
 * when no step failed). It links jansson alone: chuted reads it. */
#define CH_BUILD_TAIL_LINES 10
#define CH_BUILD_TAIL 4096 /* bytes of a RUN's output kept for them */
json_t *ch_build_failure_json (const struct ch_build_result *r, const char *message);
/* The record J as it came from a child: an object with a string message,
 * the rest of the known fields checked for their types (others dropped).
 * NULL when J is not that. */
json_t *ch_build_failure_check (json_t *j);
/* Before the failure record, if any, the same fd gets a line per step as it
 * begins: {"type": "step", "step": N, "steps": M, "text": INSTRUCTION}. A
 * failure record is one line too. */
int ch_build_step_send (int fd, unsigned step, unsigned steps, const char *text, ch_error_t *err);
int ch_build_record_send (int fd, json_t *rec, ch_error_t *err);

#endif
