/* Every `chuted` command; each lives in mgmt/cmd_<name>.c. */
#ifndef CH_COMMANDS_H
#define CH_COMMANDS_H

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
int ch_cmd_kill (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_update (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_network (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_deploy (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_chutes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_chute (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
int ch_cmd_changes (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);
/* cmd_deploy.c: how the CLI shows the deploy engine's progress events */
struct ch_change;
void ch_print_change_event (void *data, const struct ch_change *c, const char *detail);
int ch_cmd_wifi (struct ch_ctx *ctx, int argc, char **argv, ch_error_t *err);

#endif
