/* The options every chuted program takes before its command (chuted,
 * chuted-runtime, chuted-image, chuted-image-pull): one parser, one rule set,
 * so that a sibling exec'd with our own options reads them as we did. */
#ifndef CH_GLOBALS_H
#define CH_GLOBALS_H

#include "error.h"

#include <stdio.h>

#define CH_VERSION "0.1.0"

struct ch_globals
{
  const char *root;          /* --root, $CHUTED_ROOT, /var/lib/chuted */
  const char *run_root;      /* --run-root, $CHUTED_RUN_ROOT, /run/chuted */
  const char *cgroup_parent; /* --cgroup-parent, $CHUTED_CGROUP_PARENT, "chuted" */
};

/* ARGV[1..]: `--root DIR` or `--root=DIR` (the same for --run-root and
 * --cgroup-parent), the environment for what is not given (an empty
 * variable counts as unset), then the defaults. Root and run root must be
 * absolute. Returns the index of the first word that is not a global option
 * (argc when none; -h, --help and --version stop there too, for the caller),
 * or -1 with *ERR for an unknown option, a missing value or a relative path. */
int ch_globals_parse (int argc, char **argv, struct ch_globals *g, ch_error_t *err);

/* ch_globals_parse for a main(): -h/--help print USAGE to stdout and
 * --version the version (exit 0), an error "PROG: MSG" and USAGE to stderr,
 * no command USAGE (exit 2). Returns the command's index, or -1 with
 * *EXIT_CODE set when main should just return it. */
int ch_globals_main (int argc, char **argv, const char *prog, void (*usage) (FILE *), struct ch_globals *g,
                     int *exit_code);

/* getopt_long's ':' (an option's value missing) as one line naming the
 * option, as podman says it: "CMD: option --NAME needs a value". */
struct option;
int ch_getopt_missing_value (const struct option *opts, char **argv, ch_error_t *err);

#endif
