/* Every `chuted` command; each lives in mgmt/cmd_<name>.c. */
#ifndef CH_COMMANDS_H
#define CH_COMMANDS_H

#include "common/json.h"
#include "mgmt/cli.h"

int ch_cmd_run (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_create (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_start (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_stop (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_restart (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_rm (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_ps (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_logs (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_exec (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_inspect (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_attach (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_kill (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_update (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_network (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_deploy (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_chutes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_chute (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_changes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_reconcile (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
/* cmd_deploy.c: how the CLI shows the deploy engine's progress events */
struct ch_change;
void ch_print_change_event (void *data, const struct ch_change *c, const char *detail);
int ch_cmd_wifi (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_volume (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_info (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_build (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
/* What `chutes --json` and `info --json` print, for the REST API too. */
struct ch_desired;
json_t *ch_chute_row (struct ch_ctx *ctx, const struct ch_desired *d);
json_t *ch_host_info (struct ch_ctx *ctx);

/* ps --format: each {{.Field}} of TPL replaced by ROW's key of that name
 * (case-insensitive; a plural s is dropped: {{.Names}} is "name"). */
int ch_ps_format (json_t *row, const char *tpl, char **out, ch_error_t *err);

/* Each command's options (struct ch_opt, mgmt/cli.h), defined beside its
 * parser; main_chuted.c's table points at them for help. */
extern const struct ch_opt ch_opts_run[];
extern const struct ch_opt ch_opts_start[];
extern const struct ch_opt ch_opts_stop[];
extern const struct ch_opt ch_opts_rm[];
extern const struct ch_opt ch_opts_ps[];
extern const struct ch_opt ch_opts_logs[];
extern const struct ch_opt ch_opts_exec[];
extern const struct ch_opt ch_opts_kill[];
extern const struct ch_opt ch_opts_update[];
extern const struct ch_opt ch_opts_info[];
extern const struct ch_opt ch_opts_network[];
extern const struct ch_opt ch_opts_wifi[];
extern const struct ch_opt ch_opts_deploy[];
extern const struct ch_opt ch_opts_attach[];
extern const struct ch_opt ch_opts_chutes[];
extern const struct ch_opt ch_opts_chute[];
extern const struct ch_opt ch_opts_build[];
extern const struct ch_opt ch_opts_volume[];
extern const struct ch_opt ch_opts_reconcile[];

#endif
