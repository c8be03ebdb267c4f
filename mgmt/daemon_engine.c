/* Every call the daemon makes into the deploy engine (mgmt/engine.h), in
 * one file: a change's child applies it here, and the daemon's start
 * restores what should run. The engine's progress events go to the daemon
 * as JSON lines: {id, chute, kind, version, phase, detail, result, reason},
 * then {final, error} with why the change failed when it did. */
#include "common/file.h"
#include "common/json.h"
#include "mgmt/cloud.h"
#include "mgmt/commands.h"
#include "mgmt/daemon.h"
#include "mgmt/engine.h"
#include "mgmt/engine_int.h"
#include "mgmt/reap.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void
put_line (int fd, json_t *o)
{
  cleanup_error ch_error_t err = NULL;
  cleanup_free char *s = json_dumps (o, JSON_COMPACT);
  size_t n = strlen (s);

  s[n] = '\n';
  /* the daemon may be gone (killed): the change goes on without it */
  ch_write_all (fd, s, n + 1, &err);
  s[n] = '\0';
}

static void
event (void *data, const struct ch_change *c, const char *detail)
{
  cleanup_json json_t *o = json_pack ("{s:s*, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}", "id", c->id, "chute",
                                      c->chute, "kind", c->kind, "version", c->version, "phase", c->phase, "detail",
                                      detail, "result", c->result, "reason", c->reason);
  put_line (*(int *) data, o);
}

/* A chute package: what `chuted deploy FILE` does with one.
 * COORDINATOR: h19's deploy_source (mgmt/deploy_source.c) reads packages;
 * once merged, call it here with the engine and EVENT, as for a chute file. */
static int
deploy_package (struct ch_ctx *ctx, const struct dm_change *c, ch_error_t *err)
{
  char *argv[] = { "deploy", "--change-id", c->id, c->path, NULL };

  return ch_cmd_deploy (ctx, 4, argv, err) < 0 ? -1 : 0;
}

int
dm_engine_child (struct ch_ctx *ctx, const struct dm_change *c, int fd)
{
  cleanup_error ch_error_t err = NULL;
  struct ch_engine e;
  json_t *cloud = NULL; /* DM_CLOUD: ch_cloud_apply's result */
  int r;

  /* what every CLI change does first: the dead chutes' leftovers go */
  r = ch_reap_locked (ctx, &err);
  if (r == 0 && c->work == DM_PACKAGE)
    r = deploy_package (ctx, c, &err);
  else if (r == 0 && (r = ch_engine_open (&e, ctx, event, &fd, &err)) == 0)
    {
      if (c->work == DM_CLOUD)
        r = ch_cloud_apply (&e, c->doc, &cloud, &err);
      else if (c->work == DM_DEPLOY)
        r = ch_engine_deploy (&e, "chute.yaml", c->text, c->len, c->id, c->generation, &err);
      else
        r = ch_engine_op (&e, c->kind, c->chute, c->id, &err);
      ch_engine_close (&e);
    }
  {
    cleanup_json json_t *o = json_pack ("{s:b, s:s*, s:o*}", "final", 1, "error", r < 0 && err ? err->msg : NULL,
                                        "cloud", cloud);
    put_line (fd, o);
  }
  return r < 0 ? 1 : 0;
}

int
dm_engine_check (const char *text, size_t len, char **name, ch_error_t *err)
{
  struct ch_chutefile m;
  int r = ch_engine_load_file ("chute.yaml", text, len, &m, err);

  if (r == 0)
    *name = xstrdup (m.chute.name);
  ch_chutefile_clear (&m);
  return r;
}

int
dm_engine_reconcile (struct ch_ctx *ctx, ch_error_t *err)
{
  /* the boot path: `start --all` reconciles the deployed chutes first
   * (ch_engine_reconcile: an interrupted change rolled forward or back,
   * every chute as desired), then starts the other chutes that restart
   * always or unless stopped */
  char *argv[] = { "start", "--all", NULL };

  return ch_cmd_start (ctx, 2, argv, err) < 0 ? -1 : 0;
}
