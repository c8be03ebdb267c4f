/* The `chuted` command line: global context, the command table and the
 * option table each command parses with (mgmt/cli_opts.c). */
#ifndef CH_CLI_H
#define CH_CLI_H

#include "common/error.h"

#include <stdbool.h>
#include <stdio.h>

struct ch_cmd;

struct ch_ctx
{
  const char *root;          /* --root, $CHUTED_ROOT, /var/lib/chuted */
  const char *run_root;      /* --run-root, $CHUTED_RUN_ROOT, /run/chuted */
  const char *cgroup_parent; /* --cgroup-parent, $CHUTED_CGROUP_PARENT, "chuted" */
  char *bin_dir;             /* where chuted, chuted-monitor, chuted-image live */
  int fail_code;             /* exit code main uses when a command returns < 0 (default 125) */
  const struct ch_cmd *cmd;  /* the command being run (its help, its options) */
};

/* A command gets argv from its own name on (argv[0] = "run"); returns the
 * process exit code (>= 0), or < 0 with *err set (main prints it, exits fail_code). */
typedef int (*ch_cmd_fn) (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);

/* One option of one command, declared once: getopt_long's tables and the
 * help text are both made from it. VAL is the short letter when it is a
 * printable character below 128, else a code >= 256 (long only). ARG names
 * the value in the help (NULL: the option takes none). */
struct ch_opt
{
  const char *name;
  int val;
  const char *arg;
  const char *help;
};

#define CH_OPT_END { NULL, 0, NULL, NULL }

struct ch_cmd
{
  const char *name;
  ch_cmd_fn fn;
  const char *usage;          /* operands after "chuted NAME [OPTIONS]" */
  const char *summary;        /* one line for `chuted help` */
  const struct ch_opt *opts;  /* CH_OPT_END-terminated; NULL: none */
};

/* Global options (common/globals.h: --root, --run-root, --cgroup-parent,
 * their env twins, --help, --version) into CTX; returns the index of the
 * command word, or -1 with *EXIT_CODE set when main should just exit. */
int ch_cli_globals (int argc, char **argv, struct ch_ctx *ctx, void (*usage) (FILE *), int *exit_code);

/* Parsing one command's options from its ch_opt table (+ --help, and -h
 * when no option of the command takes that letter). Options stop at the
 * first operand, as podman's do, so `run IMAGE ls -l` keeps `-l`. */
struct ch_cli_parser
{
  struct ch_ctx *ctx;
  const struct ch_opt *opts;
  void *longopts; /* struct option[], made from OPTS */
  char *shortopts;
  bool help;      /* --help was given and printed */
  const char *optarg;
  const char *name; /* the long name of the option just read */
};

void ch_cli_parser_init (struct ch_cli_parser *p, struct ch_ctx *ctx, const struct ch_opt *opts);
void ch_cli_parser_clear (struct ch_cli_parser *p);
#define cleanup_cli_parser __attribute__ ((cleanup (ch_cli_parser_clear)))

/* The next option's VAL (its value in p->optarg), 0 at the first operand
 * (optind is its index), or -1: --help was printed (the command returns 0,
 * see ch_cli_done), or a usage error is in *ERR and ctx->fail_code is 2. */
int ch_cli_next (struct ch_cli_parser *p, int argc, char **argv, ch_error_t *err);

/* What a command returns after ch_cli_next gave -1: 0 after --help, else -1. */
static inline int
ch_cli_done (const struct ch_cli_parser *p)
{
  return p->help ? 0 : -1;
}

/* A usage error (wrong operands) for the current command: *ERR set, exit 2. */
int ch_cli_usage_error (struct ch_ctx *ctx, ch_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* CMD's help: usage line, summary, one line per option. */
void ch_cli_help (FILE *f, const struct ch_cmd *cmd);

/* cli_doc.c: the man page of CMDS (+ IMAGE_CMDS, handled by chuted-image)
 * as roff, and `chuted __complete commands | options CMD | takes-value CMD
 * OPT | operands CMD` for bash completion (ARGV from "__complete" on);
 * returns the exit code. */
void ch_cli_man (FILE *f, const struct ch_cmd *cmds, const char *const *image_cmds);
/* chuted-NAME(1), command NAME's own page; -1 when there is no such command. */
int ch_cli_man_cmd (FILE *f, const struct ch_cmd *cmds, const char *name);
int ch_cli_complete (FILE *f, const struct ch_cmd *cmds, const char *const *image_cmds, int argc, char **argv);

/* Levenshtein distance, for "did you mean" (short words only). */
int ch_cli_distance (const char *a, const char *b);

/* The name in TABLE (a NULL-terminated list of names) closest to WORD at
 * distance <= 2, or NULL. */
const char *ch_cli_suggest (const char *word, const char *const *table);

#endif
